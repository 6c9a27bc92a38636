"""Motion compensation (numba, GIL released): the predicted-frame picture both sides build.

Vectors are in sub-pel luma units, pointing into the reference: ``pel_shift`` 1 (half-pel,
the default) or 2 (quarter-pel, when the refresh header says so): the block whose top-left
corner is (x, y) is predicted from the reference at (x + dx/2^s, y + dy/2^s). Chroma planes use
the same vector in units twice as fine. Reads outside the reference are clamped to its edge
(unrestricted vectors), so any vector is memory-safe and pans into the frame stay cheap.
Sub-pel samples are bilinear in integer arithmetic, so the prediction is bit-exact; a half-pel
position gives the same sample in either unit. The vector predictor lives here too: the syntax
codes each vector as its difference from it. Finding the vectors is the encoder's
(``codec.encoder.motion_search``).

Block modes (``codec.common.modes``): ``MODE_SKIP`` (vector = its prediction, no residual),
``MODE_INTER`` (coded vector and residual), ``MODE_SPLIT`` (a vector per quadrant, each
predicted from the block's prediction or from its earlier quadrants), ``MODE_PALETTE`` (flat
palette colour, vector counts as zero). Compensation works from the quadrant field
(rows, cols, 4, 2): quadrants in raster order, an unsplit block's four equal to its vector.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .modes import MODE_PALETTE, MODE_SPLIT
from .parallel import per_plane_in_bands
from .simd import bilinear_row2, bilinear_row4, bilinear_row8, bilinear_row16, copy_row, fill_block

__all__ = ["MAX_VECTOR", "vector_predictor", "vector_predictors", "quadrant_vector_predictor",
           "quadrant_differences", "whole_block_quadrants", "predict_block",
           "predict_moved_block", "predict_planes",
           "vectors_in_pixels", "clamp"]

#: Largest |component| of a vector the stream accepts, in either unit (search range 64 px plus
#: the sub-pel refinement is 259 quarter-pels): anything larger is corrupt data.
MAX_VECTOR = 512


def vectors_in_pixels(mvs: np.ndarray, pel_shift: int = 1) -> np.ndarray:
    """Sub-pel vectors rounded to whole pixels (halves up), for displays and the public API."""
    return ((mvs + (1 << (pel_shift - 1))) >> pel_shift).astype(np.int32)


@njit(cache=True, nogil=True, inline="always")
def _median3(a, b, c):
    return max(min(a, b), min(max(a, b), c))


@njit(cache=True, nogil=True, _nrt=False)
def vector_predictor(field, r, c):
    """Median of the vectors next to block (r, c)'s top-left corner: the left block's (its
    top-right quadrant), the top block's (bottom-left) and the top-right block's
    (bottom-left; else the top-left block's bottom-right); only the left one on row 0.
    Returns (x, y).

    ``field``: (rows, cols, Q, 2) vectors per quadrant, Q = 4 (raster order), or Q = 1 for a
    field of whole blocks. Shared by encoder and decoder, so both derive the same prediction
    from the same field.
    """
    cols = field.shape[1]
    last = field.shape[2] - 1
    left_q = last & 1
    below_q = last & 2
    if r == 0:
        if c > 0:
            return np.int64(field[r, c - 1, left_q, 0]), np.int64(field[r, c - 1, left_q, 1])
        return np.int64(0), np.int64(0)
    x = np.int64(0)
    y = np.int64(0)
    for k in range(2):
        a = field[r, c - 1, left_q, k] if c > 0 else 0
        b = field[r - 1, c, below_q, k]
        if c + 1 < cols:
            cc = field[r - 1, c + 1, below_q, k]
        elif c > 0:
            cc = field[r - 1, c - 1, last, k]
        else:
            cc = 0
        if k == 0:
            x = np.int64(_median3(a, b, cc))
        else:
            y = np.int64(_median3(a, b, cc))
    return x, y


@njit(cache=True, nogil=True, _nrt=False)
def quadrant_vector_predictor(quadrants, r, c, q, px, py):
    """Prediction of quadrant ``q`` (raster order) of split block (r, c): the block's own
    prediction (px, py) for the first, the first quadrant for its right and lower
    neighbours, the median of the other three for the last. Returns (x, y)."""
    if q == 0:
        return np.int64(px), np.int64(py)
    if q < 3:
        return np.int64(quadrants[r, c, 0, 0]), np.int64(quadrants[r, c, 0, 1])
    x = _median3(quadrants[r, c, 0, 0], quadrants[r, c, 1, 0], quadrants[r, c, 2, 0])
    y = _median3(quadrants[r, c, 0, 1], quadrants[r, c, 1, 1], quadrants[r, c, 2, 1])
    return np.int64(x), np.int64(y)


def quadrant_differences(quadrants: np.ndarray, predictors: np.ndarray) -> np.ndarray:
    """Every quadrant vector minus its ``quadrant_vector_predictor`` (the block predictions
    ``predictors`` (rows, cols, 2) from ``vector_predictors``): what a split block codes."""
    out = np.empty_like(quadrants)
    out[:, :, 0] = quadrants[:, :, 0] - predictors
    out[:, :, 1] = quadrants[:, :, 1] - quadrants[:, :, 0]
    out[:, :, 2] = quadrants[:, :, 2] - quadrants[:, :, 0]
    median = np.median(quadrants[:, :, :3], axis=2).astype(quadrants.dtype)
    out[:, :, 3] = quadrants[:, :, 3] - median
    return out


def whole_block_quadrants(mvs: np.ndarray) -> np.ndarray:
    """The quadrant field of blocks none of which is split: each vector four times."""
    return np.ascontiguousarray(np.repeat(mvs[:, :, None, :], 4, axis=2), dtype=np.int32)


def vector_predictors(quadrants: np.ndarray, bands: list[tuple[int, int]]) -> np.ndarray:
    """``vector_predictor`` for every block of a final quadrant field (rows, cols, 4, 2),
    slice by slice; returns (rows, cols, 2).

    Each band of block rows (a slice, ``codec.common.slices.slice_rows``) is predicted as if it
    were a picture of its own (its first row has no top neighbours), so slices decode
    independently.
    """
    out = np.empty((*quadrants.shape[:2], 2), np.int32)
    for r0, r1 in bands:
        out[r0:r1] = _band_vector_predictors(quadrants[r0:r1])
    return out


@njit(cache=True, nogil=True)
def _band_vector_predictors(quadrants):
    rows, cols = quadrants.shape[:2]
    out = np.zeros((rows, cols, 2), np.int32)
    for r in range(rows):
        for c in range(cols):
            p = vector_predictor(quadrants, r, c)
            out[r, c, 0] = p[0]
            out[r, c, 1] = p[1]
    return out


@njit(cache=True, nogil=True, inline="always")
def clamp(v, lo, hi):
    """v limited to [lo, hi] (vector components, edge-clamped sample positions)."""
    return lo if v < lo else (hi if v > hi else v)


@njit(cache=True, nogil=True, _nrt=False)
def _sample(ref, y, x, fy, fx, shift):
    """Bilinear sample at integer (y, x) + fraction (fy, fx) / 2^shift, edge-clamped."""
    h, w = ref.shape
    s = 1 << shift
    y0 = clamp(y, 0, h - 1)
    y1 = clamp(y + 1, 0, h - 1)
    x0 = clamp(x, 0, w - 1)
    x1 = clamp(x + 1, 0, w - 1)
    a = np.int64(ref[y0, x0])
    b = np.int64(ref[y0, x1])
    c = np.int64(ref[y1, x0])
    d = np.int64(ref[y1, x1])
    acc = (s - fy) * ((s - fx) * a + fx * b) + fy * ((s - fx) * c + fx * d)
    return (acc + (1 << (2 * shift - 1))) >> (2 * shift)


@njit(cache=True, nogil=True, _nrt=False)
def _compensate_plane(ref, out, quadrants, modes, flat, bs, shift, row0):
    """Fill ``out`` block by block: motion-compensated (a split block quadrant by quadrant),
    or the flat palette value. The block arguments are the band of block rows from ``row0``."""
    rows, cols = modes.shape
    half = bs // 2
    for r in range(rows):
        for c in range(cols):
            y0 = (row0 + r) * bs
            x0 = c * bs
            mode = modes[r, c]
            if mode == MODE_PALETTE:
                fill_block(out, y0, x0, bs, flat[r, c])
                continue
            for q in range(4 if mode == MODE_SPLIT else 1):
                qy = y0 + (q >> 1) * half
                qx = x0 + (q & 1) * half
                predict_moved_block(ref, qy, qx, np.int64(quadrants[r, c, q, 0]),
                                    np.int64(quadrants[r, c, q, 1]), shift,
                                    half if mode == MODE_SPLIT else bs, out, qy, qx)


@njit(cache=True, nogil=True, _nrt=False)
def predict_moved_block(ref, y0, x0, vx, vy, shift, side, out, oy, ox):
    """The side x side block at (y0, x0) moved by the sub-pel vector (vx, vy) (units of
    1/2^shift), predicted into ``out`` at (oy, ox)."""
    mask = (1 << shift) - 1
    predict_block(ref, y0 + (vy >> shift), x0 + (vx >> shift), vy & mask, vx & mask, shift, side,
                  out, oy, ox)


@njit(cache=True, nogil=True, _nrt=False)
def predict_block(ref, ty, tx, fy, fx, shift, bs, out, y0, x0):
    """The bs x bs block of ``ref`` at integer (ty, tx) plus fraction (fy, fx) / 2^shift into
    ``out`` at (y0, x0): bilinear, edge-clamped (the motion compensation of one block)."""
    h, w = ref.shape
    # A sub-pel sample reads the next row and column too; a whole-pel copy only the block.
    reach = 0 if fx == 0 and fy == 0 else 1
    if not (ty >= 0 and tx >= 0 and ty + bs + reach <= h and tx + bs + reach <= w):
        for i in range(bs):
            for j in range(bs):
                out[y0 + i, x0 + j] = _sample(ref, ty + i, tx + j, fy, fx, shift)
    elif reach == 0:
        for i in range(bs):
            copy_row(ref, ty + i, tx, out, y0 + i, x0, bs)
    else:
        # Inside the reference: _sample's formula without the edge clamps, a row at once.
        s = np.int64(1) << shift
        wa = (s - fy) * (s - fx)
        wb = (s - fy) * fx
        wc = fy * (s - fx)
        wd = fy * fx
        for i in range(bs):
            if bs == 2:
                bilinear_row2(ref, ty + i, tx, wa, wb, wc, wd, 2 * shift, out, y0 + i, x0)
            elif bs == 4:
                bilinear_row4(ref, ty + i, tx, wa, wb, wc, wd, 2 * shift, out, y0 + i, x0)
            elif bs == 8:
                bilinear_row8(ref, ty + i, tx, wa, wb, wc, wd, 2 * shift, out, y0 + i, x0)
            else:
                for j in range(0, bs, 16):
                    bilinear_row16(ref, ty + i, tx + j, wa, wb, wc, wd, 2 * shift, out,
                                   y0 + i, x0 + j)


def predict_planes(ref, quadrants: np.ndarray, modes: np.ndarray, flat_colours: np.ndarray,
                   block_size: int, pel_shift: int = 1):
    """Prediction planes (y, cr, cb) for a predicted frame.

    Args:
        ref: reference ``Planes``.
        quadrants: int32 (rows, cols, 4, 2) quadrant vectors in 1/2^pel_shift pixels (an
            unsplit block's four equal); modes: int8 (rows, cols).
        flat_colours: uint8 (rows, cols, 3) palette colour (Y, Cr, Cb) of palette blocks.
        block_size: luma block side.
    """
    planes = [np.ascontiguousarray(plane) for plane in ref]
    predictions = [np.empty_like(plane) for plane in planes]
    flat = [np.ascontiguousarray(flat_colours[:, :, k]) for k in range(3)]

    def compensate(k: int, r0: int, r1: int) -> None:
        bs = block_size if k == 0 else block_size // 2
        _compensate_plane(planes[k], predictions[k], quadrants[r0:r1], modes[r0:r1],
                          flat[k][r0:r1], bs, pel_shift if k == 0 else pel_shift + 1, r0)

    per_plane_in_bands(compensate, [len(modes)] * 3)
    return predictions
