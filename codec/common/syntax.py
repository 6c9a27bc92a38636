"""Frame syntax: the order and contexts of every range-coded symbol in a packet payload.

Blocks are coded in raster order; each block is self-contained in the stream:

- predicted frames: skip flag (context: skipped neighbours); unless skipped, a mode flag
  (motion-compensated or palette; context: palette neighbours); with the split tool, a split
  flag for a motion-compensated block (context: split neighbours); then either the vector
  difference from the median predictor, four quadrant vector differences, or a palette label;
- refresh frames: a palette label for every block; with intra prediction (a tool of the
  refresh header) first a palette flag (context: palette neighbours), and for a spatially
  predicted block its mode (DC, V, H) instead of a label;
- then, when the frame carries residual, every transform tile of the block (luma, then Cr,
  then Cb): a coded flag (context: coded neighbours); for a coded tile, with the transform-skip
  tool, whether its levels are samples rather than DCT coefficients (context: skipped
  neighbours); then the zigzag scan of significance / last flags and levels (contexts by level
  kind, frequency band and, in context model 2, by the coefficients coded before: significant
  neighbours, an earlier level above one).

Labels are coded as "same as left", "same as top", else a binary tree over the palette with a
context per node. Contexts restart in every slice of a refresh packet; a predicted packet's
slices start where the previous packet's left them, when the stream says so
(``slices.SliceContexts``).
The encoder also accumulates the estimated bits per part (labels, motion, residual) so each
frame can report where its bytes went.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .entropy import (decode_bit, decode_bypass, decode_uint, encode_bit, encode_bypass,
                      encode_uint, finish_encoder, new_decoder, new_encoder)
from .inter_prediction import MAX_VECTOR, quadrant_vector_predictor, vector_predictor
from .modes import (MODE_INTER, MODE_INTRA_DC, MODE_INTRA_H, MODE_INTRA_V, MODE_PALETTE, MODE_SKIP,
                    MODE_SPLIT)
from .transform import MAX_LEVEL, TILE_DCT, TILE_SKIP, log2_size, zigzag_order

__all__ = ["encode_symbols", "decode_symbols", "label_bits", "PART_LABELS", "PART_MOTION",
           "PART_RESIDUAL", "DECODE_ERRORS", "N_CONTEXTS", "coded_flag_context",
           "transform_skip_context"]

def label_bits(n_labels: int) -> int:
    """Bits of a palette index in the label tree (both sides derive it from the palette size)."""
    return max(0, int(n_labels - 1).bit_length())


# Cost categories reported per frame.
PART_LABELS, PART_MOTION, PART_RESIDUAL = 0, 1, 2

# Context layout (offsets into one probability array).
CTX_SKIP = 0            # 3: number of skipped neighbours (left, top)
CTX_MODE = 3            # 3: number of palette neighbours
CTX_LABEL_LEFT = 6      # 2: whether the top label equals the left one
CTX_LABEL_TOP = 8       # 1
CTX_LABEL_TREE = 9      # 256: one per node of the label's binary tree
CTX_MVD_ZERO = 265      # 2 components x 3 neighbourhood activity classes
MVD_BINS = 8
CTX_MVD_MAG = 271       # 2 components x MVD_BINS unary bins
BANDS = 16
#: Level kinds: the plane's (0 luma, 1 chroma), plus KIND_SKIP for a transform-skipped tile,
#: whose levels are samples, not frequencies, and have contexts of their own.
KIND_SKIP = 2
LEVEL_KINDS = 4
CTX_CBF = 287           # 2 plane kinds x 3 coded neighbours
CTX_SIG = 293           # LEVEL_KINDS x BANDS x previous significant (2) x left + top (0-2)
CTX_LAST = 677          # LEVEL_KINDS x BANDS
GT1_BANDS = 4
CTX_GT1 = 741           # LEVEL_KINDS x GT1_BANDS x an earlier level > 1 (2)
REM_BINS = 8
CTX_REM = 773           # LEVEL_KINDS x REM_BINS
CTX_INTRA_PALETTE = 805  # 3: number of palette neighbours (refresh frames with intra prediction)
CTX_INTRA_MODE = 808    # 2: DC or not, then V or H
CTX_SPLIT = 810         # 3: number of split neighbours (predicted frames with the split tool)
CTX_TSKIP = 813         # 2 plane kinds x 3: transform-skipped neighbours (left, top)
N_CONTEXTS = 819
# The residual contexts' blocks follow one another as the comments above size them.
assert CTX_LAST == CTX_SIG + LEVEL_KINDS * BANDS * 6 and CTX_GT1 == CTX_LAST + LEVEL_KINDS * BANDS
assert CTX_REM == CTX_GT1 + LEVEL_KINDS * GT1_BANDS * 2
assert CTX_INTRA_PALETTE == CTX_REM + LEVEL_KINDS * REM_BINS and N_CONTEXTS == CTX_TSKIP + 6
#: Exp-Golomb order of a vector difference's escape (beyond its MVD_BINS unary bins), model 2:
#: with the +-64 pixel search a tenth of the components on bikes and scene_cuts are wider than
#: 5 pixels (20 quarter-pels). BD-rate against x264 veryfast on the whole clips (scene_cuts /
#: bikes / carphone): order 0 +10.6 / +1.3 / -3.3 %, 2: +9.6 / +0.2 / -3.3 %, 3: +9.3 / -0.2 /
#: -3.3 %, 4: +9.4 / -0.1 / -3.2 % (search range 32). Model 1 used order 0.
MVD_ESCAPE_ORDER = 3


#: Where a position has no left or top neighbour, the table names the 8x8 tile's final scan
#: position, which is never significant while another position's context is read.
_NO_NEIGHBOUR = 63


def _scan_neighbours() -> np.ndarray:
    """int64 (4, 64, 2): for tiles of 2x2, 4x4 and 8x8 (index log2(coefficients) / 2 - 1), the
    scan positions of each scan position's left and top neighbour in the tile, or
    ``_NO_NEIGHBOUR`` where there is none. Both come earlier in the zigzag scan (the
    anti-diagonal before), so their significance is known to both sides when the position is
    coded. Index 3 (``MODEL1_NEIGHBOURS``): no neighbours at all, as context model 1 had."""
    table = np.full((4, 64, 2), _NO_NEIGHBOUR, np.int64)
    for k, n in enumerate((2, 4, 8)):
        position = {int(raster): z for z, raster in enumerate(zigzag_order(n))}
        for raster, z in position.items():
            y, x = divmod(raster, n)
            if x > 0:
                table[k, z, 0] = position[raster - 1]
            if y > 0:
                table[k, z, 1] = position[raster - n]
    return table


#: See ``_scan_neighbours``; a compile-time constant of the kernels.
SCAN_NEIGHBOURS = _scan_neighbours()
MODEL1_NEIGHBOURS = 3


@njit(cache=True, nogil=True, inline="always")
def scan_neighbours(n, model2):
    """The neighbour table of a tile of n coefficients (``SCAN_NEIGHBOURS``)."""
    return SCAN_NEIGHBOURS[(log2_size(n) >> 1) - 1 if model2 else MODEL1_NEIGHBOURS]


@njit(cache=True, nogil=True, inline="always")
def significance_context(band, neighbours, z, significant):
    """Context of scan position z's significance flag: its frequency band, whether the previous
    position is significant, and how many of its left and top neighbours in the tile are
    (``significant``: bit z set for each significant position so far; ``neighbours`` from
    ``scan_neighbours``, none in context model 1)."""
    previous = (significant >> (z - 1)) & 1 if z > 0 else 1
    count = ((significant >> neighbours[z, 0]) & 1) + ((significant >> neighbours[z, 1]) & 1)
    return CTX_SIG + 6 * band + 3 * previous + count


#: Error codes of ``decode_symbols`` (0 = fine) and what they mean.
DECODE_ERRORS = {
    1: "palette label out of range",
    2: "motion vector out of range",
    3: "residual level out of range",
}

# Worst-case bytes per symbol group, for the output buffer (a level: ~90 bits at most).
_BYTES_PER_COEFF = 12
_BYTES_PER_BLOCK = 64


@njit(cache=True, nogil=True, _nrt=False)
def _encode_label(est, out, probs, costs, labels, r, c, label, nbits):
    left = labels[r, c - 1] if c > 0 else -1
    top = labels[r - 1, c] if r > 0 else -1
    if left >= 0:
        same = 1 if label == left else 0
        est = encode_bit(est, out, probs, CTX_LABEL_LEFT + (1 if top == left else 0), same, costs, PART_LABELS)
        if same:
            return est
    if top >= 0 and top != left:
        same = 1 if label == top else 0
        est = encode_bit(est, out, probs, CTX_LABEL_TOP, same, costs, PART_LABELS)
        if same:
            return est
    node = 1
    for i in range(nbits - 1, -1, -1):
        b = (label >> i) & 1
        est = encode_bit(est, out, probs, CTX_LABEL_TREE + node, b, costs, PART_LABELS)
        node = 2 * node + b
    return est


@njit(cache=True, nogil=True, _nrt=False)
def _decode_label(dst, data, probs, labels, r, c, nbits):
    """Returns (new state, label)."""
    left = labels[r, c - 1] if c > 0 else -1
    top = labels[r - 1, c] if r > 0 else -1
    if left >= 0:
        dst, same = decode_bit(dst, data, probs, CTX_LABEL_LEFT + (1 if top == left else 0))
        if same:
            return dst, left
    if top >= 0 and top != left:
        dst, same = decode_bit(dst, data, probs, CTX_LABEL_TOP)
        if same:
            return dst, top
    node = 1
    for _ in range(nbits):
        dst, bit = decode_bit(dst, data, probs, CTX_LABEL_TREE + node)
        node = 2 * node + bit
    return dst, node - (1 << nbits)


@njit(cache=True, nogil=True, inline="always")
def _neighbours_in_mode(modes, r, c, mode):
    """How many of the left and top blocks are in ``mode`` (0-2): a context for mode flags."""
    n = 0
    if c > 0 and modes[r, c - 1] == mode:
        n += 1
    if r > 0 and modes[r - 1, c] == mode:
        n += 1
    return n


@njit(cache=True, nogil=True, inline="always")
def _activity_class(mvd, r, c, k):
    a = 0
    if c > 0:
        a += abs(mvd[r, c - 1, k])
    if r > 0:
        a += abs(mvd[r - 1, c, k])
    return 0 if a == 0 else (1 if a < 4 else 2)


@njit(cache=True, nogil=True, _nrt=False)
def _encode_vector_difference(est, out, probs, costs, mvd, r, c, dx, dy):
    """One vector difference (x then y); contexts from the left and top blocks' differences;
    the escape of context model 2, the encoder's."""
    for k in range(2):
        v = dx if k == 0 else dy
        zctx = CTX_MVD_ZERO + 3 * k + _activity_class(mvd, r, c, k)
        est = encode_bit(est, out, probs, zctx, 1 if v != 0 else 0, costs, PART_MOTION)
        if v != 0:
            est = encode_bypass(est, out, 1 if v < 0 else 0, costs, PART_MOTION)
            est = encode_uint(est, out, probs, CTX_MVD_MAG + MVD_BINS * k, MVD_BINS,
                              abs(v) - 1, costs, PART_MOTION, MVD_ESCAPE_ORDER)
    return est


