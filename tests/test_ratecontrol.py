"""Rate control: the controller's decisions, and the bitrate it holds on real footage."""
from __future__ import annotations

import numpy as np
import pytest

from bench.ratecontrol import TOLERANCE, window_ratios
from livecodec.codec import CodecParams, Encoder
from livecodec.codec.encoder.ratecontrol import MAX_QUALITY, MIN_QUALITY, RateController
from tests.media import read_frames


class TestController:
    def test_starts_at_the_given_quality(self):
        assert RateController(100.0, 25.0, 42).choose_quality("predicted") == 42

    def test_overspending_lowers_quality_and_underspending_raises_it(self):
        rc = RateController(100.0, 25.0, 50)
        budget_bytes = int(rc.frame_budget / 8)
        rc.update("predicted", 50, budget_bytes * 3)
        high = rc.choose_quality("predicted")
        rc2 = RateController(100.0, 25.0, 50)
        rc2.update("predicted", 50, budget_bytes // 3)
        low = rc2.choose_quality("predicted")
        assert high < 50 < low

    def test_quality_stays_in_range(self):
        rc = RateController(1.0, 30.0, 50)
        for _ in range(30):
            rc.update("predicted", rc.choose_quality("predicted"), 100_000)
        assert rc.choose_quality("predicted") == MIN_QUALITY
        rc = RateController(100_000.0, 30.0, 50)
        for _ in range(40):
            rc.update("predicted", rc.choose_quality("predicted"), 10)
        assert rc.choose_quality("predicted") == MAX_QUALITY

    def test_retry_only_after_a_large_overshoot(self):
        rc = RateController(100.0, 25.0, 50)
        budget_bytes = rc.frame_budget / 8
        assert rc.retry_quality("predicted", 50, int(budget_bytes * 1.1)) is None
        lower = rc.retry_quality("predicted", 50, int(budget_bytes * 4))
        assert lower is not None and lower < 50

    def test_excess_is_bits_beyond_budget(self):
        rc = RateController(80.0, 20.0, 50)     # 4000 bits per frame
        rc.update("predicted", 50, 1000)         # 8000 bits
        assert rc.excess_bits == pytest.approx(4000.0)


def test_window_ratios_of_a_constant_stream_are_one():
    bits = np.full(100, 4000.0)
    ratios = window_ratios(bits, 25.0, 100.0)
    assert ratios.shape == (100 - 50 + 1 - 25,) and np.allclose(ratios, 1.0)


@pytest.mark.parametrize("target_kbps", [60.0, 200.0])
def test_bitrate_holds_within_tolerance_on_carphone(target_kbps):
    frames = read_frames("carphone.mp4")
    fps = 29.97
    encoder = Encoder(CodecParams(target_kbps=target_kbps), fps=fps)
    bits = np.array([8 * len(encoder.encode(f).data) for f in frames], float)
    ratios = window_ratios(bits, fps, target_kbps)
    assert np.all(np.abs(ratios - 1.0) <= TOLERANCE), (ratios.min(), ratios.max())


def test_changing_the_target_mid_stream_follows_it():
    frames = read_frames("carphone.mp4")
    fps = 29.97
    encoder = Encoder(CodecParams(target_kbps=200.0), fps=fps)
    bits = []
    for i, frame in enumerate(frames):
        if i == 60:
            encoder.set_params(encoder.params.with_changes(target_kbps=50.0))
        bits.append(8 * len(encoder.encode(frame).data))
    late = np.array(bits[90:], float)
    assert late.sum() / (len(late) / fps) / 1000 == pytest.approx(50.0, rel=0.25)


def test_a_frame_that_stands_for_two_intervals_gets_twice_the_budget():
    rc = RateController(90.0, 30.0, 50)                     # 3000 bits per frame interval
    rc.set_frame_duration(2 / 30)
    assert rc.frame_budget == pytest.approx(6000.0)
    rc.set_frame_duration(10.0)                             # a stall: capped at 8 intervals
    assert rc.frame_budget == pytest.approx(24000.0)


def test_a_live_encoder_that_drops_half_the_frames_still_sends_the_target_per_second():
    """Every other frame of a 29.97 fps clip is coded, each standing for two intervals of
    wall-clock time: the link carries the target per second, not half of it."""
    frames = read_frames("carphone.mp4")[::2]
    fps, target = 29.97, 120.0
    encoder = Encoder(CodecParams(target_kbps=target), fps=fps)
    bits = [8 * len(encoder.encode(f, duration=2 / fps).data) for f in frames]
    seconds = len(frames) * 2 / fps
    late = bits[len(bits) // 3:]                          # after the controller has settled
    assert sum(bits) / seconds / 1000 == pytest.approx(target, rel=0.15)
    assert sum(late) / (len(late) * 2 / fps) / 1000 == pytest.approx(target, rel=0.15)


def test_a_frame_retried_twice_still_states_the_quality_it_was_coded_with(monkeypatch):
    """Rate control may ask for a lower quality after every try; the encoder codes a frame at
    most twice, and the packet always names the quality of the levels it carries (else the
    decoder dequantises with the wrong step and drifts from the encoder)."""
    from livecodec.app.sources import DemoScene
    from livecodec.codec import Decoder

    monkeypatch.setattr(RateController, "retry_quality",
                        lambda self, frame_type, quality, n_bytes: max(MIN_QUALITY, quality - 7))
    encoder, decoder = Encoder(CodecParams(target_kbps=200)), Decoder()
    scene = DemoScene(160, 96)
    for i in range(4):
        coded = encoder.encode(scene.frame(i))
        assert np.array_equal(decoder.decode(coded.data), coded.reconstruction), f"frame {i}"
