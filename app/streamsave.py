"""Saving the compressed stream as it is produced: a ``.lvc`` file that survives a crash.

Every packet is handed to the operating system as soon as it is written, so a process killed
at any moment (``kill -9``, a power cut aside) leaves a file that decodes up to its last whole
packet; a half-written last packet is damage the reader skips. Until the first packet is
written the stream lives in a temporary file beside the target, so a save that never got a
frame leaves a file already at that path as it was (as a recording does).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO

from livecodec.codec import write_file_header

from .outputs import OutputError, PendingOutput, check_writable

__all__ = ["StreamSaver", "StreamSaveError", "saved_path_note", "check_stream_path",
           "STREAM_SUFFIX"]

#: The suffix of saved streams (what `livecodec decode` and the window's player open).
STREAM_SUFFIX = ".lvc"


class StreamSaveError(Exception):
    """The stream cannot be (or can no longer be) written; one line naming the file and why."""


def check_stream_path(path: str | os.PathLike[str]) -> Path:
    """The path, or OutputError when a stream cannot be saved there (nothing is touched)."""
    if Path(path).suffix.lower() != STREAM_SUFFIX:
        raise OutputError(f"a saved stream should end in {STREAM_SUFFIX}: {path}")
    return check_writable(path)


class StreamSaver:
    """Writes codec packets to ``path`` as a ``.lvc`` file, one flush per packet.

    ``write(packet, new_stream=True, fps=...)`` begins a new segment (a file header) first: a
    new encoder (another source, another frame size or rate) restarts its frame numbers, and
    the header tells a reader to decode what follows from scratch at that frame rate (``fps``
    is used only there: the first header's too). One thread may write while another closes.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float) -> None:
        try:
            self._pending: PendingOutput | None = PendingOutput(path)
            write_file_header(fps)      # a bad rate fails here, before any packet
        except (OutputError, ValueError) as exc:
            raise StreamSaveError(str(exc)) from None
        except OSError as exc:
            raise StreamSaveError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.path = self._pending.target
        self.fps = fps
        self.packets_written = 0
        self.bytes_written = 0
        self._lock = threading.Lock()
        try:
            self._file: BinaryIO | None = open(self._pending.path, "wb")
        except OSError as exc:
            self._pending.discard()
            raise StreamSaveError(f"cannot write {path}: {exc.strerror or exc}") from None
        self._header_due = True

    @property
    def saved(self) -> bool:
        """Whether the file at ``path`` is this stream (at least one packet was written)."""
        return self.packets_written > 0

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(self, packet: bytes, *, new_stream: bool = False, fps: float | None = None) -> None:
        """Append one packet (after a file header when a stream begins) and flush it."""
        with self._lock:
            self._write(bytes(packet), new_stream, fps)

    def _write(self, data: bytes, new_stream: bool, fps: float | None) -> None:
        if self._file is None:
            raise StreamSaveError(f"{self.path.name} is closed")
        if new_stream or self._header_due:
            self.fps = fps or self.fps
            data = write_file_header(self.fps) + data
            self._header_due = False
        try:
            self._file.write(data)
            self._file.flush()
            if self._pending is not None:
                # The first packet is in: from now on the file is the target, so a crash leaves
                # it there (the open handle keeps writing to the renamed file).
                self._pending.commit()
                self._pending = None
        except OSError as exc:
            self._close()
            raise StreamSaveError(f"saving {self.path.name} stopped: {exc.strerror or exc}; "
                                  f"it keeps {self.packets_written} packets") from None
        self.packets_written += 1
        self.bytes_written += len(data)

    def close(self) -> None:
        """Finish the file; a save that got no packet removes its temporary file."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            file.close()
        finally:
            if self._pending is not None:
                self._pending.discard()
                self._pending = None

    def __enter__(self) -> "StreamSaver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def saved_path_note(saver: StreamSaver) -> str:
    """One line for the user on what became of a save."""
    if saver.saved:
        return f"stream saved to {saver.path}: {saver.packets_written} packets, {saver.bytes_written} bytes"
    return f"no packet was saved; {Path(saver.path).name} was not written"
