"""RTP data packets (RFC 3550 §5.1) with the capture-time header extension (RFC 8285 one-byte
form), and the link's own 8-byte payload header that numbers a frame's fragments.

Network byte order (big-endian) throughout, as RTP specifies; docs/LINK.md has the diagrams.
Parsing checks every length against the bytes actually present before it reads a field.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import WireError

__all__ = ["PAYLOAD_TYPE", "RTP_CLOCK_HZ", "MAX_FRAGMENTS", "RtpPacket", "FragmentHeader",
           "build_rtp", "parse_rtp", "to_ntp", "from_ntp", "FRAGMENT_HEADER_BYTES"]

RTP_VERSION = 2
#: A dynamic payload type (RFC 3551 §6): livecodec packets; outside RTCP's 192-223 even with
#: the marker bit set, so RTP and RTCP share one port (RFC 5761 §4).
PAYLOAD_TYPE = 96
#: Video RTP clock (RFC 3551 §5).
RTP_CLOCK_HZ = 90_000
#: RFC 8285 one-byte header extension profile, and the element ID of the capture time.
ONE_BYTE_PROFILE = 0xBEDE
CAPTURE_TIME_ID = 1
#: 1900 (NTP's epoch) to 1970 (Unix time) in seconds.
NTP_UNIX_OFFSET = 2_208_988_800

_FIXED = struct.Struct(">BBHII")        # V/P/X/CC, M/PT, sequence, timestamp, SSRC
_EXT_HEAD = struct.Struct(">HH")        # profile, length in 32-bit words
#: The extension as sent: header, element byte (ID 1, length 8), 8 bytes of NTP time, 3 bytes
#: padding: 16 bytes in all.
_CAPTURE_EXT = struct.Struct(">HHBQ3x")

#: Media fragments of one frame at most: 4096 x 1146 bytes, a codec packet of 4,694,016 bytes.
MAX_FRAGMENTS = 4096
_FRAGMENT = struct.Struct(">BBHHH")     # flags, parity groups, frame number, index, count
FRAGMENT_HEADER_BYTES = _FRAGMENT.size
_PAYLOAD_VERSION = 1
_FLAG_PARITY, _FLAG_REFRESH = 0x20, 0x10


def to_ntp(seconds: float) -> int:
    """Unix time in seconds as 64-bit NTP time (32.32 fixed point since 1900)."""
    return int(round((seconds + NTP_UNIX_OFFSET) * 2**32)) & 0xFFFF_FFFF_FFFF_FFFF


def from_ntp(value: int) -> float:
    return value / 2**32 - NTP_UNIX_OFFSET


@dataclass(frozen=True)
class RtpPacket:
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    capture_time: float | None          # sender wall clock (Unix seconds), from the extension
    payload: bytes


def build_rtp(*, marker: bool, sequence: int, timestamp: int, ssrc: int,
              capture_time: float | None, payload: bytes,
              payload_type: int = PAYLOAD_TYPE) -> bytes:
    """One RTP packet; with a capture time it carries the 16-byte header extension."""
    extension = capture_time is not None
    head = _FIXED.pack(RTP_VERSION << 6 | extension << 4, marker << 7 | payload_type,
                       sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF)
    if extension:
        head += _CAPTURE_EXT.pack(ONE_BYTE_PROFILE, 3, CAPTURE_TIME_ID << 4 | 7,
                                  to_ntp(capture_time))
    return head + payload


def parse_rtp(data: bytes) -> RtpPacket:
    """The packet in ``data``; WireError for anything that is not a well-formed RTP packet."""
    if len(data) < _FIXED.size:
        raise WireError(f"RTP packet of {len(data)} bytes is shorter than its header")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise WireError(f"RTP version {first >> 6}")
    end = len(data)
    if first & 0x20:                     # padding: the last byte counts it, itself included
        if not data[-1]:
            raise WireError("RTP padding count of 0")
        end -= data[-1]
    pos = _FIXED.size + 4 * (first & 0x0F)
    capture_time = None
    if first & 0x10:
        if pos + _EXT_HEAD.size > end:
            raise WireError("truncated RTP header extension")
        profile, words = _EXT_HEAD.unpack_from(data, pos)
        pos += _EXT_HEAD.size
        ext_end = pos + 4 * words
        if ext_end > end:
            raise WireError("RTP header extension runs past the packet")
        if profile == ONE_BYTE_PROFILE:
            capture_time = _capture_time(data, pos, ext_end)
        pos = ext_end
    if pos > end or end < _FIXED.size:
        raise WireError("RTP padding or header longer than the packet")
    return RtpPacket(bool(second & 0x80), second & 0x7F, sequence, timestamp, ssrc,
                     capture_time, bytes(data[pos:end]))


def _capture_time(data: bytes, pos: int, end: int) -> float | None:
    """The capture time among RFC 8285 one-byte elements in data[pos:end], if present."""
    while pos < end:
        element = data[pos]
        pos += 1
        if element == 0:                 # padding byte
            continue
        ident, length = element >> 4, (element & 0x0F) + 1
        if ident == 15:                  # reserved: stop reading (RFC 8285 §4.2)
            return None
        if pos + length > end:
            raise WireError("RTP header extension element runs past the extension")
        if ident == CAPTURE_TIME_ID and length == 8:
            return from_ntp(int.from_bytes(data[pos:pos + 8], "big"))
        pos += length
    return None


@dataclass(frozen=True)
class FragmentHeader:
    """The link's payload header: which part of which frame a datagram carries.

    Media fragments are ``index`` 0..count-1 of frame ``frame`` (the link's frame counter,
    modulo 2^16); a parity fragment (``parity``) is XOR group ``index`` of ``groups`` over
    that frame's ``count`` media fragments. ``refresh`` marks a refresh frame.
    """

    frame: int
    index: int
    count: int
    refresh: bool = False
    parity: bool = False
    groups: int = 0

    def pack(self) -> bytes:
        flags = _PAYLOAD_VERSION << 6 | self.parity * _FLAG_PARITY | self.refresh * _FLAG_REFRESH
        return _FRAGMENT.pack(flags, self.groups, self.frame & 0xFFFF, self.index, self.count)

    @classmethod
    def unpack(cls, payload: bytes) -> "FragmentHeader":
        """The header at the start of an RTP payload, checked against the link's limits."""
        if len(payload) <= _FRAGMENT.size:
            raise WireError(f"RTP payload of {len(payload)} bytes holds no fragment")
        flags, groups, frame, index, count = _FRAGMENT.unpack_from(payload)
        if flags >> 6 != _PAYLOAD_VERSION or flags & 0x0F:
            raise WireError(f"unknown payload header flags {flags:#04x}")
        if not 1 <= count <= MAX_FRAGMENTS:
            raise WireError(f"fragment count {count} is out of 1..{MAX_FRAGMENTS}")
        parity = bool(flags & _FLAG_PARITY)
        if parity and not (1 <= groups <= count and index < groups):
            raise WireError(f"parity group {index} of {groups} over {count} fragments")
        if not parity and (groups or index >= count):
            raise WireError(f"fragment {index} of {count}")
        return cls(frame, index, count, bool(flags & _FLAG_REFRESH), parity, groups)
