"""Diamond-search motion estimation (encoder only; numba, GIL released).

Finds each block's vector in sub-pel units against the decoder's own previous picture; the
prediction it is judged by is ``codec.common.inter_prediction.predict_block``, the very
samples the decoder will make. Cost = SAD + lambda * bits of the vector difference.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..common.inter_prediction import (clamp, predict_block, predict_moved_block,
                                      quadrant_vector_predictor, vector_predictor)
from ..common.parallel import run_parallel
from ..common.simd import bilinear_row16, block_sad
from ..common.transform import LEVEL_DTYPE, dct_basis, transform_size, zigzag_order
from .quantise import block_rd_cost
from .rdoq import LAMBDA_INTER, rdo_scratch

__all__ = ["diamond_search", "split_search", "mv_bits", "half_pel_planes", "PREDICTOR_BONUS_BITS",
           "SPLIT_FLAG_BITS"]


#: Large diamond (8 points at distance 2) and small diamond (4 points at distance 1).
_LDSP = np.array([[0, -2], [1, -1], [2, 0], [1, 1], [0, 2], [-1, 1], [-2, 0], [-1, -1]], np.int64)
_SDSP = np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], np.int64)
#: The 8 neighbours of a point, scaled by the refinement's unit (a half or a quarter pel).
_RING = np.array([[-1, -1], [0, -1], [1, -1], [-1, 0], [1, 0], [-1, 1], [0, 1], [1, 1]],
                 np.int64)
_MAX_DIAMOND_STEPS = 64
#: Bits the exact (sub-pel) vector predictor is credited with when the search tries it last: a
#: block left at its predictor with no residual is coded as a skip, a flag and nothing else.
#: BD-rate against not trying it (40 frames, quality 25-85; carphone / bikes / scene_cuts /
#: demo; /tmp/s11/rdbd.py): balanced with 0 bits -0.7 / -1.7 / -0.6 / -0.1 %, 1.5 bits -0.9 /
#: -2.2 / -1.1 / -0.0 %, 3 bits -0.6 / -2.4 / -1.7 / +0.2 %, 6 bits -0.5 / -2.1 / -1.0 / +0.9 %;
#: fast (half-pel) with 1.5 bits -2.7 / -4.4 / -2.6 / -0.1 %. One more SAD per block: no
#: measurable time at 640x480 balanced or 1920x1080 fast.
PREDICTOR_BONUS_BITS = 1.5
#: Bits a split block is charged beyond its four vectors (its split flag; the unsplit blocks'
#: flags are cheap once most blocks stay whole).
SPLIT_FLAG_BITS = 1.0
#: A block whose whole match is within this many quantiser steps of SAD per pixel is not
#: searched for a split: the quantiser drops most of what quadrants could save there. BD-rate
#: of the split tool (balanced, 30 frames, quality 25-85; carphone / bikes / scene_cuts /
#: demo): every block -3.3 / -0.7 / -1.7 / -6.9 %, 0.1 -3.2 / -0.8 / -1.7 / -6.8 %, 0.25 -3.1 /
#: -0.6 / -2.0 / -6.5 %, 0.5 -1.3 / -0.5 / -1.2 / -4.1 %; 0.25 halves the split search's time
#: on the demo scene, whose background is still.
SPLIT_MIN_SAD = 0.25


@njit(cache=True, nogil=True, inline="always")
def mv_bits(d):
    """Approximate bits of one vector-difference component (Exp-Golomb-like growth)."""
    a = abs(d)
    if a == 0:
        return 1.0
    n = 0
    while (a >> n) > 1:
        n += 1
    return 2.0 * n + 3.0


@njit(cache=True, nogil=True, _nrt=False)
def _sad_int(cur, ref, y0, x0, dy, dx, bs, limit):
    """SAD of the block at (y0, x0) against the reference at integer offset (dy, dx)."""
    h, w = ref.shape
    total = 0
    if y0 + dy >= 0 and x0 + dx >= 0 and y0 + dy + bs <= h and x0 + dx + bs <= w:
        return block_sad(cur, y0, x0, ref, y0 + dy, x0 + dx, bs, limit)
    for i in range(bs):
        yy = clamp(y0 + dy + i, 0, h - 1)
        for j in range(bs):
            xx = clamp(x0 + dx + j, 0, w - 1)
            total += abs(np.int32(cur[y0 + i, x0 + j]) - np.int32(ref[yy, xx]))
        if total >= limit:
            return total
    return total


def half_pel_planes(ref: np.ndarray) -> np.ndarray:
    """The reference interpolated at (0, 1/2), (1/2, 0) and (1/2, 1/2), edge-replicated.

    Computed once per frame (top and bottom halves on both cores) so that half-pel SADs cost
    the same as integer ones; inside the picture the values equal the bilinear samples of
    ``codec.common.inter_prediction.predict_block``.
    """
    h, w = ref.shape
    planes = np.empty((3, h, w), np.uint8)
    run_parallel([lambda: _interpolate_rows(ref, *planes, 0, h // 2),
                  lambda: _interpolate_rows(ref, *planes, h // 2, h)])
    return planes


@njit(cache=True, nogil=True, _nrt=False)
def _interpolate_rows(ref, right, below, diagonal, y_start, y_end):
    h, w = ref.shape
    for y in range(y_start, y_end):
        x = 0
        if y + 1 < h:       # sixteen samples at once while the row and the next one have them
            while x + 17 <= w:
                bilinear_row16(ref, y, x, 2, 2, 0, 0, 2, right, y, x)
                bilinear_row16(ref, y, x, 2, 0, 2, 0, 2, below, y, x)
                bilinear_row16(ref, y, x, 1, 1, 1, 1, 2, diagonal, y, x)
                x += 16
        y1 = min(y + 1, h - 1)
        for x in range(x, w):
            x1 = min(x + 1, w - 1)  # the last column's right neighbour is itself
            a = np.int32(ref[y, x])
            b = np.int32(ref[y, x1])
            c = np.int32(ref[y1, x])
            d = np.int32(ref[y1, x1])
            right[y, x] = (a + b + 1) >> 1
            below[y, x] = (a + c + 1) >> 1
            diagonal[y, x] = (a + b + c + d + 2) >> 2


@njit(cache=True, nogil=True, _nrt=False)
def _sad_sub(cur, ref, halves, y0, x0, vy, vx, pel_shift, bs, limit, scratch):
    """SAD against the reference at the sub-pel vector (vy, vx): half-pel positions from the
    interpolated planes, quarter-pel ones predicted into ``scratch`` (bs x bs) first."""
    quarter = (1 << (pel_shift - 1)) - 1       # the bits finer than a half pel
    if (vy & quarter) == 0 and (vx & quarter) == 0:
        hy = vy >> (pel_shift - 1)
        hx = vx >> (pel_shift - 1)
        fy = hy & 1
        fx = hx & 1
        plane = ref
        if fy == 1 or fx == 1:
            plane = halves[2] if fy == 1 and fx == 1 else (halves[1] if fy == 1 else halves[0])
        return _sad_int(cur, plane, y0, x0, hy >> 1, hx >> 1, bs, limit)
    mask = (1 << pel_shift) - 1
    predict_block(ref, y0 + (vy >> pel_shift), x0 + (vx >> pel_shift), vy & mask, vx & mask,
                  pel_shift, bs, scratch, 0, 0)
    return block_sad(cur, y0, x0, scratch, 0, 0, bs, limit)


def diamond_search(cur: np.ndarray, ref: np.ndarray, bs: int, search_range: int, lam: float,
                   prev_mvs: np.ndarray, bands: list[tuple[int, int]],
                   early_stop: float = 1.0, neighbour_stop: bool = True, pel_shift: int = 1,
                   quarter_points: int = 8, halves: np.ndarray | None = None,
                   active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Motion vectors (sub-pel units) and SADs for every block of ``cur`` against ``ref``.

    The frame's slices (``bands`` of block rows) are searched in parallel; a slice's first row
    starts without top neighbours, which only changes starting points and rate estimates,
    never correctness (the coded predictions come from the final field).

    Args:
        cur, ref: luma planes (H, W) uint8, H and W multiples of ``bs``.
        bs: block size; search_range: +-pixels; lam: SAD units per bit.
        prev_mvs: (rows, cols, 2) int32 vectors of the previous frame (zeros if none).
        bands: block-row ranges of the slices.
        early_stop: SAD per pixel below which a starting point is taken without searching
            (the noise floor; the presets trade matches for speed with it).
        neighbour_stop: also stop at a start as good as the left or top block's final match.
        pel_shift: 1 half-pel vectors, 2 quarter-pel (prev_mvs in the same unit).
        quarter_points: quarter-pel neighbours of the best half-pel point tried: 8 all, 4 the
            nearest, and the nearest four of the best of those if it moved (a small diamond:
            less work, most of the gain), 0 none (the vectors stay on half pels).
        halves: ``half_pel_planes(ref)`` when the caller has them already.
        active: bool (rows, cols), the blocks to search (default all); the others keep their
            ``prev_mvs`` vector, with an unknown SAD (2^60).

    Returns:
        (mvs int32 (rows, cols, 2), sads int64 (rows, cols)).
    """
    rows, cols = cur.shape[0] // bs, cur.shape[1] // bs
    mvs = np.zeros((rows, cols, 2), np.int32)
    sads = np.zeros((rows, cols), np.int64)
    cur, ref = np.ascontiguousarray(cur), np.ascontiguousarray(ref)   # rows load as vectors
    if halves is None:
        halves = half_pel_planes(ref)
    if active is None:
        active = np.ones((rows, cols), np.bool_)
    run_parallel([
        (lambda r0=r0, r1=r1: _search_band(
            cur, ref, halves, bs, search_range, lam, prev_mvs[r0:r1], early_stop,
            neighbour_stop, pel_shift, quarter_points, r0, mvs[r0:r1], sads[r0:r1],
            np.zeros((6, 2), np.int64),
            np.full((2 * search_range + 1, 2 * search_range + 1), -1, np.int64),
            np.empty((bs, bs), np.uint8), mvs[r0:r1, :, None, :], active[r0:r1]))
        for r0, r1 in bands])
    return mvs, sads


