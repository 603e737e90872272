"""Turn a photo or drawing of one digit into a 28x28 image prepared the way MNIST was.

MNIST digits are white on black, cropped, scaled so the longest side is 20 px (aspect
kept) and placed in a 28x28 field with their centre of mass at its centre. A digit that
is not prepared like that is misread, so every image goes through ``prepare_image``:

    EXIF orientation -> alpha onto white -> grayscale -> invert if the background is light
    -> paper level (uneven light too) removed, contrast stretched, faint pixels cleared -> crop
    -> longest side to 20 px -> pasted into 28x28, centre of mass at (14, 14)

The result is uint8 (28, 28); ``predict_proba`` then applies the model's own
preprocessing, read from its model file.
"""

from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageOps

from softmax_mnist.core.idx import NotRegularFile, open_regular
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.errors import ConfigError, DataError, SoftmaxMnistError
from softmax_mnist.study.modelfile import model_inputs

# Decoded in this process by Pillow's own or bundled libraries (libpng, libjpeg, giflib-free GIF,
# libwebp, libtiff); no other format is even identified. EPS and PDF would start Ghostscript.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
POSTSCRIPT = (b"%!", b"\xc5\xd0\xd3\xc6", b"%PDF")  # PostScript / EPS, DOS EPS, PDF: how they start
MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
# The decode budget: these decoders take time and memory in proportion to the pixels, so the pixel
# cap bounds both (a 40-megapixel PNG decodes in about 1 s here; see docs). The rest of the work is
# done on a copy at most WORK_SIDE px on its longest side: JPEG is decoded straight to that scale
# (draft), other formats are reduced by box averaging once decoded, so a 4-megapixel upload holds
# about 20 MB at its peak, not 100.
WORK_SIDE = 1000
MAX_FILE_BYTES = 1 << 27  # 128 MiB: an uncompressed 40-megapixel RGB image is 120 MB; more is not read
SIZE, BOX = 28, 20  # MNIST: a 20x20 box inside a 28x28 field
CENTRE = 14.0  # where MNIST's centres of mass sit (mean over the test set: 13.99, 14.01)
MIN_CONTRAST = 40  # ink must differ from the background by this many gray levels (of 255)
FAINT = 0.1  # after the stretch, pixels below this fraction of full ink are cleared (noise)


class ImageError(DataError):
    """A file or upload that is not a usable image (unreadable, not an image, too large)."""


class NoDigitError(ImageError):
    """An image with nothing on it that could be a digit."""


@contextmanager
def quiet_pillow():
    """Silence Pillow's warnings (corrupt metadata, big images): errors are ours to report, in one line."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"PIL\.")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def open_image(source: str | os.PathLike | bytes, name: str | None = None,
               max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode a path or the bytes of an image file; any problem is a one-line ImageError."""
    name = name or (str(source) if not isinstance(source, bytes) else "upload")
    try:
        data = source if isinstance(source, bytes) else read_image_file(Path(source), name)
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except NotRegularFile as e:
        raise ImageError(f"{name}: {e}; pass an image file") from None
    except OSError as e:
        raise ImageError(f"{name}: cannot read ({e.strerror or e})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name}: file too large (over {MAX_FILE_BYTES:,} bytes), not read further")
    if not data:
        raise ImageError(f"{name}: empty file, expected a PNG, JPEG or other image")
    if data[:64].lstrip().startswith(POSTSCRIPT):
        raise ImageError(f"{name}: EPS, PostScript and PDF files are not read (they would run "
                         "Ghostscript); save the digit as PNG or JPEG")
    with quiet_pillow():
        try:
            img = Image.open(io.BytesIO(data), formats=FORMATS)
        except Image.DecompressionBombError:
            raise ImageError(f"{name}: image too large (over {max_pixels:,} pixels)") from None
        except Exception:  # Pillow raises many types on non-images; all mean the same here
            raise ImageError(f"{name}: not an image this program reads (PNG, JPEG, GIF, BMP, WebP "
                             "or TIFF)") from None
        w, h = img.size
        if w * h > max_pixels:  # checked before decoding the pixels
            raise ImageError(f"{name}: image too large ({w}x{h} pixels, limit {max_pixels:,})")
        try:
            return working_copy(img)
        except Exception as e:  # truncated or corrupt data, again in many exception types
            raise ImageError(f"{name}: corrupt or truncated image ({e})") from None


