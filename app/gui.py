"""Entry point of `livecodec gui`: the window, or the headless pipeline when there is no display."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from livecodec.app.headless import recording_outcome, run_headless
from livecodec.app.link import LinkError, parse_endpoint
from livecodec.app.link.endpoints import resolve
from livecodec.app.outputs import OutputError, check_not_input
from livecodec.app.pipeline import AUTO_SOURCE
from livecodec.app.recorder import DEFAULT_FOURCC, RecorderError, check_fourcc, check_output_path
from livecodec.app.sources import (Capture, SourceError, is_live_spec, is_receive_spec,
                                   is_stream_file, size_problem)
from livecodec.app.stopsignals import on_stop_signals
from livecodec.app.streamsave import check_stream_path, saved_path_note
from livecodec.codec import CodecParams

if TYPE_CHECKING:
    from PyQt6.QtGui import QIcon

    from livecodec.app.window import MainWindow

__all__ = ["run_gui", "display_problem", "window_icon", "check_screenshot_path",
           "destroy_window"]

#: The window icon inside the livecodec.assets package (assets/ in the repository).
ICON_NAME = "icon.png"

#: Qt platforms that need a desktop session; any other (offscreen, minimal, vnc, eglfs…) draws
#: without one.
_DESKTOP_PLATFORMS = ("xcb", "wayland", "wayland-egl")
#: Wakes the Python interpreter inside Qt's event loop so Ctrl+C is noticed.
_SIGNAL_POLL_MS = 200
#: Starts Qt's platform plugin the way the window will, in a child process.
_QT_PROBE = "from PyQt6.QtGui import QGuiApplication; QGuiApplication([])"
_QT_PROBE_TIMEOUT_S = 30


def display_problem() -> str | None:
    """Why a window cannot open here, or None when it can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform and platform not in _DESKTOP_PLATFORMS:
        return None
    if sys.platform in ("win32", "darwin"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    return _qt_platform_problem()


def _qt_platform_problem() -> str | None:
    """Qt aborts the whole process when its platform plugin cannot load (a missing libxcb-*
    package, an unreachable display), so it is tried in a child process first."""
    try:
        probe = subprocess.run([sys.executable, "-c", _QT_PROBE], capture_output=True, text=True,
                               timeout=_QT_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"Qt did not connect to the display within {_QT_PROBE_TIMEOUT_S} s"
    if probe.returncode == 0:
        return None
    missing = _missing_xcb_libraries()
    if missing:
        packages = " ".join(_debian_package(lib) for lib in missing)
        return f"Qt's X11 plugin lacks {', '.join(missing)} (Debian/Ubuntu: apt install {packages})"
    lines = [line for line in probe.stderr.splitlines() if line.strip()]
    return f"Qt cannot open a window ({lines[0] if lines else f'exit status {probe.returncode}'})"


def _missing_xcb_libraries() -> list[str]:
    """System libraries Qt's X11 plugin links to but the system lacks (ldd says "not found")."""
    spec = find_spec("PyQt6")
    if spec is None or not spec.submodule_search_locations or shutil.which("ldd") is None:
        return []
    plugin = Path(spec.submodule_search_locations[0]) / "Qt6/plugins/platforms/libqxcb.so"
    if not plugin.exists():
        return []
    listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    return sorted({line.split()[0] for line in listing.splitlines() if "not found" in line})


def _debian_package(library: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    name, _, version = library.partition(".so.")
    return f"{name}{'-' if name[-1:].isdigit() else ''}{version}"


def check_screenshot_path(path: str) -> None:
    """Raise RecorderError (one line) unless path can be written and its suffix names an image
    type Qt writes (png, jpg, bmp…): checked before the run, not after it."""
    check_output_path(path)
    from PyQt6.QtGui import QImageWriter  # no QApplication needed to list the formats

    formats = sorted(bytes(f).decode() for f in QImageWriter.supportedImageFormats())
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        named = f".{suffix} is not" if suffix else "no suffix names"
        raise RecorderError(f"cannot write screenshot {path}: {named} an image type Qt can "
                            f"write (use {', '.join('.' + f for f in _COMMON if f in formats)})")


#: The window's QApplication, kept for the life of the process (see the end of _run_window).
_APP = None

#: Image types offered in the screenshot message (Qt writes a few more).
_COMMON = ("png", "jpg", "bmp", "tif", "webp")


def run_gui(source: str | None, params: CodecParams, record: str | None = None,
            fourcc: str = DEFAULT_FOURCC, quit_after: float | None = None,
            screenshot: str | None = None, capture: Capture = Capture(),
            threads: int | None = None, auto_preset: bool = False, save: str | None = None,
            send: str | None = None) -> int:
    """Show the live window on source until closed or quit_after seconds; return the exit code.

    source None (or "auto") opens camera 0, or the demo scene when there is no camera. Without a
    display the pipeline runs headless with a text readout instead, unless a screenshot is
    asked for: then the window renders offscreen. ``save`` writes the compressed stream to a
    ``.lvc`` file as it is produced; ``send`` sends it over the live link to "HOST:PORT". On
    exit one JSON line of pipeline statistics
    goes to stdout. Exit codes: 0 done, 1 failure, 2 bad input (source, output path).
    """
    spec = source or AUTO_SOURCE
    try:
        if record:
            check_output_path(record)
            check_fourcc(fourcc)
        if screenshot:
            check_screenshot_path(screenshot)
        if save:
            check_stream_path(save)
        if send:
            resolve(*parse_endpoint(send))
        if (save and is_stream_file(spec)) or (send and (is_stream_file(spec)
                                                         or is_receive_spec(spec))):
            raise SourceError(f"{spec} is played, not encoded: --send (and --save, for a file) "
                              f"apply to what the window encodes or receives")
        inputs = [path for path in (spec, capture.reference) if path and os.path.isfile(path)]
        for output in (record, screenshot, save):
            if output:
                check_not_input(output, inputs)
        if spec != AUTO_SOURCE and not is_live_spec(spec):
            # Fail fast on a bad file, or one larger than the codec takes; cameras and
            # streams may come later (the pipeline reconnects), and are not opened twice.
            opened = capture.open(spec)
            opened.close()
            # A coded stream's sizes are the decoder's to check (a received one has none yet).
            problem = None if getattr(opened, "coded", False) else size_problem(
                opened.name, tuple(opened.size))
            if problem:
                raise SourceError(problem)
    except (RecorderError, SourceError, OutputError, LinkError) as exc:
        print(f"livecodec: error: {exc}", file=sys.stderr)
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
        return run_headless(spec, params, record=record, fourcc=fourcc, quit_after=quit_after,
                            capture=capture, threads=threads, auto_preset=auto_preset, save=save,
                            send=send)
    return _run_window(spec, params, record, fourcc, quit_after, screenshot, capture, threads,
                       auto_preset, save, send)


def window_icon() -> QIcon:
    """The livecodec icon, read through importlib.resources so an installed copy finds it."""
    from PyQt6.QtGui import QIcon, QPixmap

    pixmap = QPixmap()
    pixmap.loadFromData(resources.files("livecodec.assets").joinpath(ICON_NAME).read_bytes())
    return QIcon(pixmap)


def _run_window(spec: str, params: CodecParams, record: str | None, fourcc: str,
                quit_after: float | None, screenshot: str | None, capture: Capture,
                threads: int | None, auto_preset: bool, save: str | None,
                send: str | None) -> int:
    from PyQt6.QtCore import QTimer, qInstallMessageHandler
    from PyQt6.QtWidgets import QApplication

    from livecodec.app.window import MainWindow, apply_dark_theme

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        qInstallMessageHandler(_quiet_offscreen_warnings)
    global _APP
    _APP = app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_dark_theme(app)
    app.setWindowIcon(window_icon())
    window = MainWindow(spec, params, fourcc=fourcc, capture=capture, threads=threads,
                        auto_preset=auto_preset)
    if spec == AUTO_SOURCE:
        window.show_message("info", "Looking for camera 0 (the demo scene plays if there is none)…")
    window.show()
    window.start()
    if record:
        window.start_recording(record)
    if save:
        window.start_saving(save)
    if send:
        window.start_sending(send)
    outcome = {"code": 0, "stats": None}

    def finish() -> None:
        if outcome["stats"] is not None:  # already finishing (quit timer and Ctrl+C)
            return
        if screenshot and not _save_screenshot(window, screenshot):
            outcome["code"] = 1
        outcome["stats"] = window.pipeline.stats()
        window.close()

    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), finish)
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(_SIGNAL_POLL_MS)
    try:
        with on_stop_signals(finish):
            app.exec()
    finally:
        wake.stop()
        window.pipeline.stop()
    if record:
        for line in recording_outcome(record, window.last_recording):
            print(f"livecodec: {line}", file=sys.stderr)
    if window.last_save is not None:
        print(f"livecodec: {saved_path_note(window.last_save)}", file=sys.stderr)
    print(json.dumps(outcome["stats"] or window.pipeline.stats()), flush=True)
    destroy_window(window)      # the application stays in _APP
    return outcome["code"]


def destroy_window(window: MainWindow) -> None:
    """Destroy a closed window now, while its QApplication lives: left to Python's collection
    at exit, the two may be destroyed in either order, which can crash the process (PyQt's
    "Crashes On Exit" advice). Every program that runs the window ends with it."""
    from PyQt6.QtCore import QEvent
    from PyQt6.QtWidgets import QApplication

    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def _save_screenshot(window, path: str) -> bool:
    """The window as a picture at path; False (and one line on stderr) when it cannot be."""
    from livecodec.app.window import save_picture

    try:
        save_picture(window, path)
    except (OutputError, OSError) as exc:
        print(f"livecodec: cannot write screenshot {path}: {exc}", file=sys.stderr)
        return False
    return True


def _quiet_offscreen_warnings(_mode, _context, message: str) -> None:
    """The offscreen platform warns about window features it lacks; that is expected there."""
    if "does not support" not in message:
        print(message, file=sys.stderr)
