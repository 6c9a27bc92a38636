"""Tests of the live window (pytest-qt, offscreen) and of `livecodec gui` scripted and headless."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
import time

import cv2
import pytest
from conftest import REPO, SMALL, FailingCamera, livecodec_threads
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QAbstractButton, QComboBox, QSlider

from livecodec.app import gui
from livecodec.app.gui import display_problem, run_gui
from livecodec.app import headless
from livecodec.app.pipeline import USER_MESSAGE, Pipeline
from livecodec.app.sources import Capture
from livecodec.app.window import DEFAULT_SIZE, MainWindow
from livecodec.codec import CodecParams

WAIT_MS = 20_000


pytestmark = pytest.mark.usefixtures("warm_codec")


def status(window: MainWindow) -> str:
    return window.statusBar().currentMessage()


def shown_rect(pane) -> tuple[float, ...]:
    """(x, y, width, height) in picture pixels that a view's image covers, rounded."""
    rect = pane.image.mapRectToParent(pane.image.boundingRect())
    return tuple(round(v, 1) for v in (rect.x(), rect.y(), rect.width(), rect.height()))


class TestViews:
    def test_opens_on_the_demo_scene_and_shows_frames(self, open_window, qtbot):
        window = open_window("demo")
        assert window.width() >= 1200 and window.height() >= 700
        qtbot.waitUntil(lambda: window.frames_displayed >= 3, timeout=WAIT_MS)
        for pane in window.views.panes:
            assert shown_rect(pane) == (0, 0, 640, 480)
        qtbot.waitUntil(lambda: window.readouts["stream"].text().startswith("demo scene  640×480"),
                        timeout=WAIT_MS)
        assert window.readouts["fps"].text().endswith(" fps")

    @staticmethod
    def picture_problems(window: MainWindow, size: tuple[int, int]) -> list[str]:
        """What is wrong with how the four views show a size[0]×size[1] picture: each must show
        all of it, at one scale, aspect kept, as large as the smallest view allows."""
        width, height = size
        problems, scene_sizes, fills = [], [], []
        for pane in window.views.panes:
            name = pane.title.text[:14]
            visible = pane.box.viewRect()
            if not (visible.left() <= 0.5 and visible.top() <= 0.5
                    and visible.right() >= width - 0.5 and visible.bottom() >= height - 0.5):
                problems.append(f"{name}: visible {visible} crops the {width}x{height} picture")
            if pane.image.image is None or shown_rect(pane) != (0, 0, width, height):
                problems.append(f"{name}: no {width}x{height} picture")
                continue
            picture = pane.image.sceneBoundingRect()
            frame = pane.box.sceneBoundingRect().adjusted(-1, -1, 1, 1)
            if not frame.contains(picture):
                problems.append(f"{name}: picture {picture} outside its view {frame}")
            scene_sizes.append((picture.width(), picture.height()))
            fills.append(max(picture.width() / pane.box.width(),
                             picture.height() / pane.box.height()))
            if abs(picture.width() / picture.height() - width / height) > 0.01:
                problems.append(f"{name}: aspect {picture.width() / picture.height():.3f}")
        if max(w for w, _ in scene_sizes) - min(w for w, _ in scene_sizes) > 0.5 \
                or max(h for _, h in scene_sizes) - min(h for _, h in scene_sizes) > 0.5:
            problems.append(f"scales differ: {scene_sizes}")
        if max(fills) < 0.99:
            problems.append(f"the picture is smaller than the views allow: {fills}")
        return problems

    def test_all_four_views_show_the_whole_picture_at_one_scale_at_any_size(self, open_window,
                                                                           qtbot):
        window = open_window("demo")
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        for size in (DEFAULT_SIZE, (1000, 700), (1600, 1000), (820, 900), (1900, 560),
                     DEFAULT_SIZE):
            window.resize(*size)
            qtbot.waitUntil(lambda: not self.picture_problems(window, (640, 480)),
                            timeout=5_000)

    def test_a_large_picture_reaches_the_gui_thread_at_the_size_it_is_shown(self, qtbot):
        """A 1280x720 source in views smaller than that: the images handed to the GUI thread
        have about the views' pixel count, not the source's, and still cover the picture."""
        window = MainWindow("demo", CodecParams(block_size=32, preset="fast"),
                            capture=Capture(1280, 720, 10))
        qtbot.addWidget(window)
        window.show()
        window.start()
        qtbot.waitUntil(lambda: window.frames_displayed >= 3
                        and window.last_frame.size == (1280, 720), timeout=WAIT_MS)
        displayed = window.frames_displayed
        qtbot.waitUntil(lambda: window.frames_displayed >= displayed + 2, timeout=WAIT_MS)
        ratio = window.devicePixelRatioF()
        for pane in window.views.panes:
            height, width = pane.image.image.shape[:2]
            assert shown_rect(pane) == (0, 0, 1280, 720)
            assert width <= pane.box.width() * ratio + 2 and height <= pane.box.height() * ratio + 2
            assert width < 1280
        window.close()

    def test_zoom_follows_in_every_view_and_view_all_shows_the_whole_picture(
            self, open_window, qtbot, small_demo):
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not self.picture_problems(window, SMALL), timeout=5_000)
        zoomed = window.views.error.box
        zoomed.scaleBy((0.5, 0.5), center=pg.Point(40, 30))  # what the wheel does
        zoomed.sigRangeChangedManually.emit(zoomed.state["mouseEnabled"])
        ranges = {pane.title.text[:14]: pane.box.viewRange() for pane in window.views.panes}
        first = ranges["Original"]
        for name, (xs, ys) in ranges.items():
            assert xs == pytest.approx(first[0], abs=0.01) and ys == pytest.approx(first[1], abs=0.01), name
        assert first[0][1] - first[0][0] < SMALL[0] * 0.75  # zoomed in
        window.resize(1400, 900)  # a resize keeps the zoom, in all four alike
        qtbot.waitUntil(lambda: len({tuple(round(v, 2) for v in pane.box.viewRange()[0])
                                     for pane in window.views.panes}) == 1, timeout=5_000)
        window.views.motion.box.autoRange()  # right-click → View all
        qtbot.waitUntil(lambda: not self.picture_problems(window, SMALL), timeout=5_000)

    def test_snapshot_saves_the_views(self, open_window, qtbot, tmp_path):
        window = open_window(lambda: FailingCamera(frames=10**6))
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        path = window.save_snapshot(str(tmp_path / "snap.png"))
        image = cv2.imread(str(path))
        assert image.shape[:2] == (window.views.height(), window.views.width())
        assert "Snapshot saved" in status(window)

    def test_snapshot_replaces_an_existing_file_only_once_complete(self, open_window, qtbot,
                                                                   tmp_path, monkeypatch):
        window = open_window(lambda: FailingCamera(frames=10**6))
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        target = tmp_path / "snap.png"
        target.write_bytes(b"yesterday's snapshot")

        class FailingWriter:
            """A pixmap whose save dies half-way, as on a full disk."""

            def save(self, path, *args):
                with open(path, "wb") as f:
                    f.write(b"\x89PNG half")
                return False

        monkeypatch.setattr(window.views, "grab", lambda: FailingWriter())
        assert window.save_snapshot(str(target)) is None
        assert status(window) == f"cannot write snapshot {target}"
        assert target.read_bytes() == b"yesterday's snapshot"
        assert [p.name for p in tmp_path.iterdir()] == ["snap.png"]  # no temporary file left
        monkeypatch.undo()
        assert window.save_snapshot(str(target)) == target
        assert cv2.imread(str(target)).shape[:2] == (window.views.height(), window.views.width())
        assert [p.name for p in tmp_path.iterdir()] == ["snap.png"]

    def test_every_control_has_a_tooltip(self, open_window):
        window = open_window(lambda: FailingCamera(frames=10**6))
        controls = window.findChildren(QSlider) + window.findChildren(QAbstractButton) \
            + window.findChildren(QComboBox)
        assert len(controls) >= 5 + 3 + 1
        assert all(control.toolTip() for control in controls)


