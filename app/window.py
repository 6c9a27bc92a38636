"""The live window: connects the pipeline to the views, plots, readouts and controls.

Threading: the pipeline's callbacks run in its worker threads. The frame callback prepares the
view arrays right there (numpy/OpenCV only), keeps only the newest result and wakes the GUI
thread with a signal; the message callback is a signal too. Only the GUI thread touches widgets.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QColor, QKeySequence, QPalette
from PyQt6.QtWidgets import (QApplication, QFrame, QGridLayout, QGroupBox, QHBoxLayout,
                             QInputDialog, QLabel, QMainWindow, QSplitter, QToolButton,
                             QVBoxLayout, QWidget)

from livecodec.app.controls import ParamControls, SizeSelector, SourceSelector
from livecodec.app.link import LinkError, LinkSender, parse_endpoint
from livecodec.app.outputs import OutputError, PendingOutput, check_not_input
from livecodec.app.pipeline import AUTO_SOURCE, FrameStats, Pipeline, PipelineFrame, SourceSpec
from livecodec.app.plots import StatsPlots
from livecodec.app.recorder import DEFAULT_FOURCC, Recorder, RecorderError, check_output_path
from livecodec.app.sources import Capture
from livecodec.app.streamsave import StreamSaveError, StreamSaver, check_stream_path, saved_path_note
from livecodec.app.view_images import ViewImages, prepare_views
from livecodec.app.views import VideoViews
from livecodec.codec import CodecParams

__all__ = ["MainWindow", "apply_dark_theme", "save_picture", "DEFAULT_SIZE"]

#: Room for four 4:3 views beside the plots and controls on a 1366×768 laptop screen or larger.
DEFAULT_SIZE = (1280, 760)
#: Plots and the recording label refresh at 10 Hz: smooth enough scrolling for little GUI time
#: (the GUI thread holds the GIL while Qt paints, so its time is taken from the workers).
TICK_MS = 100
#: Numeric readouts change every third tick (about 3 Hz), slow enough to read.
READOUT_EVERY = 3
#: How long a status message stays, by level (ms).
MESSAGE_MS = {"info": 8000, "warning": 15000, "error": 20000}
#: The status message while paused; resuming clears it.
PAUSED_MESSAGE = "Paused: Space resumes, → shows the next frame"
_MESSAGE_COLOUR = {"info": "", "warning": "#ffb347", "error": "#ff6b6b"}

_READOUTS = (
    ("fps", "Frame rate", "Frames per second delivered to the views (last 2 s)"),
    ("frame", "Frame", "Type of the frame on screen: refresh (self-contained) or predicted,\n"
                       "and the quality it was coded with"),
    ("kbps", "Bitrate", "Bits per second of the compressed stream (last 2 s)"),
    ("psnr", "PSNR", "Reconstruction quality against the captured frame, mean of the last 2 s"),
    ("latency", "Latency", "Capture to display, median of the last frames"),
    ("dropped", "Dropped", "Captured frames the encoder skipped because it was busy"),
    ("encode", "Encode", "Encoder time per frame, median"),
    ("decode", "Decode", "Decoder time per frame, median"),
    ("preset", "Preset", "Encoder preset in use (auto: chosen by load); orange while the\n"
                         "encoder is overloaded and drops frames"),
    ("stream", "Stream", "Source, frame size and nominal frame rate"),
    ("link", "Link", "The live link: where the stream goes or comes from, datagrams lost\n"
                     "for good, and refresh frames asked for after a loss"),
)
#: Readouts on a row of their own, after the others.
_WIDE_READOUTS = ("stream", "link")


class MainWindow(QMainWindow):
    """Live view of a source going through the codec.

    Args:
        source: source spec or factory for the pipeline (AUTO_SOURCE: camera 0, else demo).
        params: initial codec settings.
        fourcc: codec of recordings (falls back to MJPG when it cannot open).
        plot_seconds: span of the scrolling plots.
    """

    frame_ready = pyqtSignal()
    message_received = pyqtSignal(str, str)

    def __init__(self, source: SourceSpec = AUTO_SOURCE, params: CodecParams | None = None, *,
                 fourcc: str = DEFAULT_FOURCC, plot_seconds: float = 20.0,
                 capture: Capture = Capture(), threads: int | None = None,
                 auto_preset: bool = False) -> None:
        super().__init__()
        params = params or CodecParams()
        self.setWindowTitle("livecodec — live palette + motion codec")
        self.resize(*DEFAULT_SIZE)
        self._fourcc = fourcc
        self._link_key = capture.link_key     # the live link's shared secret, both ways
        self._sending_to: str | None = None
        self._latest: ViewImages | None = None
        self._latest_lock = threading.Lock()
        self._stats_inbox: deque[FrameStats] = deque()
        self._pending_record: str | None = None
        self._ticks = 0
        self._shown_overloaded = False
        self._shown_coded = (False, False)     # (coded, played) as the controls show it
        self._last_frame: ViewImages | None = None
        #: Frames drawn by the GUI thread (fewer than delivered when the GUI is the slow part).
        self.frames_displayed = 0
        #: The latest recording started (kept after it stopped: whether it was saved).
        self.last_recording: Recorder | None = None
        #: The latest saved stream started (kept after it stopped).
        self.last_save: StreamSaver | None = None
        self.pipeline = Pipeline(source, params, loop=True, on_frame=self._frame_from_worker,
                                 on_message=self.message_received.emit, capture=capture,
                                 threads=threads, auto_preset=auto_preset)

        self.views = VideoViews()
        self.plots = StatsPlots(seconds=plot_seconds)
        self.controls = ParamControls(params, auto_preset)
        self.selector = SourceSelector()
        if isinstance(source, str) and source != AUTO_SOURCE:
            self.selector.show_source(source)
        self.size_selector = SizeSelector()
        if capture.width and capture.height:
            self.size_selector.show_size((capture.width, capture.height))
        self._build_actions()
        self._build_layout()

        self.frame_ready.connect(self._show_latest)
        self.message_received.connect(self.show_message)
        self.controls.params_changed.connect(self._params_changed)
        self.selector.source_chosen.connect(self.set_source)
        self.size_selector.size_chosen.connect(self.set_capture_size)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    # ----------------------------------------------------------------- public actions
    @property
    def last_frame(self) -> ViewImages | None:
        """The frame on screen (None before the first)."""
        return self._last_frame

    def start(self) -> None:
        """Start the pipeline and the refresh timer."""
        self.pipeline.start()
        self._timer.start()

    def set_source(self, spec: str) -> None:
        """Switch the pipeline to another source; if it cannot open, the current one stays."""
        self.selector.show_source(spec)
        self.pipeline.set_source(spec)
        self.plots.clear()
        self.show_message("info", f"Opening {spec}…")

    def set_capture_size(self, size: tuple[int, int] | None) -> None:
        """Ask the source for another frame size (None: its own); it reopens with it."""
        width, height = size if size is not None else (None, None)
        self.size_selector.show_size(size)
        self.pipeline.set_capture(replace(self.pipeline.capture, width=width, height=height))
        self.plots.clear()
        asked = "its own size" if size is None else f"{width}×{height}"
        self.show_message("info", f"Asking the source for {asked}…")

    def set_paused(self, paused: bool) -> None:
        self.pause_action.setChecked(paused)  # toggled → pipeline

    def start_recording(self, path: str | None = None) -> bool:
        """Record the reconstruction to path (default: a time-stamped AVI in the current folder).

        Before the first frame the request waits for it, so the file gets the stream's size and
        frame rate. Returns False (and shows why) when the recording cannot start.
        """
        path = path or time.strftime("livecodec-%Y%m%d-%H%M%S.avi")
        try:
            if not self.pipeline.source_info or self.frames_displayed == 0:
                check_output_path(path)
                self._pending_record = path
                self._set_record_checked(True)
                return True
            recorder = self.pipeline.start_recording(path, self._fourcc)
        except RecorderError as exc:
            self._set_record_checked(False)
            self.show_message("error", str(exc))
            return False
        self.last_recording = recorder
        self._set_record_checked(True)
        notes = [note for note in (f"MJPG: {self._fourcc} unavailable" if recorder.fell_back
                                   else None, recorder.size_note) if note]
        extra = f" ({'; '.join(notes)})" if notes else ""
        self.show_message("info", f"Recording to {Path(path).resolve()}{extra}")
        return True

    def start_saving(self, path: str | None = None) -> bool:
        """Save the compressed stream to path (default: a time-stamped .lvc in the current
        folder) from the next frame on, which is a refresh; False (and why) when it cannot."""
        path = path or time.strftime("livecodec-%Y%m%d-%H%M%S.lvc")
        try:
            check_stream_path(path)
            saver = self.pipeline.start_saving(path)
        except (OutputError, StreamSaveError) as exc:
            self._set_save_checked(False)
            self.show_message("error", f"stream not saved: {exc}")
            return False
        self.last_save = saver
        self._set_save_checked(True)
        self.show_message("info", f"Saving the stream to {saver.path.resolve()}")
        return True

    def stop_saving(self) -> None:
        """Close the saved stream and say where it is."""
        saver = self.pipeline.stop_saving()
        self._set_save_checked(False)
        if saver is not None:
            self.show_message("info" if saver.saved else "warning", saved_path_note(saver))
        self._update_record_label()

    def start_sending(self, address: str | None = None) -> bool:
        """Send the compressed stream over the live link to address ("HOST:PORT"; asked for in
        a dialog when None); False (and why) when it cannot start."""
        if address is None:
            address, ok = QInputDialog.getText(self, "Send the live link",
                                               "Receiver (HOST:PORT, e.g. 192.168.1.20:5004):")
            if not ok or not address.strip():
                self._set_send_checked(False)
                return False
        address = address.strip()
        try:
            sender = LinkSender(parse_endpoint(address), key=self._link_key,
                                on_refresh_request=self.pipeline.request_refresh)
        except LinkError as exc:
            self._set_send_checked(False)
            self.show_message("error", f"not sending: {exc}")
            return False
        previous = self.pipeline.set_sender(sender)
        if previous is not None:
            previous.close()
        self._sending_to = address
        self._set_send_checked(True)
        self.show_message("info", f"Sending the stream to {address} (RTP over UDP)")
        return True

    def stop_sending(self) -> None:
        """Say goodbye to the receiver and stop sending."""
        sender = self.pipeline.set_sender(None)
        if sender is not None:
            sender.close()
            self.show_message("info", f"Stopped sending to {self._sending_to}")
        self._sending_to = None
        self._set_send_checked(False)

    def step(self) -> None:
        """Show the next frame and hold there (pauses first if playing)."""
        if self.pipeline.paused:
            self.pipeline.step()
        else:
            self.set_paused(True)

    def stop_recording(self) -> None:
        """Finalise the recording and say where it is (or that no frame came, so no file)."""
        self._pending_record = None
        recorder = self.pipeline.stop_recording()
        self._set_record_checked(False)
        if recorder is not None and recorder.saved:
            self.show_message("info", f"Saved {recorder.path} ({recorder.frames_written} frames, "
                                      f"{recorder.duration_s:.1f} s, {recorder.fourcc})")
        elif recorder is not None and not recorder.frames_written:
            self.show_message("warning", f"Nothing recorded: no frame came before Stop, so "
                                         f"{recorder.path.name} was not written")
        self._update_record_label()

    def save_snapshot(self, path: str | None = None) -> Path | None:
        """PNG of the four views as they are on screen; returns the path, None on failure.

        The picture is written beside the target and renamed over it once complete, so an
        existing file is only ever replaced by a whole snapshot.
        """
        target = Path(path or time.strftime("livecodec-snapshot-%Y%m%d-%H%M%S.png"))
        try:
            check_not_input(target, self.pipeline.input_files())
        except OutputError as exc:
            self.show_message("error", f"snapshot not saved: {exc}")
            return None
        try:
            save_picture(self.views, target)
        except (OutputError, OSError):
            self.show_message("error", f"cannot write snapshot {target}")
            return None
        self.show_message("info", f"Snapshot saved to {target.resolve()}")
        return target

    def show_message(self, level: str, text: str, *, until_replaced: bool = False) -> None:
        """Status bar message; warnings and errors in colour and shown longer; one that
        describes a state (paused) stays until the next message or clearMessage()."""
        bar = self.statusBar()
        colour = _MESSAGE_COLOUR.get(level, "")
        bar.setStyleSheet(f"QStatusBar {{ color: {colour}; }}" if colour else "")
        bar.showMessage(text, 0 if until_replaced else MESSAGE_MS.get(level, MESSAGE_MS["info"]))

    # ----------------------------------------------------------------- construction
    def _build_actions(self) -> None:
        def action(text: str, keys: str, tip: str, slot, checkable: bool = False) -> QAction:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(keys))
            act.setToolTip(f"{tip} ({QKeySequence(keys).toString()})")
            act.setCheckable(checkable)
            (act.toggled if checkable else act.triggered).connect(slot)
            self.addAction(act)
            return act

        self.pause_action = action("Pause", "Space", "Hold the stream; press again to resume",
                                   self._pause_toggled, checkable=True)
        self.snapshot_action = action("Snapshot", "Ctrl+S", "Save the four views as a PNG",
                                      lambda: self.save_snapshot())
        self.record_action = action("Record", "Ctrl+R",
                                    "Record the reconstruction to an AVI file; press again to stop",
                                    self._record_toggled, checkable=True)
        self.send_action = action("Send to…", "Ctrl+L",
                                  "Send the compressed stream to another livecodec over the "
                                  "network (its \"Receive on port…\"); press again to stop",
                                  self._send_toggled, checkable=True)
        self.save_action = action("Save stream", "Ctrl+E",
                                  "Save the compressed stream (.lvc) as it is produced; "
                                  "press again to stop", self._save_toggled, checkable=True)
        self.step_action = action("Step", "Right", "Pause, then show one frame at a time",
                                  self.step)
        self.open_action = action("Open file…", "Ctrl+O", "Compress a video file",
                                  self.selector.choose_file)
        self.demo_action = action("Demo scene", "Ctrl+D", "Switch to the built-in demo scene",
                                  lambda: self.set_source("demo"))
        self.fullscreen_action = action("Full screen", "F11", "Toggle full screen",
                                        self._toggle_fullscreen)
        self.quit_action = action("Quit", "Ctrl+Q", "Close the window", self.close)

    def _build_layout(self) -> None:
        # The picture's actions on one row, the stream's (where it goes) on the next.
        button_rows = []
        for actions in ((self.pause_action, self.snapshot_action, self.record_action),
                        (self.save_action, self.send_action)):
            row = QHBoxLayout()
            for act in actions:
                button = QToolButton()
                button.setDefaultAction(act)
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
                button.setMinimumWidth(96)
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space belongs to Pause
                row.addWidget(button)
            row.addStretch(1)
            button_rows.append(row)

        source_box = QGroupBox("Source")
        source_layout = QVBoxLayout(source_box)
        source_row = QHBoxLayout()
        source_row.addWidget(self.selector, stretch=1)
        source_row.addWidget(self.size_selector)
        source_layout.addLayout(source_row)
        for row in button_rows:
            source_layout.addLayout(row)
        self.codec_box = codec_box = QGroupBox("Codec")
        QVBoxLayout(codec_box).addWidget(self.controls)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 4, 0)
        side_layout.addWidget(self._build_readouts())
        side_layout.addWidget(self.plots, stretch=1)
        side_layout.addWidget(codec_box)
        side_layout.addWidget(source_box)
        side.setMinimumWidth(340)
        side.setMaximumWidth(520)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.views)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([DEFAULT_SIZE[0] - 380, 380])
        self.setCentralWidget(splitter)

        self.record_label = QLabel()
        self.record_label.setStyleSheet("color: #ff5050; font-weight: bold;")
        self.record_label.setToolTip("File being recorded and its length so far")
        self.statusBar().addPermanentWidget(self.record_label)
        self.statusBar().setToolTip("Messages: source problems, recording, snapshots")

    def _build_readouts(self) -> QFrame:
        frame = QFrame()
        grid = QGridLayout(frame)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(1)
        self.readouts: dict[str, QLabel] = {}
        for i, (key, label, tip) in enumerate(_READOUTS):
            name, value = QLabel(label), QLabel("–")
            name.setStyleSheet("color: #9a9a9a;")
            value.setStyleSheet("font-weight: bold;")
            for widget in (name, value):
                widget.setToolTip(tip)
            if key in _WIDE_READOUTS:
                value.setWordWrap(True)
                grid.addWidget(name, i // 2 + 1, 0)
                grid.addWidget(value, i // 2 + 1, 1, 1, 3)
            else:
                grid.addWidget(name, i // 2, 2 * (i % 2))
                grid.addWidget(value, i // 2, 2 * (i % 2) + 1)
            self.readouts[key] = value
        return frame

    def _params_changed(self, params: CodecParams) -> None:
        self.pipeline.set_auto_preset(self.controls.auto_preset)
        self.pipeline.set_params(params)

    # ----------------------------------------------------------------- frames
    def _frame_from_worker(self, frame: PipelineFrame) -> None:
        """Decoder thread: prepare the views, keep only the newest, wake the GUI once."""
        views = prepare_views(frame, self.views.display_scale)
        self._stats_inbox.append(frame.stats)
        with self._latest_lock:
            idle = self._latest is None
            self._latest = views
        if idle:
            self.frame_ready.emit()

    def _show_latest(self) -> None:
        with self._latest_lock:
            views, self._latest = self._latest, None
        if views is None:
            return
        self.views.show_frame(views)
        self._last_frame = views
        self.frames_displayed += 1

    def _tick(self) -> None:
        while self._stats_inbox:
            self.plots.add(self._stats_inbox.popleft())
        if not self.pipeline.paused:
            self.plots.redraw(time.monotonic())
        if self._pending_record and self.frames_displayed and self.pipeline.source_info:
            path, self._pending_record = self._pending_record, None
            self.start_recording(path)
        self._ticks += 1
        if self._ticks % READOUT_EVERY == 0:
            self._update_readouts()
            self._update_record_label()

    def _update_readouts(self) -> None:
        stats = self.pipeline.stats()
        info = self.pipeline.source_info
        values = {
            "fps": f"{stats['fps']:.1f} fps",
            "latency": f"{stats['latency_ms']:.0f} ms",
            "kbps": f"{stats['kbps']:,.0f} kbps",
            "psnr": (f"{stats['psnr']:.2f} dB" if stats["psnr"] or not info.get("coded")
                     else "no reference"),
            "dropped": f"{stats['frames_dropped']}",
            "encode": f"{stats['encode_ms']:.1f} ms",
            "decode": f"{stats['decode_ms']:.1f} ms",
            "preset": stats["preset"] + (" (auto)" if stats["auto_preset"] else ""),
        }
        coded = bool(info.get("coded"))
        if coded:       # a played or received stream: nothing is encoded here
            values.update(dict.fromkeys(("dropped", "encode", "preset"), "–"))
        played = coded and not info.get("received")     # a .lvc file, saved already
        if (coded, played) != self._shown_coded:
            self._shown_coded = (coded, played)
            # What was sent (or saved) ended with the encoded stream; a received one can be saved.
            if coded and self._sending_to is not None:
                self.stop_sending()
            if played and self.pipeline.saver is not None:
                self.stop_saving()
            for widget in (self.codec_box, self.send_action):
                widget.setEnabled(not coded)
            self.save_action.setEnabled(not played)
            self.codec_box.setToolTip("A played or received stream is decoded only: the codec "
                                      "settings apply to what this window encodes" if coded else "")
        if stats["overloaded"] != self._shown_overloaded:     # a restyle only when it flips
            self._shown_overloaded = stats["overloaded"]
            self.readouts["preset"].setStyleSheet(
                "font-weight: bold;" + (" color: #ffb347;" if stats["overloaded"] else ""))
        if self._last_frame is not None:
            shown = self._last_frame.stats
            values["frame"] = f"{shown.frame_type}, q {shown.quality}"
            self.controls.show_chosen_quality(shown.quality)
        values["link"] = link_readout(stats, self._sending_to)
        if info:
            width, height = stats["size"] or info["size"]
            values["stream"] = f"{info['name']}  {width}×{height} @ {info['fps']:g} fps"
            # The selector shows what actually plays: auto's pick, or the previous source
            # after a choice that could not open.
            spec = info.get("spec")
            if spec and not self.pipeline.switching and spec != self.selector.currentData():
                self.selector.show_source(spec)
        elif self.pipeline.running:
            values["stream"] = "no source open"
        for key, text in values.items():
            self.readouts[key].setText(text)

    # ----------------------------------------------------------------- recording
    def _record_toggled(self, checked: bool) -> None:
        recording = self.pipeline.recorder is not None or self._pending_record is not None
        if checked and not recording:
            self.start_recording()
        elif not checked and recording:
            self.stop_recording()

    def _send_toggled(self, checked: bool) -> None:
        if checked and self._sending_to is None:
            self.start_sending()
        elif not checked and self._sending_to is not None:
            self.stop_sending()

    def _set_send_checked(self, checked: bool) -> None:
        _show_checked(self.send_action, checked, "Stop sending" if checked else "Send to…")

    def _save_toggled(self, checked: bool) -> None:
        if checked and self.pipeline.saver is None:
            self.start_saving()
        elif not checked and self.pipeline.saver is not None:
            self.stop_saving()

    def _set_save_checked(self, checked: bool) -> None:
        _show_checked(self.save_action, checked, "Stop saving" if checked else "Save stream")

    def _set_record_checked(self, checked: bool) -> None:
        _show_checked(self.record_action, checked, "Stop rec." if checked else "Record")

    def _update_record_label(self) -> None:
        """What is being written: the AVI recording and the saved stream."""
        parts = []
        recorder, saver = self.pipeline.recorder, self.pipeline.saver
        if recorder is None:
            if self._pending_record is None and self.record_action.isChecked():
                self._set_record_checked(False)  # the pipeline stopped it (and said why)
        else:
            seconds = int(recorder.duration_s)
            codec = f" {recorder.fourcc}" if recorder.fourcc else ""
            parts.append(f"● REC {recorder.path.name}  {seconds // 60:02d}:{seconds % 60:02d}{codec}")
        if saver is None:
            if self.save_action.isChecked():
                self._set_save_checked(False)    # the pipeline stopped it (and said why)
        else:
            parts.append(f"● SAVE {saver.path.name}  {saver.bytes_written / 1e6:.1f} MB")
        self.record_label.setText("   ".join(parts))

    # ----------------------------------------------------------------- misc
    def _pause_toggled(self, paused: bool) -> None:
        self.pipeline.set_paused(paused)
        self.pause_action.setText("Resume" if paused else "Pause")
        if paused:
            self.show_message("info", PAUSED_MESSAGE, until_replaced=True)
        elif self.statusBar().currentMessage() == PAUSED_MESSAGE:
            self.statusBar().clearMessage()

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the workers (within a second) and finalise a recording before closing."""
        self._timer.stop()
        self.pipeline.stop(timeout=1.0)
        self.stop_sending()
        self._pending_record = None
        super().closeEvent(event)


