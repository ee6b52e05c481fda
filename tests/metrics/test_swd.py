"""Tests of the multi-scale sliced Wasserstein distance against an independent NumPy reference."""

import numpy as np
import pytest
import swd_reference
from swd_reference import (
    extract_descriptors,
    finalize_descriptors,
    gaussian_pyramid,
    laplacian_pyramid,
)

from pgan_tf.metrics import swd as swd_mod
from pgan_tf.metrics.swd import (
    SWDAccumulator,
    pyramid_resolutions,
    random_directions,
    sliced_wasserstein,
    stored_level,
    swd,
)
from pgan_tf.metrics.swd_patches import ChannelStats, channel_order, patch_corners


# ---------------------------------------------------------------- NumPy reference (own code)
def _np_blur(x, scale):
    """5×5 binomial blur of NHWC float64 images, mirror padding without edge repeat."""
    k1 = np.array([1, 4, 6, 4, 1], np.float64)
    k = np.outer(k1, k1) / 256.0 * scale
    pad = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    h, w = x.shape[1], x.shape[2]
    out = np.zeros_like(x)
    for dy in range(5):
        for dx in range(5):
            out += k[dy, dx] * pad[:, dy : dy + h, dx : dx + w, :]
    return out


def _np_down(x):
    return _np_blur(x, 1.0)[:, ::2, ::2, :]


def _np_up(x):
    n, h, w, c = x.shape
    z = np.zeros((n, 2 * h, 2 * w, c), x.dtype)
    z[:, ::2, ::2, :] = x
    return _np_blur(z, 4.0)


def _np_laplacian(x, levels):
    gauss = [x.astype(np.float64)]
    for _ in range(levels - 1):
        gauss.append(_np_down(gauss[-1]))
    return [gauss[k] - _np_up(gauss[k + 1]) for k in range(levels - 1)] + [gauss[-1]]


def _np_swd(reals, fakes, rng, patches=128, dirs=128, repeats=4):
    """Straightforward SWD: global RNG, independent patch centres for each set, NCHW order."""
    size = reals.shape[1]
    levels = len(pyramid_resolutions(size))
    pyr = [_np_laplacian(s.astype(np.float64), levels) for s in (reals, fakes)]
    out = []
    for lev in range(levels):
        sets = []
        for p in pyr:
            img = p[lev].transpose(0, 3, 1, 2)  # NCHW
            n, _, s, _ = img.shape
            descs = []
            for i in range(n):
                cy = rng.integers(3, s - 3, patches)
                cx = rng.integers(3, s - 3, patches)
                for y, x in zip(cy, cx):
                    descs.append(img[i, :, y - 3 : y + 4, x - 3 : x + 4])
            d = np.stack(descs)  # [M, C, 7, 7]
            d = d - d.mean(axis=(0, 2, 3), keepdims=True)
            d = d / d.std(axis=(0, 2, 3), keepdims=True)
            sets.append(d.reshape(d.shape[0], -1))
        res = []
        for _ in range(repeats):
            v = rng.standard_normal((sets[0].shape[1], dirs))
            v /= np.linalg.norm(v, axis=0, keepdims=True)
            pa = np.sort(sets[0] @ v, axis=0)
            pb = np.sort(sets[1] @ v, axis=0)
            res.append(np.mean(np.abs(pa - pb)))
        out.append(np.mean(res) * 1e3)
    return out


