"""Shared test footage: where the clips live, and readers that skip when one is absent.

Small clips are decoded once per process and kept (read-only, so no test can change what the
next one sees); a clip larger than CACHE_LIMIT_BYTES decoded is read afresh on every call and
freed with the test that used it (scene_cuts.mp4 whole is 250 frames of 1280x272: 261 MB,
which a cache would hold for the rest of the session). ``iter_frames`` streams a clip frame by
frame for tests that need only one frame at a time. ``write_clip`` makes a small clip of any
size with OpenCV alone, ``read_video`` reads back a file a test wrote.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest

#: ``../shared/media`` seen from the repository root (see that folder's README).
MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
#: Largest decoded clip kept for the session (carphone.mp4 whole: 120 x 176x144x3 = 9 MB).
CACHE_LIMIT_BYTES = 32 * 2**20


def media_path(name: str) -> Path:
    """Path of a test clip; skips the calling test with the reason when the clip is absent."""
    path = MEDIA / name
    if not path.is_file():
        pytest.skip(f"test clip {path} is not on this machine")
    return path


def _decode(path: Path, n: int | None) -> Iterator[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    try:
        count = 0
        while n is None or count < n:
            ok, frame = capture.read()
            if not ok:
                break
            count += 1
            frame.setflags(write=False)
            yield frame
    finally:
        capture.release()


def _decoded_bytes(path: Path) -> int:
    """Size of the whole clip decoded, from its header (0 when OpenCV cannot tell)."""
    capture = cv2.VideoCapture(str(path))
    try:
        frames, width, height = (int(capture.get(p)) for p in (
            cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()
    return max(0, frames) * width * height * 3


@functools.lru_cache(maxsize=4)
def _cached_clip(path: Path) -> tuple[np.ndarray, ...]:
    return tuple(_decode(path, None))


def read_frames(name: str, n: int | None = None) -> list[np.ndarray]:
    """The first ``n`` frames (all when None) of a clip as read-only BGR uint8 arrays; skips the
    calling test when the clip is absent or unreadable."""
    path = media_path(name)
    if _decoded_bytes(path) <= CACHE_LIMIT_BYTES:
        frames = list(_cached_clip(path)[:n])
    else:
        frames = list(_decode(path, n))
    if not frames:
        pytest.skip(f"OpenCV cannot read test clip {path}")
    return frames


def iter_frames(name: str) -> Iterator[np.ndarray]:
    """The frames of a clip one at a time (read-only BGR uint8), never all in memory; skips the
    calling test when the clip is absent or unreadable."""
    path = media_path(name)
    frames = _decode(path, None)
    first = next(frames, None)
    if first is None:
        pytest.skip(f"OpenCV cannot read test clip {path}")
    yield first
    yield from frames


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video file a test wrote (not cached)."""
    return [frame.copy() for frame in _decode(Path(path), None)]


def write_clip(path: Path, size: tuple[int, int], frames: int, fps: float = 30.0) -> Path:
    """A short MJPG clip of flat grey frames, written with OpenCV (no ffmpeg needed)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 20 * i % 256, np.uint8))
    writer.release()
    return path


def wide_clip(folder: Path, size: tuple[int, int] = (4200, 16), frames: int = 8) -> Path:
    """A clip wider than the codec takes (4096 pixels a side)."""
    return write_clip(Path(folder) / "wide.avi", size, frames)
