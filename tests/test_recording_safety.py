"""A recording survives what ends it: a full disk, Ctrl+C in the terminal, SIGTERM.

cv2.VideoWriter reports no write errors, so the recorder watches the free space itself and
finishes the file (AVI index included) while there is room; these tests read every file back.
Closing the window and stopping the pipeline are covered in test_window.py / test_pipeline.py.
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, SMALL

import livecodec.app.recorder as recorder_module
from livecodec.app import headless
from livecodec.app.recorder import DiskFullError, Recorder
from livecodec.app.sources import DemoScene
from livecodec.app.window import MainWindow
from livecodec.codec import CodecParams
from tests.waiting import signal_when


pytestmark = pytest.mark.usefixtures("warm_codec")


def frames_in(path: Path) -> tuple[int, float]:
    """(frames decoded, frame count in the index) of a video file; (0, -1) if it won't open."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    indexed = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    capture.release()
    return count, indexed


def recording_in_progress(target: Path, min_bytes: int = 1) -> bool:
    """True once frames are going into the temporary file the recorder writes beside target
    (it becomes target when the recording is finished)."""
    return any(part.stat().st_size >= min_bytes
               for part in target.parent.glob(f".{target.stem}.*.part{target.suffix}"))


def disk_filling_after(monkeypatch, recorder_frames, limit: int) -> None:
    """Free space is plentiful until `limit` frames are written, then 0.5 MB (under reserve)."""
    monkeypatch.setattr(recorder_module, "free_bytes",
                        lambda folder: 10**12 if recorder_frames() < limit else 500_000)


class TestDiskFull:
    @pytest.mark.parametrize("fourcc", ["XVID", "MJPG"])
    def test_recording_stops_before_the_disk_fills_and_stays_playable(self, tmp_path,
                                                                      monkeypatch, fourcc):
        path = tmp_path / "out.avi"
        recorder = Recorder(path, 30.0, fourcc=fourcc)
        disk_filling_after(monkeypatch, lambda: recorder.frames_written, 45)
        scene = DemoScene(*SMALL)
        with pytest.raises(DiskFullError) as info:
            for _ in range(200):
                recorder.write(scene.read())
        # Checked every SPACE_CHECK_FRAMES frames: the first check after the 45th frame.
        assert recorder.frames_written == 60 and recorder.closed
        assert str(info.value) == ("disk almost full (0.5 MB free): recording stopped after "
                                   "60 frames, out.avi is playable")
        assert frames_in(path) == (60, 60)

    def test_no_room_at_all_records_nothing_and_says_so(self, tmp_path, monkeypatch):
        monkeypatch.setattr(recorder_module, "free_bytes", lambda folder: 200_000)
        recorder = Recorder(tmp_path / "out.avi", 30.0)
        with pytest.raises(DiskFullError, match=r"no room to record out\.avi"):
            recorder.write(np.zeros((48, 64, 3), np.uint8))
        assert recorder.closed and recorder.frames_written == 0

    def test_no_room_at_all_keeps_an_existing_file(self, tmp_path, monkeypatch):
        path = tmp_path / "out.avi"
        path.write_bytes(b"last week's recording")
        monkeypatch.setattr(recorder_module, "free_bytes", lambda folder: 200_000)
        recorder = Recorder(path, 30.0, size=(64, 48))
        with pytest.raises(DiskFullError):
            recorder.write(np.zeros((48, 64, 3), np.uint8))
        assert path.read_bytes() == b"last week's recording"
        assert [p.name for p in tmp_path.iterdir()] == ["out.avi"]  # no temporary file left

    def test_the_window_tells_the_user_and_the_stream_goes_on(self, qtbot, small_demo, tmp_path,
                                                              monkeypatch):
        window = MainWindow(small_demo, CodecParams())
        qtbot.addWidget(window)
        window.show()
        window.start()
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=20_000)
        assert window.start_recording(str(tmp_path / "rec.avi"))
        recorder = window.pipeline.recorder
        disk_filling_after(monkeypatch, lambda: recorder.frames_written, 20)
        qtbot.waitUntil(lambda: recorder.closed, timeout=20_000)
        qtbot.waitUntil(lambda: "disk almost full" in window.statusBar().currentMessage(),
                        timeout=5_000)
        assert "recording stopped after 30 frames, rec.avi is playable" in \
            window.statusBar().currentMessage()
        qtbot.waitUntil(lambda: not window.record_action.isChecked(), timeout=5_000)
        assert frames_in(tmp_path / "rec.avi") == (30, 30)
        displayed = window.frames_displayed
        qtbot.waitUntil(lambda: window.frames_displayed > displayed, timeout=20_000)

    @pytest.mark.parametrize("fourcc", ["XVID", "MJPG"])
    def test_on_a_really_full_tmpfs(self, tmp_path, fourcc):
        """The real thing: a 2 MB tmpfs (needs permission to mount; skipped otherwise)."""
        disk = tmp_path / "disk"
        disk.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(disk)],
                                 capture_output=True)
        if mounted.returncode != 0:
            pytest.skip("cannot mount a tmpfs here")
        try:
            recorder = Recorder(disk / "rec.avi", 30.0, fourcc=fourcc)
            scene = DemoScene(*SMALL)
            with pytest.raises(DiskFullError, match="is playable"):
                for _ in range(5000):
                    recorder.write(scene.read())
            assert recorder.frames_written > 30
            assert frames_in(disk / "rec.avi") == (recorder.frames_written,
                                                   recorder.frames_written)
        finally:
            subprocess.run(["umount", str(disk)], check=True)