def _smooth_images(n, size, channels, seed):
    """Natural-ish uint8 images: blurred noise plus random colour gradients."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, size, size, channels))
    for _ in range(3):
        x = _np_blur(x, 1.0)
    x = x / x.std() * 40
    yy, xx = np.mgrid[0:size, 0:size] / size
    grad = rng.normal(0, 60, (n, 1, 1, channels)) * yy[None, :, :, None]
    grad += rng.normal(0, 60, (n, 1, 1, channels)) * xx[None, :, :, None]
    return np.clip(np.rint(128 + x + grad), 0, 255).astype(np.uint8)


def _noised(images, sigma, seed=1):
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(images + rng.normal(0, sigma, images.shape)), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- pieces
def test_pyramid_resolutions():
    assert pyramid_resolutions(128) == [128, 64, 32, 16]
    assert pyramid_resolutions(16) == [16]
    with pytest.raises(ValueError, match="at least 16"):
        pyramid_resolutions(8)
    with pytest.raises(ValueError, match="2\\^k"):
        pyramid_resolutions(48)


def _nchw(x):
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


@pytest.mark.parametrize("channels", [1, 3])
def test_pyramids_match_numpy_reference(channels):
    """The polyphase pyramid equals blurring every pixel with the 5×5 kernel (mirror padding)."""
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, channels))
    gauss = gaussian_pyramid(_nchw(x).astype(np.float32), 3)
    ref = [x]
    for _ in range(2):
        ref.append(_np_down(ref[-1]))
    for got, want in zip(gauss, ref):
        np.testing.assert_allclose(got, _nchw(want), atol=2e-3)
    lap = laplacian_pyramid(_nchw(x).astype(np.float32), 3)
    assert [t.shape[2] for t in lap] == [32, 16, 8]
    for got, want in zip(lap, _np_laplacian(x, 3)):
        np.testing.assert_allclose(got, _nchw(want), atol=2e-3)


def test_up_of_one_pixel_spreads_the_kernel_times_four():
    x = np.zeros((1, 1, 8, 8), np.float32)
    x[0, 0, 2, 3] = 1.0
    up = swd_reference.pyr_up(x)
    np.testing.assert_allclose(up[0, 0, 2:7, 4:9], swd_reference.binomial_kernel() * 4, atol=1e-7)
    assert up.sum() == pytest.approx(4.0)


def test_laplacian_of_constant_image_is_zero_except_low_pass():
    x = np.full((1, 3, 32, 32), 77.0, np.float32)
    lap = laplacian_pyramid(x, 2)
    np.testing.assert_allclose(lap[0], 0.0, atol=1e-4)
    np.testing.assert_allclose(lap[1], 77.0, atol=1e-4)


def test_patch_corners_range_and_batching_invariance():
    c = patch_corners(5, 0, 0, 10, 128, 16, 7)
    assert c.shape == (10, 128, 2)
    assert c.min() == 0 and c.max() == 16 - 7
    np.testing.assert_array_equal(patch_corners(5, 0, 3, 4, 128, 16, 7), c[3:7])
    assert not np.array_equal(patch_corners(6, 0, 0, 10, 128, 16, 7), c)
    assert not np.array_equal(patch_corners(5, 1, 0, 10, 128, 16, 7), c)


def test_extract_descriptors_cuts_the_right_patches():
    img = np.random.default_rng(0).uniform(0, 1, (2, 3, 16, 16)).astype(np.float32)
    corners = np.array([[[0, 0], [9, 4]], [[3, 9], [5, 5]]], np.int32)
    d = extract_descriptors(img, corners, 7)
    assert d.shape == (4, 147)
    np.testing.assert_array_equal(d[1], img[0, :, 9:16, 4:11].ravel())
    np.testing.assert_array_equal(d[2], img[1, :, 3:10, 9:16].ravel())
    out = np.zeros((4, 147), np.float32)
    assert extract_descriptors(img, corners, 7, out=out) is out
    np.testing.assert_array_equal(out, d)


def test_channel_order_maps_to_the_originals_layout():
    img = np.random.default_rng(0).uniform(0, 1, (1, 3, 16, 16)).astype(np.float32)
    d = extract_descriptors(img, np.array([[[2, 5]]]), 7)[0]
    original = img[0, :, 2:9, 5:12].transpose(1, 2, 0).ravel()  # (y, x, channel)
    np.testing.assert_array_equal(d, original[channel_order(3)])


def test_channel_stats_merge_chunks_like_one_pass():
    rng = np.random.default_rng(0)
    raw = rng.normal([1.0, -5.0, 130.0], [2.0, 0.5, 60.0], (400, 49, 3)).astype(np.float32)
    raw = raw.transpose(0, 2, 1).reshape(400, -1)  # (channel, …) order
    stats = ChannelStats(3)
    for chunk in (raw[:7], raw[7:7], raw[7:300], raw[300:]):
        stats.add(chunk)
    per = raw.reshape(400, 3, 49).astype(np.float64)
    np.testing.assert_allclose(stats.mean, per.mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(stats.std(), per.std(axis=(0, 2)), rtol=1e-6)
    assert stats.count == 400 * 49


def test_finalize_normalizes_each_channel():
    rng = np.random.default_rng(0)
    raw = rng.normal([1.0, -5.0, 30.0], [2.0, 0.5, 9.0], (400, 49, 3)).astype(np.float32)
    raw = np.ascontiguousarray(raw.transpose(0, 2, 1))  # [400, 3, 49]
    d = finalize_descriptors([raw[:150].reshape(150, -1), raw[150:].reshape(250, -1)], 3)
    per = d.reshape(400, 3, 49)
    np.testing.assert_allclose(per.mean(axis=(0, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(per.std(axis=(0, 2)), 1.0, atol=1e-4)
    want = (raw - raw.mean(axis=(0, 2), keepdims=True)) / raw.std(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(per, want, atol=1e-4)


def test_sliced_wasserstein_known_values():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6)).astype(np.float32)
    assert sliced_wasserstein(a, a, 16, 2, seed=0) == 0.0
    # A translation by t moves every 1-D projection by t·d: the distance is mean |t·d|.
    t = np.array([3.0, 0, 0, 0, 0, 0], np.float32)
    got = sliced_wasserstein(a, a + t, 32, 3, seed=7)
    dirs = swd_mod.random_directions(6, 32, 3, seed=7)
    want = np.mean([np.mean(np.abs(t @ d)) for d in dirs])
    assert got == pytest.approx(want, rel=1e-4)
    with pytest.raises(ValueError, match="equal shape"):
        sliced_wasserstein(a, a[:10], 4, 1, seed=0)


def test_sliced_wasserstein_equals_sorting_projections():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3000, 10)).astype(np.float32)
    b = rng.standard_t(3, size=(3000, 10)).astype(np.float32)
    dirs = random_directions(10, 16, 3, seed=2)
    want = np.mean([np.mean(np.abs(np.sort(a @ d, axis=0) - np.sort(b @ d, axis=0))) for d in dirs])
    assert want > 0.01
    assert sliced_wasserstein(a, b, 16, 3, seed=2) == pytest.approx(want, rel=1e-5)


def _sorted_sliced(a, b, dirs_per_repeat, repeats, seed):
    """The plain method: project, sort each direction's values (float64), average the gaps."""
    dirs = np.concatenate(random_directions(a.shape[1], dirs_per_repeat, repeats, seed), axis=1)
    pa = np.sort(a.astype(np.float64) @ dirs, axis=0)
    pb = np.sort(b.astype(np.float64) @ dirs, axis=0)
    return float(np.mean(np.abs(pa - pb)))


