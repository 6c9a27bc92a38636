"""Decoding a damaged stream: resynchronise, resume at the next refresh, conceal what was lost.

Used by ``livecodec decode`` and by the live pipeline's decoder: every intact frame comes out,
and every lost frame is replaced by the last good picture, so the frame count and timing of
the output hold.

Streams joined one after another (``cat a.lvc b.lvc``, or an encoder restarted on the same
connection) are *segments*: a second file header, or a refresh packet whose frame number
restarts instead of following on, begins a new segment that is decoded from scratch, with no
frames concealed across the seam.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ..common.bitstream import PACKET_REFRESH, FileHeader, Packet, parse_packet
from ..common.errors import BitstreamError
from ..common.parallel import check_threads
from .decoder import DecodedFrame, Decoder

__all__ = ["RecoveredFrame", "ConcealingDecoder", "recover_frames", "restarts_numbering",
           "index_gap"]

#: A CRC-valid packet whose index jumps further ahead than this is treated as damage, not as
#: thousands of lost frames to conceal (a minute at 30 fps is already generous).
MAX_CONCEALED_RUN = 1800


@dataclass(frozen=True)
class RecoveredFrame:
    """One output frame; ``problem`` says why it was concealed (None for a decoded frame)."""

    image: np.ndarray
    frame_index: int
    problem: str | None = None
    decoded: DecodedFrame | None = None     # the decoder's view of it, when it was decoded
    segment: int = 0                        # which joined stream it belongs to, from 0


def index_gap(index: int, previous_index: int) -> int:
    """Frame numbers from previous_index forward to index (indices wrap at 2^16)."""
    return (index - previous_index) & 0xFFFF


def restarts_numbering(packet: Packet, previous: Packet) -> bool:
    """Whether ``packet``, coming after ``previous``, begins a segment: a refresh packet whose
    number does not follow on and that is no duplicate."""
    if packet.type != PACKET_REFRESH:
        return False
    gap = index_gap(packet.frame_index, previous.frame_index)
    return gap > MAX_CONCEALED_RUN or (gap == 0 and packet.payload != previous.payload)


class ConcealingDecoder:
    """A Decoder that never raises: damage becomes concealed frames and problem reports.

    Feed it packets (or ``BitstreamError`` instances for damaged stretches of bytes, and
    ``FileHeader`` where a joined stream begins) in stream order; each call returns the frames
    to show, oldest first. ``segment`` counts the segments begun so far (from 0).
    """

    def __init__(self, *, threads: int | None = None) -> None:
        self.threads = check_threads(threads)
        self.problems: list[str] = []
        self.segment = 0
        self._frames_in_segment = 0
        self._reset()

    def _reset(self) -> None:
        self._decoder = Decoder(threads=self.threads)
        self._last_image: np.ndarray | None = None
        self._last_packet: Packet | None = None
        self._pending_damage: str | None = None

    def _start_segment(self) -> None:
        """Decode what follows as a new stream: nothing is predicted or concealed across."""
        if self._frames_in_segment:
            self.segment += 1
            self._frames_in_segment = 0
        self._reset()

    def feed(self, item: Packet | BitstreamError | FileHeader | bytes) -> list[RecoveredFrame]:
        """Frames that ``item`` completes: concealed ones for a gap, then its own."""
        if isinstance(item, (bytes, bytearray)):
            try:
                item = parse_packet(item)
            except BitstreamError as exc:
                item = exc
        if isinstance(item, FileHeader):
            self._start_segment()
            return []
        if isinstance(item, BitstreamError):
            self._pending_damage = str(item)
            self.problems.append(f"damaged bytes: {item}")
            return []
        out: list[RecoveredFrame] = []
        last = self._last_packet
        if last is not None and restarts_numbering(item, last):
            self._start_segment()
            last = None
        if last is not None:
            gap = index_gap(item.frame_index, last.frame_index)
            if gap == 0:
                self.problems.append(f"duplicate packet for frame {item.frame_index} dropped")
                return []
            if gap > MAX_CONCEALED_RUN:
                self.problems.append(f"packet with implausible frame index {item.frame_index} dropped")
                return []
            reason = self._pending_damage or "packet missing"
            out.extend(RecoveredFrame(self._last_image, (last.frame_index + k) & 0xFFFF, reason,
                                      segment=self.segment) for k in range(1, gap))
        try:
            decoded = self._decoder.decode_packet(item)
        except BitstreamError as exc:
            if self._last_image is None:
                self.problems.append(f"frame {item.frame_index}: {exc}")
                return out
            frame = RecoveredFrame(self._last_image, item.frame_index, str(exc), segment=self.segment)
        else:
            self._last_image = decoded.image
            frame = RecoveredFrame(decoded.image, item.frame_index, None, decoded, self.segment)
        self._last_packet = item
        self._pending_damage = None
        out.append(frame)
        self._frames_in_segment += len(out)
        return out


def recover_frames(items: Iterable[Packet | BitstreamError | FileHeader],
                   problems: list[str] | None = None, *,
                   threads: int | None = None) -> Iterator[RecoveredFrame]:
    """Decode packets (and damage reports, as ``PacketReader`` yields them) into frames.

    Args:
        items: packets in stream order, with ``BitstreamError`` instances where bytes were bad
            and ``FileHeader`` where a joined stream begins (as ``PacketReader`` yields them).
        threads: threads the decoder uses per frame (default: the cores this process may use).
        problems: if given, receives one line per damaged stretch or dropped packet that did not
            produce an output frame (e.g. damage before the first picture, a duplicate packet).
    """
    decoder = ConcealingDecoder(threads=threads)
    for item in items:
        yield from decoder.feed(item)
        if problems is not None:
            problems.extend(decoder.problems)
        decoder.problems.clear()
