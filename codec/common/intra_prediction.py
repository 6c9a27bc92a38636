"""Spatial intra prediction of refresh frames: each block flat in its palette colour, or
predicted from the reconstructed samples next to it (DC, vertical, horizontal).

A flat palette colour leaves every gradient and edge to the residual; copying the row above or
the column to the left carries them on for two bits of mode. The mode is the block's, the
prediction is made per transform tile, each from the samples right next to it (like H.264's
8x8 intra prediction): so a tile's prediction reads the reconstruction of the tile before it,
and a refresh frame with intra prediction is rebuilt tile by tile in raster order within each
slice (slices in parallel; a slice's first row has no top neighbours). Encoder and decoder
run the same tile loop (``block_tiles``) with the same integer inverse transform, so their
pictures agree bit for bit (docs/BITSTREAM.md, "Intra prediction"); the choice of mode and
levels is the encoder's (``codec.encoder.intra_decision``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .blocks import Planes
from .modes import MODE_INTRA_H, MODE_INTRA_V, MODE_PALETTE
from .parallel import run_parallel
from .simd import copy_row, fill_block, fill_row
from .transform import (STEP_ONE, TILE_SKIP, int_dct_basis, inverse_tile_into, transform_size,
                        zero_levels, zigzag_order)

__all__ = ["reconstruct_intra", "predict_tile", "block_tiles", "levels_as_sent",
           "transform_args", "inverse_scratch", "empty_levels"]

#: The value a DC prediction takes with no neighbour (the first block of a slice).
_NO_NEIGHBOUR = 128


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def predict_tile(plane, nb, y0, x0, n, mode, top, left):
    """Write the n x n spatial prediction of the tile at (y0, x0) into ``plane`` from the row
    above and the column to the left of it in ``nb`` (the reconstruction; the encoder's mode
    search passes the source): ``top`` / ``left`` say whether they exist in this slice."""
    if mode == MODE_INTRA_V and top:
        for i in range(n):
            copy_row(nb, y0 - 1, x0, plane, y0 + i, x0, n)
        return
    if mode == MODE_INTRA_H and left:
        for i in range(n):
            fill_row(plane, y0 + i, x0, nb[y0 + i, x0 - 1], n)
        return
    total = 0               # DC, and V or H without their neighbours
    count = 0
    if top:
        for j in range(n):
            total += np.int64(nb[y0 - 1, x0 + j])
        count += n
    if left:
        for i in range(n):
            total += np.int64(nb[y0 + i, x0 - 1])
        count += n
    value = (total + count // 2) // count if count else _NO_NEIGHBOUR
    fill_block(plane, y0, x0, n, value)


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def levels_as_sent(forward, plane, levels, coded, tr, tc, n, zigzag, top_row):
    """The decoder's ``quantise`` step of ``block_tiles``: the levels are the stream's."""


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def block_tiles(plane, levels, coded, has_residual, r, c, b, n, top_row, mode, flat, basis,
                zigzag, step_fp, stage, res, used, quantise, forward):
    """One plane of one block, rebuilt in ``plane``: a palette block flat with its residual
    added; a spatially predicted one tile by tile in raster order, each tile predicted from
    the reconstruction next to it (also the tiles of this block before it) and its residual
    added before the next. ``top_row``: the slice's first sample row.

    ``quantise(forward, plane, levels, coded, tr, tc, n, zigzag, top_row)`` runs on each tile
    once its prediction is in ``plane`` and before it is rebuilt: the encoder chooses the
    tile's levels there (``forward`` holds what it needs), the decoder passes
    ``levels_as_sent``. Both sides run these lines, so they rebuild the same samples. numba
    compiles this loop once per ``quantise`` it is given: pass a global jitted function, the
    same one at each call site."""
    k = b // n
    y0 = r * b
    x0 = c * b
    if mode == MODE_PALETTE:
        fill_block(plane, y0, x0, b, flat)
    for i in range(k):
        for j in range(k):
            ty = y0 + i * n
            tx = x0 + j * n
            if mode != MODE_PALETTE:
                predict_tile(plane, plane, ty, tx, n, mode, ty > top_row, tx > 0)
            if not has_residual:
                continue
            tr = r * k + i
            tc = c * k + j
            quantise(forward, plane, levels, coded, tr, tc, n, zigzag, top_row)
            if coded[tr, tc]:
                inverse_tile_into(levels, tr, tc, n, basis, zigzag, step_fp, plane, True, stage,
                                  res, used, coded[tr, tc] == TILE_SKIP)


@njit(cache=True, nogil=True, _nrt=False)
def _rebuild_slice(y, cr, cb, modes, labels, palette, b, r0, r1, has_residual,
                   lev_y, lev_cr, lev_cb, coded_y, coded_cr, coded_cb, n_y, n_c,
                   basis_y, basis_c, zigzag_y, zigzag_c, step_y, step_c,
                   stage_y, res_y, used_y, stage_c, res_c, used_c):
    """Decoder: block rows r0..r1 (one slice) predicted and reconstructed in raster order
    with the levels as the stream sent them."""
    cols = modes.shape[1]
    h = b // 2
    for r in range(r0, r1):
        for c in range(cols):
            mode = modes[r, c]
            label = max(labels[r, c], 0)
            block_tiles(y, lev_y, coded_y, has_residual, r, c, b, n_y, r0 * b, mode,
                        palette[label, 0], basis_y, zigzag_y, step_y, stage_y, res_y, used_y,
                        levels_as_sent, 0)
            block_tiles(cr, lev_cr, coded_cr, has_residual, r, c, h, n_c, r0 * h, mode,
                        palette[label, 1], basis_c, zigzag_c, step_c, stage_c, res_c, used_c,
                        levels_as_sent, 0)
            block_tiles(cb, lev_cb, coded_cb, has_residual, r, c, h, n_c, r0 * h, mode,
                        palette[label, 2], basis_c, zigzag_c, step_c, stage_c, res_c, used_c,
                        levels_as_sent, 0)


def transform_args(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(integer inverse basis, zigzag order) of n x n tiles."""
    return int_dct_basis(n), zigzag_order(n)


