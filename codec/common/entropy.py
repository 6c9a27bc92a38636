"""Adaptive binary range coder: the entropy-coding engine under every coded symbol.

Why a binary adaptive coder rather than a static table per stream: contexts adapt within a
frame, so nothing but the coded bits travels in the stream (no probability tables, which would
cost more than the symbols on a 176x144 predicted frame), and a skip flag that is almost always
set costs a few hundredths of a bit. The engine is the classic carry-propagating range coder
with 11-bit probabilities, each the mean of a fast and a slow estimate; all functions are
numba-compiled, so the syntax kernels in ``codec.common.syntax`` can inline them.

The coder's state is a tuple of integers that every call takes and returns (encoder: low,
range, cache, cache_size, out_pos, first_byte_pending; decoder: range, code, in_pos), so the
compiled syntax kernels keep it in registers rather than in memory: twice as fast as state kept
in an array. Reading past the end of the input yields zero bytes and is detected by the caller
(``in_pos > len``), never an IndexError.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "PROB_ONE", "MODEL_RATES", "new_contexts", "probability", "probabilities", "new_encoder",
    "finish_encoder", "encode_bit", "encode_bypass", "encode_uint", "new_decoder", "decode_bit",
    "decode_bypass", "decode_uint", "BIT_COST",
]

PROB_BITS = 11
PROB_ONE = 1 << PROB_BITS          # probabilities are P(bit == 0) in units of 1/2048
PROB_INIT = PROB_ONE // 2
#: Each context keeps two estimates of its probability and codes with their mean: one adapting
#: at 1/16 (quick to learn a new picture's statistics), one at 1/64 (steady once it has). Context
#: model 1 (format versions 1-5) adapted one estimate at 1/32: two equal estimates at that rate
#: stay equal, so their mean is that estimate. Per model: (fast shift, slow shift); see
#: ``new_contexts``. Measured as BD-rate against model 1's single rate (carphone / bikes /
#: scene_cuts / demo, 30 frames, quality 25-85): (4, 6) -0.5 / 0.0 / -0.6 / -0.3 %, (3, 6)
#: -0.2 / -0.6 / -0.9 / -0.4 %, (4, 7) -0.2 / -0.3 / 0.0 / -0.3 %, (5, 8) +0.8 / +1.4 / +2.5 /
#: +0.8 %, (4, 5) within 0.3 %; estimates kept to 15 bits instead of 11 gained nothing beyond
#: that noise. (4, 6) codes a steady source as tightly as model 1 (at p = 0.03, 5.8 % over its
#: entropy, where (3, 6) is 7.2 %).
MODEL_RATES = {1: (5, 5), 2: (4, 6)}
TOP = 1 << 24                      # renormalise when the range drops below 2^24
MASK32 = 0xFFFFFFFF
#: Longest Exp-Golomb prefix accepted by the decoder; a valid stream never needs more than 20
#: (values stay below 2^20), so a longer one can only be corrupt data.
MAX_EG_PREFIX = 24

#: Cost in bits of coding a symbol of probability p/2048, for p = 0..2048 (index 0 unused).
BIT_COST = np.concatenate(([32.0], -np.log2(np.arange(1, PROB_ONE + 1) / PROB_ONE)))


def new_contexts(n: int, model: int = 2) -> np.ndarray:
    """Fresh state of n contexts, as every slice of a refresh packet starts: int64 (n, 4), the
    fast and the slow estimate (both 1/2) and their adaptation shifts (``MODEL_RATES`` of the
    stream's context model)."""
    contexts = np.empty((n, 4), dtype=np.int64)
    contexts[:, :2] = PROB_INIT
    contexts[:, 2:] = MODEL_RATES[model]
    return contexts


@njit(cache=True, nogil=True, inline="always")
def probability(probs, ctx):
    """P(bit == 0) of context ``ctx`` in units of 1/2048: the mean of its two estimates."""
    return (probs[ctx, 0] + probs[ctx, 1]) >> 1


def probabilities(contexts: np.ndarray) -> np.ndarray:
    """``probability`` of every context at once (int64 (n,)), for the encoder's rate tables."""
    return (contexts[:, 0] + contexts[:, 1]) >> 1


@njit(cache=True, nogil=True, inline="always")
def _adapt(probs, ctx, bit):
    """Move both estimates of ``ctx`` towards the bit just coded."""
    fast = probs[ctx, 0]
    slow = probs[ctx, 1]
    if bit == 0:
        probs[ctx, 0] = fast + ((PROB_ONE - fast) >> probs[ctx, 2])
        probs[ctx, 1] = slow + ((PROB_ONE - slow) >> probs[ctx, 3])
    else:
        probs[ctx, 0] = fast - (fast >> probs[ctx, 2])
        probs[ctx, 1] = slow - (slow >> probs[ctx, 3])


@njit(cache=True, nogil=True, _nrt=False)
def new_encoder():
    """Initial encoder state."""
    return (np.int64(0), np.int64(MASK32), np.int64(0), np.int64(1), np.int64(0), np.int64(1))


@njit(cache=True, nogil=True, _nrt=False)
def _shift_low(est, out):
    low, rng, cache, cache_size, pos, first = est
    if low < 0xFF000000 or low > MASK32:
        carry = low >> 32
        temp = cache
        while True:
            if first == 1:
                first = 0           # the coder's first byte is always 0: never written
            else:
                if pos < out.shape[0]:      # never write past the buffer, even on a bug
                    out[pos] = (temp + carry) & 0xFF
                pos += 1
            temp = 0xFF
            cache_size -= 1
            if cache_size == 0:
                break
        cache = (low >> 24) & 0xFF
    return ((low & 0x00FFFFFF) << 8, rng, cache, cache_size + 1, pos, first)


@njit(cache=True, nogil=True, inline="always")
def _renormalise_encoder(est, out):
    """Shift out bytes until the range is back above 2^24."""
    while est[1] < TOP:
        est = _shift_low((est[0], (est[1] << 8) & MASK32, est[2], est[3], est[4], est[5]), out)
    return est


@njit(cache=True, nogil=True, _nrt=False)
def encode_bit(est, out, probs, ctx, bit, costs, category):
    """Code ``bit`` with context ``ctx``; returns the new state."""
    low, rng = est[0], est[1]
    p = probability(probs, ctx)
    bound = (rng >> PROB_BITS) * p
    if bit == 0:
        rng = bound
        costs[category] += BIT_COST[p]
    else:
        low += bound
        rng -= bound
        costs[category] += BIT_COST[PROB_ONE - p]
    _adapt(probs, ctx, bit)
    return _renormalise_encoder((low, rng, est[2], est[3], est[4], est[5]), out)


@njit(cache=True, nogil=True, _nrt=False)
def encode_bypass(est, out, bit, costs, category):
    """One equiprobable bit (signs, Exp-Golomb suffixes); returns the new state."""
    rng = est[1] >> 1
    low = est[0] + rng if bit else est[0]
    costs[category] += 1.0
    return _renormalise_encoder((low, rng, est[2], est[3], est[4], est[5]), out)


@njit(cache=True, nogil=True, _nrt=False)
def encode_uint(est, out, probs, ctx_base, n_ctx, value, costs, category, order):
    """Non-negative integer: unary with one context per bin for the first ``n_ctx`` bins,
    then an Exp-Golomb escape of ``order`` in bypass bits for the rest. Returns the new
    state."""
    for i in range(n_ctx):
        if value > i:
            est = encode_bit(est, out, probs, ctx_base + i, 1, costs, category)
        else:
            return encode_bit(est, out, probs, ctx_base + i, 0, costs, category)
    rest = value - n_ctx          # >= 0
    k = order
    while rest >= (1 << k):       # a one per doubling of the range, as Exp-Golomb order k
        est = encode_bypass(est, out, 1, costs, category)
        rest -= 1 << k
        k += 1
    est = encode_bypass(est, out, 0, costs, category)
    for i in range(k - 1, -1, -1):
        est = encode_bypass(est, out, (rest >> i) & 1, costs, category)
    return est


@njit(cache=True, nogil=True, _nrt=False)
def finish_encoder(est, out):
    """Flush the coder; returns the number of bytes written to ``out``."""
    for _ in range(5):
        est = _shift_low(est, out)
    if est[4] > out.shape[0]:
        raise RuntimeError("range coder output buffer too small")
    return est[4]


@njit(cache=True, nogil=True, inline="always")
def _byte_at(data, pos):
    return np.int64(data[pos]) if pos < data.shape[0] else np.int64(0)


@njit(cache=True, nogil=True, _nrt=False)
def new_decoder(data):
    """Initial decoder state: the first four bytes loaded."""
    code = np.int64(0)
    for pos in range(4):
        code = (code << 8) | _byte_at(data, pos)
    return (np.int64(MASK32), code, np.int64(4))


@njit(cache=True, nogil=True, inline="always")
def _renormalise_decoder(rng, code, pos, data):
    """Shift in bytes until the range is back above 2^24."""
    while rng < TOP:
        rng = (rng << 8) & MASK32
        code = ((code << 8) | _byte_at(data, pos)) & MASK32
        pos += 1
    return (rng, code, pos)


@njit(cache=True, nogil=True, _nrt=False)
def decode_bit(dst, data, probs, ctx):
    """Returns (new state, bit)."""
    rng, code, pos = dst
    p = probability(probs, ctx)
    bound = (rng >> PROB_BITS) * p
    if code < bound:
        rng = bound
        bit = 0
    else:
        code -= bound
        rng -= bound
        bit = 1
    _adapt(probs, ctx, bit)
    return _renormalise_decoder(rng, code, pos, data), bit


@njit(cache=True, nogil=True, _nrt=False)
def decode_bypass(dst, data):
    """Returns (new state, bit)."""
    rng, code, pos = dst
    rng >>= 1
    bit = 0
    if code >= rng:
        code -= rng
        bit = 1
    return _renormalise_decoder(rng, code, pos, data), bit


@njit(cache=True, nogil=True, _nrt=False)
def decode_uint(dst, data, probs, ctx_base, n_ctx, order):
    """Inverse of ``encode_uint``: (new state, value), value -1 for an impossible (corrupt)
    escape."""
    for i in range(n_ctx):
        dst, bit = decode_bit(dst, data, probs, ctx_base + i)
        if bit == 0:
            return dst, np.int64(i)
    rest = np.int64(0)
    k = order
    while True:
        dst, bit = decode_bypass(dst, data)
        if bit == 0:
            break
        rest += np.int64(1) << k
        k += 1
        if k - order > MAX_EG_PREFIX:
            return dst, np.int64(-1)
    suffix = np.int64(0)
    for _ in range(k):
        dst, bit = decode_bypass(dst, data)
        suffix = (suffix << 1) | bit
    return dst, rest + suffix + n_ctx
