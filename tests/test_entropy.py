"""Tests of codec/common/entropy.py: the adaptive binary range coder, driven directly from Python."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.codec.common.entropy import (BIT_COST, PROB_ONE, decode_bit, decode_bypass,
                                            decode_uint, encode_bit, encode_bypass, encode_uint,
                                            finish_encoder, new_contexts, new_decoder, new_encoder,
                                            probability)

N_CONTEXTS = 32


def binary_entropy(p: float) -> float:
    return float(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)))


class Writer:
    """A thin Python driver over the numba encoder functions."""

    def __init__(self, capacity: int = 1 << 16):
        self.est = new_encoder()
        self.out = np.zeros(capacity, np.uint8)
        self.probs = new_contexts(N_CONTEXTS)
        self.costs = np.zeros(3)

    def bit(self, bit: int, ctx: int = 0) -> None:
        self.est = encode_bit(self.est, self.out, self.probs, ctx, int(bit), self.costs, 0)

    def bypass(self, bit: int) -> None:
        self.est = encode_bypass(self.est, self.out, int(bit), self.costs, 1)

    def uint(self, value: int, ctx_base: int = 8, n_ctx: int = 8, order: int = 0) -> None:
        self.est = encode_uint(self.est, self.out, self.probs, ctx_base, n_ctx, int(value),
                               self.costs, 2, order)

    def finish(self) -> bytes:
        n = finish_encoder(self.est, self.out)
        return self.out[:n].tobytes()


class Reader:
    def __init__(self, data: bytes):
        self.data = np.frombuffer(data, np.uint8)
        self.dst = new_decoder(self.data)
        self.probs = new_contexts(N_CONTEXTS)

    def bit(self, ctx: int = 0) -> int:
        self.dst, bit = decode_bit(self.dst, self.data, self.probs, ctx)
        return bit

    def bypass(self) -> int:
        self.dst, bit = decode_bypass(self.dst, self.data)
        return bit

    def uint(self, ctx_base: int = 8, n_ctx: int = 8, order: int = 0) -> int:
        self.dst, value = decode_uint(self.dst, self.data, self.probs, ctx_base, n_ctx, order)
        return value

    @property
    def position(self) -> int:
        return int(self.dst[2])


def encode_bits(bits: np.ndarray) -> bytes:
    w = Writer(capacity=len(bits) // 4 + 64)
    for b in bits:
        w.bit(b)
    return w.finish()


class TestBits:
    @pytest.mark.parametrize("p", [0.5, 0.1, 0.01])
    def test_round_trip(self, p):
        bits = (np.random.default_rng(int(p * 1000)).random(5000) < p).astype(np.int64)
        data = encode_bits(bits)
        r = Reader(data)
        assert [r.bit() for _ in bits] == bits.tolist()
        assert r.position <= len(data) + 4      # never read more than the coder's look-ahead

    @pytest.mark.parametrize("p", [0.1, 0.03])
    def test_size_close_to_entropy(self, p):
        n = 20_000
        bits = (np.random.default_rng(7).random(n) < p).astype(np.int64)
        empirical_p = bits.mean()
        ideal = binary_entropy(empirical_p) * n / 8
        size = len(encode_bits(bits))
        assert size <= 1.05 * ideal + 8
        assert size >= 0.98 * ideal - 8     # below entropy would mean the test data is broken

    def test_contexts_adapt_independently(self):
        # Two interleaved sources, one almost always 0, one almost always 1: with a context
        # each they cost far less than one bit per symbol.
        rng = np.random.default_rng(8)
        a = (rng.random(4000) < 0.02).astype(int)
        b = (rng.random(4000) < 0.98).astype(int)
        w = Writer()
        for x, y in zip(a, b):
            w.bit(x, ctx=0)
            w.bit(y, ctx=1)
        data = w.finish()
        assert len(data) < 0.2 * 8000 / 8
        r = Reader(data)
        for x, y in zip(a, b):
            assert r.bit(0) == x
            assert r.bit(1) == y

    def test_cost_estimate_tracks_size(self):
        bits = (np.random.default_rng(9).random(10_000) < 0.2).astype(np.int64)
        w = Writer()
        for b in bits:
            w.bit(b)
        size = len(w.finish())
        assert w.costs[0] / 8 == pytest.approx(size, rel=0.02, abs=6)

    def test_bit_cost_table(self):
        assert BIT_COST.shape == (PROB_ONE + 1,)
        assert BIT_COST[PROB_ONE // 2] == pytest.approx(1.0)
        assert BIT_COST[PROB_ONE] == 0.0
        assert np.all(np.diff(BIT_COST[1:]) < 0)

    def test_empty_stream(self):
        data = Writer().finish()
        assert len(data) <= 5

    def test_output_buffer_overflow_is_an_error_not_a_write_past_the_end(self):
        backing = np.full(24, 0xAB, np.uint8)
        w = Writer()
        w.out = backing[:8]             # an 8-byte view; the 16 bytes after it are a canary
        for b in np.random.default_rng(1).integers(0, 2, 400):
            w.bypass(b)
        with pytest.raises(RuntimeError, match="too small"):
            w.finish()
        assert (backing[8:] == 0xAB).all()


class TestMixedSymbols:
    def test_uint_and_bypass_round_trip(self):
        rng = np.random.default_rng(10)
        values = np.concatenate([rng.geometric(0.3, 3000) - 1, rng.integers(0, 1 << 20, 200),
                                 [0, 7, 8, 9, 15, 16, (1 << 20) - 1]])
        rng.shuffle(values)
        signs = rng.integers(0, 2, len(values))
        w = Writer()
        for v, s in zip(values, signs):
            w.uint(v)
            w.bypass(s)
            w.bit(int(v == 0), ctx=3)
        data = w.finish()
        r = Reader(data)
        for v, s in zip(values, signs):
            assert r.uint() == v
            assert r.bypass() == s
            assert r.bit(3) == int(v == 0)

    @pytest.mark.parametrize("n_ctx", [0, 1, 4])
    def test_uint_context_counts(self, n_ctx):
        values = list(range(40)) + [1000, 123456]
        w = Writer()
        for v in values:
            w.uint(v, ctx_base=0, n_ctx=n_ctx)
        r = Reader(w.finish())
        assert [r.uint(ctx_base=0, n_ctx=n_ctx) for _ in values] == values

    def test_small_values_cheap(self):
        w = Writer()
        for _ in range(5000):
            w.uint(0)
        assert len(w.finish()) < 5000 / 8 * 0.1


class TestDamagedInput:
    def test_truncated_buffers_decode_without_crashing(self):
        rng = np.random.default_rng(11)
        values = rng.geometric(0.2, 500) - 1
        w = Writer()
        for v in values:
            w.uint(v)
            w.bit(v & 1, ctx=2)
        data = w.finish()
        for cut in range(0, len(data), max(1, len(data) // 25)):
            r = Reader(data[:cut])
            for _ in values:
                got = r.uint()
                assert got >= -1
                assert r.bit(2) in (0, 1)
            assert r.position > cut       # reading past the end is visible to the caller

    @pytest.mark.parametrize("order", [0, 1, 3])
    def test_escape_of_any_order_round_trips_and_grows_by_its_order(self, order):
        values = [0, 7, 8, 9, 15, 16, 40, 1000, (1 << 20) + 3]
        w = Writer()
        for v in values:
            w.uint(v, order=order)
        r = Reader(w.finish())
        assert [r.uint(order=order) for _ in values] == values
        # Value 8 + v: 8 unary bins (fresh contexts: a bit each), then an escape of 2 m + 1 +
        # order bits for v in [2^order (2^m - 1), 2^order (2^(m+1) - 1)).
        for v, m in ((0, 0), ((1 << order) - 1, 0), (1 << order, 1), (3 << order, 2)):
            w = Writer()
            w.uint(8 + v, order=order)
            assert w.costs[2] == 8 + 2 * m + 1 + order, (v, m)
    def test_corrupt_escape_is_reported_not_looped(self):
        # An Exp-Golomb prefix longer than any valid value needs (more than 24 ones).
        w = Writer()
        for _ in range(40):
            w.bypass(1)
        assert Reader(w.finish()).uint(ctx_base=0, n_ctx=0) == -1
        w = Writer()
        for _ in range(24):             # the longest prefix accepted
            w.bypass(1)
        w.bypass(0)
        for _ in range(24):
            w.bypass(0)
        assert Reader(w.finish()).uint(ctx_base=0, n_ctx=0) == (1 << 24) - 1

    def test_random_garbage_decodes_to_something(self):
        garbage = np.random.default_rng(12).integers(0, 256, 200).astype(np.uint8)
        r = Reader(garbage.tobytes())
        for _ in range(1000):
            assert r.uint() >= -1


class TestContextModels:
    """Context model 1 (format versions 1-5) and 2 (version 6): how a context's probability
    follows the bits coded with it."""

    @staticmethod
    def probabilities(bits, model: int) -> list[int]:
        probs = new_contexts(1, model)
        est, out, costs, seen = new_encoder(), np.zeros(4096, np.uint8), np.zeros(3), []
        for bit in bits:
            seen.append(probability(probs, 0))
            est = encode_bit(est, out, probs, 0, int(bit), costs, 0)
        return seen

    def test_model_1_is_the_single_estimate_of_versions_1_to_5(self):
        bits = (np.random.default_rng(3).random(500) < 0.2).astype(int)
        expected, p = [], PROB_ONE // 2
        for bit in bits:                         # the rule docs/BITSTREAM.md gave up to version 5
            expected.append(p)
            p = p - (p >> 5) if bit else p + ((PROB_ONE - p) >> 5)
        assert self.probabilities(bits, 1) == expected

    def test_model_2_learns_a_new_source_faster_and_holds_a_steady_one(self):
        """After a switch from a source of mostly 0s to one of mostly 1s, model 2's fast
        estimate gets there first; on the steady source both end near its probability."""
        rng = np.random.default_rng(4)
        bits = np.concatenate([rng.random(400) < 0.05, rng.random(400) < 0.95]).astype(int)
        model1, model2 = self.probabilities(bits, 1), self.probabilities(bits, 2)
        assert model2[410] < model1[410]         # 10 bits after the switch: P(0) already lower
        for seen in (model1, model2):
            assert abs(np.mean(seen[300:400]) / PROB_ONE - 0.95) < 0.05
            assert abs(np.mean(seen[700:800]) / PROB_ONE - 0.05) < 0.05

    def test_both_models_decode_what_they_encode(self):
        bits = (np.random.default_rng(5).random(3000) < 0.3).astype(int)
        for model in (1, 2):
            probs = new_contexts(4, model)
            est, out, costs = new_encoder(), np.zeros(8192, np.uint8), np.zeros(3)
            for i, bit in enumerate(bits):
                est = encode_bit(est, out, probs, i % 4, int(bit), costs, 0)
            data = out[:finish_encoder(est, out)]
            probs, dst, got = new_contexts(4, model), new_decoder(data), []
            for i in range(len(bits)):
                dst, bit = decode_bit(dst, data, probs, i % 4)
                got.append(bit)
            assert got == bits.tolist(), model
