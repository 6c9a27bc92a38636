"""Shared test footage: where the clips live, and a cached reader that skips when one is absent."""
from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest

#: ``../shared/media`` seen from the repository root (see that folder's README).
MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"


def media_path(name: str) -> Path:
    """Path of a test clip; skips the calling test with the reason when the clip is absent."""
    path = MEDIA / name
    if not path.is_file():
        pytest.skip(f"test clip {path} is not on this machine")
    return path


@functools.lru_cache(maxsize=8)
def _read(path: Path, n: int | None) -> tuple[np.ndarray, ...]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while n is None or len(frames) < n:
            ok, frame = capture.read()
            if not ok:
                break
            frame.setflags(write=False)
            frames.append(frame)
    finally:
        capture.release()
    return tuple(frames)


def read_frames(name: str, n: int | None = None) -> list[np.ndarray]:
    """The first ``n`` frames (all when None) of a clip as read-only BGR uint8 arrays, decoded
    once per process; skips the calling test when the clip is absent or unreadable."""
    frames = _read(media_path(name), n)
    if not frames:
        pytest.skip(f"OpenCV cannot read test clip {MEDIA / name}")
    return list(frames)
