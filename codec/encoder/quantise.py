"""Forward transform and quantisation (encoder only): tile DCT, dead-zone quantiser, RDOQ.

Floating point, unlike the exact integer inverse both sides share (``codec.common.transform``):
only the levels it chooses enter the stream. The kernels visit only the tiles that need work: a
predicted frame is mostly tiles that quantise to zero, and a tile whose SAD bounds every
coefficient under one step is never transformed.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..common.simd import (NO_LIMIT, block_sad, difference_row2, difference_row4, difference_row8,
                           matmul2, matmul4, matmul8)
from ..common.syntax import KIND_SKIP, coded_flag_context, transform_skip_context
from ..common.transform import (LEVEL_DTYPE, MAX_LEVEL, TILE_DCT, TILE_SKIP, TILE_UNCODED,
                                dct_basis, log2_size, zigzag_order)
from .rdoq import rate_table, rdo_scratch, rdo_tile

__all__ = ["ROUNDING_INTRA", "ROUNDING_INTER", "forward_quantise", "quantise_tile",
           "quantise_rdo_tile", "tile_bound", "block_rd_cost"]


#: Dead-zone rounding offsets (fraction of a step added before truncation). Tuned on the
#: shared clips (BD-rate on 60 frames of bikes and carphone): H.264's customary 1/3 (intra)
#: and 1/6 (inter) cost 0.3-1.4 % and 0.2-0.7 % more bits than these.
ROUNDING_INTRA = 0.45
ROUNDING_INTER = 0.25


@njit(cache=True, nogil=True, inline="always")
def _matmul(left, right, out, n):
    """out = left @ right for the n x n tiles of the transform (n = 2, 4 or 8)."""
    if n == 8:
        matmul8(left, right, out)
    elif n == 4:
        matmul4(left, right, out)
    else:
        matmul2(left, right, out)


# The tile loop allocates nothing (its scratch comes from the wrapper), so it runs without
# numba's reference counting (_nrt=False), as codec.common.syntax explains.
@njit(cache=True, nogil=True, _nrt=False)
def _forward_quantise_kernel(current, prediction, n, basis, basis_t, zigzag, inv_step, rounding,
                             zero_sad, rd_lambda, rates, kind, tskip, levels, coded, res, rows_t,
                             coeffs, x, chosen, cost_coded, cost_last):
    tile_rows, tile_cols = levels.shape[:2]
    bound = tile_bound(basis, n, inv_step)
    for tr in range(tile_rows):
        for tc in range(tile_cols):
            quantise_rdo_tile(current, prediction, tr, tc, n, basis, basis_t, zigzag, inv_step,
                              rounding, zero_sad, bound, levels, coded, res, rows_t, coeffs,
                              rd_lambda, rates, kind, tskip, 0, x, chosen, cost_coded, cost_last)


@njit(cache=True, nogil=True, inline="always")
def tile_bound(basis, n, inv_step):
    """Any coefficient is at most max|basis|^2 * sum|residual|: a tile whose SAD times this
    stays below one step (less the rounding) quantises to zero without being transformed."""
    bound = 0.0
    for i in range(n):
        for j in range(n):
            bound = max(bound, abs(basis[i, j]))
    return bound * bound * inv_step


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def quantise_tile(current, prediction, tr, tc, n, basis, basis_t, zigzag, inv_step, rounding,
                  zero_sad, bound, levels, coded, res, rows_t, coeffs):
    """Transform and quantise tile (tr, tc) of ``current - prediction`` into zeroed
    ``levels[tr, tc]``; ``coded[tr, tc]`` says whether any level is non-zero (``TILE_DCT``).
    res, rows_t, coeffs: n x n float scratch, left holding the residual, its product with
    the basis and the coefficients. Returns False where the tile was left uncoded without
    being transformed (its SAD is too small for any level)."""
    y0 = tr * n
    x0 = tc * n
    coded[tr, tc] = TILE_UNCODED
    sad = block_sad(current, y0, x0, prediction, y0, x0, n, NO_LIMIT)
    if sad * bound + rounding < 1.0 or sad < zero_sad:
        return False
    for i in range(n):
        if n == 8:
            difference_row8(current, y0 + i, x0, prediction, res, i)
        elif n == 4:
            difference_row4(current, y0 + i, x0, prediction, res, i)
        else:
            difference_row2(current, y0 + i, x0, prediction, res, i)
    _matmul(res, basis_t, rows_t, n)        # rows: residual x basis^T
    _matmul(basis, rows_t, coeffs, n)       # columns: basis x that
    log_n = log2_size(n)        # row and column of a raster index by shifts, not divisions
    for z in range(n * n):
        idx = zigzag[z]
        c = coeffs[idx >> log_n, idx & (n - 1)]
        magnitude = abs(c) * inv_step + rounding
        if magnitude >= 1.0:      # levels start at zero: only non-zero ones are written
            level = min(np.int64(magnitude), MAX_LEVEL)
            levels[tr, tc, z] = -level if c < 0 else level
            coded[tr, tc] = TILE_DCT
    return True


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def quantise_rdo_tile(current, prediction, tr, tc, n, basis, basis_t, zigzag, inv_step, rounding,
                      zero_sad, bound, levels, coded, res, rows_t, coeffs, rd_lambda, rates, kind,
                      tskip, first_row, x, chosen, cost_coded, cost_last):
    """``quantise_tile``, then, when ``rd_lambda`` > 0 and the tile codes, its levels chosen
    again by ``rdoq.rdo_tile``; with ``tskip`` (the stream's transform-skip tool), any tile
    that was transformed (coded or not) is coded as its samples quantised as they are where
    that costs less (``first_row``: the slice's
    first tile row, for the flags' contexts; x .. cost_last: ``rdoq.rdo_scratch``)."""
    transformed = quantise_tile(current, prediction, tr, tc, n, basis, basis_t, zigzag, inv_step,
                                rounding, zero_sad, bound, levels, coded, res, rows_t, coeffs)
    if rd_lambda <= 0 or not transformed:
        return
    cost = 0.0
    if coded[tr, tc]:
        cost = rdo_tile(coeffs, tr, tc, n, zigzag, inv_step, rd_lambda, rates, kind, levels,
                        coded, first_row, x, chosen, cost_coded, cost_last, True)
    elif tskip:
        cost = rd_lambda * rates[coded_flag_context(coded, tr, tc, kind, first_row), 0]
        for i in range(n):
            for j in range(n):
                cost += res[i, j] * res[i, j] * inv_step * inv_step
    if tskip:
        _try_transform_skip(res, tr, tc, n, zigzag, inv_step, rd_lambda, rates, kind, levels,
                            coded, first_row, x, chosen, cost_coded, cost_last, cost)


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def _try_transform_skip(res, tr, tc, n, zigzag, inv_step, lam, rates, kind, levels, coded,
                        first_row, x, chosen, cost_coded, cost_last, cost):
    """Code tile (tr, tc) transform-skipped instead when its residual samples ``res``,
    quantised by ``rdoq.rdo_tile``, cost less than ``cost`` (the tile's RD cost as it is,
    without its transform-skip flag)."""
    flag = transform_skip_context(coded, tr, tc, kind, first_row)
    if coded[tr, tc]:
        cost += lam * rates[flag, 0]
    skipped = rdo_tile(res, tr, tc, n, zigzag, inv_step, lam, rates, kind + KIND_SKIP, levels,
                       coded, first_row, x, chosen, cost_coded, cost_last, False)
    if skipped + lam * rates[flag, 1] >= cost:
        return
    for z in range(n * n):
        levels[tr, tc, z] = 0
    rdo_tile(res, tr, tc, n, zigzag, inv_step, lam, rates, kind + KIND_SKIP, levels, coded,
             first_row, x, chosen, cost_coded, cost_last, True)
    if coded[tr, tc]:
        coded[tr, tc] = TILE_SKIP


@njit(cache=True, nogil=True, _nrt=False)
def block_rd_cost(current, prediction, side, n, basis, basis_t, zigzag, inv_step, lam, rates,
                  levels, coded, res, rows_t, coeffs, x, chosen, cost_coded, cost_last):
    """The cost of coding the luma block ``current`` (side x side) from ``prediction``: per
    n x n tile, squared error in step^2 units + ``lam`` x bits, with its levels chosen as
    RDOQ would (``rdoq.rdo_tile``). For mode decisions that weigh a better prediction
    against its bits by what the residual then costs. levels, coded: scratch for the block's
    tiles; the rest as ``quantise_rdo_tile``'s."""
    k = side // n
    bound = tile_bound(basis, n, inv_step)
    total = 0.0
    for tr in range(k):
        for tc in range(k):
            for z in range(n * n):
                levels[tr, tc, z] = 0
            quantise_tile(current, prediction, tr, tc, n, basis, basis_t, zigzag, inv_step,
                          ROUNDING_INTER, 0.0, bound, levels, coded, res, rows_t, coeffs)
            if coded[tr, tc]:
                total += rdo_tile(coeffs, tr, tc, n, zigzag, inv_step, lam, rates, 0, levels,
                                  coded, 0, x, chosen, cost_coded, cost_last, True)
                continue
            error = 0.0
            for i in range(tr * n, (tr + 1) * n):
                for j in range(tc * n, (tc + 1) * n):
                    d = np.float64(current[i, j]) - np.float64(prediction[i, j])
                    error += d * d
            total += (error * inv_step * inv_step
                      + lam * rates[coded_flag_context(coded, tr, tc, 0, 0), 0])
    return total


def forward_quantise(current: np.ndarray, prediction: np.ndarray, n: int, step: float,
                     rounding: float, zero_residual: float = 0.0,
                     out: np.ndarray | None = None, coded: np.ndarray | None = None, *,
                     rd_lambda: float = 0.0, rates: np.ndarray | None = None,
                     chroma: bool = False, tskip: bool = False) -> np.ndarray:
    """DCT the residual ``current - prediction`` in n x n tiles and quantise with a dead zone.

    Args:
        current, prediction: (H, W) uint8 planes, H and W multiples of ``n``.
        n: tile side.
        step: quantiser step (from ``quality_to_step``).
        rounding: dead-zone offset in steps (``ROUNDING_INTRA`` / ``ROUNDING_INTER``).
        zero_residual: tiles whose mean |residual| is below this many steps are left at zero
            untransformed (a speed preset's early skip; 0 keeps every tile that codes).
        out: zeroed levels to fill (a band of a frame's levels); a new array when None.
        coded: uint8 (H/n, W/n), when given, set to each tile's map value
            (``transform.TILE_*``: whether it got a non-zero level and how it is coded).
        rd_lambda: > 0 re-decides each tile that codes by rate and distortion
            (``codec.encoder.rdoq``; lambda in step^2 units); rates: its ``rate_table``
            (fresh contexts when None); chroma: which plane kind's contexts price the bits;
            tskip: tiles may be transform-skipped (with rd_lambda > 0 only).

    Returns:
        int16 levels, shape (H/n, W/n, n*n), each tile in zigzag order.
    """
    h, w = current.shape
    levels = np.zeros((h // n, w // n, n * n), LEVEL_DTYPE) if out is None else out
    basis = dct_basis(n)
    current, prediction = np.ascontiguousarray(current), np.ascontiguousarray(prediction)
    _forward_quantise_kernel(current, prediction, n, basis, np.ascontiguousarray(basis.T),
                             zigzag_order(n), 1.0 / step, rounding, zero_residual * step * n * n,
                             rd_lambda, rate_table(None) if rates is None else rates,
                             1 if chroma else 0, tskip, levels,
                             np.empty(levels.shape[:2], np.uint8) if coded is None else coded,
                             *(np.empty((n, n)) for _ in range(3)), *rdo_scratch())
    return levels