@njit(cache=True, nogil=True, _nrt=False)
def _decode_vector(dst, data, probs, mvd, r, c, px, py, model2):
    """Decode one vector difference from the prediction (px, py). Returns (new state,
    difference x, y, vector x, y, error: 0, or 2 for a vector out of range)."""
    dx = 0
    dy = 0
    for k in range(2):
        zctx = CTX_MVD_ZERO + 3 * k + _activity_class(mvd, r, c, k)
        v = 0
        dst, nonzero = decode_bit(dst, data, probs, zctx)
        if nonzero:
            dst, negative = decode_bypass(dst, data)
            dst, mag = decode_uint(dst, data, probs, CTX_MVD_MAG + MVD_BINS * k, MVD_BINS,
                                   MVD_ESCAPE_ORDER if model2 else 0)
            if mag < 0 or mag + 1 > 2 * MAX_VECTOR:
                return dst, 0, 0, 0, 0, 2
            v = -(mag + 1) if negative else mag + 1
        if k == 0:
            dx = v
        else:
            dy = v
    if abs(px + dx) > MAX_VECTOR or abs(py + dy) > MAX_VECTOR:
        return dst, 0, 0, 0, 0, 2
    return dst, dx, dy, px + dx, py + dy, 0


@njit(cache=True, nogil=True, inline="always")
def coded_flag_context(tiles, tr, tc, kind, first_row):
    """Context of tile (tr, tc)'s coded flag: its plane kind and how many of its left and top
    tiles carry residual (``tiles``: a tile map, ``TILE_*``; rows above ``first_row`` belong
    to another slice: the syntax passes a slice's own rows and 0, the encoder's cost estimates
    a whole picture's map and the slice's first row)."""
    ctx = CTX_CBF + 3 * kind
    if tc > 0 and tiles[tr, tc - 1] != 0:
        ctx += 1
    if tr > first_row and tiles[tr - 1, tc] != 0:
        ctx += 1
    return ctx