class TestControls:
    def test_the_preset_choice_reaches_the_encoder_and_the_readout(self, open_window, qtbot,
                                                                  small_demo):
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        combo = window.controls.preset
        combo.setCurrentIndex(combo.findData("best"))
        qtbot.waitUntil(lambda: window.pipeline.encoder_params.preset == "best", timeout=WAIT_MS)
        assert not window.pipeline.auto_preset
        qtbot.waitUntil(lambda: window.readouts["preset"].text() == "best", timeout=WAIT_MS)
        combo.setCurrentIndex(combo.findData("auto"))
        qtbot.waitUntil(lambda: window.pipeline.auto_preset, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.readouts["preset"].text().endswith("(auto)"),
                        timeout=WAIT_MS)
        assert window.pipeline.encoder_params.preset in ("fast", "balanced")

    @pytest.mark.parametrize("field, position, expected", [
        ("n_clusters", 5, 5), ("block_size", 1, 8), ("refresh_interval", 7, 7),
        ("quality", 20, 20), ("search_range", 3, 3)])
    def test_each_slider_changes_what_the_encoder_uses(self, open_window, qtbot, small_demo,
                                                      field, position, expected):
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        window.controls.sliders[field].setValue(position)
        assert window.controls.value_labels[field].text() == str(expected)
        qtbot.waitUntil(lambda: getattr(window.pipeline.encoder_params, field) == expected,
                        timeout=WAIT_MS)
        if field == "block_size":  # the encoded frames themselves use the new blocks
            qtbot.waitUntil(lambda: window.last_frame.block_size == expected, timeout=WAIT_MS)

    def test_target_bitrate_hands_rate_control_the_quality(self, open_window, qtbot, small_demo):
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        controls = window.controls
        assert not controls.target_kbps.isEnabled() and controls.sliders["quality"].isEnabled()
        controls.target_kbps.setValue(200)  # while off: nothing changes
        assert window.pipeline.params.target_kbps is None
        controls.target_check.setChecked(True)
        qtbot.waitUntil(lambda: window.pipeline.encoder_params.target_kbps == 200.0,
                        timeout=WAIT_MS)
        assert controls.target_kbps.isEnabled() and not controls.sliders["quality"].isEnabled()
        # The disabled slider follows the quality rate control picks (~30 for 200 kbps here).
        qtbot.waitUntil(lambda: controls.sliders["quality"].value()
                        == window.last_frame.stats.quality < 45, timeout=WAIT_MS)
        assert window.readouts["frame"].text().endswith(f"q {controls.sliders['quality'].value()}")
        controls.target_check.setChecked(False)
        qtbot.waitUntil(lambda: window.pipeline.encoder_params.target_kbps is None,
                        timeout=WAIT_MS)
        assert window.pipeline.params.quality == controls.sliders["quality"].value()

    def test_space_pauses_and_resumes(self, open_window, qtbot, small_demo):
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        window.activateWindow()
        qtbot.keyClick(window, Qt.Key.Key_Space)
        assert window.pipeline.paused and window.pause_action.text() == "Resume"
        qtbot.keyClick(window, Qt.Key.Key_Space)
        assert not window.pipeline.paused

    def test_resuming_clears_the_paused_message(self, open_window, qtbot, small_demo):
        window = open_window(small_demo)
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        window.set_paused(True)
        assert status(window).startswith("Paused")
        window.set_paused(False)
        assert status(window) == ""
        window.show_message("warning", "camera 0 frozen")  # other messages are not cleared
        window.set_paused(True)
        window.show_message("warning", "camera 0 frozen")
        window.set_paused(False)
        assert status(window) == "camera 0 frozen"

    def test_source_selector_switches_the_pipeline(self, open_window, qtbot, small_demo):
        window = open_window(lambda: FailingCamera(frames=10**6))
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        index = window.selector.findData("demo")
        window.selector.activated.emit(index)
        qtbot.waitUntil(lambda: window.pipeline.source_info.get("name") == "demo scene",
                        timeout=WAIT_MS)
        assert window.selector.currentIndex() == index


