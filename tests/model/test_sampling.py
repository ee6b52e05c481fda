"""Memory-sized sampling batches: no generator call may hold a tensor past the budget."""

import keras
import numpy as np
import pytest

from pgan_tf.core.labels import one_hot
from pgan_tf.model import networks, sampling


def test_paper_generator_batches_shrink_with_resolution():
    """The paper's 1024² G peaks at 1024·1024·32 elements per image (after the last upsample);
    a fixed batch of 64 there is 2³¹ elements, which crashed the CPU convolution."""
    paper = networks.NetworkConfig()
    g = networks.build_generator(paper, 1024)
    assert sampling.widest_activation(g) == 1024 * 1024 * 32
    assert sampling.model_batch_size(g) == 2
    assert (
        sampling.model_batch_size(g) * sampling.widest_activation(g) <= sampling.ACTIVATION_BUDGET
    )
    assert (
        sampling.model_batch_size(networks.build_generator(paper, 64)) == 32
    )  # 64·64·512 per image


def test_small_generators_use_the_cap_and_output_estimate():
    tiny = networks.build_generator(
        networks.NetworkConfig(fmap_base=64, fmap_max=16, latent_size=8), 16
    )
    assert sampling.model_batch_size(tiny) == sampling.MAX_BATCH
    assert sampling.model_batch_size(tiny, cap=5) == 5
    assert sampling.output_batch_size(1024, 1024, 3) == 1
    assert sampling.batch_size_for(10**12) == 1


def test_sampler_in_batches_equals_one_call():
    """Batches of 3 give the images of one call of 7, up to the float rounding of convolution
    kernels that depend on the batch size: a value on a rounding edge of uint8 may move by 1."""
    keras.utils.set_random_seed(0)
    g = networks.build_generator(
        networks.NetworkConfig(fmap_base=64, fmap_max=16, latent_size=8), 8
    )
    z = np.random.default_rng(0).standard_normal((7, 8)).astype(np.float32)
    whole = sampling.to_uint8(g(z, training=False))
    sampler = sampling.Sampler.from_model(g, cap=3)
    assert (sampler.batch_size, sampler.latent_size, sampler.label_size) == (3, 8, 0)
    batched = sampler(z)
    assert batched.shape == whole.shape and batched.dtype == whole.dtype
    moved = np.abs(batched.astype(int) - whole.astype(int))
    assert moved.max() <= 1 and np.mean(moved > 0) < 0.01
    with pytest.raises(ValueError, match="no latents"):
        sampler(z[:0])


def test_sampler_calls_fn_batch_by_batch_with_matching_labels():
    calls = []

    def fn(z, y):
        calls.append((z[:, 0].tolist(), None if y is None else y.argmax(1).tolist()))
        return np.zeros((len(z), 1, 1, 1), np.uint8) + z[:, :1, None, None].astype(np.uint8)

    sampler = sampling.Sampler(fn, latent_size=2, label_size=3, batch_size=2)
    z = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.eye(3, dtype=np.float32)[[2, 0, 1, 1, 2]]
    out = sampler(z, y)
    assert calls == [([0.0, 2.0], [2, 0]), ([4.0, 6.0], [1, 1]), ([8.0], [2])]
    np.testing.assert_array_equal(out[:, 0, 0, 0], [0, 2, 4, 6, 8])
    calls.clear()
    sampler(z)
    assert [c[1] for c in calls] == [None, None, None]


def test_random_inputs_draw_latents_then_labels_from_the_callers_stream():
    """The streams the callers used before there was one Sampler: training and export draw
    `randn` then `randint` from a RandomState, evaluate `standard_normal` then `integers` from a
    Generator."""
    sampler = sampling.Sampler(lambda z, y: z, latent_size=4, label_size=5)
    z, y = sampler.random_inputs(np.random.RandomState(7), 6)
    rs = np.random.RandomState(7)
    np.testing.assert_array_equal(z, rs.randn(6, 4).astype(np.float32))
    np.testing.assert_array_equal(y, np.eye(5, dtype=np.float32)[rs.randint(0, 5, 6)])
    assert z.dtype == y.dtype == np.float32
    z, y = sampler.random_inputs(np.random.default_rng(7), 6)
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(z, rng.standard_normal((6, 4)).astype(np.float32))
    np.testing.assert_array_equal(y, np.eye(5, dtype=np.float32)[rng.integers(5, size=6)])
    unconditional = sampling.Sampler(lambda z, y: z, latent_size=4)
    rs = np.random.RandomState(7)
    z, y = unconditional.random_inputs(rs, 3)
    assert y is None
    np.testing.assert_array_equal(
        rs.randn(2), np.random.RandomState(7).randn(14)[12:]
    )  # no labels drawn


def test_sample_of_a_conditional_generator_uses_its_labels():
    cfg = networks.NetworkConfig(fmap_base=64, fmap_max=16, latent_size=8, label_size=3)
    g = networks.build_generator(cfg, 4)
    sampler = sampling.Sampler.from_model(g, cap=2)
    assert sampler.label_size == 3
    got = sampler.sample(5, np.random.RandomState(1))
    rs = np.random.RandomState(1)
    z = rs.standard_normal((5, 8)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rs.randint(3, size=5)]
    np.testing.assert_array_equal(got, sampling.to_uint8(g([z, y], training=False)))


def test_one_hot():
    np.testing.assert_array_equal(
        one_hot([2, 0, 1, 2], 3), np.eye(3, dtype=np.float32)[[2, 0, 1, 2]]
    )
    assert one_hot(np.array([1], np.uint8), 4).dtype == np.float32
    assert one_hot([], 4).shape == (0, 4)
