"""Memory-sized sampling batches: no generator call may hold a tensor past the budget."""
import numpy as np
import pytest

from pgan_tf.model import networks, sampling


def test_paper_generator_batches_shrink_with_resolution():
    """The paper's 1024² G peaks at 1024·1024·32 elements per image (after the last upsample);
    a fixed batch of 64 there is 2³¹ elements, which crashed the CPU convolution."""
    paper = networks.NetworkConfig()
    g = networks.build_generator(paper, 1024)
    assert sampling.widest_activation(g) == 1024 * 1024 * 32
    assert sampling.model_batch_size(g) == 2
    assert sampling.model_batch_size(g) * sampling.widest_activation(g) <= sampling.ACTIVATION_BUDGET
    assert sampling.model_batch_size(networks.build_generator(paper, 64)) == 32  # 64·64·512 per image


def test_small_generators_use_the_cap_and_output_estimate():
    tiny = networks.build_generator(networks.NetworkConfig(fmap_base=64, fmap_max=16, latent_size=8), 16)
    assert sampling.model_batch_size(tiny) == sampling.MAX_BATCH
    assert sampling.model_batch_size(tiny, cap=5) == 5
    assert sampling.output_batch_size(1024, 1024, 3) == 1
    assert sampling.batch_size_for(10**12) == 1


def test_generate_uint8_in_batches_equals_one_call():
    g = networks.build_generator(networks.NetworkConfig(fmap_base=64, fmap_max=16, latent_size=8), 8)
    z = np.random.default_rng(0).standard_normal((7, 8)).astype(np.float32)
    whole = sampling.to_uint8(g(z, training=False))
    np.testing.assert_array_equal(sampling.generate_uint8(g, z, batch_size=3), whole)
    with pytest.raises(ValueError, match="no latents"):
        sampling.generate_uint8(g, z[:0])