class TestRecording:
    def test_recording_reads_back_with_the_stream_size_and_frame_count(self, open_window, qtbot,
                                                                         small_demo, tmp_path):
        window = open_window(small_demo)
        path = tmp_path / "rec.avi"
        assert window.start_recording(str(path))  # before the first frame: starts with it
        qtbot.waitUntil(lambda: window.pipeline.recorder is not None, timeout=WAIT_MS)
        recorder = window.pipeline.recorder
        qtbot.waitUntil(lambda: recorder.frames_written >= 20, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: "REC rec.avi" in window.record_label.text(), timeout=WAIT_MS)
        window.stop_recording()
        assert "Saved" in status(window) and not window.record_action.isChecked()
        capture = cv2.VideoCapture(str(path))
        count = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            assert frame.shape == (SMALL[1], SMALL[0], 3)
            count += 1
        assert count == recorder.frames_written >= 20

    def test_unwritable_path_is_reported_and_nothing_records(self, open_window, qtbot, small_demo,
                                                             tmp_path):
        window = open_window(small_demo)
        assert not window.start_recording(str(tmp_path / "nowhere" / "rec.avi"))  # before frames
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        assert not window.start_recording(str(tmp_path / "nowhere" / "rec.avi"))
        assert "does not exist" in status(window)
        assert window.pipeline.recorder is None and not window.record_action.isChecked()


