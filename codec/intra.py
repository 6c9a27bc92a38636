"""Spatial intra prediction of refresh frames: each block flat in its palette colour, or
predicted from the reconstructed samples next to it (DC, vertical, horizontal).

A flat palette colour leaves every gradient and edge to the residual; copying the row above or
the column to the left carries them on for two bits of mode. The mode is the block's, the
prediction is made per transform tile, each from the samples right next to it (like H.264's
8x8 intra prediction): so a tile's prediction reads the reconstruction of the tile before it,
and a refresh frame with intra prediction is rebuilt tile by tile in raster order within each
slice (slices in parallel; a slice's first row has no top neighbours). Encoder and decoder
share ``_predict_tile`` and the integer inverse transform, so their pictures agree bit for bit
(docs/BITSTREAM.md, "Intra prediction"); the choice of mode is the encoder's (``code_intra``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .blocks import Planes
from .modes import MODE_INTRA_DC, MODE_INTRA_H, MODE_INTRA_V, MODE_PALETTE
from .parallel import run_parallel
from .rdoq import rate_table, rdo_scratch, rdo_tile
from .residual import (STEP_ONE, dct_basis, int_dct_basis, inverse_tile_into, quantise_tile,
                       tile_bound, transform_size, zero_levels, zigzag_order)
from .simd import NO_LIMIT, block_sad, copy_row, fill_block, fill_row

__all__ = ["code_intra", "reconstruct_intra", "INTRA_MODE_BITS"]

#: Rough bits of an intra mode symbol, for the encoder's rate term (palette blocks: the label).
INTRA_MODE_BITS = 2.0
#: The value a DC prediction takes with no neighbour (the first block of a slice).
_NO_NEIGHBOUR = 128


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def _predict_tile(plane, nb, y0, x0, n, mode, top, left):
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
def _block_tiles(plane, levels, coded, has_residual, r, c, b, n, top_row, mode, flat, basis,
                 zigzag, step_fp, stage, res, used, quantise, forward):
    """One plane of one block, rebuilt in ``plane``: a palette block flat with its residual
    added; a spatially predicted one tile by tile in raster order, each tile predicted from
    the reconstruction next to it (also the tiles of this block before it) and its residual
    added before the next. ``top_row``: the slice's first sample row.

    With ``quantise`` (the encoder), each tile is first quantised against its prediction with
    ``forward`` = (source plane, float basis, its transpose, 1/step, rounding, bound, three
    n x n float scratch tiles, then ``rdoq.rdo_tile``'s lambda (0: off), rate table, plane
    kind and four scratch vectors); the decoder passes placeholders. Both sides run these lines,
    so they rebuild the same samples."""
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
                _predict_tile(plane, plane, ty, tx, n, mode, ty > top_row, tx > 0)
            if not has_residual:
                continue
            tr = r * k + i
            tc = c * k + j
            if quantise:
                (src, fbasis, fbasis_t, inv_step, rounding, bound, fres, frows, fcoeffs,
                 rd_lambda, rates, kind, x, chosen, cost_coded, cost_last) = forward
                quantise_tile(src, plane, tr, tc, n, fbasis, fbasis_t, zigzag, inv_step, rounding,
                              0.0, bound, levels, coded, fres, frows, fcoeffs)
                if rd_lambda > 0 and coded[tr, tc]:
                    rdo_tile(fcoeffs, tr, tc, n, zigzag, inv_step, rd_lambda, rates, kind, levels,
                             coded, top_row // n, x, chosen, cost_coded, cost_last)
            if coded[tr, tc]:
                inverse_tile_into(levels, tr, tc, n, basis, zigzag, step_fp, plane, True, stage,
                                  res, used)


@njit(cache=True, nogil=True, _nrt=False)
def _rebuild_slice(y, cr, cb, modes, labels, palette, b, r0, r1, has_residual,
                   lev_y, lev_cr, lev_cb, coded_y, coded_cr, coded_cb, n_y, n_c,
                   basis_y, basis_c, zigzag_y, zigzag_c, step_y, step_c,
                   stage_y, res_y, used_y, stage_c, res_c, used_c, unused_y, unused_c):
    """Decoder: block rows r0..r1 (one slice) predicted and reconstructed in raster order
    (``unused_*``: _block_tiles's placeholders for the encoder's quantiser)."""
    cols = modes.shape[1]
    h = b // 2
    for r in range(r0, r1):
        for c in range(cols):
            mode = modes[r, c]
            label = max(labels[r, c], 0)
            _block_tiles(y, lev_y, coded_y, has_residual, r, c, b, n_y, r0 * b, mode,
                         palette[label, 0], basis_y, zigzag_y, step_y, stage_y, res_y, used_y,
                         False, unused_y)
            _block_tiles(cr, lev_cr, coded_cr, has_residual, r, c, h, n_c, r0 * h, mode,
                         palette[label, 1], basis_c, zigzag_c, step_c, stage_c, res_c, used_c,
                         False, unused_c)
            _block_tiles(cb, lev_cb, coded_cb, has_residual, r, c, h, n_c, r0 * h, mode,
                         palette[label, 2], basis_c, zigzag_c, step_c, stage_c, res_c, used_c,
                         False, unused_c)


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def _mode_sad(src, plane, r, c, b, n, top_row, mode, flat):
    """SAD of the block against its prediction in ``mode``, spatial modes predicted tile by
    tile from the source's samples (the reconstruction inside the block does not exist yet);
    the prediction is left in ``plane``."""
    y0 = r * b
    x0 = c * b
    if mode == MODE_PALETTE:
        fill_block(plane, y0, x0, b, flat)
    else:
        for ty in range(y0, y0 + b, n):
            for tx in range(x0, x0 + b, n):
                _predict_tile(plane, src, ty, tx, n, mode, ty > top_row, tx > 0)
    return block_sad(src, y0, x0, plane, y0, x0, b, NO_LIMIT)


@njit(cache=True, nogil=True, _nrt=False)
def _code_slice(src_y, src_cr, src_cb, y, cr, cb, modes, labels, palette, b, r0, r1, lam,
                palette_bits, has_residual, lev_y, lev_cr, lev_cb, coded_y, coded_cr, coded_cb,
                n_y, n_c, basis_y, basis_c, basis_t_y, basis_t_c, zigzag_y, zigzag_c,
                inv_step_y, inv_step_c, rounding, bound_y, bound_c, int_basis_y, int_basis_c,
                step_y, step_c, fres_y, frows_y, fcoeffs_y, fres_c, frows_c, fcoeffs_c,
                stage_y, res_y, used_y, stage_c, res_c, used_c, rd_lambda, rates, rdo_scratch):
    """Encoder: block rows r0..r1, each block's mode chosen by SAD (all planes) + lam * bits
    among its palette colour, DC, V and H, then coded and reconstructed in raster order."""
    cols = modes.shape[1]
    h = b // 2
    for r in range(r0, r1):
        for c in range(cols):
            label = labels[r, c]
            best_mode = MODE_PALETTE
            best_cost = 1e300
            for mode in (MODE_PALETTE, MODE_INTRA_DC, MODE_INTRA_V, MODE_INTRA_H):
                if (mode == MODE_INTRA_V and r == r0) or (mode == MODE_INTRA_H and c == 0):
                    continue    # they would be DC
                sad = (_mode_sad(src_y, y, r, c, b, n_y, r0 * b, mode, palette[label, 0])
                       + _mode_sad(src_cr, cr, r, c, h, n_c, r0 * h, mode, palette[label, 1])
                       + _mode_sad(src_cb, cb, r, c, h, n_c, r0 * h, mode, palette[label, 2]))
                cost = sad + lam * (palette_bits if mode == MODE_PALETTE else INTRA_MODE_BITS)
                if cost < best_cost:
                    best_cost = cost
                    best_mode = mode
            modes[r, c] = best_mode
            if best_mode != MODE_PALETTE:
                labels[r, c] = -1
            x, chosen, cost_coded, cost_last = rdo_scratch
            forward = (src_y, basis_y, basis_t_y, inv_step_y, rounding, bound_y, fres_y,
                       frows_y, fcoeffs_y, rd_lambda, rates, 0, x, chosen, cost_coded, cost_last)
            _block_tiles(y, lev_y, coded_y, has_residual, r, c, b, n_y, r0 * b, best_mode,
                         palette[label, 0], int_basis_y, zigzag_y, step_y, stage_y, res_y, used_y,
                         True, forward)
            for src, plane, lev, cod, flat in ((src_cr, cr, lev_cr, coded_cr, palette[label, 1]),
                                               (src_cb, cb, lev_cb, coded_cb, palette[label, 2])):
                forward = (src, basis_c, basis_t_c, inv_step_c, rounding, bound_c, fres_c,
                           frows_c, fcoeffs_c, rd_lambda, rates, 1, x, chosen, cost_coded,
                           cost_last)
                _block_tiles(plane, lev, cod, has_residual, r, c, h, n_c, r0 * h, best_mode,
                             flat, int_basis_c, zigzag_c, step_c, stage_c, res_c, used_c, True,
                             forward)


def _transform_args(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(integer inverse basis, zigzag order) of n x n tiles."""
    return int_dct_basis(n), zigzag_order(n)