def working_copy(img: Image.Image) -> Image.Image:
    """``img`` decoded, at most about WORK_SIDE px on its longest side (whole-number reduction, so
    never below it), its EXIF kept for the orientation. A digit needs no more: it ends as 20 px."""
    factor = max(img.size) // WORK_SIDE
    if factor >= 2 and img.format == "JPEG":  # decoded at 1/2, 1/4 or 1/8 scale, far less memory
        img.draft(img.mode, (img.width // factor, img.height // factor))
    img.load()
    factor = max(img.size) // WORK_SIDE
    if factor < 2:
        return img
    if img.mode.startswith("I;16"):  # reduced as 32-bit, kept 16-bit: to_gray reads the range by mode
        small = img.convert("I").reduce(factor).convert("I;16")
    else:  # a palette or a colour key cannot be averaged: as RGBA first (to_gray flattens it)
        flat = img.mode in ("1", "P", "PA") or "transparency" in img.info
        small = (img.convert("RGBA") if flat else img).reduce(factor)
    with quiet_pillow():
        try:
            small.info["exif"] = img.getexif().tobytes()
        except Exception:  # noqa: BLE001 - a corrupt EXIF block: no orientation, as _upright says
            pass
    return small


def read_image_file(path: Path, name: str) -> bytes:
    """The bytes of the regular file ``path``, at most MAX_FILE_BYTES + 1 of them (so a larger
    file is seen to be larger without reading it whole). A FIFO, device or socket is refused
    (NotRegularFile) before anything is read: /dev/zero never ends, a FIFO may never answer."""
    with open_regular(path) as f:
        return f.read(MAX_FILE_BYTES + 1)


def _upright(img: Image.Image) -> Image.Image:
    """``img`` turned as its EXIF orientation says; as it is when the EXIF block is unreadable
    (Pillow raises SyntaxError, struct.error, ... on a corrupt one): the pixels are still good."""
    with quiet_pillow():
        try:
            return ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 - any corrupt metadata means the same: no orientation
            return img


def to_gray(img: Image.Image) -> np.ndarray:
    """EXIF-upright, alpha flattened onto white, as float32 gray levels 0..255 (H, W)."""
    img = _upright(img)  # a corrupt EXIF block leaves the orientation as it is
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit, 32-bit and float images
        a = np.asarray(img, dtype=np.float64)
        finite = np.isfinite(a)  # NaN or inf: a missing pixel, given the typical (background) value
        a = np.clip(np.where(finite, a, np.median(a[finite]) if finite.any() else 0.0), 0, None)
        peak = float(a.max())  # the range the values were written in: 0..1, 255, 65535, or their own
        ranges = (65535.0,) if img.mode.startswith("I;16") else (1.0, 255.0, 65535.0, peak)
        top = min(t for t in ranges if t >= peak) or 1.0
        return (a * (255.0 / top)).astype(np.float32)
    if img.mode == "LAB":  # Pillow cannot convert LAB; its L band is the lightness
        img = img.getchannel("L")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    try:
        return np.asarray(img.convert("L"), dtype=np.float32)
    except ValueError:
        raise ImageError(f"colour mode {img.mode} is not supported; save it as PNG or JPEG") from None


def paper_level(x: np.ndarray) -> np.ndarray:
    """The smooth level of the paper under bright ink (uneven light, shadows), (H, W) like ``x``.

    A 9-px morphological opening of a 32-px thumbnail wipes out the strokes and keeps the
    light, which is then scaled back up.
    """
    h, w = x.shape
    scale = 32 / max(h, w)
    thumb = Image.fromarray(x).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                      Image.Resampling.BOX)
    def window(a, reduce):  # 9x9 minimum or maximum around every pixel
        return reduce(sliding_window_view(np.pad(a, 4, mode="edge"), (9, 9)), axis=(2, 3))

    # opening: the minimum removes strokes, the maximum restores the edges of shadows
    level = window(window(np.asarray(thumb), np.min), np.max).astype(np.float32)
    return np.asarray(Image.fromarray(level).resize((w, h), Image.Resampling.BILINEAR))


def ink(gray: np.ndarray) -> np.ndarray:
    """Gray levels -> ink in 0..255 on a zero background: inverted if the border is light."""
    h, w = gray.shape
    k = max(1, min(h, w) // 20)  # a border ring 5% thick
    border = np.concatenate([gray[:k].ravel(), gray[-k:].ravel(),
                             gray[:, :k].ravel(), gray[:, -k:].ravel()])
    background = float(np.median(border))
    if background > 127:  # dark ink on light paper: MNIST is light ink on black
        gray, background = 255.0 - gray, 255.0 - background
    # a photo or drawing has room to tell shading from strokes; a digit-sized image (MNIST) has not
    x = np.clip(gray - (paper_level(gray) if max(h, w) >= 64 else background), 0, None)
    peak = float(x.max())
    if peak < MIN_CONTRAST:
        raise NoDigitError("no digit found (the image is blank or has too little contrast)")
    x *= 255.0 / peak
    x[x < FAINT * 255] = 0  # paper texture, JPEG noise
    return x


def centre_in_field(digit: np.ndarray) -> np.ndarray:
    """Paste a (h, w) digit, longest side BOX, into SIZE x SIZE with its centre of mass at CENTRE."""
    h, w = digit.shape
    total = digit.sum()
    cy = (digit.sum(axis=1) @ np.arange(h)) / total
    cx = (digit.sum(axis=0) @ np.arange(w)) / total
    # whole-pixel shift, as MNIST did; clamped so a lopsided digit is never cut off
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), dtype=np.uint8)
    out[top:top + h, left:left + w] = digit
    return out


