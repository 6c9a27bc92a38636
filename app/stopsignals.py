"""Stop requests from the system (Ctrl+C, SIGTERM, SIGHUP) handled like the user's own stop,
so a run that is told to end still finalises its output instead of leaving a temporary file."""
from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

__all__ = ["on_stop_signals", "raise_interrupt", "StopRequest", "STOP_SIGNALS",
           "exit_past_stuck_workers"]

#: Ctrl+C, `kill`/service managers, and a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def raise_interrupt() -> None:
    """A handler that turns any stop signal into KeyboardInterrupt (the Ctrl+C path)."""
    raise KeyboardInterrupt


class StopRequest:
    """A signal handler for work that must stop at a safe point, between frames.

    KeyboardInterrupt raised by a handler while numba code runs on the main thread surfaces as
    a SystemError from the dispatcher, and may cut a file mid-write; so the first signal only
    sets a flag that the work loop checks with ``check()``. A second signal raises at once,
    for a user who does not want to wait.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def __call__(self) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def clear(self) -> None:
        """Forget an earlier request (a new run starts)."""
        self._event.clear()

    def check(self) -> None:
        """Raise KeyboardInterrupt once a stop was asked for."""
        if self._event.is_set():
            raise KeyboardInterrupt


def exit_past_stuck_workers(code: int) -> None:
    """End the process now with ``code``, output flushed, without interpreter shutdown.

    For a run whose pipeline did not stop (the ``livecodec`` entry checks for its threads): a
    worker inside native code (a camera driver call, numba compiling or loading the kernels on
    a cold cache) cannot be interrupted, and tearing the interpreter (and the window it reports
    to) down under a running native thread can crash the process after its work is done.
    Recordings are finalised by then.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@contextmanager
def on_stop_signals(handler: Callable[[], None]) -> Iterator[None]:
    """Call handler on any of STOP_SIGNALS while inside. Signals the parent set to be ignored
    (a background job, nohup) stay ignored; outside the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for number in STOP_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, lambda *_: handler())
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
