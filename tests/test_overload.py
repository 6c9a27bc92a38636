"""Encoder overload: the governor's decisions on made-up counters, and the live pipeline
moving to a faster preset when a deliberately slow encoder drops frames."""
from __future__ import annotations

import re
import time

import pytest

import livecodec.app.pipeline as pipeline_module
from livecodec.app.overload import (HEADROOM_HOLD_S, OVERLOAD_WINDOW_S, SETTLE_S, LoadGovernor)
from livecodec.app.sources import DemoScene
from livecodec.codec import CodecParams
from tests.waiting import wait_for
from conftest import SMALL

INTERVAL = 1 / 30


def feed(governor: LoadGovernor, start: float, seconds: float, drop_share: float,
         encode_ms: float = 10.0, fps: float = 30.0):
    """Frames at fps for ``seconds`` from ``start`` with ``drop_share`` of them dropped;
    returns the changes decided and the time reached."""
    changes, captured, dropped = [], 0, 0
    steps = int(seconds * fps)
    for i in range(1, steps + 1):
        captured += 1
        dropped = int(i * drop_share)
        change = governor.update(start + i / fps, captured + feed.base[0], dropped + feed.base[1],
                                 encode_ms, 1 / fps)
        if change is not None:
            changes.append(change)
    feed.base = (feed.base[0] + captured, feed.base[1] + dropped)
    return changes, start + seconds


@pytest.fixture(autouse=True)
def counters():
    feed.base = (0, 0)


def test_auto_steps_down_when_frames_drop_and_back_up_with_headroom():
    governor = LoadGovernor("auto")
    assert governor.preset == "balanced"
    governor.restart(0.0)
    changes, now = feed(governor, 0.0, SETTLE_S + OVERLOAD_WINDOW_S + 0.5, drop_share=0.3,
                        encode_ms=40.0)
    assert [(c.level, c.preset) for c in changes] == [("warning", "fast")]
    assert re.match(r"encoder overloaded: (29|30)% of frames dropped in the last 2 s", changes[0].text)
    assert "switched to the fast preset" in changes[0].text
    assert governor.overloaded and governor.preset == "fast"
    changes, now = feed(governor, now, SETTLE_S + OVERLOAD_WINDOW_S + HEADROOM_HOLD_S + 1,
                        drop_share=0.0, encode_ms=5.0)
    assert [(c.level, c.preset) for c in changes] == [("info", "fast"), ("info", "balanced")]
    assert changes[0].text == "encoder keeps up again"
    assert changes[1].text == "encoder has headroom: back to the balanced preset"
    assert not governor.overloaded


def test_a_chosen_preset_is_kept_and_the_user_is_told_what_to_try():
    governor = LoadGovernor("balanced")
    changes, now = feed(governor, 0.0, 10.0, drop_share=0.5, encode_ms=40.0)
    assert len(changes) == 1 and changes[0].preset == "balanced"
    assert changes[0].text.endswith("try the fast preset, a larger block size or a smaller "
                                    "capture size")
    changes, _ = feed(governor, now, 3.0, drop_share=0.0)
    assert [c.text for c in changes] == ["encoder keeps up again"]
    assert governor.preset == "balanced"


def test_auto_at_its_fastest_warns_once_and_does_not_flap():
    governor = LoadGovernor("auto")
    changes, now = feed(governor, 0.0, 30.0, drop_share=0.5, encode_ms=50.0)
    assert [c.preset for c in changes] == ["fast", "fast"]
    assert "switched to the fast preset" in changes[0].text
    assert "try a larger block size" in changes[1].text


def test_a_few_drops_or_a_busy_encoder_without_drops_change_nothing():
    governor = LoadGovernor("auto")
    changes, _ = feed(governor, 0.0, 30.0, drop_share=0.03, encode_ms=30.0)
    assert changes == [] and governor.preset == "balanced" and not governor.overloaded


def test_drops_while_the_encoder_idles_are_not_blamed_on_it():
    """A slow decoder or window drops frames too; a faster preset would not help them."""
    governor = LoadGovernor("auto")
    changes, _ = feed(governor, 0.0, 30.0, drop_share=0.4, encode_ms=12.0)
    assert changes == [] and governor.preset == "balanced" and not governor.overloaded


def test_the_first_seconds_of_a_stream_are_not_judged():
    governor = LoadGovernor("auto")
    governor.restart(0.0)
    changes, _ = feed(governor, 0.0, SETTLE_S - 0.1, drop_share=0.9, encode_ms=40.0)
    assert changes == []


@pytest.mark.parametrize("bad", ["turbo", "", None])
def test_an_unknown_preset_is_refused(bad):
    with pytest.raises(ValueError, match="preset must be auto or one of fast, balanced, best"):
        LoadGovernor(bad)


class SlowUnlessFast(pipeline_module.Encoder):
    """An encoder that takes 120 ms a frame unless it runs the fast preset: a 30 fps source
    overloads it until the pipeline switches."""

    def encode(self, frame, **options):
        if self.params.preset != "fast":
            time.sleep(0.12)
        return super().encode(frame, **options)


@pytest.fixture
def slow_pipeline(monkeypatch, warm_codec, run):
    monkeypatch.setattr(pipeline_module, "Encoder", SlowUnlessFast)
    return lambda auto: run(lambda: DemoScene(*SMALL, fps=30), CodecParams(block_size=8),
                            auto_preset=auto)


def test_the_live_pipeline_switches_to_fast_when_overloaded(slow_pipeline):
    pipeline, seen = slow_pipeline(auto=True)
    assert pipeline.stats()["preset"] == "balanced" and pipeline.stats()["auto_preset"]
    wait_for(lambda: seen.said("warning", "switched to the fast preset"), timeout=60)
    wait_for(lambda: pipeline.encoder_params is not None
             and pipeline.encoder_params.preset == "fast")
    stats = pipeline.stats()
    assert stats["preset"] == "fast" and stats["frames_dropped"] > 0
    assert seen.said("warning", "encoder overloaded: ")


def test_without_auto_the_pipeline_warns_and_keeps_the_preset(slow_pipeline):
    pipeline, seen = slow_pipeline(auto=False)
    wait_for(lambda: seen.said("warning", "try the fast preset"), timeout=60)
    stats = pipeline.stats()
    assert stats["overloaded"] and stats["preset"] == "balanced" and not stats["auto_preset"]
    assert pipeline.encoder_params.preset == "balanced"