def _show_checked(action: QAction, checked: bool, text: str) -> None:
    """Check or uncheck a toggle action without running its slot (the state changed
    elsewhere), and relabel it."""
    action.blockSignals(True)
    action.setChecked(checked)
    action.blockSignals(False)
    action.setText(text)


def link_readout(stats: dict, sending_to: str | None) -> str:
    """The Link readout: where the stream goes or comes from, losses and refreshes asked."""
    parts = []
    if "receiving" in stats:
        link = stats["receiving"]
        origin = f"from {link['sender']}" if link.get("sender") else "waiting for a sender"
        parts.append(f"{origin}, {link['packets_lost']} lost, "
                     f"{link['refresh_requests']} refreshes asked")
    if sending_to is not None and "sending" in stats:
        link = stats["sending"]
        parts.append(f"to {sending_to}, {link['retransmissions']} resent, "
                     f"{link['refresh_requests']} refreshes asked")
    return "; ".join(parts) or "–"


def save_picture(widget: QWidget, path: str | Path) -> None:
    """The widget as it is on screen, written beside path and renamed over it once complete
    (an existing file is only ever replaced by a whole picture); the suffix names the image
    type, none: PNG. Raises OutputError or OSError naming why it could not be written."""
    with PendingOutput(path) as pending:       # the temporary name keeps the suffix
        if not widget.grab().save(str(pending.path), None if Path(path).suffix else "PNG"):
            raise OSError("Qt could not write the image")


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style with a dark palette, matching pyqtgraph's dark plots and the video."""
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#202020", QPalette.ColorRole.WindowText: "#e0e0e0",
        QPalette.ColorRole.Base: "#161616", QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.ToolTipBase: "#2b2b2b", QPalette.ColorRole.ToolTipText: "#e8e8e8",
        QPalette.ColorRole.Text: "#e0e0e0", QPalette.ColorRole.Button: "#2c2c2c",
        QPalette.ColorRole.ButtonText: "#e0e0e0", QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: "#808080",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