@njit(cache=True, nogil=True, inline="always")
def _keep_better(cost, sad, x, y, best_cost, best_sad, best_x, best_y):
    """The candidate (cost, sad, x, y) if it costs less than the best so far, else the best."""
    if cost < best_cost:
        return cost, sad, x, y
    return best_cost, best_sad, best_x, best_y


@njit(cache=True, nogil=True, _nrt=False)
def _search_band(cur, ref, halves, bs, search_range, lam, prev_mvs, early_stop,
                 neighbour_stop, pel_shift, quarter_points, row0, mvs, sads, cands, visited,
                 scratch, field, active):
    """Diamond search of the block rows ``row0 ..`` into the band views ``mvs``/``sads``.

    Per block: start from the best of several predictors (zero, median, left, top, top-right,
    the co-located vector of the previous frame), stop at once when the match is as good as
    the noise, else walk the large diamond until its centre wins, then the small diamond, then
    try the 8 half-pel neighbours (and with quarter-pel vectors the 8 quarter-pel neighbours
    of the best of those, or up to two steps of the 4-point diamond); last the exact sub-pel
    predictor, which the whole-pixel starting points miss (``PREDICTOR_BONUS_BITS``).
    Cost = SAD + lam * bits(vector - median). ``field``: ``mvs`` seen as whole-block quadrant
    fields (rows, cols, 1, 2), for ``vector_predictor``.
    """
    rows, cols = sads.shape
    # cands: (6, 2) scratch for the starting points. visited[dy + R, dx + R] == id of the block
    # that last evaluated that integer vector (starts at -1): a point seen before cannot win
    # again (its cost is no better than the best so far), so repeated candidates and the
    # diamond's overlapping points are skipped, same result.
    early = early_stop * bs * bs
    big = np.int64(1) << 60
    for r in range(rows):
        for c in range(cols):
            if not active[r, c]:
                mvs[r, c, 0] = prev_mvs[r, c, 0]
                mvs[r, c, 1] = prev_mvs[r, c, 1]
                sads[r, c] = big
                continue
            y0 = (row0 + r) * bs
            x0 = c * bs
            block_id = r * cols + c
            pred = vector_predictor(field, r, c)
            # Candidate starting points, in whole pixels (sub-pel predictors rounded down).
            cands[0, 0] = 0
            cands[0, 1] = 0
            cands[1, 0] = pred[0] >> pel_shift
            cands[1, 1] = pred[1] >> pel_shift
            n = 2
            if c > 0:
                cands[n, 0] = mvs[r, c - 1, 0] >> pel_shift
                cands[n, 1] = mvs[r, c - 1, 1] >> pel_shift
                n += 1
            if r > 0:
                cands[n, 0] = mvs[r - 1, c, 0] >> pel_shift
                cands[n, 1] = mvs[r - 1, c, 1] >> pel_shift
                n += 1
                if c + 1 < cols:
                    cands[n, 0] = mvs[r - 1, c + 1, 0] >> pel_shift
                    cands[n, 1] = mvs[r - 1, c + 1, 1] >> pel_shift
                    n += 1
            cands[n, 0] = prev_mvs[r, c, 0] >> pel_shift
            cands[n, 1] = prev_mvs[r, c, 1] >> pel_shift
            n += 1
            # Stop early when the start is already as good as a neighbour's final match: in
            # noisy, well-predicted areas that is the noise floor (PMVFAST's first threshold).
            stop = early
            if neighbour_stop and c > 0 and r > 0:
                stop = max(stop, min(sads[r, c - 1], sads[r - 1, c]))
            best_cost = 1e30
            best_sad = big
            bx = 0
            by = 0
            for k in range(n):
                dx = clamp(cands[k, 0], -search_range, search_range)
                dy = clamp(cands[k, 1], -search_range, search_range)
                if visited[dy + search_range, dx + search_range] == block_id:
                    continue
                visited[dy + search_range, dx + search_range] = block_id
                bits = (mv_bits((dx << pel_shift) - pred[0])
                        + mv_bits((dy << pel_shift) - pred[1]))
                limit = big if best_cost >= 1e29 else np.int64(best_cost - lam * bits) + 1
                sad = _sad_int(cur, ref, y0, x0, dy, dx, bs, limit)
                best_cost, best_sad, bx, by = _keep_better(sad + lam * bits, sad, dx, dy,
                                                           best_cost, best_sad, bx, by)
            if best_sad > stop:
                for pattern in range(2):
                    pts = _LDSP if pattern == 0 else _SDSP
                    for _ in range(_MAX_DIAMOND_STEPS):
                        cx = bx
                        cy = by
                        for k in range(pts.shape[0]):
                            dx = cx + pts[k, 0]
                            dy = cy + pts[k, 1]
                            if abs(dx) > search_range or abs(dy) > search_range:
                                continue
                            if visited[dy + search_range, dx + search_range] == block_id:
                                continue
                            visited[dy + search_range, dx + search_range] = block_id
                            bits = (mv_bits((dx << pel_shift) - pred[0])
                                    + mv_bits((dy << pel_shift) - pred[1]))
                            sad = _sad_int(cur, ref, y0, x0, dy, dx, bs,
                                           np.int64(best_cost - lam * bits) + 1)
                            best_cost, best_sad, bx, by = _keep_better(
                                sad + lam * bits, sad, dx, dy, best_cost, best_sad, bx, by)
                        if (bx == cx and by == cy) or pattern == 1:
                            break
            hx = bx << pel_shift
            hy = by << pel_shift
            # Refine the winner to half-pel precision, then to quarter-pel: the 8-point ring
            # once, or the 4-point diamond twice (so diagonal quarter pels stay reachable).
            for level in range(pel_shift):
                if best_sad <= stop or (level == 1 and quarter_points == 0):
                    break
                unit = 1 << (pel_shift - 1 - level)
                ring = level == 0 or quarter_points == 8
                pts = _RING if ring else _SDSP
                for _ in range(1 if ring else 2):
                    cx = hx
                    cy = hy
                    for k in range(pts.shape[0]):
                        tx = cx + unit * pts[k, 0]
                        ty = cy + unit * pts[k, 1]
                        bits = mv_bits(tx - pred[0]) + mv_bits(ty - pred[1])
                        sad = _sad_sub(cur, ref, halves, y0, x0, ty, tx, pel_shift, bs,
                                       np.int64(best_cost - lam * bits) + 1, scratch)
                        best_cost, best_sad, hx, hy = _keep_better(
                            sad + lam * bits, sad, tx, ty, best_cost, best_sad, hx, hy)
                    if hx == cx and hy == cy:
                        break
            if hx != pred[0] or hy != pred[1]:
                bits = mv_bits(0) + mv_bits(0) - PREDICTOR_BONUS_BITS
                sad = _sad_sub(cur, ref, halves, y0, x0, pred[1], pred[0], pel_shift, bs,
                               np.int64(best_cost - lam * bits) + 1, scratch)
                best_cost, best_sad, hx, hy = _keep_better(
                    sad + lam * bits, sad, pred[0], pred[1], best_cost, best_sad, hx, hy)
            mvs[r, c, 0] = hx
            mvs[r, c, 1] = hy
            sads[r, c] = best_sad


