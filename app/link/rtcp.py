"""The RTCP messages the link uses: picture loss indication and generic NACK (RFC 4585 §6.3.1,
§6.2.1), BYE (RFC 3550 §6.6), and one APP packet (RFC 3550 §6.7) that tells where the stream
ends. Datagrams are reduced-size RTCP (RFC 5506): one or more of these packets, no SR/RR
needed first. They share the media port with RTP (RFC 5761).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, Union

from .errors import WireError

__all__ = ["Pli", "Nack", "Bye", "End", "RtcpMessage", "build_pli", "build_nack", "build_nacks",
           "build_bye", "build_end", "parse_rtcp", "is_rtcp", "nack_entries"]

PT_BYE, PT_APP, PT_RTPFB, PT_PSFB = 203, 204, 205, 206
FMT_GENERIC_NACK = 1        # RTPFB
FMT_PLI = 1                 # PSFB
#: The APP packet's name, and its subtype for "the stream ends here".
APP_NAME, APP_END = b"LVCE", 0
#: NACK entries per message at most (each asks for up to 17 packets).
MAX_NACK_ENTRIES = 64

_HEAD = struct.Struct(">BBH")           # V/P/count-or-FMT, PT, length in words minus one
_SSRC = struct.Struct(">I")
_FEEDBACK = struct.Struct(">BBHII")     # header + sender SSRC + media source SSRC
_ENTRY = struct.Struct(">HH")           # PID, BLP


@dataclass(frozen=True)
class Pli:
    sender_ssrc: int
    media_ssrc: int


@dataclass(frozen=True)
class Nack:
    sender_ssrc: int
    media_ssrc: int
    sequences: tuple[int, ...]          # 16-bit sequence numbers asked for again


@dataclass(frozen=True)
class Bye:
    ssrcs: tuple[int, ...]


@dataclass(frozen=True)
class End:
    """The sender's last frame number and last sequence number (both modulo 2^16)."""

    ssrc: int
    last_frame: int
    last_sequence: int


RtcpMessage = Union[Pli, Nack, Bye, End]


def is_rtcp(datagram: bytes) -> bool:
    """RTCP or RTP on a shared port: RTCP packet types are 192-223 (RFC 5761 §4)."""
    return len(datagram) >= 2 and 192 <= datagram[1] <= 223


def build_pli(sender_ssrc: int, media_ssrc: int) -> bytes:
    return _FEEDBACK.pack(0x80 | FMT_PLI, PT_PSFB, 2, sender_ssrc, media_ssrc)


def nack_entries(sequences: Iterable[int]) -> list[tuple[int, int]]:
    """(PID, BLP) pairs covering ``sequences`` (extended or 16-bit numbers, any order): each
    PID is a lost packet, bit i of BLP the packet PID + i + 1."""
    entries: list[tuple[int, int]] = []
    pid = blp = None
    for seq in sorted(set(sequences)):
        if pid is not None and 1 <= seq - pid <= 16:
            blp |= 1 << (seq - pid - 1)
            continue
        if pid is not None:
            entries.append((pid & 0xFFFF, blp))
        pid, blp = seq, 0
    if pid is not None:
        entries.append((pid & 0xFFFF, blp))
    return entries


def build_nack(sender_ssrc: int, media_ssrc: int, sequences: Iterable[int]) -> bytes:
    """A generic NACK asking again for ``sequences`` (the first MAX_NACK_ENTRIES entries;
    ``build_nacks`` covers any number)."""
    return build_nacks(sender_ssrc, media_ssrc, sequences)[0]


def build_nacks(sender_ssrc: int, media_ssrc: int, sequences: Iterable[int]) -> list[bytes]:
    """Generic NACKs asking again for every one of ``sequences``, one message per
    MAX_NACK_ENTRIES entries (each well under a datagram)."""
    entries = nack_entries(sequences)
    if not entries:
        raise ValueError("a NACK needs at least one sequence number")
    return [_FEEDBACK.pack(0x80 | FMT_GENERIC_NACK, PT_RTPFB, 2 + len(chunk), sender_ssrc,
                           media_ssrc) + b"".join(_ENTRY.pack(pid, blp) for pid, blp in chunk)
            for chunk in (entries[i:i + MAX_NACK_ENTRIES]
                          for i in range(0, len(entries), MAX_NACK_ENTRIES))]


def build_bye(ssrc: int) -> bytes:
    return _HEAD.pack(0x80 | 1, PT_BYE, 1) + _SSRC.pack(ssrc)


def build_end(ssrc: int, last_frame: int, last_sequence: int) -> bytes:
    return (_HEAD.pack(0x80 | APP_END, PT_APP, 3) + _SSRC.pack(ssrc) + APP_NAME
            + struct.pack(">HH", last_frame & 0xFFFF, last_sequence & 0xFFFF))


def parse_rtcp(datagram: bytes) -> list[RtcpMessage]:
    """The messages of a (compound) RTCP datagram; packet types the link does not use are
    skipped, anything malformed raises WireError."""
    messages: list[RtcpMessage] = []
    pos = 0
    while pos < len(datagram):
        if pos + _HEAD.size > len(datagram):
            raise WireError("truncated RTCP header")
        first, ptype, words = _HEAD.unpack_from(datagram, pos)
        if first >> 6 != 2:
            raise WireError(f"RTCP version {first >> 6}")
        end = pos + 4 * (words + 1)
        if end > len(datagram):
            raise WireError("RTCP packet runs past the datagram")
        body, count = datagram[pos + 4:end], first & 0x1F
        if first & 0x20:                 # padding (only allowed on the last packet)
            if end != len(datagram) or not 0 < datagram[end - 1] <= len(body):
                raise WireError("bad RTCP padding")
            body = body[:len(body) - datagram[end - 1]]
        message = _parse_one(ptype, count, body)
        if message is not None:
            messages.append(message)
        pos = end
    return messages


def _parse_one(ptype: int, count: int, body: bytes) -> RtcpMessage | None:
    if ptype in (PT_PSFB, PT_RTPFB):
        if len(body) < 8:
            raise WireError("RTCP feedback shorter than its two SSRCs")
        sender, media = struct.unpack_from(">II", body)
        if ptype == PT_PSFB and count == FMT_PLI:
            return Pli(sender, media)
        if ptype == PT_RTPFB and count == FMT_GENERIC_NACK:
            fci = body[8:]
            if len(fci) % 4 or not fci:
                raise WireError("generic NACK with a partial or no entry")
            sequences: list[int] = []
            for pid, blp in _ENTRY.iter_unpack(fci):
                sequences.append(pid)
                sequences.extend((pid + i + 1) & 0xFFFF for i in range(16) if blp >> i & 1)
            return Nack(sender, media, tuple(sequences))
        return None
    if ptype == PT_BYE:
        if len(body) < 4 * count:
            raise WireError("RTCP BYE shorter than its SSRC list")
        return Bye(tuple(struct.unpack_from(f">{count}I", body)))
    if ptype == PT_APP and body[4:8] == APP_NAME and count == APP_END:
        if len(body) < 12:
            raise WireError("truncated end-of-stream packet")
        ssrc, _, last_frame, last_sequence = struct.unpack_from(">I4sHH", body)
        return End(ssrc, last_frame, last_sequence)
    return None