class TestSignals:
    def test_ctrl_c_finalises_the_window_recording(self, tmp_path):
        """`livecodec gui --record` in a terminal, then Ctrl+C: exit 0, stats, playable AVI."""
        avi = tmp_path / "x.avi"
        # A background job's shell hands its children SIGINT ignored (and livecodec keeps an
        # ignored signal ignored), so the child restores Python's handler before starting.
        start = ("import runpy, signal, sys; signal.signal(signal.SIGINT, "
                 "signal.default_int_handler); sys.argv[0] = 'livecodec'; "
                 "runpy.run_module('livecodec.app', run_name='__main__')")
        child = subprocess.Popen(
            [sys.executable, "-c", start, "gui", "--source", "demo", "--record", str(avi)],
            cwd=REPO, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = signal_when(child, lambda: recording_in_progress(avi, 50_000), signal.SIGINT)
        assert child.returncode == 0, err
        assert "Traceback" not in err
        stats = json.loads(out.strip().splitlines()[-1])
        assert stats["frames_shown"] > 0
        decoded, indexed = frames_in(avi)
        assert decoded == indexed > 0

    def test_sigterm_finalises_the_headless_recording(self, small_demo, tmp_path, monkeypatch):
        avi = tmp_path / "h.avi"
        # A SIGTERM arriving outside run_headless must not end the test run.
        monkeypatch.setattr(headless, "READOUT_PIPE_S", 60.0)
        previous = signal.signal(signal.SIGTERM, lambda *_: None)

        def terminate_once_recording() -> None:
            # Generous: on a cold numba cache the codec compiles before the first frame.
            deadline = time.monotonic() + 240
            while not recording_in_progress(avi) and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGTERM)

        killer = threading.Thread(target=terminate_once_recording)
        killer.start()
        out, err = io.StringIO(), io.StringIO()
        try:
            code = headless.run_headless(small_demo, CodecParams(), record=str(avi),
                                         fourcc="MJPG", quit_after=300, out=out, err=err)
        finally:
            killer.join()
            signal.signal(signal.SIGTERM, previous)
        assert code == 0
        assert json.loads(out.getvalue())["frames_shown"] > 0
        decoded, indexed = frames_in(avi)
        assert decoded == indexed > 0