def inverse_scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``inverse_tile_into``'s scratch (stage1, res, used_cols) for n x n tiles."""
    return np.empty((n, n), np.int64), np.empty((n, n), np.int64), np.empty(n, np.bool_)


def empty_levels(shape: tuple[int, int], block_size: int
                 ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Zeroed levels and tile maps (``TILE_UNCODED``) per plane for a padded (height, width)
    luma plane."""
    levels = zero_levels(*shape, block_size)
    return levels, tuple(np.zeros(lev.shape[:2], np.uint8) for lev in levels)


def reconstruct_intra(modes: np.ndarray, labels: np.ndarray, palette: np.ndarray,
                      levels: tuple[np.ndarray, ...] | None, coded: tuple[np.ndarray, ...] | None,
                      steps: tuple[int, int, int] | None, block_size: int,
                      bands: list[tuple[int, int]]) -> Planes:
    """Decoder: the refresh picture from its modes, labels and levels (None: no residual),
    each slice (``bands`` of block rows) on its own thread."""
    rows, cols = modes.shape
    b = block_size
    planes = Planes(np.empty((rows * b, cols * b), np.uint8),
                    np.empty((rows * b // 2, cols * b // 2), np.uint8),
                    np.empty((rows * b // 2, cols * b // 2), np.uint8))
    has_residual = levels is not None
    if not has_residual:
        levels, coded = empty_levels(planes.y.shape, b)
        steps = (STEP_ONE, STEP_ONE, STEP_ONE)
    n_y, n_c = transform_size(b), transform_size(b // 2)
    basis_y, zigzag_y = transform_args(n_y)
    basis_c, zigzag_c = transform_args(n_c)

    def rebuild(r0: int, r1: int) -> None:
        _rebuild_slice(*planes, modes, labels, palette, b, r0, r1, has_residual, *levels, *coded,
                       n_y, n_c, basis_y, basis_c, zigzag_y, zigzag_c, steps[0], steps[1],
                       *inverse_scratch(n_y), *inverse_scratch(n_c))

    run_parallel([lambda r0=r0, r1=r1: rebuild(r0, r1) for r0, r1 in bands])
    return planes


