"""Waiting for a condition in tests of threaded code: poll with a generous deadline, never sleep
a fixed time (a loaded 2-core machine can be slow, but a condition either comes or it doesn't)."""
from __future__ import annotations

import subprocess
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


#: A child process's first frame can wait for a cold numba cache to compile the codec.
CHILD_START_S = 240.0


def signal_when(child: subprocess.Popen, ready: Callable[[], bool], signum: int,
                timeout: float = CHILD_START_S) -> tuple[str, str]:
    """Send ``signum`` to ``child`` once ``ready()`` holds, then return its (stdout, stderr);
    fails if the child ends first or ``ready`` never holds. The child is killed in any case."""
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if child.poll() is not None:
                raise AssertionError(f"the child ended first: {child.communicate()[1][-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            time.sleep(0.1)
        child.send_signal(signum)
        return child.communicate(timeout=120)
    finally:
        child.kill()
