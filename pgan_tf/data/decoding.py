"""The image-decoding policy of the dataset tool: what one image may be, and how it is made fit.

As the original tool demands, images must be square, power-of-two, RGB or grayscale 8-bit, all of
one size, unless a `Transform` says how to make them so: `transform='center-crop'` crops the
centred square, `resolution=N` resizes (Lanczos, the original's LSUN filter), and
`convert='rgb'|'gray'` converts any other mode (RGBA, CMYK, palette, 16-bit, …) explicitly.
`decode` turns one encoded file into a uint8 HWC array under that policy, and every decoding
failure becomes one `DatasetError` line naming the file (`decoding_errors`). The sources that
read folders, archives and databases are in `sources.py`.
"""

import contextlib
import dataclasses

import numpy as np

from pgan_tf.core.resolution import is_resolution
from pgan_tf.data.tfrecord_format import DatasetError

TRANSFORMS = ("none", "center-crop")
CONVERSIONS = (None, "rgb", "gray")
CONVERT_HINT = "pass --convert rgb (or gray) to convert it explicitly"


@dataclasses.dataclass(frozen=True)
class Transform:
    """How images are made square, power-of-two and 8-bit RGB/grayscale (default: not at all)."""

    transform: str = "none"
    resolution: int = None
    convert: str = None

    def __post_init__(self):
        if self.transform not in TRANSFORMS:
            raise DatasetError(
                f"--transform: must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}"
            )
        if self.convert not in CONVERSIONS:
            raise DatasetError(f"--convert: must be rgb or gray, got {self.convert!r}")
        if self.resolution is not None and not is_resolution(self.resolution):
            raise DatasetError(f"--resolution: must be a power of two >= 4, got {self.resolution}")

    def output_size(self, width, height, where):
        """The side of the square image this transform makes of a width×height one."""
        if self.transform == "center-crop":
            side = min(width, height)
        elif width != height:
            raise DatasetError(
                f"{where}: image is {width}x{height}, not square (pass --transform center-crop)"
            )
        else:
            side = width
        if self.resolution is not None:
            return self.resolution
        if not is_resolution(side):
            what = f"its centre crop {side}x{side}" if width != height else "it"
            raise DatasetError(
                f"{where}: image is {width}x{height} and {what} is not a power of two >= 4 "
                "(pass --resolution N to resize)"
            )
        return side

    def channels(self, mode, where, rawmode=None):
        """1 or 3: the channels an image of PIL `mode` becomes, or a DatasetError."""
        if self.convert is not None:
            if mode == "F":
                raise DatasetError(f"{where}: floating-point image (mode F) cannot be converted")
            return 3 if self.convert == "rgb" else 1
        if is_16bit(mode, rawmode):
            raise DatasetError(
                f"{where}: 16-bit image ({mode}); the original tool accepts 8-bit RGB or grayscale "
                f"only; {CONVERT_HINT}"
            )
        if mode == "RGB":
            return 3
        if mode == "L":
            return 1
        reason = {
            "RGBA": "has an alpha channel (RGBA)",
            "LA": "has an alpha channel (LA)",
            "PA": "has an alpha channel (PA)",
            "CMYK": "is CMYK",
            "P": "is a palette image (P)",
            "1": "is a 1-bit image",
            "F": "is a floating-point image (F)",
        }.get(mode, f"has mode {mode}")
        raise DatasetError(
            f"{where}: image {reason}; images must be RGB or grayscale; {CONVERT_HINT}"
        )

    def apply(self, img, where):
        """PIL image → uint8 HWC array (C = 1 or 3), transformed as asked."""
        import PIL.Image

        rawmode = rawmode_of(img)
        self.channels(img.mode, where, rawmode)  # refuses what is not accepted
        if self.convert is not None:
            img = _convert(img, self.convert)
        side = self.output_size(img.width, img.height, where)
        if self.transform == "center-crop" and img.width != img.height:
            w, h = img.size
            crop = min(w, h)  # the centred square, as the original's LSUN crop
            img = img.crop(((w - crop) // 2, (h - crop) // 2, (w + crop) // 2, (h + crop) // 2))
        if img.width != side:
            img = img.resize((side, side), PIL.Image.LANCZOS)
        arr = np.asarray(img)
        return arr[:, :, None] if arr.ndim == 2 else arr


def rawmode_of(img) -> str:
    """The raw mode the decoder will read (e.g. `I;16B` for a 16-bit PNG opened as `I`), or None."""
    tile = getattr(img, "tile", None)
    if not tile:
        return None
    args = tile[0][-1] if not hasattr(tile[0], "args") else tile[0].args
    if isinstance(args, tuple):
        args = args[0] if args else None
    return args if isinstance(args, str) else None


def is_16bit(mode: str, rawmode: str = None) -> bool:
    """True for a 16-bit (or 32-bit integer) image, which the original tool does not accept."""
    return mode.startswith("I;16") or mode == "I" or (rawmode is not None and ";16" in rawmode)


def _convert(img, target):
    import PIL.Image

    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.asarray(img).astype(np.int64)
        img = PIL.Image.fromarray((arr.clip(0, 65535) >> 8).astype(np.uint8))
    want = "RGB" if target == "rgb" else "L"
    return img if img.mode == want else img.convert(want)


def array_to_pil(arr: np.ndarray, where: str):
    """A decoded HWC array (e.g. from TFDS) as a PIL image, so one Transform serves all sources."""
    import PIL.Image

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype not in (np.uint8, np.uint16) or (arr.dtype == np.uint16 and arr.ndim != 2):
        raise DatasetError(
            f"{where}: {arr.dtype} image of shape {arr.shape}; expected 8-bit RGB or grayscale"
        )
    if arr.ndim == 3 and arr.shape[2] not in (3, 4):
        raise DatasetError(
            f"{where}: image with {arr.shape[2]} channels; expected RGB or grayscale"
        )
    return PIL.Image.fromarray(np.ascontiguousarray(arr))  # L, RGB, RGBA or I;16


@contextlib.contextmanager
def decoding_errors(where: str):
    """Turns what PIL raises on a bad file into one DatasetError line naming `where`."""
    import PIL.Image

    try:
        yield
    except DatasetError:  # a ValueError too, but already ours
        raise
    except PIL.UnidentifiedImageError:
        raise DatasetError(
            f"{where}: not an image file (cannot identify the image format)"
        ) from None
    except OSError as e:
        if e.errno is not None:  # the file system's refusal, not the decoder's
            raise DatasetError(f"{where}: cannot read ({e.strerror})") from None
        raise DatasetError(f"{where}: corrupt or truncated image ({e})") from None
    except (SyntaxError, ValueError, EOFError) as e:
        raise DatasetError(f"{where}: corrupt or truncated image ({e})") from None


def read_header(path: str) -> tuple:
    """(width, height, mode, rawmode) of an image file, from its header (no pixels decoded)."""
    import PIL.Image

    with decoding_errors(path), PIL.Image.open(path) as img:
        return img.width, img.height, img.mode, rawmode_of(img)


def decode(file, where: str, transform: Transform) -> np.ndarray:
    """uint8 HWC array of one encoded image (a path or a binary file object), decoded and
    transformed by `transform`; a DatasetError naming `where` if it is corrupt or refused."""
    import PIL.Image

    with decoding_errors(where), PIL.Image.open(file) as img:
        img.load()
        return transform.apply(img, where)