@njit(cache=True, nogil=True, inline="always")
def transform_skip_context(tiles, tr, tc, kind, first_row):
    """Context of a coded tile's transform-skip flag: its plane kind and how many of its left
    and top tiles are transform-skipped (as ``coded_flag_context``)."""
    ctx = CTX_TSKIP + 3 * kind
    if tc > 0 and tiles[tr, tc - 1] == TILE_SKIP:
        ctx += 1
    if tr > first_row and tiles[tr - 1, tc] == TILE_SKIP:
        ctx += 1
    return ctx


@njit(cache=True, nogil=True, _nrt=False)
def _encode_tile(est, out, probs, costs, lev, tr, tc, cbf, kind, tiles, tskip):
    """One tile's residual; ``tiles``: the encoder's tile map (which tiles it transform-skipped),
    ``cbf`` the map of the tiles coded so far; ``tskip``: the stream's tools have transform
    skip (a flag per coded tile)."""
    n = lev.shape[2]
    last = -1
    for i in range(n):
        if lev[tr, tc, i] != 0:
            last = i
    ctx = coded_flag_context(cbf, tr, tc, kind, 0)
    est = encode_bit(est, out, probs, ctx, 1 if last >= 0 else 0, costs, PART_RESIDUAL)
    if last < 0:
        return est
    cbf[tr, tc] = TILE_DCT
    if tskip:
        skip = tiles[tr, tc] == TILE_SKIP
        est = encode_bit(est, out, probs, transform_skip_context(cbf, tr, tc, kind, 0),
                         1 if skip else 0, costs, PART_RESIDUAL)
        if skip:
            cbf[tr, tc] = TILE_SKIP
            kind += KIND_SKIP
    shift = log2_size(n)     # band = i * BANDS >> shift == i * BANDS // n
    neighbours = scan_neighbours(n, True)
    significant = np.int64(0)
    big = 0
    for i in range(last + 1):
        v = lev[tr, tc, i]
        band = kind * BANDS + (i * BANDS >> shift)
        if i < n - 1:
            ctx = significance_context(band, neighbours, i, significant)
            est = encode_bit(est, out, probs, ctx, 1 if v != 0 else 0, costs, PART_RESIDUAL)
            if v == 0:
                continue
            significant |= np.int64(1) << i
            est = encode_bit(est, out, probs, CTX_LAST + band, 1 if i == last else 0, costs,
                             PART_RESIDUAL)
        a = abs(v)
        gctx = CTX_GT1 + 2 * (kind * GT1_BANDS + (i * GT1_BANDS >> shift)) + big
        est = encode_bit(est, out, probs, gctx, 1 if a > 1 else 0, costs, PART_RESIDUAL)
        if a > 1:
            big = 1
            est = encode_uint(est, out, probs, CTX_REM + kind * REM_BINS, REM_BINS, a - 2, costs,
                              PART_RESIDUAL, 0)
        est = encode_bypass(est, out, 1 if v < 0 else 0, costs, PART_RESIDUAL)
    return est


