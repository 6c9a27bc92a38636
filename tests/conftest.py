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
    """The pipeline's worker threads still alive."""
    return [t for t in threading.enumerate() if t.name.startswith("livecodec-")]