def prepare_image(img: Image.Image) -> np.ndarray:
    """A decoded image of one digit -> uint8 (28, 28), white on black, as MNIST. Raises NoDigitError."""
    x = ink(to_gray(img))
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    x = x[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = x.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # bilinear has no negative lobes, so every edge row and column keeps some ink
    small = np.asarray(Image.fromarray(x.astype(np.float32)).resize(size, Image.Resampling.BILINEAR))
    small = small * (255.0 / small.max())  # a thin stroke keeps full ink after shrinking
    # ceil, not round: a pixel that got any ink stays visible, so the box stays 20 px
    return centre_in_field(np.ceil(np.clip(small, 0, 255)).astype(np.uint8))


def prepare_file(source: str | os.PathLike | bytes, name: str | None = None,
                 max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Path or image bytes -> uint8 (28, 28). ImageError / NoDigitError name the file."""
    name = name or (str(source) if not isinstance(source, bytes) else "upload")
    img = open_image(source, name, max_pixels)
    try:
        with quiet_pillow():
            return prepare_image(img)
    except ImageError as e:  # NoDigitError included: say which file
        raise type(e)(f"{name}: {e}") from None
    except SoftmaxMnistError:
        raise
    except Exception as e:  # noqa: BLE001 - Pillow fails on odd files in many types; one line each
        raise ImageError(f"{name}: cannot prepare this image ({type(e).__name__}: {e})") from None


def predict_proba(model: SoftmaxRegression, meta: dict, images: np.ndarray) -> np.ndarray:
    """Prepared uint8 images (N, 28, 28) -> class probabilities (N, C), preprocessed as in training."""
    if model.W.shape[0] != SIZE * SIZE:
        raise ConfigError(f"the model takes {model.W.shape[0]} features, not {SIZE}x{SIZE} images")
    return model.predict_proba(model_inputs(images, meta))


def to_png(image: np.ndarray) -> bytes:
    """A uint8 (H, W) image as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
