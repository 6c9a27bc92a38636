"""Intra mode decision of refresh frames (encoder only): palette colour, DC, V or H per block.

Each block's mode is chosen by SAD against the source plus lambda times the mode's bits; its
tiles are then quantised against the prediction made from the reconstruction next to them and
rebuilt at once, through the very loop the decoder runs
(``codec.common.intra_prediction.block_tiles``), so the next tile predicts from what the decoder
will have.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..common.blocks import Planes
from ..common.intra_prediction import (block_tiles, empty_levels, inverse_scratch, predict_tile,
                                       transform_args)
from ..common.modes import MODE_INTRA_DC, MODE_INTRA_H, MODE_INTRA_V, MODE_PALETTE
from ..common.parallel import run_parallel
from ..common.simd import NO_LIMIT, block_sad, fill_block
from ..common.transform import STEP_ONE, dct_basis, transform_size
from .quantise import quantise_rdo_tile, tile_bound
from .rdoq import rate_table, rdo_scratch

__all__ = ["code_intra", "INTRA_MODE_BITS"]

#: Rough bits of an intra mode symbol, for the encoder's rate term (palette blocks: the label).
INTRA_MODE_BITS = 2.0


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def _quantise_against_prediction(forward, plane, levels, coded, tr, tc, n, zigzag, top_row):
    """``block_tiles``'s quantise step on the encoder: the tile's levels from its source
    against the prediction now in ``plane`` (``quantise_rdo_tile``).
    ``forward`` = (source plane, float basis, its transpose, 1/step, rounding, bound, three
    n x n float scratch tiles, RDOQ's lambda, rate table, plane kind, transform skip, four
    scratch vectors)."""
    (src, fbasis, fbasis_t, inv_step, rounding, bound, fres, frows, fcoeffs, rd_lambda, rates,
     kind, tskip, x, chosen, cost_coded, cost_last) = forward
    quantise_rdo_tile(src, plane, tr, tc, n, fbasis, fbasis_t, zigzag, inv_step, rounding, 0.0,
                      bound, levels, coded, fres, frows, fcoeffs, rd_lambda, rates, kind, tskip,
                      top_row // n, x, chosen, cost_coded, cost_last)


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
                predict_tile(plane, src, ty, tx, n, mode, ty > top_row, tx > 0)
    return block_sad(src, y0, x0, plane, y0, x0, b, NO_LIMIT)


@njit(cache=True, nogil=True, _nrt=False)
def _code_slice(src_y, src_cr, src_cb, y, cr, cb, modes, labels, palette, b, r0, r1, lam,
                palette_bits, has_residual, lev_y, lev_cr, lev_cb, coded_y, coded_cr, coded_cb,
                n_y, n_c, basis_y, basis_c, basis_t_y, basis_t_c, zigzag_y, zigzag_c,
                inv_step_y, inv_step_c, rounding, bound_y, bound_c, int_basis_y, int_basis_c,
                step_y, step_c, fres_y, frows_y, fcoeffs_y, fres_c, frows_c, fcoeffs_c,
                stage_y, res_y, used_y, stage_c, res_c, used_c, rd_lambda, rates, tskip,
                rdo_scratch):
    """Block rows r0..r1, each block's mode chosen by SAD (all planes) + lam * bits
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
                       frows_y, fcoeffs_y, rd_lambda, rates, 0, tskip, x, chosen, cost_coded,
                       cost_last)
            block_tiles(y, lev_y, coded_y, has_residual, r, c, b, n_y, r0 * b, best_mode,
                        palette[label, 0], int_basis_y, zigzag_y, step_y, stage_y, res_y, used_y,
                        _quantise_against_prediction, forward)
            for src, plane, lev, cod, flat in ((src_cr, cr, lev_cr, coded_cr, palette[label, 1]),
                                               (src_cb, cb, lev_cb, coded_cb, palette[label, 2])):
                forward = (src, basis_c, basis_t_c, inv_step_c, rounding, bound_c, fres_c,
                           frows_c, fcoeffs_c, rd_lambda, rates, 1, tskip, x, chosen,
                           cost_coded, cost_last)
                block_tiles(plane, lev, cod, has_residual, r, c, h, n_c, r0 * h, best_mode,
                            flat, int_basis_c, zigzag_c, step_c, stage_c, res_c, used_c,
                            _quantise_against_prediction, forward)


def code_intra(source: Planes, labels: np.ndarray, palette: np.ndarray,
               steps: tuple[int, int, int] | None, rounding: float, lam: float,
               palette_bits: float, block_size: int, bands: list[tuple[int, int]],
               rd_lambda: float = 0.0, rates: np.ndarray | None = None, tskip: bool = False
               ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...] | None,
                          tuple[np.ndarray, ...] | None, Planes]:
    """Choose every block's mode, quantise its residual and reconstruct it.

    Args:
        source: the frame's padded planes; labels: each block's nearest palette label.
        steps: the planes' quantiser steps in 1/64 units, None for no residual (quality 0).
        rd_lambda, rates: RDOQ's lambda (0: the dead-zone levels as they are) and its rate
            table (``codec.encoder.rdoq``); tskip: tiles may be transform-skipped (with
            RDOQ only).

    Returns:
        (modes int8, labels int32 with -1 where a block is not a palette block, levels and
        tile maps per plane (None without residual), the reconstruction).
    """
    rows, cols = labels.shape
    b = block_size
    recon = Planes(*(np.empty_like(plane) for plane in source))
    modes = np.empty((rows, cols), np.int8)
    labels = labels.astype(np.int32, copy=True)
    has_residual = steps is not None
    levels, coded = empty_levels(source.y.shape, b)
    plane_steps = steps if has_residual else (STEP_ONE, STEP_ONE, STEP_ONE)
    n_y, n_c = transform_size(b), transform_size(b // 2)
    float_basis = [dct_basis(n) for n in (n_y, n_c)]
    inv_steps = [1.0 / (plane_steps[k] / STEP_ONE) for k in (0, 1)]   # as forward_quantise
    basis_y, zigzag_y = transform_args(n_y)
    basis_c, zigzag_c = transform_args(n_c)

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
                    *inverse_scratch(n_y), *inverse_scratch(n_c), rd_lambda,
                    rate_table(None) if rates is None else rates, tskip, rdo_scratch())

    run_parallel([lambda r0=r0, r1=r1: code(r0, r1) for r0, r1 in bands])
    if not has_residual:
        return modes, labels, None, None, recon
    return modes, labels, levels, coded, recon
