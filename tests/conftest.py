"""Shared test set-up: Qt renders offscreen, and small fake sources for the live pipeline."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

# Before anything imports Qt: no display is needed (or used) by the tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # plain `pytest` does not put the repository root on sys.path
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from livecodec.app.sources import DemoScene, SourceError  # noqa: E402

#: Small frames keep the real codec fast enough for many short tests on two cores.
SMALL = (160, 120)


class FailingCamera:
    """A live source that delivers `frames` demo frames, then fails like an unplugged camera."""

    is_live = True

    def __init__(self, frames: int, fps: float = 30.0) -> None:
        self._scene = DemoScene(*SMALL, fps=fps)
        self.name, self.fps, self.size = "flaky camera", fps, SMALL
        self._left = frames
        self._tick = threading.Event()

    def read(self) -> np.ndarray | None:
        self._tick.wait(1 / self.fps)  # a camera blocks until its next frame
        if self._left <= 0:
            raise SourceError("flaky camera stopped delivering frames")
        self._left -= 1
        return self._scene.read()

    def close(self) -> None:
        pass


@pytest.fixture
def small_demo():
    """Factory of 160×120 demo scenes at 30 fps (a SourceSpec the pipeline accepts)."""
    return lambda: DemoScene(*SMALL)


def livecodec_threads() -> list[threading.Thread]:
    """The pipeline's worker threads still alive (not the network link's, which belong to
    whoever opened the link)."""
    return [t for t in threading.enumerate()
            if t.name.startswith("livecodec-") and not t.name.startswith("livecodec-link")]


def pictures_with_repeats(frames: list) -> list[np.ndarray]:
    """The pictures a saved or sent stream holds for these delivered PipelineFrames: each frame
    the encoder dropped in between stands as a repeat of the picture before it (a new stream,
    seen by its frame size or its numbering starting again, has no repeats before it)."""
    pictures = [frames[0].reconstruction]
    for previous, current in zip(frames, frames[1:]):
        gap = current.stats.index - previous.stats.index
        if gap < 1 or current.reconstruction.shape != previous.reconstruction.shape:
            gap = 1
        pictures += [previous.reconstruction] * (gap - 1) + [current.reconstruction]
    return pictures


@pytest.fixture(scope="module")
def warm_codec():
    """Compile the codec's numba kernels (or load them from numba's cache) before any test
    starts a clock: on a cold cache that alone takes about 40 s on two cores, longer than the
    generous waits of the pipeline tests, and a thread inside the compiler cannot stop within
    a second. Modules with live pipelines use it (``pytestmark``)."""
    from livecodec.app.pipeline import _warm_up
    from livecodec.codec import CodecParams

    _warm_up(CodecParams())


class Collector:
    """Callbacks that keep what the pipeline reports."""

    def __init__(self) -> None:
        self.frames: list = []
        self.messages: list[tuple[str, str]] = []

    def frame(self, frame) -> None:
        self.frames.append(frame)

    def message(self, level: str, text: str) -> None:
        self.messages.append((level, text))

    def said(self, level: str, fragment: str) -> bool:
        return any(lv == level and fragment in text for lv, text in self.messages)


@pytest.fixture
def open_window(qtbot):
    """Open a started window on a source; it is closed (pipeline stopped) at teardown."""
    from livecodec.app.window import MainWindow
    from livecodec.codec import CodecParams

    def make(source, params=None):
        window = MainWindow(source, params or CodecParams())
        qtbot.addWidget(window)
        window.show()
        window.start()
        return window

    return make


@pytest.fixture
def run():
    """Start pipelines, and stop them all at the end even when a test fails."""
    from livecodec.app.pipeline import Pipeline
    from livecodec.codec import CodecParams

    started = []

    def start(source, params=None, **kwargs):
        seen = Collector()
        pipeline = Pipeline(source, params or CodecParams(), on_frame=seen.frame,
                            on_message=seen.message, **kwargs)
        started.append(pipeline)
        pipeline.start()
        return pipeline, seen

    yield start
    for pipeline in started:
        pipeline.stop()