@njit(cache=True, nogil=True, _nrt=False)
def _decode_tile(dst, data, probs, lev, tr, tc, cbf, kind, model2, tskip):
    """Returns (new state, 0), or 3 for an impossible level. ``cbf``: the tile map being
    decoded (``TILE_*``), ``model2``: the stream's context model is 2 (else 1: no neighbour
    contexts); ``tskip``: coded tiles carry a transform-skip flag."""
    n = lev.shape[2]
    dst, coded = decode_bit(dst, data, probs, coded_flag_context(cbf, tr, tc, kind, 0))
    if coded == 0:
        return dst, 0
    cbf[tr, tc] = TILE_DCT
    if tskip:
        dst, skip = decode_bit(dst, data, probs, transform_skip_context(cbf, tr, tc, kind, 0))
        if skip:
            cbf[tr, tc] = TILE_SKIP
            kind += KIND_SKIP
    shift = log2_size(n)     # band = i * BANDS >> shift == i * BANDS // n
    neighbours = scan_neighbours(n, model2)
    significant = np.int64(0)
    big = 0
    for i in range(n):
        band = kind * BANDS + (i * BANDS >> shift)
        is_last = 1
        if i < n - 1:
            dst, sig = decode_bit(dst, data, probs,
                                  significance_context(band, neighbours, i, significant))
            if sig == 0:
                continue
            significant |= np.int64(1) << i
            dst, is_last = decode_bit(dst, data, probs, CTX_LAST + band)
        a = 1
        dst, greater = decode_bit(dst, data, probs,
                                  CTX_GT1 + 2 * (kind * GT1_BANDS + (i * GT1_BANDS >> shift)) + big)
        if greater:
            big = 1 if model2 else 0
            dst, rest = decode_uint(dst, data, probs, CTX_REM + kind * REM_BINS, REM_BINS, 0)
            if rest < 0 or rest + 2 > MAX_LEVEL:
                return dst, 3
            a = rest + 2
        dst, negative = decode_bypass(dst, data)
        lev[tr, tc, i] = -a if negative else a
        if is_last:
            break
    return dst, 0


