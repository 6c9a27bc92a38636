"""Camera faults and the pipeline's watchdog: a fake camera fails the ways real ones do (a read
that raises, returns None, repeats one frozen buffer forever, or never returns); each fault is
reported, the camera is reopened with back-off, and frames flow again without a restart.

The back-off is shortened, and each test shortens the one watchdog timeout it exercises (the
other stays long, so a busy machine cannot trip it instead): every test takes about a second.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from conftest import SMALL, livecodec_threads

import livecodec.app.pipeline as pipeline_module
from livecodec.app.pipeline import Pipeline, PipelineFrame
from livecodec.app.sources import DemoScene, SourceError
from livecodec.app.window import MainWindow
from livecodec.codec import CodecParams
from tests.waiting import wait_for

WATCHDOG_S = 0.3
BACKOFF_S = (0.1, 0.2, 0.4)


pytestmark = pytest.mark.usefixtures("warm_codec")


class FaultyCamera:
    """A live source: `frames` good demo frames, then it fails as `fault` says.

    "raise": reads raise SourceError; "none": reads return None; "frozen": every read returns
    the very same buffer; "block": a read waits for `release` (or block_s seconds), as a driver
    stuck after an unplug does, and delivers a frame when it returns at last.
    """

    is_live = True
    name = "camera 7"

    def __init__(self, fault: str | None, frames: int = 5, fps: float = 30.0,
                 block_s: float = 3600.0) -> None:
        self._scene = DemoScene(*SMALL, fps=fps)
        self.fps, self.size = fps, SMALL
        self.fault, self._left, self._block_s = fault, frames, block_s
        self._last = self._scene.frame(0)
        self._tick = threading.Event()
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.closed = threading.Event()

    def read(self) -> np.ndarray | None:
        self._tick.wait(1 / self.fps)  # a camera blocks until its next frame
        if self.fault is None or self._left > 0:
            self._left -= 1
            self._last = self._scene.read()
            return self._last
        if self.fault == "raise":
            raise SourceError("camera 7 stopped delivering frames (/dev/video7)")
        if self.fault == "frozen":
            return self._last
        if self.fault == "block":
            self.blocked.set()
            self.release.wait(self._block_s)
            return self._scene.read()
        return None

    def close(self) -> None:
        self.closed.set()


class Plug:
    """A camera factory: the first open gives `first`, every later one a healthy camera."""

    def __init__(self, first: FaultyCamera) -> None:
        self.opened = [first]
        self._first_given = False

    def __call__(self) -> FaultyCamera:
        if not self._first_given:
            self._first_given = True
            return self.opened[0]
        camera = FaultyCamera(None)
        self.opened.append(camera)
        return camera


class Seen:
    def __init__(self) -> None:
        self.frames: list[PipelineFrame] = []
        self.messages: list[tuple[str, str]] = []

    def said(self, fragment: str, level: str | None = None) -> bool:
        return any(fragment in text and level in (None, lv) for lv, text in self.messages)


@pytest.fixture
def watchdog(monkeypatch):
    """Short back-off; returns a function that sets the watchdog's timeouts (default: long)."""
    monkeypatch.setattr(pipeline_module, "_RECONNECT_BACKOFF_S", BACKOFF_S)

    def set_timeouts(stall: float = 60.0, frozen: float = 60.0) -> None:
        monkeypatch.setattr(pipeline_module, "STALL_TIMEOUT_S", stall)
        monkeypatch.setattr(pipeline_module, "FROZEN_TIMEOUT_S", frozen)

    set_timeouts()
    return set_timeouts


@pytest.fixture
def run(watchdog):
    """Start pipelines on a source; stop them, and release any blocked camera, at the end."""
    started: list[tuple[Pipeline, object]] = []

    def start(source) -> tuple[Pipeline, Seen]:
        seen = Seen()
        pipeline = Pipeline(source, CodecParams(), on_frame=seen.frames.append,
                            on_message=lambda level, text: seen.messages.append((level, text)))
        started.append((pipeline, source))
        pipeline.start()
        return pipeline, seen

    yield start
    for pipeline, source in started:
        pipeline.stop()
        for camera in getattr(source, "opened", ()):
            camera.release.set()


