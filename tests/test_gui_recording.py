"""Recording in the window across source switches, and recordings that get no frame.

A recording must never leave a file no player opens: frames of a new source go on into the same
file (letterboxed into its size, the status bar says so), and a recording stopped before its
first frame writes no file at all.
"""
from __future__ import annotations

import io
from pathlib import Path

import cv2
import pytest
from conftest import SMALL

from livecodec.app import headless
from livecodec.app.sources import DemoScene
from livecodec.app.window import MainWindow
from livecodec.codec import CodecParams
from tests.media import read_video

WAIT_MS = 20_000


pytestmark = pytest.mark.usefixtures("warm_codec")


@pytest.fixture
def open_window(qtbot):
    def make(source) -> MainWindow:
        window = MainWindow(source, CodecParams())
        qtbot.addWidget(window)
        shown: list[str] = []
        window.statusBar().messageChanged.connect(shown.append)
        window.shown = shown
        window.show()
        window.start()
        return window

    return make


def clip(folder: Path, size: tuple[int, int], frames: int = 90, name: str = "clip.avi") -> Path:
    """A short MJPG clip of the demo scene at `size`, written with OpenCV (no ffmpeg needed)."""
    path = folder / name
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    for frame in DemoScene(*size, n_frames=frames):
        writer.write(frame)
    writer.release()
    return path



def said(window: MainWindow, fragment: str) -> bool:
    return any(fragment in text for text in window.shown)


def settle(window: MainWindow, qtbot) -> None:
    """Wait until no frame is on its way any more (after a pause)."""
    last = [-1]

    def still() -> bool:
        qtbot.wait(300)
        previous, last[0] = last[0], window.pipeline.stats()["frames_shown"]
        return previous == last[0]

    qtbot.waitUntil(still, timeout=WAIT_MS)


class TestAcrossSourceSwitches:
    @pytest.mark.parametrize("right_after_starting", [False, True])
    def test_a_switch_goes_on_in_the_same_file(self, open_window, qtbot, small_demo, tmp_path,
                                               right_after_starting):
        wide = clip(tmp_path, (192, 96))
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        path = tmp_path / "rec.avi"
        assert window.start_recording(str(path))
        recorder = window.pipeline.recorder
        if not right_after_starting:
            qtbot.waitUntil(lambda: recorder.frames_written >= 10, timeout=WAIT_MS)
        before = recorder.frames_written
        window.set_source(str(wide))
        qtbot.waitUntil(lambda: said(window, "recording continues in rec.avi: 192x96 frames "
                                             "scaled into its 160x120"), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: recorder.frames_written >= before + 10, timeout=WAIT_MS)
        assert window.pipeline.recorder is recorder and window.record_action.isChecked()
        window.stop_recording()
        assert window.statusBar().currentMessage().startswith(f"Saved {path}")
        pictures = read_video(path)
        assert len(pictures) == recorder.frames_written >= before + 10
        assert all(p.shape == (SMALL[1], SMALL[0], 3) for p in pictures)
        # 192x96 is 2:1: scaled to 160x80, with 20-row black bars above and below.
        last = pictures[-1].astype(int)
        assert last[:16].max() < 24 and last[-16:].max() < 24
        assert last[24:96].mean() > 40

    def test_a_recording_stopped_before_any_frame_writes_no_file(self, open_window, qtbot,
                                                                 small_demo, tmp_path):
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        window.set_paused(True)
        settle(window, qtbot)
        path = tmp_path / "rec.avi"
        assert window.start_recording(str(path))
        assert window.pipeline.recorder.size == SMALL  # the writer is open at once
        window.stop_recording()
        assert window.statusBar().currentMessage() == ("Nothing recorded: no frame came before "
                                                       "Stop, so rec.avi was not written")
        assert list(tmp_path.iterdir()) == []
        assert not window.last_recording.saved

    def test_an_existing_file_is_kept_when_nothing_was_recorded(self, open_window, qtbot,
                                                                small_demo, tmp_path):
        path = tmp_path / "rec.avi"
        path.write_bytes(b"last week's recording")
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        window.set_paused(True)
        settle(window, qtbot)
        assert window.start_recording(str(path))
        window.stop_recording()
        assert path.read_bytes() == b"last week's recording"
        assert [p.name for p in tmp_path.iterdir()] == ["rec.avi"]

    def test_the_target_is_replaced_only_when_the_recording_is_finished(self, open_window, qtbot,
                                                                        small_demo, tmp_path):
        path = tmp_path / "rec.avi"
        path.write_bytes(b"last week's recording")
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        assert window.start_recording(str(path))
        recorder = window.pipeline.recorder
        qtbot.waitUntil(lambda: recorder.frames_written >= 5, timeout=WAIT_MS)
        assert path.read_bytes() == b"last week's recording"
        window.stop_recording()
        assert len(read_video(path)) == recorder.frames_written >= 5


class TestOddSizes:
    def test_the_window_says_an_odd_size_is_padded(self, open_window, qtbot, tmp_path):
        window = open_window(lambda: DemoScene(161, 121))
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        path = tmp_path / "odd.avi"
        assert window.start_recording(str(path))
        assert window.statusBar().currentMessage() == (
            f"Recording to {path} (161x121 padded to 162x122 for XVID)")
        recorder = window.pipeline.recorder
        qtbot.waitUntil(lambda: recorder.frames_written >= 3, timeout=WAIT_MS)
        window.stop_recording()
        assert {p.shape for p in read_video(path)} == {(122, 162, 3)}


class TestHeadless:
    def test_an_odd_size_is_noted_on_stderr(self, tmp_path):
        out, err = io.StringIO(), io.StringIO()
        path = tmp_path / "odd.avi"
        assert headless.run_headless(lambda: DemoScene(161, 121, n_frames=150), CodecParams(),
                                     record=str(path), quit_after=120, out=out, err=err) == 0
        assert "161x121 padded to 162x122 for XVID" in err.getvalue().splitlines()
        assert {p.shape for p in read_video(path)} == {(122, 162, 3)}

    def test_no_frame_no_file_and_it_says_so(self, tmp_path):
        out, err = io.StringIO(), io.StringIO()
        path = tmp_path / "none.avi"
        missing = tmp_path / "missing.mp4"
        assert headless.run_headless(str(missing), CodecParams(), record=str(path),
                                     quit_after=120, out=out, err=err) == 1
        assert err.getvalue().splitlines()[-1] == (f"nothing was recorded (no frame arrived), so "
                                                   f"{path} was not written")
        assert list(tmp_path.iterdir()) == []