@njit(cache=True, nogil=True)
def encode_symbols(is_refresh, intra, split, tskip, coded_residual, modes, mvd, quadrant_mvd,
                   labels, label_bits, lev_y, lev_cr, lev_cb, tiles_y, tiles_cr, tiles_cb, ky, kc,
                   contexts):
    """Range-code one frame's symbols (of one slice).

    Args:
        is_refresh: refresh frame (intra blocks only) or predicted frame.
        intra: refresh blocks may be spatially predicted: a palette flag per block, then
            either its label or its spatial mode (``codec.common.intra_prediction``).
        split: predicted blocks may be split into quadrants with a vector each (a split flag
            per motion-compensated block).
        tskip: coded tiles may be transform-skipped (a flag per coded tile).
        coded_residual: whether tiles are coded at all (quality > 0).
        modes: int8 (rows, cols) block modes; mvd: int32 (rows, cols, 2) vector minus its
            median prediction (0 where not MODE_INTER; a split block's first quadrant's);
            quadrant_mvd: int32 (rows, cols, 4, 2) the quadrant differences of split blocks
            (``codec.common.inter_prediction.quadrant_vector_predictor``); labels: int32
            (rows, cols), -1 where the block has no label; label_bits: bits of a palette index.
        lev_y, lev_cr, lev_cb: int16 zigzag levels (tile rows, tile cols, n*n) per plane.
        tiles_y, tiles_cr, tiles_cb: uint8 (tile rows, tile cols) tile maps per plane
            (``transform.TILE_*``): which coded tiles are transform-skipped.
        ky, kc: transform tiles per block side in luma and in chroma.
        contexts: int64 (N_CONTEXTS, 4) probabilities to start from (``entropy.new_contexts``,
            or where the slice of the previous picture left them); updated in place.

    Returns:
        (payload bytes as uint8 array, estimated bits per part float64[3]).
    """
    rows, cols = modes.shape
    n_coeffs = lev_y.size + lev_cr.size + lev_cb.size
    capacity = 64 + _BYTES_PER_BLOCK * rows * cols + _BYTES_PER_COEFF * n_coeffs
    out = np.empty(capacity, np.uint8)
    costs = np.zeros(3)
    n = _encode_blocks(out, contexts, costs,
                       np.zeros(lev_y.shape[:2], np.uint8), np.zeros(lev_cr.shape[:2], np.uint8),
                       np.zeros(lev_cb.shape[:2], np.uint8), is_refresh, intra, split, tskip,
                       coded_residual, modes, mvd, quadrant_mvd, labels, label_bits, lev_y, lev_cr,
                       lev_cb, tiles_y, tiles_cr, tiles_cb, ky, kc)
    return out[:n].copy(), costs


