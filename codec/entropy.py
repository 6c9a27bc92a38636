"""Adaptive binary range coder: the entropy-coding engine under every coded symbol.

Why a binary adaptive coder rather than a static table per stream: contexts adapt within a
frame, so nothing but the coded bits travels in the stream (no probability tables, which would
cost more than the symbols on a 176x144 predicted frame), and a skip flag that is almost always
set costs a few hundredths of a bit. The engine is the classic carry-propagating range coder
with 11-bit probabilities and shift-5 adaptation; all functions are numba-compiled and operate
on small state arrays so the syntax kernels in ``codec.syntax`` can inline them.

Encoder state ``est`` (int64[6]): low, range, cache, cache_size, out_pos, first_byte_pending.
Decoder state ``dst`` (int64[3]): range, code, in_pos. Reading past the end of the input
yields zero bytes and is detected by the caller (``in_pos > len``), never an IndexError.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "PROB_ONE", "new_contexts", "new_encoder", "finish_encoder", "encode_bit", "encode_bypass",
    "encode_uint", "new_decoder", "decode_bit", "decode_bypass", "decode_uint", "BIT_COST",
]

PROB_BITS = 11
PROB_ONE = 1 << PROB_BITS          # probabilities are P(bit == 0) in units of 1/2048
PROB_INIT = PROB_ONE // 2
ADAPT_SHIFT = 5                    # adaptation rate 1/32: LZMA's choice, fast yet stable
TOP = 1 << 24                      # renormalise when the range drops below 2^24
MASK32 = 0xFFFFFFFF
#: Longest Exp-Golomb prefix accepted by the decoder; a valid stream never needs more than 20
#: (values stay below 2^20), so a longer one can only be corrupt data.
MAX_EG_PREFIX = 24

#: Cost in bits of coding a symbol of probability p/2048, for p = 0..2048 (index 0 unused).
BIT_COST = np.concatenate(([32.0], -np.log2(np.arange(1, PROB_ONE + 1) / PROB_ONE)))


def new_contexts(n: int) -> np.ndarray:
    """Fresh context probabilities (all 1/2): contexts restart at every packet."""
    return np.full(n, PROB_INIT, dtype=np.int64)


@njit(cache=True, nogil=True)
def new_encoder() -> np.ndarray:
    est = np.zeros(6, dtype=np.int64)
    est[1] = MASK32
    est[3] = 1
    est[5] = 1
    return est


@njit(cache=True, nogil=True)
def _shift_low(est, out):
    low = est[0]
    if low < 0xFF000000 or low > MASK32:
        carry = low >> 32
        temp = est[2]
        while True:
            if est[5] == 1:
                est[5] = 0          # the coder's first byte is always 0: never written
            else:
                if est[4] < out.shape[0]:   # never write past the buffer, even on a bug
                    out[est[4]] = (temp + carry) & 0xFF
                est[4] += 1
            temp = 0xFF
            est[3] -= 1
            if est[3] == 0:
                break
        est[2] = (low >> 24) & 0xFF
    est[3] += 1
    est[0] = (low & 0x00FFFFFF) << 8


@njit(cache=True, nogil=True, inline="always")
def _renormalise_encoder(est, out):
    """Shift out bytes until the range is back above 2^24."""
    while est[1] < TOP:
        est[1] = (est[1] << 8) & MASK32
        _shift_low(est, out)


@njit(cache=True, nogil=True)
def encode_bit(est, out, probs, ctx, bit, costs, category):
    p = probs[ctx]
    bound = (est[1] >> PROB_BITS) * p
    if bit == 0:
        est[1] = bound
        probs[ctx] = p + ((PROB_ONE - p) >> ADAPT_SHIFT)
        costs[category] += BIT_COST[p]
    else:
        est[0] += bound
        est[1] -= bound
        probs[ctx] = p - (p >> ADAPT_SHIFT)
        costs[category] += BIT_COST[PROB_ONE - p]
    _renormalise_encoder(est, out)


@njit(cache=True, nogil=True)
def encode_bypass(est, out, bit, costs, category):
    """One equiprobable bit (signs, Exp-Golomb suffixes)."""
    est[1] >>= 1
    if bit:
        est[0] += est[1]
    costs[category] += 1.0
    _renormalise_encoder(est, out)


@njit(cache=True, nogil=True)
def encode_uint(est, out, probs, ctx_base, n_ctx, value, costs, category):
    """Non-negative integer: unary with one context per bin for the first ``n_ctx`` bins,
    then an Exp-Golomb (order 0) escape in bypass bits for the rest."""
    for i in range(n_ctx):
        if value > i:
            encode_bit(est, out, probs, ctx_base + i, 1, costs, category)
        else:
            encode_bit(est, out, probs, ctx_base + i, 0, costs, category)
            return
    rest = value - n_ctx + 1          # >= 1
    nbits = 0
    while (rest >> (nbits + 1)) > 0:
        nbits += 1
    for _ in range(nbits):
        encode_bypass(est, out, 1, costs, category)
    encode_bypass(est, out, 0, costs, category)
    for i in range(nbits - 1, -1, -1):
        encode_bypass(est, out, (rest >> i) & 1, costs, category)


@njit(cache=True, nogil=True)
def finish_encoder(est, out):
    """Flush the coder; returns the number of bytes written to ``out``."""
    for _ in range(5):
        _shift_low(est, out)
    if est[4] > out.shape[0]:
        raise RuntimeError("range coder output buffer too small")
    return est[4]


@njit(cache=True, nogil=True)
def _next_byte(dst, data):
    pos = dst[2]
    dst[2] = pos + 1
    if pos < data.shape[0]:
        return np.int64(data[pos])
    return np.int64(0)


@njit(cache=True, nogil=True)
def new_decoder(data) -> np.ndarray:
    dst = np.zeros(3, dtype=np.int64)
    dst[0] = MASK32
    code = np.int64(0)
    for _ in range(4):
        code = (code << 8) | _next_byte(dst, data)
    dst[1] = code
    return dst


@njit(cache=True, nogil=True, inline="always")
def _renormalise_decoder(dst, data):
    """Shift in bytes until the range is back above 2^24."""
    while dst[0] < TOP:
        dst[0] = (dst[0] << 8) & MASK32
        dst[1] = ((dst[1] << 8) | _next_byte(dst, data)) & MASK32


@njit(cache=True, nogil=True)
def decode_bit(dst, data, probs, ctx):
    p = probs[ctx]
    bound = (dst[0] >> PROB_BITS) * p
    if dst[1] < bound:
        dst[0] = bound
        probs[ctx] = p + ((PROB_ONE - p) >> ADAPT_SHIFT)
        bit = 0
    else:
        dst[1] -= bound
        dst[0] -= bound
        probs[ctx] = p - (p >> ADAPT_SHIFT)
        bit = 1
    _renormalise_decoder(dst, data)
    return bit


@njit(cache=True, nogil=True)
def decode_bypass(dst, data):
    dst[0] >>= 1
    if dst[1] >= dst[0]:
        dst[1] -= dst[0]
        bit = 1
    else:
        bit = 0
    _renormalise_decoder(dst, data)
    return bit


@njit(cache=True, nogil=True)
def decode_uint(dst, data, probs, ctx_base, n_ctx):
    """Inverse of ``encode_uint``; returns -1 for an impossible (corrupt) escape."""
    for i in range(n_ctx):
        if decode_bit(dst, data, probs, ctx_base + i) == 0:
            return i
    nbits = 0
    while decode_bypass(dst, data) == 1:
        nbits += 1
        if nbits > MAX_EG_PREFIX:
            return -1
    rest = np.int64(1)
    for _ in range(nbits):
        rest = (rest << 1) | decode_bypass(dst, data)
    return rest + n_ctx - 1