@pytest.mark.parametrize("m", [1, 2, 3, 17, 1001])
def test_sliced_wasserstein_equals_sorting_on_hard_sets(m):
    """Ties within and across the sets, far outliers, tiny and odd sizes."""
    rng = np.random.default_rng(m)
    a = np.round(rng.normal(size=(m, 5)) * 2).astype(np.float32)  # many ties
    b = np.round(rng.normal(size=(m, 5)) * 2).astype(np.float32)
    b[: m // 2] = a[rng.permutation(m)[: m // 2]]  # rows shared with a
    b[::7] *= 1000.0  # outliers
    for x, y in ((a, b), (b, a), (a, a[::-1].copy())):
        want = _sorted_sliced(x, y, 8, 3, 5)
        # float32 projections against float64 ones: float32 rounding of the values
        assert sliced_wasserstein(x, y, 8, 3, seed=5) == pytest.approx(want, rel=1e-5, abs=1e-6)
    assert sliced_wasserstein(a, a[::-1].copy(), 8, 3, seed=5) == 0.0
    with pytest.raises(ValueError, match="not finite"):
        sliced_wasserstein(np.full((m, 5), np.inf, np.float32), a, 8, 3, seed=5)


def test_extract_descriptors_rejects_bad_corners_and_outputs():
    img = np.zeros((2, 3, 16, 16), np.float32)
    with pytest.raises(ValueError, match="corners"):
        extract_descriptors(img, np.array([[[0, 10]], [[0, 0]]]), 7)
    with pytest.raises(ValueError, match="corners"):
        extract_descriptors(img, np.zeros((2, 1, 3), np.int32), 7)
    with pytest.raises(ValueError, match="out must be"):
        extract_descriptors(img, np.zeros((2, 1, 2), np.int32), 7, out=np.zeros((2, 100)))


def test_channel_stats_from_sums_equal_the_centred_update():
    rng = np.random.default_rng(3)
    raw = rng.normal([1.0, -5.0, 130.0], [2.0, 0.5, 60.0], (300, 49, 3))
    raw = np.ascontiguousarray(raw.astype(np.float32).transpose(0, 2, 1)).reshape(300, -1)
    direct, from_sums = ChannelStats(3), ChannelStats(3)
    for chunk in (raw[:100], raw[100:]):
        direct.add(chunk)
        per = chunk.reshape(chunk.shape[0], 3, -1).astype(np.float64)
        from_sums.add_sums(
            per.shape[0] * per.shape[2],
            np.stack([per.sum(axis=(0, 2)), (per**2).sum(axis=(0, 2))], 1),
        )
    np.testing.assert_allclose(from_sums.mean, direct.mean, rtol=1e-12)
    np.testing.assert_allclose(from_sums.std(), direct.std(), rtol=1e-7)  # direct: float32 centring


# ---------------------------------------------------------------- the whole metric
def test_identical_sets_give_exactly_zero():
    x = _smooth_images(16, 32, 3, 0)
    out = swd(x, x.copy(), seed=3)
    assert set(out) == {"SWDx1e3_32", "SWDx1e3_16", "SWDx1e3_avg"}
    assert all(v == 0.0 for v in out.values())


def test_streaming_equals_one_shot():
    x = _smooth_images(23, 32, 3, 0)
    y = _noised(x, 10)
    one = swd(x, y, seed=11, batch_size=64)
    streamed = swd(
        (x[i : i + 7] for i in range(0, 23, 7)),
        iter([y[:5], y[5:19], y[19:]]),
        seed=11,
        batch_size=6,
    )
    for k in one:
        assert streamed[k] == pytest.approx(one[k], rel=1e-5)


def _blurred(images, passes):
    x = images.astype(np.float64)
    for _ in range(passes):
        x = _np_blur(x, 1.0)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def test_monotone_in_noise_and_in_blur():
    x = _smooth_images(24, 32, 3, 0)
    ref = _smooth_images(24, 32, 3, 100)  # another draw of the same distribution
    base = swd(x, ref, seed=0)
    noisy = [swd(x, _noised(ref, s), seed=0)["SWDx1e3_avg"] for s in (5, 20, 60)]
    assert base["SWDx1e3_avg"] < noisy[0] < noisy[1] < noisy[2]
    blurred = [swd(x, _blurred(ref, k), seed=0)["SWDx1e3_32"] for k in (1, 2, 3)]
    assert base["SWDx1e3_32"] < blurred[0] < blurred[1] < blurred[2]


def test_grayscale_and_varying_shapes_in_one_process():
    """The traced pyramid function must cope with any channel count / size after retracing."""
    for size, channels in ((16, 1), (32, 3), (16, 3), (32, 1)):
        x = _smooth_images(5 + channels, size, channels, 0)
        out = swd(x, _noised(x, 30), seed=0)
        assert set(out) == {f"SWDx1e3_{r}" for r in pyramid_resolutions(size)} | {"SWDx1e3_avg"}
        assert out["SWDx1e3_16"] > 0


def test_bad_inputs_raise_clear_errors():
    x = _smooth_images(4, 32, 3, 0)
    with pytest.raises(ValueError, match="uint8"):
        swd(x.astype(np.float32), x)
    with pytest.raises(ValueError, match="equal size"):
        swd(x, x[:3])
    with pytest.raises(ValueError, match="expected uint8"):
        swd(x, _smooth_images(4, 16, 3, 0))


def _sorted_swd(reals, fakes, seed, patches=128, dirs=128, repeats=4):
    """The same method and randomness as swd(), done the original's way: descriptors in
    (y, x, channel) order, normalized, projected and sorted."""
    levels = len(pyramid_resolutions(reals.shape[1]))
    pyr = [_np_laplacian(s.astype(np.float64), levels) for s in (reals, fakes)]
    out = []
    for lev, res in enumerate(pyramid_resolutions(reals.shape[1])):
        corners = patch_corners(seed, lev, 0, reals.shape[0], patches, res)
        sets = []
        for p in pyr:
            d = np.stack(
                [
                    p[lev][i, y : y + 7, x : x + 7, :]
                    for i in range(reals.shape[0])
                    for y, x in corners[i]
                ]
            )
            d = (d - d.mean(axis=(0, 1, 2))) / d.std(axis=(0, 1, 2))
            sets.append(d.reshape(d.shape[0], -1))
        vs = random_directions(sets[0].shape[1], dirs, repeats, [seed, lev])
        out.append(
            1e3
            * np.mean(
                [
                    np.mean(np.abs(np.sort(sets[0] @ v, axis=0) - np.sort(sets[1] @ v, axis=0)))
                    for v in vs
                ]
            )
        )
    return out


def test_equals_the_sorting_method_for_the_same_seed():
    """Same patches, directions and normalization: equal up to float32 rounding."""
    x = _smooth_images(12, 32, 3, 0)
    y = _noised(_smooth_images(12, 32, 3, 1), 15)
    got = swd(x, y, seed=4, batch_size=5)
    want = _sorted_swd(x, y, seed=4)
    assert got["SWDx1e3_32"] == pytest.approx(want[0], rel=1e-4)
    assert got["SWDx1e3_16"] == pytest.approx(want[1], rel=1e-4)


def test_stored_level_keeps_the_fewest_bytes():
    # 128²×3 uint8 (48 KiB) is smaller than any descriptors (73.5 KiB per level)
    assert stored_level([128, 64, 32, 16], 3, 128, 7) == 0
    assert stored_level([256, 128, 64, 32, 16], 3, 128, 7) == 0
    # 1024²: keep the descriptors of 1024..128 and the float32 64² Gaussian image
    assert stored_level([1024, 512, 256, 128, 64, 32, 16], 3, 128, 7) == 4
    # with few patches the descriptors are cheaper from the start
    assert stored_level([64, 32, 16], 3, 4, 7) == 2


def test_descriptors_kept_at_add_time_give_the_same_values():
    """With few patches per image the accumulator keeps descriptors of the finer levels
    (stored_level > 0) instead of the images: same result as the sorting method."""
    x = _smooth_images(40, 64, 3, 0)
    y = _noised(_smooth_images(40, 64, 3, 1), 20)
    acc = SWDAccumulator(64, 3, seed=9, patches_per_image=4)
    assert acc.stored_level == 2
    for i in range(0, 40, 16):
        acc.add_reals(x[i : i + 16])
        acc.add_fakes(y[i : i + 16])
    got = acc.result()
    want = _sorted_swd(x, y, seed=9, patches=4)
    for res, w in zip((64, 32, 16), want):
        assert got[f"SWDx1e3_{res}"] == pytest.approx(w, rel=1e-4)


def test_agrees_with_numpy_reference_within_seed_spread():
    """Our TF SWD vs a straightforward NumPy SWD on the same images, different randomness."""
    x = _smooth_images(12, 32, 3, 0)
    y = _noised(_smooth_images(12, 32, 3, 1), 15)
    ours = np.array(
        [[v for k, v in sorted(swd(x, y, seed=s).items()) if k != "SWDx1e3_avg"] for s in range(4)]
    )
    rng = np.random.default_rng(123)
    ref = np.array([_np_swd(x, y, rng)[::-1] for _ in range(4)])  # sorted keys: 16, 32
    spread = ours.std(axis=0) + ref.std(axis=0)
    diff = np.abs(ours.mean(axis=0) - ref.mean(axis=0))
    assert np.all(diff <= 3 * spread + 0.03 * ref.mean(axis=0)), (ours, ref)