# The block loops allocate nothing, so they are compiled without numba's reference counting
# (_nrt=False): its atomic increments on every array passed to a helper took 70 % of the
# coding time (and are shared between threads' cores).
@njit(cache=True, nogil=True, _nrt=False)
def _encode_blocks(out, probs, costs, cbf_y, cbf_cr, cbf_cb, is_refresh, intra, split, tskip,
                   coded_residual, modes, mvd, quadrant_mvd, labels, label_bits, lev_y, lev_cr,
                   lev_cb, tiles_y, tiles_cr, tiles_cb, ky, kc):
    """The loop of ``encode_symbols`` into its buffers; returns the bytes written."""
    rows, cols = modes.shape
    est = new_encoder()
    for r in range(rows):
        for c in range(cols):
            mode = modes[r, c]
            if not is_refresh:
                ctx = CTX_SKIP + _neighbours_in_mode(modes, r, c, MODE_SKIP)
                est = encode_bit(est, out, probs, ctx, 1 if mode == MODE_SKIP else 0, costs, PART_MOTION)
                if mode == MODE_SKIP:
                    continue
                ctx = CTX_MODE + _neighbours_in_mode(modes, r, c, MODE_PALETTE)
                est = encode_bit(est, out, probs, ctx, 1 if mode == MODE_PALETTE else 0, costs, PART_LABELS)
                if split and mode != MODE_PALETTE:
                    ctx = CTX_SPLIT + _neighbours_in_mode(modes, r, c, MODE_SPLIT)
                    est = encode_bit(est, out, probs, ctx, 1 if mode == MODE_SPLIT else 0, costs,
                                     PART_MOTION)
            elif intra:
                ctx = CTX_INTRA_PALETTE + _neighbours_in_mode(modes, r, c, MODE_PALETTE)
                est = encode_bit(est, out, probs, ctx, 1 if mode == MODE_PALETTE else 0, costs, PART_LABELS)
                if mode != MODE_PALETTE:
                    est = encode_bit(est, out, probs, CTX_INTRA_MODE, 0 if mode == MODE_INTRA_DC else 1,
                                     costs, PART_LABELS)
                    if mode != MODE_INTRA_DC:
                        est = encode_bit(est, out, probs, CTX_INTRA_MODE + 1,
                                         1 if mode == MODE_INTRA_H else 0, costs, PART_LABELS)
            if mode == MODE_PALETTE:
                est = _encode_label(est, out, probs, costs, labels, r, c, labels[r, c], label_bits)
            elif mode == MODE_INTER:
                est = _encode_vector_difference(est, out, probs, costs, mvd, r, c, mvd[r, c, 0],
                                                mvd[r, c, 1])
            elif mode == MODE_SPLIT:
                for q in range(4):
                    est = _encode_vector_difference(est, out, probs, costs, mvd, r, c,
                                                    quadrant_mvd[r, c, q, 0],
                                                    quadrant_mvd[r, c, q, 1])
            if coded_residual:
                for i in range(ky):
                    for j in range(ky):
                        est = _encode_tile(est, out, probs, costs, lev_y, r * ky + i, c * ky + j,
                                           cbf_y, 0, tiles_y, tskip)
                for lev, cbf, tiles in ((lev_cr, cbf_cr, tiles_cr), (lev_cb, cbf_cb, tiles_cb)):
                    for i in range(kc):
                        for j in range(kc):
                            est = _encode_tile(est, out, probs, costs, lev, r * kc + i,
                                               c * kc + j, cbf, 1, tiles, tskip)
    return finish_encoder(est, out)


