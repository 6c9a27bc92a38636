"""Output files that never destroy what a user had: checked first, written beside, renamed last.

Every command and the window write through here: an existing file keeps its old contents
until the new one is complete (written to a temporary file in the same folder, then renamed
over it), and an output that is one of the command's inputs is refused before anything runs.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

__all__ = ["OutputError", "check_writable", "check_not_input", "PendingOutput"]


def _file_mode() -> int:
    """rw for whom the umask allows: mkstemp makes 0600 files, a finished output gets the usual
    mode. Read once at import, while only one thread runs (os.umask can only be read by setting)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


class OutputError(Exception):
    """An output that cannot or must not be written; the message is one line naming why."""


def check_writable(path: str | os.PathLike[str]) -> Path:
    """The output path, or OutputError saying why it cannot be written (nothing is touched)."""
    out = Path(path)
    if out.is_dir():
        raise OutputError(f"cannot write {out}: it is a folder")
    folder = out.parent
    if not folder.is_dir():
        reason = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"cannot write {out}: {folder} {reason}")
    if not os.access(folder, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise OutputError(f"cannot write {out}: permission denied")
    return out


def _same_file(a: Path, b: Path) -> bool:
    """True when a and b name one file: same resolved path, or the same inode (hard links)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:         # either does not exist (yet)
        return False


def check_not_input(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
    """OutputError when output is the same file as one of inputs (also through links)."""
    out = Path(output)
    for source in inputs:
        if _same_file(out, Path(source)):
            raise OutputError(f"output {out} is the same file as the input {source}: choose another output")


class PendingOutput:
    """A temporary file beside ``target`` that becomes ``target`` on ``commit()``.

    The temporary name keeps the target's suffix, because writers such as cv2.VideoWriter and
    cv2.imwrite choose the container by it. ``discard()`` removes it and leaves the target as it
    was. Use ``with``: leaving normally commits, leaving by any exception (Ctrl+C included)
    discards; a caller that wants to keep a partial result catches the exception inside and
    leaves normally. A symlinked target is followed, so the link stays a link; a replaced file
    keeps its permission bits.
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = check_writable(target)
        self._final = self.target.resolve()
        handle, name = tempfile.mkstemp(prefix=f".{self._final.stem}.", suffix=f".part{self._final.suffix}",
                                        dir=self._final.parent)
        os.close(handle)
        self.path = Path(name)
        self._done = False

    def commit(self) -> Path:
        """Move the finished file over the target (atomic on one file system)."""
        if not self._done:
            try:
                mode = self._final.stat().st_mode & 0o7777
            except OSError:         # no file there yet
                mode = _FILE_MODE
            os.chmod(self.path, mode)
            os.replace(self.path, self._final)
            self._done = True
        return self.target

    def discard(self) -> None:
        """Remove the temporary file; the target is untouched."""
        if not self._done:
            self.path.unlink(missing_ok=True)
            self._done = True

    @property
    def finished(self) -> bool:
        return self._done

    def __enter__(self) -> "PendingOutput":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
