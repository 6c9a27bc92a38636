"""Decoding a damaged stream: resynchronise, resume at the next refresh, conceal what was lost.

Used by ``livecodec decode`` and by the live pipeline's decoder: every intact frame comes out,
and every lost frame is replaced by the last good picture, so the frame count and timing of
the output hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .bitstream import Packet, parse_packet
from .decoder import DecodedFrame, Decoder
from .errors import BitstreamError

__all__ = ["RecoveredFrame", "ConcealingDecoder", "recover_frames"]

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


class ConcealingDecoder:
    """A Decoder that never raises: damage becomes concealed frames and problem reports.

    Feed it packets (or ``BitstreamError`` instances for damaged stretches of bytes) in stream
    order; each call returns the frames to show, oldest first.
    """

    def __init__(self) -> None:
        self._decoder = Decoder()
        self._last_image: np.ndarray | None = None
        self._last_index: int | None = None
        self._pending_damage: str | None = None
        self.problems: list[str] = []

    def feed(self, item: Packet | BitstreamError | bytes) -> list[RecoveredFrame]:
        """Frames that ``item`` completes: concealed ones for a gap, then its own."""
        if isinstance(item, (bytes, bytearray)):
            try:
                item = parse_packet(item)
            except BitstreamError as exc:
                item = exc
        if isinstance(item, BitstreamError):
            self._pending_damage = str(item)
            self.problems.append(f"damaged bytes: {item}")
            return []
        out: list[RecoveredFrame] = []
        if self._last_index is not None:
            gap = (item.frame_index - self._last_index) & 0xFFFF
            if gap == 0:
                self.problems.append(f"duplicate packet for frame {item.frame_index} dropped")
                return []
            if gap > MAX_CONCEALED_RUN:
                self.problems.append(f"packet with implausible frame index {item.frame_index} dropped")
                return []
            reason = self._pending_damage or "packet missing"
            out.extend(RecoveredFrame(self._last_image, (self._last_index + k) & 0xFFFF, reason)
                       for k in range(1, gap))
        try:
            decoded = self._decoder.decode_packet(item)
        except BitstreamError as exc:
            if self._last_image is None:
                self.problems.append(f"frame {item.frame_index}: {exc}")
                return out
            frame = RecoveredFrame(self._last_image, item.frame_index, str(exc))
        else:
            self._last_image = decoded.image
            frame = RecoveredFrame(decoded.image, item.frame_index, None, decoded)
        self._last_index = item.frame_index
        self._pending_damage = None
        out.append(frame)
        return out


def recover_frames(items: Iterable[Packet | BitstreamError],
                   problems: list[str] | None = None) -> Iterator[RecoveredFrame]:
    """Decode packets (and damage reports, as ``PacketReader`` yields them) into frames.

    Args:
        items: packets in stream order, with ``BitstreamError`` instances where bytes were bad.
        problems: if given, receives one line per damaged stretch or dropped packet that did not
            produce an output frame (e.g. damage before the first picture, a duplicate packet).
    """
    decoder = ConcealingDecoder()
    for item in items:
        yield from decoder.feed(item)
        if problems is not None:
            problems.extend(decoder.problems)
        decoder.problems.clear()
