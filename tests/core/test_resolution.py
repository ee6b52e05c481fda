"""The one rule for image sizes: a power of two, at least 4×4."""

import pytest

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
