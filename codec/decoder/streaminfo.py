"""What a stream holds, read from its packet headers without decoding a picture."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..common.bitstream import PACKET_REFRESH, FileHeader, Packet
from ..common.errors import BitstreamError
from ..common.framing import unpack_refresh_header
from ..common.modes import FRAME_PREDICTED, FRAME_REFRESH
from .recovery import restarts_numbering

__all__ = ["StreamInfo", "read_stream_info"]


@dataclass
class StreamInfo:
    """Counts over a whole stream.

    ``frame_sizes`` lists each distinct (width, height) in order of first appearance (more
    than one when a refresh changes the size); ``segments`` counts the joined streams, by the
    rules ``ConcealingDecoder`` follows (a file header, or a refresh that restarts numbering).
    """

    frames: dict[str, int] = field(default_factory=lambda: {FRAME_REFRESH: 0, FRAME_PREDICTED: 0})
    bytes: dict[str, int] = field(default_factory=lambda: {FRAME_REFRESH: 0, FRAME_PREDICTED: 0})
    frame_sizes: list[tuple[int, int]] = field(default_factory=list)
    segments: int = 1
    damaged: int = 0
    bad_headers: int = 0

    @property
    def total_frames(self) -> int:
        return sum(self.frames.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


def read_stream_info(items: Iterable[Packet | BitstreamError | FileHeader]) -> StreamInfo:
    """Summarise the items of a ``PacketReader`` (or any packets in stream order)."""
    info = StreamInfo()
    previous: Packet | None = None
    for item in items:
        if isinstance(item, BitstreamError):
            info.damaged += 1
            continue
        if isinstance(item, FileHeader):
            info.segments += previous is not None
            previous = None
            continue
        if previous is not None and restarts_numbering(item, previous):
            info.segments += 1
        previous = item
        kind = FRAME_REFRESH if item.type == PACKET_REFRESH else FRAME_PREDICTED
        info.frames[kind] += 1
        info.bytes[kind] += item.size
        if kind == FRAME_REFRESH:
            try:
                header, _ = unpack_refresh_header(item.payload)
            except BitstreamError:
                info.bad_headers += 1
                continue
            size = (header.width, header.height)
            if size not in info.frame_sizes:
                info.frame_sizes.append(size)
    return info
