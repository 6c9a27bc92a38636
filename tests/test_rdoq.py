"""Rate-distortion optimised quantisation: levels chosen by squared error + lambda x bits."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.app.evaluation.bdrate import bd_rate
from livecodec.codec import CodecParams, Encoder
from livecodec.codec.common.entropy import BIT_COST, PROB_ONE, new_contexts
from livecodec.codec.common.syntax import N_CONTEXTS
from livecodec.codec.common.transform import LEVEL_DTYPE
from livecodec.codec.encoder.quantise import forward_quantise
from livecodec.codec.encoder.rdoq import rate_table
from tests.closed_loop import code_and_measure
from tests.media import read_frames


def _planes(seed: int, spread: float, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    prediction = rng.integers(40, 216, (size, size)).astype(np.uint8)
    residual = rng.normal(0, spread, (size, size))
    current = np.clip(prediction + residual, 0, 255).astype(np.uint8)
    return current, prediction


def _rdo(current, prediction, n, step, lam, rates, rounding=0.5):
    levels = np.zeros((current.shape[0] // n, current.shape[1] // n, n * n), LEVEL_DTYPE)
    coded = np.zeros(levels.shape[:2], np.uint8)
    forward_quantise(current, prediction, n, step, rounding, out=levels, coded=coded,
                     rd_lambda=lam, rates=rates)
    return levels, coded


def _skewed_rates() -> np.ndarray:
    """A rate table from uneven contexts, as after a real picture."""
    contexts = new_contexts(N_CONTEXTS)
    contexts[:, :2] = np.random.default_rng(7).integers(100, PROB_ONE - 100, (N_CONTEXTS, 2))
    shifted = contexts.copy()
    shifted[:, :2] += 40
    return rate_table([contexts, shifted])


def test_rate_table_prices_each_bit_by_the_averaged_probability():
    a, b = new_contexts(N_CONTEXTS), new_contexts(N_CONTEXTS)
    a[10, :2], b[10, :2] = (200, 400), (500, 500)       # each context's estimates average too
    table = rate_table([a, b])
    assert table.shape == (N_CONTEXTS, 2)
    assert table[10, 0] == pytest.approx(-np.log2(400 / PROB_ONE))
    assert table[10, 1] == pytest.approx(-np.log2(1 - 400 / PROB_ONE))
    assert table[11, 0] == table[11, 1] == 1.0       # an untouched context: one bit either way
    assert (rate_table(None) == 1.0).all()           # no picture yet
    assert table[10, 0] == BIT_COST[400]


@pytest.mark.parametrize("n", [4, 8])
def test_with_a_vanishing_lambda_levels_are_rounded_to_nearest(n):
    current, prediction = _planes(1, 12.0)
    step = 2.9173       # no coefficient lands exactly half-way between two levels
    levels, coded = _rdo(current, prediction, n, step, 1e-12, _skewed_rates())
    nearest = forward_quantise(current, prediction, n, step, 0.5)
    assert np.array_equal(levels, nearest)
    assert np.array_equal(coded, np.abs(nearest).any(axis=2))


def test_levels_are_the_nearest_one_below_or_zero_with_their_sign():
    current, prediction = _planes(2, 10.0)
    n, step = 8, 4.0
    levels, coded = _rdo(current, prediction, n, step, 0.09, _skewed_rates())
    nearest = forward_quantise(current, prediction, n, step, 0.5)
    lv, nv = levels.astype(int), nearest.astype(int)
    assert ((lv == nv) | (lv == nv - np.sign(nv)) | (lv == 0)).all()
    assert (np.sign(lv) * np.sign(nv) >= 0).all()
    assert np.array_equal(coded, np.abs(levels).any(axis=2))
    # A real lambda codes less than rounding to nearest, and does drop levels.
    assert np.abs(lv).sum() < np.abs(nv).sum()
    assert (lv != nv).sum() > 0


def test_a_tile_not_worth_its_bits_is_not_coded():
    """A faint edge, its coefficients just over the dead zone: coded at a small lambda,
    dropped at a large one (their bits cost more than the error they remove)."""
    n, step = 8, 8.0
    prediction = np.full((n, n), 100, np.uint8)
    current = prediction.copy()
    current[:, : n // 2] += 4          # a step edge: a few small low-frequency coefficients
    rates = rate_table(None)
    small, coded_small = _rdo(current, prediction, n, step, 1e-6, rates, rounding=0.25)
    large, coded_large = _rdo(current, prediction, n, step, 10.0, rates, rounding=0.25)
    assert coded_small[0, 0] and np.abs(small).sum() > 0
    assert not coded_large[0, 0] and not large.any()


@pytest.fixture(scope="module")
def rd_points():
    """(rates, psnrs) of carphone's first frames at four qualities, with and without RDOQ
    (transform skip off in both: RDOQ decides it, so it would go with RDOQ)."""
    frames = read_frames("carphone.mp4", 12)
    points = {}
    for rdoq in (False, True):
        rates, psnrs = [], []
        for quality in (35, 50, 65, 80):
            total, mean_psnr = code_and_measure(
                frames, CodecParams(quality=quality, rdoq=rdoq, tskip=False))
            rates.append(total)
            psnrs.append(mean_psnr)
        points[rdoq] = (rates, psnrs)
    return points


def test_rdoq_saves_bits_at_equal_quality_on_real_footage(rd_points):
    """BD-rate of balanced with RDOQ against the dead-zone quantiser alone (measured in
    ``codec.encoder.rdoq``: about -5 % on 60 frames of carphone)."""
    saving = bd_rate(*rd_points[False], *rd_points[True])
    assert saving is not None and saving < -2.0


def test_rate_control_codes_with_the_dead_zone_quantiser():
    """Under a bitrate target the stream is the one without RDOQ, byte for byte (rate
    control's size model does not follow RDOQ yet), and without a target it is not."""
    frames = read_frames("carphone.mp4", 6)

    def stream(**changes) -> list[bytes]:
        encoder = Encoder(CodecParams(**changes), fps=30.0)
        return [encoder.encode(frame).data for frame in frames]

    assert stream(target_kbps=150) == stream(target_kbps=150, rdoq=False)
    assert stream(quality=60) != stream(quality=60, rdoq=False)
