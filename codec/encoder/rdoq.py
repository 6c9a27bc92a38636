"""Rate-distortion optimised quantisation (encoder only): per coefficient, is a level worth
its bits?

A dead-zone quantiser rounds every coefficient the same way, whatever it costs to code. Here
each coded tile's levels are chosen again, coefficient by coefficient in scan order, between
the nearest level and the one below it (zero included), by squared error plus lambda times
the bits ``codec.common.syntax`` would spend on it; then the tile's last coded position is chosen
the same way, and whether it is coded at all. The bits come from the range coder's own
probabilities as the previous picture left them (``rate_table``), so the model follows the
content and the quantiser. The stream syntax does not change: any decoder plays the result.

Distortion is measured on the orthonormal DCT coefficients, in units of the quantiser step,
where it equals the pixel-domain squared error; lambda is therefore a fraction of step^2.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..common.entropy import BIT_COST, PROB_ONE, new_contexts, probabilities
from ..common.syntax import (BANDS, CTX_GT1, CTX_LAST, CTX_REM, GT1_BANDS, KIND_SKIP, N_CONTEXTS,
                             REM_BINS, coded_flag_context, scan_neighbours, significance_context)
from ..common.transform import MAX_LEVEL, TILE_DCT, TILE_UNCODED, log2_size

__all__ = ["LAMBDA_INTER", "LAMBDA_INTRA", "rate_table", "rdo_tile", "rdo_scratch"]

#: Lagrange multipliers in step^2 per bit, predicted and refresh frames. Measured as BD-rate
#: against the dead-zone quantiser alone (balanced, 60 frames, quality 25-85; carphone / bikes /
#: scene_cuts / demo): predicted 0.05: -4.2 / -2.9 / -1.9 / 0.0 %, 0.085: -5.1 / -4.4 / -3.7 /
#: -7.0 %, 0.12: -3.8 / -4.2 / -4.1 / -6.1 %; refresh on top, 0.03: -0.9 / -0.4 / -0.7 /
#: -1.0 %, 0.05: -0.8 / -0.7 / -1.0 / -2.1 %, 0.07: -0.6 / -0.4 / -0.6 / -2.7 %. Taken: 0.09
#: (between the two best) and 0.05.
LAMBDA_INTER = 0.09
LAMBDA_INTRA = 0.05
#: Largest scan length of a tile (8 x 8).
_MAX_COEFFS = 64


def _table(contexts: np.ndarray) -> np.ndarray:
    probs = np.clip(probabilities(contexts), 1, PROB_ONE - 1)
    return np.ascontiguousarray(np.stack([BIT_COST[probs], BIT_COST[PROB_ONE - probs]], axis=1))


#: The table of fresh contexts, built once: every dead-zone-only call passes it as a placeholder.
_FRESH_RATES = _table(new_contexts(N_CONTEXTS))


def rate_table(contexts: list[np.ndarray] | None) -> np.ndarray:
    """float64 (N_CONTEXTS, 2): bits of a 0 and of a 1 in each context, from the slices'
    probabilities (averaged), or from fresh contexts (one bit each) when there are none (a
    shared table: read it, never write it)."""
    if contexts:
        return _table(np.rint(np.mean(contexts, axis=0)).astype(np.int64))
    return _FRESH_RATES


def rdo_scratch() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """rdo_tile's scratch vectors (x, chosen, cost_coded, cost_last) for tiles up to 8 x 8."""
    return (np.empty(_MAX_COEFFS), np.empty(_MAX_COEFFS, np.int64), np.empty(_MAX_COEFFS),
            np.empty(_MAX_COEFFS))


