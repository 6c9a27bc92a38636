"""Decoding a damaged stream: resynchronise, resume at the next refresh, conceal what was lost.

Used by ``livecodec decode`` and anything else that plays a stream that may have been cut or
corrupted: every intact frame comes out, and every lost frame is replaced by the last good
picture, so the frame count and timing of the output hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .bitstream import Packet
from .decoder import Decoder
from .errors import BitstreamError

__all__ = ["RecoveredFrame", "recover_frames"]

#: A CRC-valid packet whose index jumps further ahead than this is treated as damage, not as
#: thousands of lost frames to conceal (a minute at 30 fps is already generous).
MAX_CONCEALED_RUN = 1800


@dataclass(frozen=True)
class RecoveredFrame:
    """One output frame; ``problem`` says why it was concealed (None for a decoded frame)."""

    image: np.ndarray
    frame_index: int
    problem: str | None = None


def recover_frames(items: Iterable[Packet | BitstreamError],
                   problems: list[str] | None = None) -> Iterator[RecoveredFrame]:
    """Decode packets (and damage reports, as ``PacketReader`` yields them) into frames.

    Args:
        items: packets in stream order, with ``BitstreamError`` instances where bytes were bad.
        problems: if given, receives one line per damaged stretch or dropped packet that did not
            produce an output frame (e.g. damage before the first picture, a duplicate packet).
    """
    decoder = Decoder()
    last_image: np.ndarray | None = None
    last_index: int | None = None
    pending_damage: str | None = None

    def note(message: str) -> None:
        if problems is not None:
            problems.append(message)

    for item in items:
        if isinstance(item, BitstreamError):
            pending_damage = str(item)
            note(f"damaged bytes: {item}")
            continue
        if last_index is not None:
            gap = (item.frame_index - last_index) & 0xFFFF
            if gap == 0:
                note(f"duplicate packet for frame {item.frame_index} dropped")
                continue
            if gap > MAX_CONCEALED_RUN:
                note(f"packet with implausible frame index {item.frame_index} dropped")
                continue
            for k in range(1, gap):
                yield RecoveredFrame(last_image, (last_index + k) & 0xFFFF,
                                     pending_damage or "packet missing")
        try:
            image = decoder.decode_packet(item).image
        except BitstreamError as exc:
            if last_image is None:
                note(f"frame {item.frame_index}: {exc}")
                continue
            image, problem = last_image, str(exc)
        else:
            problem = None
            last_image = image
        last_index = item.frame_index
        pending_damage = None
        yield RecoveredFrame(image, item.frame_index, problem)
