"""Frame <-> padded YCrCb 4:2:0 planes, block views and block means.

The codec works on three planes: full-resolution luma and half-resolution Cr and Cb (4:2:0,
as every mainstream video codec does: the eye resolves colour detail far less than brightness).
Planes are padded by edge replication to whole coding blocks, so every block is complete; the
decoder crops the padding away on output. Conversions back to BGR use OpenCV's bit-exact
fixed-point paths so the encoder's and the decoder's pictures are identical.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
from numba import njit

from .parallel import per_plane, run_parallel
from .params import MAX_DIMENSION

__all__ = ["Planes", "padded_size", "frame_to_planes", "planes_to_frame", "block_means",
           "block_sums_abs_dev", "MAX_DIMENSION"]


class Planes(NamedTuple):
    """Padded planes of one picture: y (Hp, Wp), cr and cb (Hp/2, Wp/2), all uint8."""

    y: np.ndarray
    cr: np.ndarray
    cb: np.ndarray


def padded_size(width: int, height: int, block_size: int) -> tuple[int, int]:
    """(width, height) rounded up to whole blocks."""
    return (-(-width // block_size) * block_size, -(-height // block_size) * block_size)


def frame_to_planes(frame: np.ndarray, block_size: int) -> Planes:
    """BGR uint8 frame -> padded YCrCb 4:2:0 planes."""
    h, w = frame.shape[:2]
    wp, hp = padded_size(w, h, block_size)
    if (wp, hp) != (w, h):
        frame = cv2.copyMakeBorder(frame, 0, hp - h, 0, wp - w, cv2.BORDER_REPLICATE)
    ycrcb = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
    y = np.ascontiguousarray(ycrcb[:, :, 0])
    # Resizing all three channels is 25x faster than resizing the (strided) chroma pair.
    half = cv2.resize(ycrcb, (wp // 2, hp // 2), interpolation=cv2.INTER_AREA)
    return Planes(y, np.ascontiguousarray(half[:, :, 1]), np.ascontiguousarray(half[:, :, 2]))


def planes_to_frame(planes: Planes, width: int, height: int) -> np.ndarray:
    """Padded planes -> cropped BGR uint8 frame (bit-exact on every platform)."""
    hp, wp = planes.y.shape
    chroma = cv2.merge([planes.cr, planes.cb])
    chroma_full = cv2.resize(chroma, (wp, hp), interpolation=cv2.INTER_LINEAR_EXACT)
    ycrcb = cv2.merge([planes.y, chroma_full])
    bgr = cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)
    return np.ascontiguousarray(bgr[:height, :width])


@njit(cache=True, nogil=True)
def _plane_block_means(plane, block, out, channel):
    rows, cols = out.shape[:2]
    scale = 1.0 / (block * block)
    for r in range(rows):
        for c in range(cols):
            acc = 0
            for i in range(block):
                for j in range(block):
                    acc += np.int32(plane[r * block + i, c * block + j])
            out[r, c, channel] = acc * scale


def block_means(planes: Planes, block_size: int) -> np.ndarray:
    """Mean (Y, Cr, Cb) of every coding block: float32 (rows, cols, 3)."""
    rows, cols = planes.y.shape[0] // block_size, planes.y.shape[1] // block_size
    out = np.empty((rows, cols, 3), np.float32)
    sides = (block_size, block_size // 2, block_size // 2)
    per_plane(lambda k: _plane_block_means(planes[k], sides[k], out, k))
    return out


@njit(cache=True, nogil=True)
def _abs_dev_sums(plane, block, centre, out):
    rows, cols = out.shape
    for r in range(rows):
        for c in range(cols):
            m = centre[r, c]
            acc = 0.0
            for i in range(block):
                for j in range(block):
                    acc += abs(np.float32(plane[r * block + i, c * block + j]) - m)
            out[r, c] = acc


def block_sums_abs_dev(plane: np.ndarray, block: int, centre: np.ndarray) -> np.ndarray:
    """Sum of |pixel - centre| over each block; ``centre`` is (rows, cols)."""
    rows = plane.shape[0] // block
    out = np.empty((rows, plane.shape[1] // block), np.float32)
    centre = np.ascontiguousarray(centre, dtype=np.float32)
    half = rows // 2        # top and bottom halves on two cores
    run_parallel([lambda: _abs_dev_sums(plane[:half * block], block, centre[:half], out[:half]),
                  lambda: _abs_dev_sums(plane[half * block:], block, centre[half:], out[half:])])
    return out