@njit(cache=True, nogil=True, inline="always")
def _magnitude_bits(a, gctx, rem_ctx, rates):
    """Bits of a level's magnitude a >= 1 after its significance: greater-than-one flag,
    the unary / Exp-Golomb remainder and the sign (as ``syntax._encode_tile``)."""
    if a == 1:
        return rates[gctx, 0] + 1.0
    bits = rates[gctx, 1] + 1.0
    value = a - 2
    for i in range(REM_BINS):
        if value > i:
            bits += rates[rem_ctx + i, 1]
        else:
            return bits + rates[rem_ctx + i, 0]
    rest = value - REM_BINS + 1
    nbits = 0
    while (rest >> (nbits + 1)) > 0:
        nbits += 1
    return bits + 2 * nbits + 1


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def rdo_tile(coeffs, tr, tc, n, zigzag, inv_step, lam, rates, kind, levels, coded, first_row,
             x, chosen, cost_coded, cost_last, write):
    """Choose the levels of coded tile (tr, tc) again from its coefficients ``coeffs`` (n x n,
    as ``quantise_tile`` left them) by distortion + ``lam`` x bits. ``kind``: the level kind
    (``syntax.KIND_SKIP`` added for a transform-skipped tile, whose ``coeffs`` are its
    samples' residual). ``first_row``: the first tile row of the slice, whose top neighbours
    (another thread's) are not read. x, chosen, cost_coded, cost_last: scratch of n*n entries.
    ``write``: store the choice in ``levels`` (zero beyond the dead zone's last level) and
    ``coded`` (``TILE_DCT`` or ``TILE_UNCODED``); else only price it. Returns the tile's cost
    as chosen (squared error in step^2 units + ``lam`` x bits), which decisions compare."""
    count = n * n
    log_n = log2_size(n)
    shift = log2_size(count)      # band = i * BANDS >> shift, as the syntax
    uncoded = 0.0        # the tile's squared error when nothing is coded
    end = -1             # the last position whose nearest level is not zero
    for z in range(count):
        idx = zigzag[z]
        x[z] = abs(coeffs[idx >> log_n, idx & (n - 1)]) * inv_step
        uncoded += x[z] * x[z]
        if x[z] >= 0.5:
            end = z
    neighbours = scan_neighbours(count, True)
    significant = np.int64(0)
    big = 0
    rem_ctx = CTX_REM + kind * REM_BINS
    for z in range(end + 1):
        xz = x[z]
        band = kind * BANDS + (z * BANDS >> shift)
        sig = significance_context(band, neighbours, z, significant)
        last_ctx = CTX_LAST + band
        coded_sig = z < count - 1         # the last position's significance is implied
        best = xz * xz
        extra_last = 0.0
        if coded_sig:
            best += lam * rates[sig, 0]
            extra_last = lam * (rates[last_ctx, 1] - rates[last_ctx, 0])
        best_level = 0
        if xz >= 0.5:
            top = min(np.int64(xz + 0.5), MAX_LEVEL)
            gctx = CTX_GT1 + 2 * (kind * GT1_BANDS + (z * GT1_BANDS >> shift)) + big
            flags = rates[sig, 1] + rates[last_ctx, 0] if coded_sig else 0.0
            for a in range(max(top - 1, 1), top + 1):
                d = xz - a
                cost = d * d + lam * (flags + _magnitude_bits(a, gctx, rem_ctx, rates))
                if cost < best:
                    best = cost
                    best_level = a
        chosen[z] = best_level
        cost_coded[z] = best
        # What this position costs instead when it is the tile's last coded one.
        cost_last[z] = best + extra_last
        if best_level != 0:
            significant |= np.int64(1) << z
        if best_level > 1:
            big = 1
    # The last coded position: everything after it is left uncoded (its squared value).
    cbf = coded_flag_context(coded, tr, tc, kind % KIND_SKIP, first_row)
    best = uncoded + lam * rates[cbf, 0]
    last = -1
    prefix = lam * rates[cbf, 1]
    tail = uncoded
    for z in range(end + 1):
        tail -= x[z] * x[z]
        if chosen[z] != 0:
            cost = prefix + cost_last[z] + tail
            if cost < best:
                best = cost
                last = z
        prefix += cost_coded[z]
    if not write:
        return best
    coded[tr, tc] = TILE_DCT if last >= 0 else TILE_UNCODED
    for z in range(end + 1):      # beyond ``end`` the dead zone left zeros already
        level = chosen[z] if z <= last else 0
        idx = zigzag[z]
        levels[tr, tc, z] = -level if coeffs[idx >> log_n, idx & (n - 1)] < 0 else level
    return best
