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

__all__ = ["Planes", "padded_size", "frame_to_planes", "planes_to_frame", "block_means",
           "block_sums_abs_dev", "MAX_DIMENSION"]

#: Largest frame side the stream accepts (a 4096x4096 frame needs ~25 MB of planes).
MAX_DIMENSION = 4096


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
    chroma = cv2.resize(ycrcb[:, :, 1:], (wp // 2, hp // 2), interpolation=cv2.INTER_AREA)
    return Planes(y, np.ascontiguousarray(chroma[:, :, 0]), np.ascontiguousarray(chroma[:, :, 1]))


def planes_to_frame(planes: Planes, width: int, height: int) -> np.ndarray:
    """Padded planes -> cropped BGR uint8 frame (bit-exact on every platform)."""
    hp, wp = planes.y.shape
    chroma = cv2.merge([planes.cr, planes.cb])
    chroma_full = cv2.resize(chroma, (wp, hp), interpolation=cv2.INTER_LINEAR_EXACT)
    ycrcb = cv2.merge([planes.y, chroma_full])
    bgr = cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)
    return np.ascontiguousarray(bgr[:height, :width])


def _block_view(plane: np.ndarray, block: int) -> np.ndarray:
    h, w = plane.shape
    return plane.reshape(h // block, block, w // block, block)


def block_means(planes: Planes, block_size: int) -> np.ndarray:
    """Mean (Y, Cr, Cb) of every coding block: float32 (rows, cols, 3)."""
    half = block_size // 2
    return np.stack([
        _block_view(planes.y, block_size).mean(axis=(1, 3), dtype=np.float32),
        _block_view(planes.cr, half).mean(axis=(1, 3), dtype=np.float32),
        _block_view(planes.cb, half).mean(axis=(1, 3), dtype=np.float32),
    ], axis=-1)


def block_sums_abs_dev(plane: np.ndarray, block: int, centre: np.ndarray) -> np.ndarray:
    """Sum of |pixel - centre| over each block; ``centre`` is (rows, cols)."""
    view = _block_view(plane, block).astype(np.float32)
    return np.abs(view - centre[:, None, :, None]).sum(axis=(1, 3))
