"""The one rule for image sizes: a power of two, at least 4×4."""

import pytest

from pgan_tf.core import resolution
from pgan_tf.core.resolution import is_power_of_two, is_resolution, res_log2, resolutions_up_to


def test_log2_of_every_resolution_and_one_error_for_the_rest():
    assert [res_log2(r) for r in (4, 8, 1024, 4.0)] == [2, 3, 10, 2]
    for bad in (0, 1, 2, 6, 12, 100, -4, 32.5):
        with pytest.raises(ValueError, match=f"resolution must be a power of two >= 4, got {bad}$"):
            res_log2(bad)


def test_predicates():
    assert [n for n in range(-2, 70) if is_power_of_two(n)] == [1, 2, 4, 8, 16, 32, 64]
    assert [n for n in range(-2, 70) if is_resolution(n)] == [4, 8, 16, 32, 64]
    assert not is_power_of_two(2.5) and is_resolution(8.0)


def test_resolutions_up_to():
    assert resolutions_up_to(4) == (4,)
    assert resolutions_up_to(32) == (4, 8, 16, 32)
    with pytest.raises(ValueError, match="power of two"):
        resolutions_up_to(24)


@pytest.mark.parametrize(
    "lod, expected",
    [
        (0.0, (1024, False, 1.0)),  # full resolution, stable
        (8.0, (4, False, 1.0)),  # the first stage
        (3.0, (128, False, 1.0)),
        (2.25, (256, True, 0.75)),  # 256² fading in, three quarters done
        (0.5, (1024, True, 0.5)),
    ],
)
def test_split_lod_gives_stage_fade_and_alpha(lod, expected):
    assert resolution.split_lod(1024, lod) == expected


@pytest.mark.parametrize("lod", [0.0, 0.5, 2.25, 3.0, 7.875, 8.0])
def test_join_lod_inverts_split_lod(lod):
    stage_res, _, alpha = resolution.split_lod(1024, lod)
    assert resolution.join_lod(1024, stage_res, alpha) == lod
