"""Frame <-> padded YCrCb 4:2:0 planes (the encoder's block statistics: ``codec.encoder.analysis``).

The codec works on three planes: full-resolution luma and half-resolution Cr and Cb (4:2:0,
as every mainstream video codec does: the eye resolves colour detail far less than brightness).
Planes are padded by edge replication to whole coding blocks, so every block is complete; the
decoder crops the padding away on output. The conversion back to BGR is integer arithmetic of
our own, so the encoder's and the decoder's pictures are identical on every machine.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
from numba import njit

from .limits import MAX_DIMENSION
from .parallel import run_parallel
from .simd import BGR_PIXELS, SPLIT_PIXELS, YCRCB_TO_BGR, bgr_pixels16, split_pixels32

__all__ = ["Planes", "padded_size", "frame_to_planes", "planes_to_frame", "MAX_DIMENSION"]


class Planes(NamedTuple):
    """Padded planes of one picture: y (Hp, Wp), cr and cb (Hp/2, Wp/2), all uint8."""

    y: np.ndarray
    cr: np.ndarray
    cb: np.ndarray


def padded_size(width: int, height: int, block_size: int) -> tuple[int, int]:
    """(width, height) rounded up to whole blocks."""
    return (-(-width // block_size) * block_size, -(-height // block_size) * block_size)


def frame_to_planes(frame: np.ndarray, block_size: int) -> Planes:
    """BGR uint8 frame -> padded YCrCb 4:2:0 planes.

    OpenCV converts the colours; one pass of our own (top and bottom halves on two cores)
    then splits the channels, halves the chroma (the 2x2 mean rounded, as INTER_AREA gives)
    and replicates the edges into the padding: a third of the time of padding, splitting and
    resizing with OpenCV calls.
    """
    h, w = frame.shape[:2]
    wp, hp = padded_size(w, h, block_size)
    ycrcb = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
    y = np.empty((hp, wp), np.uint8)
    cr = np.empty((hp // 2, wp // 2), np.uint8)
    cb = np.empty_like(cr)
    middle = hp // 4
    run_parallel([lambda: _split_rows(ycrcb, y, cr, cb, 0, middle),
                  lambda: _split_rows(ycrcb, y, cr, cb, middle, hp // 2)])
    return Planes(y, cr, cb)


@njit(cache=True, nogil=True, _nrt=False)
def _split_rows(ycrcb, y, cr, cb, c0, c1):
    """Chroma rows c0..c1 and their luma row pairs of the padded planes."""
    h, w = ycrcb.shape[:2]
    for cy in range(c0, c1):
        top = min(2 * cy, h - 1)
        bottom = min(2 * cy + 1, h - 1)
        done = 0            # 32 pixels of both rows at once, then the rest and the padding
        while done + SPLIT_PIXELS <= w:
            split_pixels32(ycrcb, top, bottom, done, y, cr, cb, cy)
            done += SPLIT_PIXELS
        for x in range(done, y.shape[1]):
            source = min(x, w - 1)
            y[2 * cy, x] = ycrcb[top, source, 0]
            y[2 * cy + 1, x] = ycrcb[bottom, source, 0]
        for cx in range(done // 2, cr.shape[1]):
            left = min(2 * cx, w - 1)
            right = min(2 * cx + 1, w - 1)
            for plane, k in ((cr, 1), (cb, 2)):
                plane[cy, cx] = (np.int32(ycrcb[top, left, k]) + np.int32(ycrcb[top, right, k])
                                 + np.int32(ycrcb[bottom, left, k])
                                 + np.int32(ycrcb[bottom, right, k]) + 2) >> 2


def planes_to_frame(planes: Planes, width: int, height: int) -> np.ndarray:
    """Padded planes -> cropped BGR uint8 frame, in integer arithmetic (the same bytes on every
    platform): chroma upsampled bilinearly (weights 3/4 and 1/4, as OpenCV's exact linear
    resize does for 2x), then JPEG's YCrCb -> BGR with 14-bit coefficients
    (``simd.YCRCB_TO_BGR``); sixteen pixels at a time, rows split over two cores."""
    out = np.empty((height, width, 3), np.uint8)
    y, cr, cb = (np.ascontiguousarray(plane) for plane in planes)    # rows load as vectors
    half = height // 2
    run_parallel([lambda: _ycrcb_to_bgr_rows(y, cr, cb, out, 0, half),
                  lambda: _ycrcb_to_bgr_rows(y, cr, cb, out, half, height)])
    return out


@njit(cache=True, nogil=True, inline="always")
def _clip8(v):
    return min(max(v, 0), 255)


@njit(cache=True, nogil=True, inline="always")
def _upsampled(plane, near, far, x):
    """Chroma at full-resolution column x of a row between half-resolution rows near (3/4)
    and far (1/4), x 16: columns blended 3:1 with the nearer neighbour, edges replicated."""
    i = x >> 1
    other = max(i - 1, 0) if x & 1 == 0 else min(i + 1, plane.shape[1] - 1)
    centre = 3 * np.int32(plane[near, i]) + np.int32(plane[far, i])
    return 3 * centre + 3 * np.int32(plane[near, other]) + np.int32(plane[far, other])


@njit(cache=True, nogil=True, _nrt=False)
def _ycrcb_to_bgr_rows(y, cr, cb, out, row0, row1):
    cr_r, cr_g, cb_g, cb_b, shift = YCRCB_TO_BGR
    half = np.int32(1 << (shift - 1))
    width = out.shape[1]
    columns = cr.shape[1]
    for r in range(row0, row1):
        # Chroma row r sits between half-resolution rows r // 2 and its upper or lower neighbour.
        near = r >> 1
        far = max(near - 1, 0) if r & 1 == 0 else min(near + 1, cr.shape[0] - 1)
        x = 0
        while x < width:
            if x >= 2 and x + BGR_PIXELS <= width and (x >> 1) + BGR_PIXELS // 2 + 1 <= columns:
                bgr_pixels16(y, cr, cb, r, near, far, x, out)
                x += BGR_PIXELS
                continue
            lum = np.int32(y[r, x])
            crd = ((_upsampled(cr, near, far, x) + 8) >> 4) - 128
            cbd = ((_upsampled(cb, near, far, x) + 8) >> 4) - 128
            out[r, x, 0] = _clip8(lum + ((cb_b * cbd + half) >> shift))
            out[r, x, 1] = _clip8(lum + ((-cr_g * crd - cb_g * cbd + half) >> shift))
            out[r, x, 2] = _clip8(lum + ((cr_r * crd + half) >> shift))
            x += 1


