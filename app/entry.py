"""The ``livecodec`` console entry: a Ctrl+C while the heavy modules load ends quietly too."""
from __future__ import annotations

import sys


def main() -> int:
    """Import the command (numba, OpenCV, scikit-learn: a few seconds) and run it."""
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("livecodec: interrupted", file=sys.stderr)
        return 1
    return run()
