"""Waiting for a condition in tests of threaded code: poll with a generous deadline, never sleep
a fixed time (a loaded 2-core machine can be slow, but a condition either comes or it doesn't)."""
from __future__ import annotations

import time
from typing import Callable

#: Deadline for any condition; far above what a healthy run needs.
TIMEOUT_S = 20.0


def wait_for(condition: Callable[[], bool], timeout: float = TIMEOUT_S) -> None:
    """Return once ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
