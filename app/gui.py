"""Entry point of `livecodec gui`: the window, or the headless pipeline when there is no display."""
from __future__ import annotations

import ctypes.util
import json
import os
import signal
import sys

from app.headless import run_headless
from app.pipeline import AUTO_SOURCE
from app.recorder import RecorderError, check_output_path
from app.sources import SourceError, open_source
from codec import CodecParams

__all__ = ["run_gui", "display_problem"]

#: Qt platforms that need a desktop session; any other (offscreen, minimal, vnc, eglfs…) draws
#: without one.
_DESKTOP_PLATFORMS = ("xcb", "wayland", "wayland-egl")
#: Wakes the Python interpreter inside Qt's event loop so Ctrl+C is noticed.
_SIGNAL_POLL_MS = 200


def display_problem() -> str | None:
    """Why a window cannot open here, or None when it can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform and platform not in _DESKTOP_PLATFORMS:
        return None
    if sys.platform in ("win32", "darwin"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    if platform != "wayland" and not os.environ.get("WAYLAND_DISPLAY") \
            and ctypes.util.find_library("xcb-cursor") is None:
        # Qt >= 6.5 aborts the whole process without it (DESIGN.md field notes).
        return "Qt's X11 plugin needs libxcb-cursor0 (apt install libxcb-cursor0)"
    return None


def run_gui(source: str | None, params: CodecParams, record: str | None = None,
            fourcc: str = "XVID", quit_after: float | None = None,
            screenshot: str | None = None) -> int:
    """Show the live window on source until closed or quit_after seconds; return the exit code.

    source None (or "auto") opens camera 0, or the demo scene when there is no camera. Without a
    display the pipeline runs headless with a text readout instead, unless a screenshot is
    asked for: then the window renders offscreen. On exit one JSON line of pipeline statistics
    goes to stdout. Exit codes: 0 done, 1 failure, 2 bad input (source, output path).
    """
    spec = source or AUTO_SOURCE
    try:
        for path in (record, screenshot):
            if path:
                check_output_path(path)
        if spec != AUTO_SOURCE and not spec.lower().startswith("camera:"):
            open_source(spec).close()  # fail fast on a bad file; cameras may be plugged in later
    except (RecorderError, SourceError) as exc:
        print(f"livecodec: {exc}", file=sys.stderr)
        return 2
    problem = display_problem()
    if problem and screenshot:
        print(f"livecodec: {problem}; rendering the window offscreen for the screenshot",
              file=sys.stderr)
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif problem:
        shown = "camera 0 (or the demo scene)" if spec == AUTO_SOURCE else spec
        print(f"livecodec: {problem}; running the pipeline headless on {shown} (Ctrl+C stops)",
              file=sys.stderr)
        return run_headless(spec, params, record=record, fourcc=fourcc, quit_after=quit_after)
    return _run_window(spec, params, record, fourcc, quit_after, screenshot)


def _run_window(spec: str, params: CodecParams, record: str | None, fourcc: str,
                quit_after: float | None, screenshot: str | None) -> int:
    from PyQt6.QtCore import QTimer, qInstallMessageHandler
    from PyQt6.QtWidgets import QApplication

    from app.window import MainWindow, apply_dark_theme

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        qInstallMessageHandler(_quiet_offscreen_warnings)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_dark_theme(app)
    window = MainWindow(spec, params, fourcc=fourcc)
    if spec == AUTO_SOURCE:
        window.show_message("info", "Looking for camera 0 (the demo scene plays if there is none)…")
    window.show()
    window.start()
    if record:
        window.start_recording(record)
    outcome = {"code": 0, "stats": None}

    def finish() -> None:
        if screenshot and not window.grab().save(screenshot):
            print(f"livecodec: cannot write screenshot {screenshot}", file=sys.stderr)
            outcome["code"] = 1
        outcome["stats"] = window.pipeline.stats()
        window.close()

    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), finish)
    previous = signal.signal(signal.SIGINT, lambda *_: finish())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(_SIGNAL_POLL_MS)
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        wake.stop()
        window.pipeline.stop()
    print(json.dumps(outcome["stats"] or window.pipeline.stats()), flush=True)
    return outcome["code"]


def _quiet_offscreen_warnings(_mode, _context, message: str) -> None:
    """The offscreen platform warns about window features it lacks; that is expected there."""
    if "does not support" not in message:
        print(message, file=sys.stderr)
