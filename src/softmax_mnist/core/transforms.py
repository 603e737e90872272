"""Fixed image -> image transforms applied before preprocessing: moment normalisation
(centring, deskewing, size) and a Gaussian blur.

They learn nothing: each image is transformed on its own, the same way at training and at
prediction time. A model records the transform it was trained with (``model.npz`` meta,
see modelfile), so ``evaluate``, ``predict`` and the web page apply it too.

Moment normalisation (Casey 1970; the deskewing of LeCun et al.'s MNIST tables). With ink
m(r, c), its centre, vertical spread and slant are

    (r0, c0) = sum (r, c) m / sum m
    s_r^2    = sum (r - r0)^2 m / sum m
    a        = sum (r - r0)(c - c0) m / sum (r - r0)^2 m

and output pixel (r, c), with (u, v) = (r - h/2, c - w/2) its offset from the frame centre,
is read at input

    (r0 + k u,  c0 + k v + a k u)      k = s_r / size  (clipped to SIZE_RANGE), or 1

so the centre of mass lands on the frame centre, the slant a is undone (deskew) and the ink
gets a vertical spread of ``size`` pixels, the same shape for every height (bilinear
interpolation, zeros outside the image).
"""

from __future__ import annotations

import math

import numpy as np

from softmax_mnist.errors import ConfigError

CHUNK = 2048  # images per step: bounds the temporaries to a few tens of MB
MAX_SLANT = 1.0  # |a| above this (a flat stroke: almost no vertical spread) is clipped
SIZE_RANGE = (0.6, 1.6)  # at most this much shrinking / enlarging (k), for dots and dashes


def normalize(images: np.ndarray, deskew: bool = True, size: float = 0.0) -> np.ndarray:
    """(N, H, W) uint8 -> (N, H, W) uint8: centred, deskewed if ``deskew``, and with a
    vertical ink spread of ``size`` pixels if ``size`` > 0 (see module doc)."""
    out = np.empty_like(images)
    for start in range(0, len(images), CHUNK):
        out[start : start + CHUNK] = _to_uint8(
            _normalize(images[start : start + CHUNK], deskew, size))
    return out


def _normalize(images: np.ndarray, deskew: bool, size: float) -> np.ndarray:
    n, h, w = images.shape
    m = images.astype(np.float32)
    r = np.arange(h, dtype=np.float32)[:, None]
    c = np.arange(w, dtype=np.float32)[None, :]
    # the moments from per-row sums: ink per row, and each row's ink-weighted column sum
    row_ink = m.sum(axis=2)  # (n, h)
    row_col = m @ c[0]  # (n, h): sum over c of m[r, c] * c
    mass = row_ink.sum(axis=1)
    mass[mass == 0] = 1  # a blank image stays blank: every moment below is then 0
    r0 = row_ink @ r[:, 0] / mass
    c0 = row_col.sum(axis=1) / mass
    dr = r[:, 0] - r0[:, None]  # (n, h): each row's offset from the centre
    var_r = (row_ink * dr * dr).sum(axis=1) / mass
    slant = np.zeros(n, np.float32)
    if deskew:  # sum m (r - r0)(c - c0) = sum_r (r - r0) (row_col - c0 row_ink)
        cov = (dr * (row_col - c0[:, None] * row_ink)).sum(axis=1) / mass
        np.divide(cov, var_r, out=slant, where=var_r > 0)
        np.clip(slant, -MAX_SLANT, MAX_SLANT, out=slant)
    k = np.ones(n, np.float32)
    if size:
        np.divide(np.sqrt(var_r), size, out=k, where=var_r > 0)
        np.clip(k, *SIZE_RANGE, out=k)
    u = (r - h / 2) * k[:, None, None]  # (n, h, 1): the same along a row
    v = (c - w / 2) * k[:, None, None]  # (n, 1, w)
    # where each output pixel reads from: row (n, h, 1), column (n, h, w)
    src_r = r0[:, None, None] + u
    src_c = c0[:, None, None] + v + slant[:, None, None] * u
    return _bilinear(m, src_r, src_c)