def split_search(cur: np.ndarray, ref: np.ndarray, bs: int, search_range: int, lam: float,
                 mvs: np.ndarray, sads: np.ndarray, bands: list[tuple[int, int]],
                 early_stop: float, neighbour_stop: bool, pel_shift: int, quarter_points: int,
                 halves: np.ndarray, step: float | None, rates: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Which blocks to split into quadrants, and the quadrants' vectors.

    Every quadrant is searched as a block of its own (``diamond_search`` at half the block
    size, starting from its whole block's vector). Each quadrant then keeps the cheapest of
    that match, its whole block's vector and its own exact prediction, counting the bits of
    its difference as ``quadrant_vector_predictor`` codes it. Where the quadrants' SADs and
    vector bits undercut the whole block's, the two predictions are compared by what their
    luma residual costs to code (``quantise.block_rd_cost`` at quantiser ``step``, bits from
    ``rates``) plus their vector bits; SAD alone splits far too often, since much of what a
    split saves is noise the quantiser drops anyway. Without residual (``step`` None) the
    SAD comparison decides. Blocks whose whole match is already close (``SPLIT_MIN_SAD``)
    are neither searched nor split. Blocks are decided in raster order per slice, with the
    vector predictions of the decisions made so far; ``mvs`` and ``sads`` are updated in
    place (a split block's vector is its last quadrant's, as the stream defines it).

    Returns:
        (split bool (rows, cols), quadrant vectors int32 (rows, cols, 4, 2); an unsplit
        block's four equal its vector).
    """
    cur, ref = np.ascontiguousarray(cur), np.ascontiguousarray(ref)
    parents = np.repeat(np.repeat(mvs, 2, axis=0), 2, axis=1)
    candidates = sads > (SPLIT_MIN_SAD * step * bs * bs if step else 0)
    quarter_mvs, quarter_sads = diamond_search(
        cur, ref, bs // 2, search_range, lam, parents, [(2 * r0, 2 * r1) for r0, r1 in bands],
        early_stop, neighbour_stop, pel_shift, quarter_points, halves,
        np.repeat(np.repeat(candidates, 2, axis=0), 2, axis=1))
    split = np.zeros(sads.shape, np.bool_)
    quadrants = np.empty((*sads.shape, 4, 2), np.int32)
    n = transform_size(bs)
    basis = dct_basis(n)
    tiles = bs // n

    def band(r0: int, r1: int) -> None:
        _choose_splits(cur, ref, halves, bs, pel_shift, r0, mvs[r0:r1], sads[r0:r1],
                       quarter_mvs[2 * r0:2 * r1], quarter_sads[2 * r0:2 * r1], lam,
                       split[r0:r1], quadrants[r0:r1], candidates[r0:r1],
                       0.0 if step is None else 1.0 / step, rates,
                       n, basis, np.ascontiguousarray(basis.T), zigzag_order(n),
                       *(np.empty((bs, bs), np.uint8) for _ in range(3)),
                       np.empty((tiles, tiles, n * n), LEVEL_DTYPE),
                       np.empty((tiles, tiles), np.uint8), *(np.empty((n, n)) for _ in range(3)),
                       *rdo_scratch())

    run_parallel([lambda r0=r0, r1=r1: band(r0, r1) for r0, r1 in bands])
    return split, quadrants


@njit(cache=True, nogil=True, _nrt=False)
def _choose_splits(cur, ref, halves, bs, pel_shift, row0, mvs, sads, quarter_mvs, quarter_sads,
                   lam, split, quadrants, candidates, inv_step, rates, n, basis, basis_t, zigzag,
                   block, whole_pred, split_pred, levels, coded, res, rows_t, coeffs, x, chosen,
                   cost_coded, cost_last):
    """``split_search``'s decisions for one slice's band of block rows (from ``row0``);
    ``inv_step`` 0 without residual. The arguments from ``block`` on are scratch."""
    rows, cols = sads.shape
    half = bs // 2
    big = np.int64(1) << 60
    scratch = split_pred    # the quadrant SADs predict into its corner before it is used
    for r in range(rows):
        for c in range(cols):
            pred = vector_predictor(quadrants, r, c)
            wx = mvs[r, c, 0]
            wy = mvs[r, c, 1]
            if not candidates[r, c]:
                for q in range(4):
                    quadrants[r, c, q, 0] = wx
                    quadrants[r, c, q, 1] = wy
                continue
            whole_bits = mv_bits(wx - pred[0]) + mv_bits(wy - pred[1])
            whole = sads[r, c] + lam * whole_bits
            total_sad = 0
            split_bits = SPLIT_FLAG_BITS
            cost = lam * SPLIT_FLAG_BITS
            by = (row0 + r) * bs
            bx = c * bs
            for q in range(4):
                y0 = by + (q >> 1) * half
                x0 = bx + (q & 1) * half
                p = quadrant_vector_predictor(quadrants, r, c, q, pred[0], pred[1])
                qr = 2 * r + (q >> 1)
                qc = 2 * c + (q & 1)
                best_x = quarter_mvs[qr, qc, 0]
                best_y = quarter_mvs[qr, qc, 1]
                best_sad = quarter_sads[qr, qc]
                best_bits = mv_bits(best_x - p[0]) + mv_bits(best_y - p[1])
                best_cost = best_sad + lam * best_bits
                for k in range(2):
                    tx = wx if k == 0 else p[0]
                    ty = wy if k == 0 else p[1]
                    if tx == best_x and ty == best_y:
                        continue
                    bits = mv_bits(tx - p[0]) + mv_bits(ty - p[1])
                    sad = _sad_sub(cur, ref, halves, y0, x0, ty, tx, pel_shift, half, big, scratch)
                    if sad + lam * bits < best_cost:
                        best_cost = sad + lam * bits
                        best_sad = sad
                        best_bits = bits
                        best_x = tx
                        best_y = ty
                quadrants[r, c, q, 0] = best_x
                quadrants[r, c, q, 1] = best_y
                total_sad += best_sad
                cost += best_cost
                split_bits += best_bits
            chosen_split = cost < whole
            if chosen_split and inv_step > 0.0:
                for i in range(bs):
                    for j in range(bs):
                        block[i, j] = cur[by + i, bx + j]
                predict_moved_block(ref, by, bx, wx, wy, pel_shift, bs, whole_pred, 0, 0)
                for q in range(4):
                    predict_moved_block(ref, by + (q >> 1) * half, bx + (q & 1) * half,
                                  quadrants[r, c, q, 0], quadrants[r, c, q, 1], pel_shift, half,
                                  split_pred, (q >> 1) * half, (q & 1) * half)
                j_whole = block_rd_cost(block, whole_pred, bs, n, basis, basis_t, zigzag,
                                        inv_step, LAMBDA_INTER, rates, levels, coded, res, rows_t,
                                        coeffs, x, chosen, cost_coded, cost_last)
                j_split = block_rd_cost(block, split_pred, bs, n, basis, basis_t, zigzag,
                                        inv_step, LAMBDA_INTER, rates, levels, coded, res, rows_t,
                                        coeffs, x, chosen, cost_coded, cost_last)
                chosen_split = (j_split + LAMBDA_INTER * split_bits
                                < j_whole + LAMBDA_INTER * whole_bits)
            if chosen_split:
                split[r, c] = True
                mvs[r, c, 0] = quadrants[r, c, 3, 0]
                mvs[r, c, 1] = quadrants[r, c, 3, 1]
                sads[r, c] = total_sad
            else:
                for q in range(4):
                    quadrants[r, c, q, 0] = wx
                    quadrants[r, c, q, 1] = wy
