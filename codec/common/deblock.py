"""In-loop deblocking filter: smooths the steps that coarse quantisation leaves at tile and
block edges, in the encoder's reference and the decoder's output alike.

It follows H.264's normal-edge filter: an edge gets a strength from what lies on its two sides
(an intra block: palette or spatially predicted; coded residual; vectors that differ by a
pixel or more), and each line across
it is filtered only where the step at the edge is small enough to be an artefact of the
quantiser (``alpha``) and both sides are smooth (``beta``); the change is clipped to ``tc``.
Thresholds grow with the quantiser step, so fine qualities are left almost untouched. All
arithmetic is on integers, so the encoder and decoder filter to the same bits
(docs/BITSTREAM.md, "Deblocking").
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numba import njit

from .blocks import Planes
from .modes import MODE_PALETTE
from .parallel import per_plane_in_bands
from .transform import transform_size

__all__ = ["deblock", "edge_thresholds"]

#: alpha = step * ALPHA_NUM / 256 (step in 1/64 units; ~1.25 steps, as H.264's table).
ALPHA_NUM = 5
#: beta = BETA_NUM * sqrt(step in 1/64 units) / 32, at most BETA_MAX.
BETA_NUM, BETA_MAX = 7, 18
#: tc0 = (strength * step + 2^(TC_SHIFT-1)) >> TC_SHIFT: a pixel per 32 grey levels of step
#: and strength.
TC_SHIFT = 11


def edge_thresholds(step: int) -> tuple[int, int, np.ndarray]:
    """(alpha, beta, tc0 by strength 0..3) for a plane quantised with ``step`` (1/64 units)."""
    alpha = min(255, (ALPHA_NUM * step) >> 8)
    beta = min(BETA_MAX, (BETA_NUM * math.isqrt(step)) >> 5)
    tc0 = np.array([(s * step + (1 << (TC_SHIFT - 1))) >> TC_SHIFT for s in range(4)], np.int32)
    return alpha, beta, tc0


def deblock(planes: Planes, steps: tuple[int, int, int], coded: tuple[np.ndarray, ...],
            modes: np.ndarray, quadrants: np.ndarray, block_size: int, pel_shift: int = 1) -> None:
    """Filter the reconstructed planes in place: every vertical edge first (left to right),
    then every horizontal edge (top to bottom).

    coded: per plane, the tile maps (``transform.TILE_*``: non-zero where a tile carries
        residual, however coded); modes: the blocks' coded modes;
    quadrants: int32 (rows, cols, 4, 2) the vectors of each block's quadrants in
    1/2^pel_shift pixels (an unsplit block's four equal; intra blocks: any vector).
    """
    blocks = (block_size, block_size // 2, block_size // 2)
    limits = [edge_thresholds(step) for step in steps]

    def filtering(edges: Callable) -> Callable[[int, int, int], None]:
        def band(k: int, t0: int, t1: int) -> None:
            edges(planes[k], coded[k], modes, quadrants, 1 << pel_shift, blocks[k],
                  transform_size(blocks[k]), k == 0, *limits[k], t0, t1)
        return band

    # Lines across vertical edges are independent from row to row, and lines across horizontal
    # edges from column to column: each pass is cut the other way, so the bands never meet.
    per_plane_in_bands(filtering(_vertical_edges), [c.shape[0] for c in coded])
    per_plane_in_bands(filtering(_horizontal_edges), [c.shape[1] for c in coded])


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def _strength(coded, modes, quadrants, pixel, block, ar, ac, br, bc, ya, xa, yb, xb):
    """Strength of the lines across the edge between tiles (ar, ac) and (br, bc) whose
    samples next to the edge are (ya, xa) and (yb, xb): 3 an intra (palette or spatially
    predicted) block on either side of a block edge, 2 coded residual on either side, 1 the
    vectors of the quadrants holding those samples a pixel (``pixel`` vector units) or more
    apart, else 0."""
    ra, ca = ya // block, xa // block
    rb, cb = yb // block, xb // block
    if (ra != rb or ca != cb) and (modes[ra, ca] >= MODE_PALETTE or modes[rb, cb] >= MODE_PALETTE):
        return 3
    if coded[ar, ac] or coded[br, bc]:
        return 2
    qa = 2 * (2 * (ya % block) // block) + 2 * (xa % block) // block
    qb = 2 * (2 * (yb % block) // block) + 2 * (xb % block) // block
    if (abs(quadrants[ra, ca, qa, 0] - quadrants[rb, cb, qb, 0]) >= pixel
            or abs(quadrants[ra, ca, qa, 1] - quadrants[rb, cb, qb, 1]) >= pixel):
        return 1
    return 0


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def _filter_line(plane, y, x, dy, dx, luma, alpha, beta, tc0):
    """Filter the samples across one edge; (y, x) is the first sample past the edge (q0),
    (dy, dx) the step across it."""
    p0 = np.int32(plane[y - dy, x - dx])
    q0 = np.int32(plane[y, x])
    p1 = np.int32(plane[y - 2 * dy, x - 2 * dx])
    q1 = np.int32(plane[y + dy, x + dx])
    if abs(p0 - q0) >= alpha or abs(p1 - p0) >= beta or abs(q1 - q0) >= beta:
        return
    if luma:
        p2 = np.int32(plane[y - 3 * dy, x - 3 * dx])
        q2 = np.int32(plane[y + 2 * dy, x + 2 * dx])
        p_smooth = abs(p2 - p0) < beta
        q_smooth = abs(q2 - q0) < beta
        tc = tc0 + np.int32(p_smooth) + np.int32(q_smooth)
        mid = (p0 + q0 + 1) >> 1
        if p_smooth and tc0 > 0:
            plane[y - 2 * dy, x - 2 * dx] = p1 + min(tc0, max(-tc0, (p2 + mid - 2 * p1) >> 1))
        if q_smooth and tc0 > 0:
            plane[y + dy, x + dx] = q1 + min(tc0, max(-tc0, (q2 + mid - 2 * q1) >> 1))
    else:
        tc = tc0 + 1
    delta = min(tc, max(-tc, (4 * (q0 - p0) + (p1 - q1) + 4) >> 3))
    plane[y - dy, x - dx] = min(255, max(0, p0 + delta))
    plane[y, x] = min(255, max(0, q0 - delta))


@njit(cache=True, nogil=True, _nrt=False)
def _vertical_edges(plane, coded, modes, quadrants, pixel, block, tile, luma, alpha, beta, tc0,
                    t0, t1):
    """Edges between horizontally adjacent tiles, tile rows t0..t1, left to right."""
    if alpha == 0:
        return
    half = block // 2       # a quadrant's side: the strength may change between quadrants
    for tr in range(t0, t1):
        for tc in range(1, coded.shape[1]):
            x = tc * tile
            strength = 0
            for y in range(tr * tile, (tr + 1) * tile):
                if y == tr * tile or y % half == 0:
                    strength = _strength(coded, modes, quadrants, pixel, block, tr, tc - 1, tr,
                                         tc, y, x - 1, y, x)
                if strength:
                    _filter_line(plane, y, x, 0, 1, luma, alpha, beta, tc0[strength])


@njit(cache=True, nogil=True, _nrt=False)
def _horizontal_edges(plane, coded, modes, quadrants, pixel, block, tile, luma, alpha, beta, tc0,
                      t0, t1):
    """Edges between vertically adjacent tiles, tile columns t0..t1, top to bottom."""
    if alpha == 0:
        return
    half = block // 2
    for tr in range(1, coded.shape[0]):
        y = tr * tile
        for tc in range(t0, t1):
            strength = 0
            for x in range(tc * tile, (tc + 1) * tile):
                if x == tc * tile or x % half == 0:
                    strength = _strength(coded, modes, quadrants, pixel, block, tr - 1, tc, tr,
                                         tc, y - 1, x, y, x)
                if strength:
                    _filter_line(plane, y, x, 1, 0, luma, alpha, beta, tc0[strength])
