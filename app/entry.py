"""The ``livecodec`` console entry: a Ctrl+C while the heavy modules load ends quietly too."""
from __future__ import annotations

import sys
import threading


def main() -> int:
    """Import the command (numba, OpenCV, scikit-learn: a few seconds) and run it."""
    try:
        from .cli import main as run
        from .stopsignals import exit_past_stuck_workers
    except KeyboardInterrupt:
        print("livecodec: interrupted", file=sys.stderr)
        return 1
    code = run()
    if any(t.name.startswith("livecodec-") and t.is_alive() for t in threading.enumerate()):
        exit_past_stuck_workers(code)       # a pipeline worker that could not be stopped
    return code