def _bilinear(m: np.ndarray, src_r: np.ndarray, src_c: np.ndarray) -> np.ndarray:
    """Sample images m (n, h, w) at fractional rows src_r (n, h, 1) and columns src_c (n, h, w),
    reading zeros outside the image. Separable: blend two whole rows, then two columns."""
    n, h, w = m.shape
    padded = np.zeros((n, h + 2, w + 2), dtype=np.float32)  # a ring of zeros around each image
    padded[:, 1:-1, 1:-1] = m
    r_floor, c_floor = np.floor(src_r), np.floor(src_c)
    fr, fc = src_r - r_floor, src_c - c_floor
    # +1 (+2) index the padded frame; clipping sends reads far outside to the zero ring
    r_floor, c_floor = r_floor.astype(np.intp), c_floor.astype(np.intp)
    images = np.arange(n)[:, None]
    row_lo = padded[images, np.clip(r_floor[:, :, 0] + 1, 0, h + 1)]  # (n, h, w + 2)
    row_hi = padded[images, np.clip(r_floor[:, :, 0] + 2, 0, h + 1)]
    rows = row_lo * (1 - fr) + row_hi * fr  # each output row, read between two input rows
    flat = rows.reshape(-1)  # then in each such row, two columns: flat index row * (w + 2) + col
    row_start = (np.arange(n * h) * (w + 2)).reshape(n, h, 1)
    col_lo = flat[row_start + np.clip(c_floor + 1, 0, w + 1)]
    col_hi = flat[row_start + np.clip(c_floor + 2, 0, w + 1)]
    return col_lo * (1 - fc) + col_hi * fc


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """(N, H, W) uint8 -> (N, H, W) uint8, a Gaussian blur of ``sigma`` pixels (zeros outside).

    Separable: the same 1-D kernel (radius ceil(3 sigma), normalised) along rows and columns,
    each pass one matrix product with the banded matrix K[i, j] = kernel[j - i].
    """
    if sigma == 0:
        return images.copy()
    n, h, w = images.shape
    radius = max(1, math.ceil(3 * sigma))
    out = np.empty_like(images)
    k_rows, k_cols = _band(h, sigma, radius), _band(w, sigma, radius)
    for start in range(0, n, CHUNK):
        m = images[start : start + CHUNK].astype(np.float32)
        m = (m.reshape(-1, w) @ k_cols).reshape(m.shape)  # along each row
        m = np.matmul(k_rows, m)  # along each column: K (h, h) @ every image (h, w)
        out[start : start + CHUNK] = _to_uint8(m)
    return out


def _band(size: int, sigma: float, radius: int) -> np.ndarray:
    """(size, size) symmetric matrix of the normalised Gaussian kernel, zero beyond ``radius``."""
    offset = np.arange(size)[:, None] - np.arange(size)[None, :]
    kernel = np.exp(-0.5 * (offset / sigma) ** 2) * (np.abs(offset) <= radius)
    norm = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2).sum()
    return (kernel / norm).astype(np.float32)


def _to_uint8(m: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(m), 0, 255).astype(np.uint8)


# ---- a transform as data: what model.npz records -----------------------------------------


TRANSFORM_KEYS = ("deskew", "ink_size", "blur_sigma")


def check_transform(spec: dict | None) -> dict | None:
    """Validate a transform ``{"deskew": bool, "ink_size": float, "blur_sigma": float}``.

    Missing keys mean off; None, or everything off, means no transform (returns None).
    """
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - set(TRANSFORM_KEYS):
        raise ConfigError(f"transform must be a table with keys {', '.join(TRANSFORM_KEYS)}, "
                          f"got {spec!r}")
    deskew = spec.get("deskew", False)
    if not isinstance(deskew, bool):
        raise ConfigError(f"transform deskew must be true or false, got {deskew!r}")
    out = {"deskew": deskew}
    for key, top in (("ink_size", 28.0), ("blur_sigma", 5.0)):
        x = spec.get(key, 0.0)
        if isinstance(x, bool) or not isinstance(x, (int, float)) or \
                not (math.isfinite(x) and 0 <= x <= top):
            raise ConfigError(f"transform {key} must be a number from 0 to {top:g}, got {x!r}")
        out[key] = float(x)
    return out if any(out.values()) else None


CHUNK = 5000  # images per step of a progress bar


def apply_transform(images: np.ndarray, spec: dict | None, progress=None) -> np.ndarray:
    """(N, H, W) uint8 -> (N, H, W) uint8: moment normalisation, then blur, as ``spec`` says
    (None: the images themselves). ``progress(desc=, total=)``, when given, makes a bar
    (tqdm's signature) advanced chunk by chunk: each image is transformed on its own, so
    chunks give the same pixels."""
    spec = check_transform(spec)
    if spec is None:
        return images
    if progress is not None and len(images) > CHUNK:
        bar = progress(desc="preparing images", total=len(images), unit="img")
        out = np.empty_like(images)
        for start in range(0, len(images), CHUNK):
            out[start:start + CHUNK] = apply_transform(images[start:start + CHUNK], spec)
            bar.update(len(out[start:start + CHUNK]))
        bar.close()
        return out
    if spec["deskew"] or spec["ink_size"]:
        images = normalize(images, spec["deskew"], spec["ink_size"])
    if spec["blur_sigma"]:
        images = blur(images, spec["blur_sigma"])
    return images
