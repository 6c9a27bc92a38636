"""What the encoder measures before it decides (encoder only): block statistics and the
slice count it picks.

Means feed the refresh palette and the palette mode of predicted frames; deviations from a
block's mean and from its palette colour say how flat it is and whether a flat colour would
do; the slice count is written in the refresh header, so the decoder never derives it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..common.blocks import Planes
from ..common.parallel import per_plane_in_bands, run_parallel
from ..common.simd import CENTRE_SCALE, NO_LIMIT, block_abs_dev, block_sad
from ..common.slices import MIN_SLICED_SAMPLES

__all__ = ["block_means", "block_sums_abs_dev", "choose_slice_count", "SAMPLES_PER_SLICE",
           "ENCODER_MAX_SLICES"]

#: Luma samples per slice the encoder aims for above ``MIN_SLICED_SAMPLES``: 640x480 gets 2
#: slices, 1280x720 4, 1920x1080 8 (enough for 8 cores), never more than ``ENCODER_MAX_SLICES``.
SAMPLES_PER_SLICE = 250_000
ENCODER_MAX_SLICES = 8


@njit(cache=True, nogil=True, _nrt=False)
def _plane_block_means(plane, block, out, channel, zeros):
    """Block sums as SADs against ``zeros`` (a block of zeros: one vector sum a row)."""
    rows, cols = out.shape[:2]
    scale = 1.0 / (block * block)
    for r in range(rows):
        for c in range(cols):
            out[r, c, channel] = block_sad(plane, r * block, c * block, zeros, 0, 0, block,
                                           NO_LIMIT) * scale


def block_means(planes: Planes, block_size: int) -> np.ndarray:
    """Mean (Y, Cr, Cb) of every coding block: float32 (rows, cols, 3)."""
    rows, cols = planes.y.shape[0] // block_size, planes.y.shape[1] // block_size
    out = np.empty((rows, cols, 3), np.float32)
    sides = (block_size, block_size // 2, block_size // 2)
    zeros = np.zeros((block_size, block_size), np.uint8)
    contiguous = [np.ascontiguousarray(plane) for plane in planes]   # rows load as vectors
    per_plane_in_bands(lambda k, r0, r1: _plane_block_means(
        contiguous[k][r0 * sides[k]:r1 * sides[k]], sides[k], out[r0:r1], k, zeros), [rows] * 3)
    return out


@njit(cache=True, nogil=True, _nrt=False)
def _abs_dev_sums(plane, block, centres, out):
    k, rows, cols = out.shape
    for r in range(rows):
        for c in range(cols):
            for m in range(k):
                out[m, r, c] = block_abs_dev(plane, r * block, c * block, block,
                                             centres[m, r, c]) / CENTRE_SCALE


def block_sums_abs_dev(plane: np.ndarray, block: int, centres: np.ndarray) -> np.ndarray:
    """Sum of |pixel - centre| over each block, for each of k centres per block.

    Args:
        plane: (H, W) uint8; block: block side.
        centres: (k, rows, cols) values to measure every block against (one pass for all k),
            used to 1/16 of a grey level.

    Returns:
        float32 (k, rows, cols).
    """
    rows = plane.shape[0] // block
    plane = np.ascontiguousarray(plane)     # rows load as vectors
    centres = np.round(np.asarray(centres, np.float32) * CENTRE_SCALE).astype(np.int32)
    out = np.empty((len(centres), rows, plane.shape[1] // block), np.float32)
    half = rows // 2        # top and bottom halves on two cores
    run_parallel([
        lambda: _abs_dev_sums(plane[:half * block], block, centres[:, :half], out[:, :half]),
        lambda: _abs_dev_sums(plane[half * block:], block, centres[:, half:], out[:, half:])])
    return out


def choose_slice_count(rows: int, cols: int, block_size: int) -> int:
    """The encoder's slice count for a picture of rows x cols blocks (written in the stream)."""
    samples = rows * cols * block_size * block_size
    if samples < MIN_SLICED_SAMPLES:
        return 1
    wanted = max(2, min(ENCODER_MAX_SLICES, round(samples / SAMPLES_PER_SLICE)))
    return min(wanted, rows)
