"""AVI recording of the reconstructed stream through OpenCV's VideoWriter.

cv2.VideoWriter reports no write errors: on a full disk it drops frames silently and release()
cannot write the AVI index (on a full 3 MB tmpfs, XVID and MJPG files alike ended with a frame
count of 0: FFmpeg still decodes them by scanning, but players cannot seek or show a length).
So the recorder watches the free space itself and finishes the file while the index still fits.

The file is written beside the target under a temporary name (app/outputs.py) and renamed into
place when it is finished, so an existing file at the target keeps its contents until a
complete recording replaces it; a recording that got no frame leaves no file at all.

OpenCV's FFmpeg writer rounds odd frame sizes down to even ones (for XVID, MJPG and FFV1 alike:
641x479 came back as 640x478), so odd sizes are padded to even by repeating the last row or
column, and ``Recorder.size_note`` says so.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from livecodec.app.outputs import OutputError, PendingOutput, check_writable
from livecodec.app.sources import resized

__all__ = ["Recorder", "RecorderError", "DiskFullError", "check_output_path", "check_fourcc",
           "free_bytes", "letterbox", "even_size", "DEFAULT_FOURCC", "FALLBACK_FOURCC"]

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
    recorder checks it and raises instead (``letterbox`` fits another size in). When ``fourcc``
    cannot open, MJPG is tried before giving up; ``fourcc`` then tells which one is in use. Every
    SPACE_CHECK_FRAMES frames the free disk space is checked: when it runs low, the file is
    finished and DiskFullError raised.

    Frames go to a temporary file beside ``path``; ``close()`` renames it to ``path`` when at
    least one frame was written and removes it otherwise, so ``path`` is only ever replaced by
    a finished, playable file.

    Args:
        path: output file; its folder must exist and be writable.
        fps: frame rate written into the file (the stream's rate).
        fourcc: four-character codec code, e.g. "XVID", "MJPG", "FFV1".
        size: (width, height) of the frames, if already known.

    Attributes:
        size: (width, height) of the frames write() takes.
        size_note: one line when the file's picture size differs from ``size`` (odd sizes are
            padded to even), e.g. "641x479 padded to 642x480 for XVID"; None otherwise.
        saved: True once close() put a recording with frames at ``path``.
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
        self.size_note: str | None = None
        self.saved = False
        self.frames_written = 0
        self._writer: cv2.VideoWriter | None = None
        self._pad: tuple[int, int] = (0, 0)
        self._closed = False
        try:
            self._pending = PendingOutput(self.path)
        except (OutputError, OSError) as exc:
            raise RecorderError(_one_line(exc, self.path)) from None
        if size is not None:
            try:
                self._open(size)
            except RecorderError:
                self._pending.discard()
                self._closed = True
                raise

    @property
    def temp_path(self) -> Path:
        """Where the frames go until close() renames the file to ``path``."""
        return self._pending.path

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
        if self._pad != (0, 0):
            frame = cv2.copyMakeBorder(frame, 0, self._pad[1], 0, self._pad[0],
                                       cv2.BORDER_REPLICATE)
        self._writer.write(np.ascontiguousarray(frame))
        self.frames_written += 1

    def _check_space(self, raw_bytes: int) -> None:
        """Finish the file and raise DiskFullError unless the next SPACE_CHECK_FRAMES frames
        (twice the average so far, for refresh-frame peaks), the index and the reserve fit."""
        if self.frames_written:
            per_frame = os.path.getsize(self.temp_path) / self.frames_written
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
        """Finalise the file (writes the AVI index) and move it to ``path``; with no frame
        written, remove it instead (``path`` stays as it was). Safe to call twice.

        Raises RecorderError (once) when the finished file cannot be renamed to ``path``; it is
        then left under ``temp_path``.
        """
        if not self._end():
            return
        if not self.frames_written:
            self._pending.discard()
            return
        try:
            self._pending.commit()
        except OSError as exc:
            raise RecorderError(f"cannot move the recording {self.temp_path} to {self.path}: "
                                f"{exc.strerror or exc}") from None
        self.saved = True

    def abort(self) -> None:
        """Stop without keeping anything: the temporary file goes, ``path`` stays as it was."""
        if self._end():
            self._pending.discard()

    def _end(self) -> bool:
        """Release the writer (it writes the AVI index); False when already closed or aborted."""
        if self._closed:
            return False
        self._closed = True
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        return True

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _open(self, size: tuple[int, int]) -> None:
        width, height = size
        if width < 1 or height < 1:
            raise RecorderError(f"cannot record frames of size {width}x{height}")
        file_size = even_size(size)
        for code in dict.fromkeys((self.requested_fourcc, FALLBACK_FOURCC)):
            writer = _quiet_writer(self.temp_path, code, self.fps, file_size)
            if writer.isOpened():
                self._writer, self.fourcc, self.size = writer, code, (width, height)
                self._pad = (file_size[0] - width, file_size[1] - height)
                if file_size != size:
                    self.size_note = (f"{width}x{height} padded to {file_size[0]}x{file_size[1]} "
                                      f"for {code}")
                return
            writer.release()
        raise RecorderError(f"cannot record to {self.path}: OpenCV opened neither "
                            f"{self.requested_fourcc} nor {FALLBACK_FOURCC} for this file type")


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) rounded up to even numbers: what a video file can hold unchanged."""
    return size[0] + size[0] % 2, size[1] + size[1] % 2


def letterbox(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """frame scaled to fit (width, height) with its aspect kept, centred on black bars."""
    width, height = size
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = min(width / w, height / h)
    fitted_w = min(width, max(1, round(w * scale)))
    fitted_h = min(height, max(1, round(h * scale)))
    fitted = resized(frame, (fitted_w, fitted_h))
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - fitted_h) // 2, (width - fitted_w) // 2
    canvas[top:top + fitted_h, left:left + fitted_w] = fitted
    return canvas


def _one_line(exc: BaseException, path: Path) -> str:
    if isinstance(exc, OSError):
        return f"cannot write {path}: {exc.strerror or exc}"
    return str(exc)


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
    isOpened() == False); nothing is created."""
    path = Path(path)
    folder = path.parent
    if not path.is_dir() and not folder.exists():
        raise RecorderError(f"cannot write {path}: folder {folder} does not exist")
    try:
        check_writable(path)
    except OutputError as exc:
        raise RecorderError(str(exc)) from None
