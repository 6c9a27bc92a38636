"""AVI recording of the reconstructed stream through OpenCV's VideoWriter.

cv2.VideoWriter reports no write errors: on a full disk it drops frames silently and release()
cannot write the AVI index (on a full 3 MB tmpfs, XVID and MJPG files alike ended with a frame
count of 0: FFmpeg still decodes them by scanning, but players cannot seek or show a length).
So the recorder watches the free space itself and finishes the file while the index still fits.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

__all__ = ["Recorder", "RecorderError", "DiskFullError", "check_output_path", "check_fourcc",
           "free_bytes", "DEFAULT_FOURCC", "FALLBACK_FOURCC"]

#: MPEG-4 Part 2 in AVI: small files that every player opens.
DEFAULT_FOURCC = "XVID"
#: Motion-JPEG is built into OpenCV itself, so it opens where an FFmpeg codec is missing.
FALLBACK_FOURCC = "MJPG"

#: Free space looked up every this many frames (a second at 30 fps): cheap enough, and often
#: enough that the margin below covers what is written in between.
SPACE_CHECK_FRAMES = 30
#: Always left free: write buffers of the writer and the file system, and the AVI headers.
SPACE_RESERVE_BYTES = 1 << 20
#: Bytes of AVI index per frame, written by release(): 16 (idx1 entry), doubled for the
#: OpenDML index FFmpeg adds.
INDEX_BYTES_PER_FRAME = 32
#: Before anything is written, a coded frame is assumed to be this fraction of the raw one
#: (intra-coded MJPG/XVID camera pictures measure 1/10 to 1/20).
FIRST_FRAME_FRACTION = 0.1


class RecorderError(Exception):
    """A recording that cannot start or continue; the message is one line naming the cause."""


class DiskFullError(RecorderError):
    """The disk is almost full: the recording was finished (still playable) before it filled."""


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding folder."""
    return shutil.disk_usage(folder).free


class Recorder:
    """Writes BGR frames of one fixed size to a video file at a fixed frame rate.

    The writer opens at construction when ``size`` is given, otherwise at the first frame, whose
    size every later frame must match: OpenCV silently drops a frame of the wrong size, so the
    recorder checks it and raises instead. When ``fourcc`` cannot open, MJPG is tried before
    giving up; ``fourcc`` then tells which one is in use. Every SPACE_CHECK_FRAMES frames the
    free disk space is checked: when it runs low, the file is finished and DiskFullError raised.

    Args:
        path: output file; its folder must exist and be writable.
        fps: frame rate written into the file (the stream's rate).
        fourcc: four-character codec code, e.g. "XVID", "MJPG", "FFV1".
        size: (width, height) of the frames, if already known.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, *, fourcc: str = DEFAULT_FOURCC,
                 size: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        check_fourcc(fourcc)
        if not fps > 0:
            raise RecorderError(f"recording frame rate must be positive, got {fps!r}")
        check_output_path(self.path)
        self.fps = float(fps)
        self.requested_fourcc = fourcc
        self.fourcc: str | None = None
        self.size: tuple[int, int] | None = None
        self.frames_written = 0
        self._writer: cv2.VideoWriter | None = None
        self._closed = False
        if size is not None:
            self._open(size)

    @property
    def duration_s(self) -> float:
        """Playing time of what has been written so far."""
        return self.frames_written / self.fps

    @property
    def fell_back(self) -> bool:
        """True when the requested fourcc could not open and MJPG is used instead."""
        return self.fourcc is not None and self.fourcc != self.requested_fourcc

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, frame: np.ndarray) -> None:
        """Append one H×W×3 uint8 BGR frame."""
        if self._closed:
            raise RecorderError(f"recording {self.path} is already finished")
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise RecorderError(f"recorder takes H×W×3 uint8 frames, got {frame.dtype} {frame.shape}")
        size = (frame.shape[1], frame.shape[0])
        if self._writer is None:
            self._open(size)
        elif size != self.size:
            raise RecorderError(f"frame size {size[0]}x{size[1]} differs from the recording's "
                                f"{self.size[0]}x{self.size[1]}")
        if self.frames_written % SPACE_CHECK_FRAMES == 0:
            self._check_space(frame.nbytes)
        self._writer.write(np.ascontiguousarray(frame))
        self.frames_written += 1

    def _check_space(self, raw_bytes: int) -> None:
        """Finish the file and raise DiskFullError unless the next SPACE_CHECK_FRAMES frames
        (twice the average so far, for refresh-frame peaks), the index and the reserve fit."""
        if self.frames_written:
            per_frame = os.path.getsize(self.path) / self.frames_written
        else:
            per_frame = raw_bytes * FIRST_FRAME_FRACTION
        upcoming = self.frames_written + SPACE_CHECK_FRAMES
        needed = (SPACE_RESERVE_BYTES + 2 * SPACE_CHECK_FRAMES * per_frame
                  + INDEX_BYTES_PER_FRAME * upcoming)
        free = free_bytes(self.path.parent)
        if free < needed:
            self.close()
            full = f"disk almost full ({free / 1e6:.1f} MB free)"
            if not self.frames_written:
                raise DiskFullError(f"{full}: no room to record {self.path.name}")
            raise DiskFullError(f"{full}: recording stopped after {self.frames_written} frames, "
                                f"{self.path.name} is playable")

    def close(self) -> None:
        """Finalise the file (writes the AVI index); safe to call twice."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._closed = True

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _open(self, size: tuple[int, int]) -> None:
        width, height = size
        if width < 1 or height < 1:
            raise RecorderError(f"cannot record frames of size {width}x{height}")
        for code in dict.fromkeys((self.requested_fourcc, FALLBACK_FOURCC)):
            writer = _quiet_writer(self.path, code, self.fps, (width, height))
            if writer.isOpened():
                self._writer, self.fourcc, self.size = writer, code, (width, height)
                return
            writer.release()
        raise RecorderError(f"cannot record to {self.path}: OpenCV opened neither "
                            f"{self.requested_fourcc} nor {FALLBACK_FOURCC} for this file type")


def _quiet_writer(path: Path, fourcc: str, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """Open a VideoWriter without OpenCV's multi-line log for a codec it lacks: we say it better."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        return cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    finally:
        cv2.utils.logging.setLogLevel(previous)


def check_fourcc(fourcc: str) -> None:
    """Raise RecorderError unless fourcc is a four-character code."""
    if len(fourcc) != 4 or not fourcc.isascii():
        raise RecorderError(f"fourcc must be 4 ASCII characters (e.g. XVID, MJPG), got {fourcc!r}")


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Raise RecorderError naming the reason path cannot be written (cv2.VideoWriter only says
    isOpened() == False)."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise RecorderError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise RecorderError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise RecorderError(f"cannot write {path}: permission denied")