@njit(cache=True, nogil=True, inline="always")
def _same_quadrants(quadrant_mvs, mvs, r, c):
    """An unsplit block's four quadrants move with its one vector."""
    for q in range(4):
        quadrant_mvs[r, c, q, 0] = mvs[r, c, 0]
        quadrant_mvs[r, c, q, 1] = mvs[r, c, 1]


@njit(cache=True, nogil=True)
def decode_symbols(data, is_refresh, intra, split, tskip, coded_residual, rows, cols, n_labels,
                   label_bits, lev_y, lev_cr, lev_cb, tiles_y, tiles_cr, tiles_cb, ky, kc,
                   contexts, model2=True):
    """Inverse of ``encode_symbols``; fills the zeroed level arrays and tile maps (uint8,
    ``transform.TILE_*``) and updates ``contexts`` in place. ``model2``: the stream's context
    model is 2 (format version 6 on; the encoder's only one), else 1.

    Returns:
        (modes int8, mvs int32 (rows, cols, 2) absolute sub-pel vectors (a split block's:
        its last quadrant's), quadrant vectors int32 (rows, cols, 4, 2) (the block's own
        vector four times unless split), labels int32, error code (0 = fine, see
        DECODE_ERRORS), bytes consumed).
    """
    modes = np.zeros((rows, cols), np.int8)
    mvs = np.zeros((rows, cols, 2), np.int32)
    quadrant_mvs = np.zeros((rows, cols, 4, 2), np.int32)
    labels = np.full((rows, cols), -1, np.int32)
    error, consumed = _decode_blocks(
        data, modes, mvs, quadrant_mvs, np.zeros((rows, cols, 2), np.int32), labels,
        contexts, tiles_y, tiles_cr, tiles_cb, is_refresh, intra, split, tskip, coded_residual,
        n_labels, label_bits, lev_y, lev_cr, lev_cb, ky, kc, model2)
    return modes, mvs, quadrant_mvs, labels, error, consumed


