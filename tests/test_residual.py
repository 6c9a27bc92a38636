"""Tests of the residual path: the DCT quantiser (codec/encoder/quantise.py), its exact integer
inverse and the scan order (codec/common/transform.py)."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.codec.common.transform import (LEVEL_DTYPE, MAX_LEVEL, add_residual,
                                              dequantise_inverse, quality_to_step,
                                              step_fixed_point, transform_size, zigzag_order)
from livecodec.codec.encoder.quantise import ROUNDING_INTER, ROUNDING_INTRA, forward_quantise


def quantise_signed(residual, n, step, rounding):
    """forward_quantise of a signed residual (|r| <= 255), written as current - prediction."""
    residual = np.asarray(residual)
    current = np.clip(residual, 0, 255).astype(np.uint8)
    prediction = np.clip(-residual, 0, 255).astype(np.uint8)
    return forward_quantise(current, prediction, n, step, rounding)


def smooth_residual(rng: np.random.Generator, h: int, w: int, amplitude: float) -> np.ndarray:
    """A signed residual plane with image-like (mostly low-frequency) content."""
    yy, xx = np.mgrid[0:h, 0:w]
    plane = np.zeros((h, w))
    for _ in range(6):
        fx, fy, phase = rng.uniform(0, 0.4), rng.uniform(0, 0.4), rng.uniform(0, 2 * np.pi)
        plane += np.cos(fx * xx + fy * yy + phase)
    plane = plane / np.abs(plane).max() * amplitude + rng.normal(0, 2, (h, w))
    return np.clip(np.round(plane), -255, 255).astype(np.int16)


class TestQualityToStep:
    def test_monotonic_decreasing(self):
        steps = [quality_to_step(q) for q in range(1, 101)]
        assert all(a > b for a, b in zip(steps, steps[1:]))

    def test_finest_step_and_halving(self):
        assert quality_to_step(100) == 0.5
        assert quality_to_step(88) == pytest.approx(1.0, abs=1 / 64)
        # Halves every 12 points, to the fixed-point precision (1/64).
        for q in range(13, 101):
            assert quality_to_step(q) == pytest.approx(quality_to_step(q - 12) / 2, abs=1 / 64)

    def test_fixed_point_matches(self):
        for q in range(1, 101):
            assert step_fixed_point(q) == quality_to_step(q) * 64
            assert step_fixed_point(q) >= 32

    @pytest.mark.parametrize("bad", [0, -1, 101])
    def test_out_of_range(self, bad):
        with pytest.raises(ValueError, match="quality"):
            quality_to_step(bad)


class TestZigzag:
    @pytest.mark.parametrize("n", [2, 4, 8])
    def test_permutation_starting_0_1_n(self, n):
        order = zigzag_order(n)
        assert sorted(order.tolist()) == list(range(n * n))
        assert order[:3].tolist() == [0, 1, n]
        assert order[-1] == n * n - 1

    def test_frequency_never_decreases(self):
        order = zigzag_order(8)
        diagonals = [i // 8 + i % 8 for i in order]
        assert diagonals == sorted(diagonals)

    def test_transform_size(self):
        assert [transform_size(b) for b in (2, 4, 8, 16, 32)] == [2, 4, 8, 8, 8]


class TestScanNeighbours:
    """The significance contexts of context model 2 read a coefficient's left and top
    neighbours in the tile, which the zigzag scan must already have coded."""

    @pytest.mark.parametrize("n", [2, 4, 8])
    def test_left_and_top_come_earlier_in_the_scan(self, n):
        from livecodec.codec.common.syntax import _NO_NEIGHBOUR, scan_neighbours
        table = scan_neighbours(n * n, True)
        scan = zigzag_order(n)
        for z, raster in enumerate(scan):
            y, x = divmod(int(raster), n)
            for k, (has, wanted) in enumerate(((x > 0, raster - 1), (y > 0, raster - n))):
                if has:
                    assert table[z, k] < z and scan[table[z, k]] == wanted
                else:
                    assert table[z, k] == _NO_NEIGHBOUR
        assert (scan_neighbours(n * n, False) == _NO_NEIGHBOUR).all()     # context model 1


class TestRoundTrip:
    @pytest.mark.parametrize("n", [2, 4, 8])
    @pytest.mark.parametrize("quality", [1, 30, 50, 75, 100])
    def test_error_bounded_by_step(self, n, quality):
        rng = np.random.default_rng(quality * 10 + n)
        residual = smooth_residual(rng, 8 * n, 6 * n, 200)
        step = quality_to_step(quality)
        levels = quantise_signed(residual, n, step, ROUNDING_INTRA)
        back = dequantise_inverse(levels, step_fixed_point(quality))
        assert back.shape == residual.shape and back.dtype == np.int32
        err = back.astype(np.float64) - residual
        # Orthonormal DCT: the pixel-domain RMS error equals the coefficient-domain one,
        # at most (1 - rounding) steps per coefficient, plus rounding of the integer inverse.
        rms = np.sqrt((err ** 2).mean())
        assert rms <= (1 - ROUNDING_INTRA) * step + 1.0
        assert np.abs(err).max() <= n * step + 2

    def test_fine_step_nearly_lossless(self):
        residual = smooth_residual(np.random.default_rng(1), 64, 64, 250)
        levels = quantise_signed(residual, 8, quality_to_step(100), ROUNDING_INTRA)
        back = dequantise_inverse(levels, step_fixed_point(100))
        assert np.abs(back - residual).max() <= 1

    def test_coarser_step_larger_error(self):
        residual = smooth_residual(np.random.default_rng(2), 64, 64, 120)
        errors = []
        for q in (90, 60, 30):
            lev = quantise_signed(residual, 8, quality_to_step(q), ROUNDING_INTER)
            errors.append(np.abs(dequantise_inverse(lev, step_fixed_point(q)) - residual).mean())
        assert errors[0] < errors[1] < errors[2]

    def test_zero_residual_gives_zero_levels(self):
        levels = quantise_signed(np.zeros((16, 16), np.int16), 8, 0.5, ROUNDING_INTRA)
        assert levels.shape == (2, 2, 64) and not levels.any()

    def test_dead_zone(self):
        # A flat residual of 1 in an 8x8 tile has DC = 8: 0.5 steps at step 16 (both dead
        # zones drop it), 0.62 steps at step 13 (intra +0.45 keeps it, inter +0.25 drops it).
        residual = np.ones((8, 8), np.int16)
        assert quantise_signed(residual, 8, 16.0, ROUNDING_INTER)[0, 0, 0] == 0
        assert quantise_signed(residual, 8, 16.0, ROUNDING_INTRA)[0, 0, 0] == 0
        assert quantise_signed(residual, 8, 13.0, ROUNDING_INTRA)[0, 0, 0] == 1
        assert quantise_signed(residual, 8, 13.0, ROUNDING_INTER)[0, 0, 0] == 0

    @pytest.mark.parametrize("n", [4, 8])
    def test_levels_within_max_level(self, n):
        extreme = np.where(np.indices((8 * n, 8 * n)).sum(axis=0) % 2 == 0, 255, -255).astype(np.int16)
        flat = np.full((8 * n, 8 * n), -255, np.int16)
        for residual in (extreme, flat):
            levels = quantise_signed(residual, n, quality_to_step(100), ROUNDING_INTRA)
            assert levels.dtype == LEVEL_DTYPE
            assert np.abs(levels).max() <= MAX_LEVEL
        assert np.abs(quantise_signed(flat, n, 0.5, ROUNDING_INTRA)).max() == 2 * n * 255

    def test_levels_are_zigzag_ordered(self):
        # A pure horizontal frequency-1 cosine lands in raster position 1 = zigzag position 1;
        # a vertical one in raster position n = zigzag position 2.
        # Residuals are integers: rounding leaks at most 64 * 0.5 * 0.25 = 8 into any other
        # coefficient, which a step of 16 without rounding offset drops.
        x = np.round(np.cos(np.pi * (2 * np.arange(8) + 1) / 16) * 100)
        horizontal = np.tile(x, (8, 1))
        lev = quantise_signed(horizontal, 8, 16.0, 0.0)[0, 0]
        assert np.flatnonzero(lev).tolist() == [1]
        lev = quantise_signed(horizontal.T, 8, 16.0, 0.0)[0, 0]
        assert np.flatnonzero(lev).tolist() == [2]


class TestExactInverse:
    def test_integer_and_deterministic(self):
        rng = np.random.default_rng(3)
        levels = rng.integers(-MAX_LEVEL, MAX_LEVEL + 1, (5, 7, 64)).astype(LEVEL_DTYPE)
        levels[rng.random(levels.shape) < 0.8] = 0
        a = dequantise_inverse(levels, step_fixed_point(40))
        b = dequantise_inverse(levels.copy(), step_fixed_point(40))
        assert a.dtype == np.int32
        assert np.array_equal(a, b)

    def test_tile_independent_of_neighbours(self):
        # Tiles are transformed independently: a tile's output depends only on its own levels,
        # whatever the batch around it (different BLAS blockings must not change any bit).
        rng = np.random.default_rng(4)
        levels = rng.integers(-300, 301, (9, 11, 64)).astype(LEVEL_DTYPE)
        whole = dequantise_inverse(levels, 100)
        for tr, tc in [(0, 0), (4, 5), (8, 10)]:
            single = dequantise_inverse(levels[tr:tr + 1, tc:tc + 1].copy(), 100)
            assert np.array_equal(single, whole[tr * 8:tr * 8 + 8, tc * 8:tc * 8 + 8])

    def test_matches_float_inverse_within_one(self):
        rng = np.random.default_rng(5)
        levels = rng.integers(-50, 51, (3, 3, 64)).astype(LEVEL_DTYPE)
        step_fp = step_fixed_point(60)
        n = 8
        k = np.arange(n)[:, None]
        i = np.arange(n)[None, :]
        basis = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
        basis[0] /= np.sqrt(2.0)
        inverse_zigzag = np.argsort(zigzag_order(n))
        exact = dequantise_inverse(levels, step_fp)
        for tr in range(3):
            for tc in range(3):
                coeffs = (levels[tr, tc, inverse_zigzag] * step_fp / 64).reshape(n, n)
                ref = basis.T @ coeffs @ basis
                assert np.abs(exact[tr * n:tr * n + n, tc * n:tc * n + n] - ref).max() <= 1.0


class TestAddResidual:
    def test_clips_to_8_bits(self):
        prediction = np.full((8, 8), 250, np.uint8)
        levels = np.zeros((1, 1, 64), LEVEL_DTYPE)
        levels[0, 0, 0] = 200          # DC of +200 steps of 1.0 = +25 per pixel
        out = add_residual(prediction, levels, 64)
        assert out.dtype == np.uint8 and (out == 255).all()
        levels[0, 0, 0] = -4000
        assert (add_residual(prediction, levels, 64) == 0).all()

    def test_zero_levels_copy_prediction(self):
        prediction = np.arange(64, dtype=np.uint8).reshape(8, 8)
        out = add_residual(prediction, np.zeros((1, 1, 64), LEVEL_DTYPE), 64)
        assert np.array_equal(out, prediction) and out is not prediction
