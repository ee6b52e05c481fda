"""The rule every image size obeys: square, a power of two, at least 4×4.

The networks grow from 4×4 by doubling (paper §2), and the original's dataset tool and networks
accept nothing else; every check of a resolution in the project goes through this module, and
so does the original's level of detail (lod), which names a stage by its distance from full
resolution.
"""

import math

MIN_RESOLUTION = 4
MIN_RES_LOG2 = 2  # log2(MIN_RESOLUTION)


def is_power_of_two(n: int) -> bool:
    """True for the integers 1, 2, 4, 8, …"""
    return int(n) == n and n >= 1 and not int(n) & (int(n) - 1)


def is_resolution(n: int) -> bool:
    """True for a power of two ≥ 4."""
    return is_power_of_two(n) and n >= MIN_RESOLUTION


def res_log2(resolution: int) -> int:
    """log2 of a resolution; a one-line ValueError naming the value if it is not a power of
    two ≥ 4."""
    if not is_resolution(resolution):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return int(resolution).bit_length() - 1


def resolutions_up_to(resolution: int) -> tuple:
    """Every resolution from 4×4 up to `resolution` (included), ascending."""
    return tuple(2**k for k in range(MIN_RES_LOG2, res_log2(resolution) + 1))


def split_lod(resolution: int, lod: float) -> tuple[int, bool, float]:
    """(stage resolution, fading in, α) of the original's level of detail `lod` for a network of
    full `resolution`: lod counts down to 0 at full resolution, and its fraction is 1 − α of the
    block fading in (the original's `lod` variable, paper §2 and Fig. 2)."""
    level = math.floor(lod)
    fading = lod != level
    return int(resolution) >> level, fading, 1.0 - (lod - level) if fading else 1.0


def join_lod(resolution: int, stage_resolution: int, alpha: float = 1.0) -> float:
    """The level of detail of a stage at `stage_resolution` with its newest block at `alpha`: the
    inverse of `split_lod`."""
    return float(res_log2(resolution) - res_log2(stage_resolution)) + (1.0 - float(alpha))