class TestWatchdog:
    @pytest.mark.parametrize("fault, report, timeouts", [
        ("raise", "camera 7 lost: camera 7 stopped delivering frames", {}),
        ("none", "camera 7 lost: no frame", {}),
        ("frozen", "camera 7 frozen (the same picture for", {"frozen": WATCHDOG_S}),
        ("block", "camera 7 stopped responding (no frame for", {"stall": WATCHDOG_S}),
    ])
    def test_fault_is_reported_and_the_camera_reconnects(self, run, watchdog, fault, report,
                                                         timeouts):
        watchdog(**timeouts)
        plug = Plug(FaultyCamera(fault))
        pipeline, seen = run(plug)
        wait_for(lambda: seen.said(report, "warning"))
        assert seen.said("retrying in 0.1 s")
        wait_for(lambda: seen.said("camera 7: reconnected", "info"))
        shown = len(seen.frames)
        wait_for(lambda: len(seen.frames) > shown + 3)  # frames flow again
        assert len(plug.opened) == 2 and pipeline.running and pipeline.source_active
        assert sum(report in text for _, text in seen.messages) == 1  # reported once

    def test_a_frozen_camera_is_caught_only_after_the_timeout(self, run, watchdog):
        watchdog(frozen=WATCHDOG_S)
        pipeline, seen = run(Plug(FaultyCamera("frozen", frames=0)))
        wait_for(lambda: seen.said("frozen"))
        seconds = float(next(t for _, t in seen.messages if "frozen" in t).split("for ")[1][:3])
        assert WATCHDOG_S <= seconds < WATCHDOG_S + 1.0

    def test_an_abandoned_read_that_returns_late_only_closes_its_camera(self, run, watchdog):
        watchdog(stall=1.0)
        plug = Plug(FaultyCamera("block", frames=3))
        pipeline, seen = run(plug)
        wait_for(lambda: seen.said("camera 7: reconnected"))
        stuck = plug.opened[0]
        assert not stuck.closed.is_set()  # its reader is still inside read()
        stuck.release.set()
        wait_for(stuck.closed.is_set)  # the reader closes the camera once read() returns
        shown = len(seen.frames)
        wait_for(lambda: len(seen.frames) > shown + 3)
        assert pipeline.source_info["name"] == "camera 7" and not plug.opened[1].closed.is_set()

    def test_a_camera_that_keeps_failing_waits_longer_each_time(self, run, watchdog):
        watchdog(frozen=WATCHDOG_S)
        pipeline, seen = run(lambda: FaultyCamera("frozen", frames=0))
        wait_for(lambda: seen.said("retrying in 0.4 s"))
        waits = [text.rsplit("retrying in ", 1)[1] for _, text in seen.messages
                 if "retrying in" in text]
        assert waits[:3] == ["0.1 s", "0.2 s", "0.4 s"]


class TestNotFaults:
    def test_files_and_the_demo_may_repeat_a_frame(self, run, watchdog):
        class StillFile:
            """A non-live source whose frames are all the same (a title card, a paused clip)."""

            name, fps, size, is_live = "still.avi", 60.0, SMALL, False
            frame = DemoScene(*SMALL).frame(0)

            def read(self) -> np.ndarray:
                return self.frame

            def close(self) -> None:
                pass

        watchdog(stall=WATCHDOG_S, frozen=WATCHDOG_S)
        pipeline, seen = run(StillFile)
        wait_for(lambda: len(seen.frames) >= 3)
        time.sleep(3 * WATCHDOG_S)
        assert not seen.messages and pipeline.source_active

    def test_a_uniform_picture_from_a_camera_is_not_frozen(self, run, watchdog):
        watchdog(frozen=WATCHDOG_S)
        camera = FaultyCamera("frozen", frames=0)
        camera._last = np.zeros((SMALL[1], SMALL[0], 3), np.uint8)  # lens cap on
        pipeline, seen = run(lambda: camera)
        wait_for(lambda: len(seen.frames) >= 3)
        time.sleep(3 * WATCHDOG_S)
        assert not seen.messages and pipeline.source_active


class TestStop:
    def test_stop_returns_within_a_second_while_a_read_is_blocked(self, watchdog):
        camera = FaultyCamera("block", frames=2)
        pipeline = Pipeline(lambda: camera, CodecParams())
        pipeline.start()
        try:
            wait_for(camera.blocked.is_set)
            assert pipeline.stop(timeout=1.0)  # True: the three workers joined before the deadline
            # Not yet abandoned by the watchdog (60 s); stop() leaves it behind.
            assert [t.name for t in livecodec_threads()] == ["livecodec-reader"]
        finally:
            camera.release.set()
        wait_for(lambda: not livecodec_threads())
        assert camera.closed.is_set()


def test_the_window_shows_a_frozen_camera_and_resumes(qtbot, watchdog):
    watchdog(frozen=WATCHDOG_S)
    window = MainWindow(Plug(FaultyCamera("frozen")), CodecParams())
    qtbot.addWidget(window)
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: any("camera 7 frozen" in text for text in shown), timeout=20_000)
    qtbot.waitUntil(lambda: any("camera 7: reconnected" in text for text in shown),
                    timeout=20_000)
    displayed = window.frames_displayed
    qtbot.waitUntil(lambda: window.frames_displayed > displayed, timeout=20_000)
    assert window.isVisible() and window.pipeline.running