class TestBadInput:
    def test_bad_choices_are_one_line_and_the_stream_goes_on(self, open_window, qtbot,
                                                             tmp_path):
        """A file that is not a video, a camera that does not exist, a snapshot that cannot be
        written: one line in the status bar each; the demo plays on and the selector says so."""
        window = open_window("demo")
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        shown: list[str] = []
        window.statusBar().messageChanged.connect(shown.append)
        notes = tmp_path / "notes.mp4"
        notes.write_text("not a video")
        for spec, expected in ((str(notes), f"not a readable video: {notes}"),
                               ("camera:9", "cannot open camera 9")):
            window.set_source(spec)
            qtbot.waitUntil(lambda: any(expected in text for text in shown), timeout=WAIT_MS)
            error = next(text for text in shown if expected in text)
            assert "\n" not in error and error.endswith("; still showing demo scene")
            qtbot.waitUntil(lambda: window.selector.currentData() == "demo", timeout=WAIT_MS)
            displayed = window.frames_displayed
            qtbot.waitUntil(lambda: window.frames_displayed > displayed, timeout=WAIT_MS)
        assert window.save_snapshot(str(tmp_path / "nowhere" / "snap.png")) is None
        assert status(window) == f"cannot write snapshot {tmp_path / 'nowhere' / 'snap.png'}"
        assert window.pipeline.running and window.isVisible()


class TestLifecycle:
    def test_closing_stops_every_thread_within_a_second_and_finalises(self, qtbot, small_demo,
                                                                      tmp_path):
        before = set(threading.enumerate())
        window = MainWindow(small_demo, CodecParams())
        qtbot.addWidget(window)
        window.show()
        window.start()
        qtbot.waitUntil(lambda: window.frames_displayed >= 1, timeout=WAIT_MS)
        window.start_recording(str(tmp_path / "rec.avi"))
        recorder = window.pipeline.recorder
        qtbot.waitUntil(lambda: recorder.frames_written >= 3, timeout=WAIT_MS)
        started = time.monotonic()
        window.close()
        assert time.monotonic() - started < 1.0
        assert not livecodec_threads()
        # Only the codec's shared, idle worker pool (one per process) may outlive the window.
        assert all(t.name.startswith("codec-worker") for t in set(threading.enumerate()) - before)
        assert recorder.closed
        assert int(cv2.VideoCapture(str(tmp_path / "rec.avi")).get(cv2.CAP_PROP_FRAME_COUNT)) \
            == recorder.frames_written

    def test_a_source_failing_mid_stream_is_shown_and_the_app_keeps_running(self, open_window,
                                                                            qtbot):
        window = open_window(lambda: FailingCamera(frames=8))
        qtbot.waitUntil(lambda: "flaky camera lost" in status(window), timeout=WAIT_MS)
        shown = window.frames_displayed
        qtbot.waitUntil(lambda: window.frames_displayed > shown, timeout=WAIT_MS)  # reconnected
        assert window.isVisible() and window.pipeline.running


