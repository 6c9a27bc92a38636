"""Helpers the command-line tests share: decode a stream, check a one-line error."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from livecodec.codec import Decoder, PacketReader

__all__ = ["decode_stream", "one_error_line"]


def decode_stream(path: Path) -> list[np.ndarray]:
    with open(path, "rb") as f:
        reader = PacketReader(f)
    decoder = Decoder()
    return [decoder.decode_packet(p).image for p in reader]


def one_error_line(capfd) -> str:
    """The single stderr line of a failed command (fd-level: also catches C libraries)."""
    err = capfd.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert "Traceback" not in err
    assert lines[0].startswith("livecodec: error: ")
    return lines[0]