def _no_quantiser(plane: np.ndarray, n: int) -> tuple:
    """Placeholders of _block_tiles's ``forward`` for the decoder, which does not quantise."""
    tile = np.zeros((n, n))
    vector = np.zeros(1)
    return (plane, tile, tile, 0.0, 0.0, 0.0, tile, tile, tile, 0.0, tile, 0, vector,
            np.zeros(1, np.int64), vector, vector)


def _inverse_scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.empty((n, n), np.int64), np.empty((n, n), np.int64), np.empty(n, np.bool_)


def _empty_levels(shape: tuple[int, int], block_size: int
                  ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Zeroed levels and coded-tile maps per plane for a padded (height, width) luma plane."""
    levels = zero_levels(*shape, block_size)
    return levels, tuple(np.zeros(lev.shape[:2], np.bool_) for lev in levels)


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
        levels, coded = _empty_levels(planes.y.shape, b)
        steps = (STEP_ONE, STEP_ONE, STEP_ONE)
    n_y, n_c = transform_size(b), transform_size(b // 2)
    basis_y, zigzag_y = _transform_args(n_y)
    basis_c, zigzag_c = _transform_args(n_c)

    def rebuild(r0: int, r1: int) -> None:
        _rebuild_slice(*planes, modes, labels, palette, b, r0, r1, has_residual, *levels, *coded,
                       n_y, n_c, basis_y, basis_c, zigzag_y, zigzag_c, steps[0], steps[1],
                       *_inverse_scratch(n_y), *_inverse_scratch(n_c),
                       _no_quantiser(planes.y, n_y), _no_quantiser(planes.cr, n_c))

    run_parallel([lambda r0=r0, r1=r1: rebuild(r0, r1) for r0, r1 in bands])
    return planes


def code_intra(source: Planes, labels: np.ndarray, palette: np.ndarray,
               steps: tuple[int, int, int] | None, rounding: float, lam: float,
               palette_bits: float, block_size: int, bands: list[tuple[int, int]],
               rd_lambda: float = 0.0, rates: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...] | None,
                          tuple[np.ndarray, ...] | None, Planes]:
    """Encoder: choose every block's mode, quantise its residual and reconstruct it.

    Args:
        source: the frame's padded planes; labels: each block's nearest palette label.
        steps: the planes' quantiser steps in 1/64 units, None for no residual (quality 0).
        rd_lambda, rates: RDOQ's lambda (0: the dead-zone levels as they are) and its rate
            table (``codec.rdoq``).

    Returns:
        (modes int8, labels int32 with -1 where a block is not a palette block, levels and
        coded-tile maps per plane (None without residual), the reconstruction).
    """
    rows, cols = labels.shape
    b = block_size
    recon = Planes(*(np.empty_like(plane) for plane in source))
    modes = np.empty((rows, cols), np.int8)
    labels = labels.astype(np.int32, copy=True)
    has_residual = steps is not None
    levels, coded = _empty_levels(source.y.shape, b)
    plane_steps = steps if has_residual else (STEP_ONE, STEP_ONE, STEP_ONE)
    n_y, n_c = transform_size(b), transform_size(b // 2)
    float_basis = [dct_basis(n) for n in (n_y, n_c)]
    inv_steps = [1.0 / (plane_steps[k] / STEP_ONE) for k in (0, 1)]   # as forward_quantise
    basis_y, zigzag_y = _transform_args(n_y)
    basis_c, zigzag_c = _transform_args(n_c)

    def code(r0: int, r1: int) -> None:
        _code_slice(*source, *recon, modes, labels, palette, b, r0, r1, lam, palette_bits,
                    has_residual, *levels, *coded, n_y, n_c, float_basis[0], float_basis[1],
                    np.ascontiguousarray(float_basis[0].T), np.ascontiguousarray(float_basis[1].T),
                    zigzag_y, zigzag_c, inv_steps[0], inv_steps[1], rounding,
                    tile_bound(float_basis[0], n_y, inv_steps[0]),
                    tile_bound(float_basis[1], n_c, inv_steps[1]), basis_y, basis_c,
                    plane_steps[0], plane_steps[1],
                    *(np.empty((n_y, n_y)) for _ in range(3)),
                    *(np.empty((n_c, n_c)) for _ in range(3)),
                    *_inverse_scratch(n_y), *_inverse_scratch(n_c), rd_lambda,
                    rate_table(None) if rates is None else rates, rdo_scratch())

    run_parallel([lambda r0=r0, r1=r1: code(r0, r1) for r0, r1 in bands])
    if not has_residual:
        return modes, labels, None, None, recon
    return modes, labels, levels, coded, recon