class TestScripted:
    def test_quit_after_takes_screenshot_records_and_prints_stats(self, tmp_path):
        shot, avi = tmp_path / "s.png", tmp_path / "r.avi"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        result = subprocess.run(
            [sys.executable, "-m", "livecodec.app", "gui", "--source", "demo", "--quit-after", "4",
             "--record", str(avi), "--screenshot", str(shot)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        stats = json.loads(result.stdout.strip().splitlines()[-1])
        assert stats["frames_shown"] > 0 and stats["frames_captured"] >= stats["frames_shown"]
        assert {"frames_dropped", "fps", "latency_ms"} <= stats.keys()
        image = cv2.imread(str(shot))
        assert image.shape[0] >= 700 and image.shape[1] >= 1200
        capture = cv2.VideoCapture(str(avi))
        assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) \
            == (640, 480)
        assert capture.get(cv2.CAP_PROP_FRAME_COUNT) > 0

    def test_bad_source_is_one_line_and_exit_code_2(self, tmp_path, capsys):
        assert run_gui(str(tmp_path / "missing.mp4"), CodecParams()) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "missing.mp4" in err


class TestHeadless:
    @pytest.fixture
    def clean_env(self, monkeypatch):
        for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(sys, "platform", "linux")
        return monkeypatch

    def test_offscreen_needs_no_display(self, clean_env):
        clean_env.setenv("QT_QPA_PLATFORM", "offscreen")
        assert display_problem() is None

    def test_no_display_variable_is_a_problem(self, clean_env):
        assert "no display" in display_problem()

    def test_a_display_qt_can_use(self, clean_env):
        clean_env.setenv("DISPLAY", ":0")
        clean_env.setattr(gui, "_qt_platform_problem", lambda: None)
        assert display_problem() is None

    def test_a_display_qt_cannot_use_is_explained_not_fatal(self, clean_env):
        clean_env.setenv("DISPLAY", ":93")  # no X server there
        assert "Qt" in display_problem()

    def test_package_names_for_missing_libraries(self):
        assert gui._debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
        assert gui._debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"

    def test_without_display_the_pipeline_runs_headless(self, clean_env, capsys):
        assert run_gui("demo", CodecParams(), quit_after=1.0) == 0
        out, err = capsys.readouterr()
        assert "no display" in err and "headless" in err
        assert "frames_captured" in json.loads(out.strip().splitlines()[-1])

    def test_headless_readout_and_stats_line(self, small_demo, tmp_path, monkeypatch):
        monkeypatch.setattr(headless, "READOUT_PIPE_S", 0.2)
        out, err = io.StringIO(), io.StringIO()
        assert headless.run_headless(small_demo, CodecParams(), quit_after=1.5, record=str(tmp_path / "h.avi"),
                            out=out, err=err) == 0
        stats = json.loads(out.getvalue())
        assert stats["frames_shown"] > 0
        assert " fps " in err.getvalue() and "PSNR" in err.getvalue()
        assert (tmp_path / "h.avi").exists()
        assert not livecodec_threads()

    def test_headless_says_each_warning_once(self, caplog):
        """The readout prints the pipeline's messages itself; meanwhile their log records must
        not reach the root logger, whose last-resort handler would print them again (what
        `livecodec gui` without a display did with every warning). Other records, such as a
        failed stage's traceback, still do."""
        logger = logging.getLogger(Pipeline.__module__)
        with headless._messages_printed_once():
            logger.warning("camera 9 stopped responding; retrying in 0.5 s",
                           extra={USER_MESSAGE: True})
            logger.error("pipeline stage failed")
        logger.warning("after the run", extra={USER_MESSAGE: True})
        assert [r.getMessage() for r in caplog.records] == ["pipeline stage failed",
                                                            "after the run"]

    def test_headless_source_that_fails_for_good_exits_1(self, tmp_path):
        out, err = io.StringIO(), io.StringIO()
        assert headless.run_headless(str(tmp_path / "gone.mp4"), CodecParams(), quit_after=20,
                                     out=out, err=err) == 1
        assert "no such file" in err.getvalue()
        assert json.loads(out.getvalue())["frames_shown"] == 0