@njit(cache=True, nogil=True, _nrt=False)
def _decode_blocks(data, modes, mvs, quadrant_mvs, mvd, labels, probs, cbf_y, cbf_cr, cbf_cb,
                   is_refresh, intra, split, tskip, coded_residual, n_labels, label_bits, lev_y,
                   lev_cr, lev_cb, ky, kc, model2):
    """The loop of ``decode_symbols`` (no allocation, hence no reference counting, as in
    ``_encode_blocks``); returns (error code, bytes consumed)."""
    rows, cols = modes.shape
    dst = new_decoder(data)
    for r in range(rows):
        for c in range(cols):
            mode = MODE_PALETTE
            if not is_refresh:
                ctx = CTX_SKIP + _neighbours_in_mode(modes, r, c, MODE_SKIP)
                dst, skipped = decode_bit(dst, data, probs, ctx)
                if skipped:
                    modes[r, c] = MODE_SKIP
                    p = vector_predictor(quadrant_mvs, r, c)
                    mvs[r, c, 0] = p[0]
                    mvs[r, c, 1] = p[1]
                    _same_quadrants(quadrant_mvs, mvs, r, c)
                    continue
                ctx = CTX_MODE + _neighbours_in_mode(modes, r, c, MODE_PALETTE)
                dst, palette = decode_bit(dst, data, probs, ctx)
                mode = MODE_PALETTE if palette else MODE_INTER
                if split and not palette:
                    ctx = CTX_SPLIT + _neighbours_in_mode(modes, r, c, MODE_SPLIT)
                    dst, quartered = decode_bit(dst, data, probs, ctx)
                    if quartered:
                        mode = MODE_SPLIT
            elif intra:
                ctx = CTX_INTRA_PALETTE + _neighbours_in_mode(modes, r, c, MODE_PALETTE)
                dst, palette = decode_bit(dst, data, probs, ctx)
                if not palette:
                    dst, directional = decode_bit(dst, data, probs, CTX_INTRA_MODE)
                    mode = MODE_INTRA_DC
                    if directional:
                        dst, horizontal = decode_bit(dst, data, probs, CTX_INTRA_MODE + 1)
                        mode = MODE_INTRA_H if horizontal else MODE_INTRA_V
            modes[r, c] = mode
            if mode == MODE_PALETTE:
                dst, label = _decode_label(dst, data, probs, labels, r, c, label_bits)
                if label >= n_labels:
                    return 1, dst[2]
                labels[r, c] = label
            elif mode == MODE_INTER:
                p = vector_predictor(quadrant_mvs, r, c)
                dst, dx, dy, vx, vy, error = _decode_vector(dst, data, probs, mvd, r, c, p[0],
                                                            p[1], model2)
                if error:
                    return error, dst[2]
                mvd[r, c, 0] = dx
                mvd[r, c, 1] = dy
                mvs[r, c, 0] = vx
                mvs[r, c, 1] = vy
            elif mode == MODE_SPLIT:
                p = vector_predictor(quadrant_mvs, r, c)
                for q in range(4):
                    pq = quadrant_vector_predictor(quadrant_mvs, r, c, q, p[0], p[1])
                    dst, dx, dy, vx, vy, error = _decode_vector(dst, data, probs, mvd, r, c,
                                                                pq[0], pq[1], model2)
                    if error:
                        return error, dst[2]
                    quadrant_mvs[r, c, q, 0] = vx
                    quadrant_mvs[r, c, q, 1] = vy
                    if q == 0:
                        mvd[r, c, 0] = dx
                        mvd[r, c, 1] = dy
                mvs[r, c, 0] = quadrant_mvs[r, c, 3, 0]
                mvs[r, c, 1] = quadrant_mvs[r, c, 3, 1]
            if mode != MODE_SPLIT:
                _same_quadrants(quadrant_mvs, mvs, r, c)
            if coded_residual:
                for i in range(ky):
                    for j in range(ky):
                        dst, error = _decode_tile(dst, data, probs, lev_y, r * ky + i,
                                                  c * ky + j, cbf_y, 0, model2, tskip)
                        if error:
                            return error, dst[2]
                for lev, cbf in ((lev_cr, cbf_cr), (lev_cb, cbf_cb)):
                    for i in range(kc):
                        for j in range(kc):
                            dst, error = _decode_tile(dst, data, probs, lev, r * kc + i,
                                                      c * kc + j, cbf, 1, model2, tskip)
                            if error:
                                return error, dst[2]
    return 0, dst[2]
