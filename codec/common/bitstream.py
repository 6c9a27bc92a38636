"""The .lvc container: file header, packets, CRC-32, bounded parsing and resynchronisation.

Layout (all integers little-endian; docs/BITSTREAM.md is the normative description):

    file header  = "LVCF" | version u8 | fps x1000 u32 | CRC-32 of the preceding 9 bytes u32
    packet       = SYNC (A7 5C) | type u8 | frame index u16 | payload length (LEB128, 1-4 bytes)
                   | payload | CRC-32 u32 of everything from type to the end of the payload

Parsing never trusts a length beyond ``MAX_PAYLOAD`` nor beyond the bytes actually present.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from .errors import BitstreamError, ChecksumError

__all__ = ["FORMAT_VERSION", "FILE_MAGIC", "SYNC", "PACKET_REFRESH", "PACKET_PREDICTED",
           "MAX_PAYLOAD", "Packet", "FileHeader", "write_file_header", "read_file_header",
           "build_packet", "parse_packet", "PacketReader", "FILE_HEADER_SIZE", "write_leb128",
           "read_leb128"]

#: Version written; version 1 (before slice counts in refresh headers) is still read.
FORMAT_VERSION = 7
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7)
FILE_MAGIC = b"LVCF"
FILE_HEADER_SIZE = 13
SYNC = b"\xa7\x5c"
PACKET_REFRESH = 0
PACKET_PREDICTED = 1
#: Largest payload accepted (a 4096x4096 refresh at quality 100 needs about a third of it).
MAX_PAYLOAD = 64 << 20
#: Frame rates are stored in thousandths; accepted range 0.001 .. 1000 fps.
MAX_FPS_MILLI = 1_000_000
_MAX_LENGTH_BYTES = 4       # LEB128 bytes for lengths < 2^28


@dataclass(frozen=True)
class FileHeader:
    version: int
    fps: float


@dataclass(frozen=True)
class Packet:
    """One parsed packet: ``type`` is PACKET_REFRESH or PACKET_PREDICTED."""

    type: int
    frame_index: int
    payload: bytes
    size: int          # bytes of the whole packet in the stream


def write_file_header(fps: float) -> bytes:
    milli = int(round(fps * 1000))
    if not 1 <= milli <= MAX_FPS_MILLI:
        raise ValueError(f"fps must be in 0.001..1000, got {fps}")
    head = FILE_MAGIC + struct.pack("<BI", FORMAT_VERSION, milli)
    return head + struct.pack("<I", zlib.crc32(head))


def read_file_header(data: bytes) -> FileHeader:
    """Parse the 13-byte file header."""
    if len(data) < FILE_HEADER_SIZE:
        raise BitstreamError(f"not a livecodec stream: {len(data)} bytes is shorter than the "
                             f"{FILE_HEADER_SIZE}-byte file header")
    if data[:4] != FILE_MAGIC:
        raise BitstreamError(f"not a livecodec stream: magic {data[:4]!r}, expected {FILE_MAGIC!r}")
    version, milli = struct.unpack_from("<BI", data, 4)
    (crc,) = struct.unpack_from("<I", data, 9)
    if zlib.crc32(data[:9]) != crc:
        raise ChecksumError("file header CRC mismatch")
    if version not in READABLE_VERSIONS:
        raise BitstreamError(f"unsupported format version {version} (this decoder reads "
                             f"versions {READABLE_VERSIONS[0]} to {READABLE_VERSIONS[-1]})")
    if not 1 <= milli <= MAX_FPS_MILLI:
        raise BitstreamError(f"implausible frame rate {milli / 1000} fps in file header")
    return FileHeader(version, milli / 1000.0)


def write_leb128(n: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, low bits first, high bit set on all but the last."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_leb128(data: bytes | memoryview, pos: int, what: str) -> tuple[int, int]:
    """(value, position after it) of a LEB128 number of at most 4 bytes (values < 2^28)."""
    value = 0
    for i in range(_MAX_LENGTH_BYTES):
        if pos >= len(data):
            raise BitstreamError(f"truncated {what} at byte {pos}")
        byte = int(data[pos])
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos
    raise BitstreamError(f"{what} field too long at byte {pos}")


def build_packet(packet_type: int, frame_index: int, payload: bytes) -> bytes:
    """Wrap a payload into a packet (frame index is stored modulo 2^16)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds the {MAX_PAYLOAD}-byte limit")
    body = struct.pack("<BH", packet_type, frame_index & 0xFFFF) + write_leb128(len(payload)) + payload
    return SYNC + body + struct.pack("<I", zlib.crc32(body))


def _parse_header(data: bytes | memoryview, pos: int) -> tuple[int, int, int, int]:
    """(type, frame index, payload length, payload offset) of the packet at ``pos``.

    Raises BitstreamError when the header is not plausible or runs past the data.
    """
    if len(data) - pos < 2 + 3 + 1:
        raise BitstreamError(f"truncated packet header at byte {pos}")
    if bytes(data[pos:pos + 2]) != SYNC:
        raise BitstreamError(f"no sync marker at byte {pos}")
    packet_type, index = struct.unpack_from("<BH", data, pos + 2)
    if packet_type not in (PACKET_REFRESH, PACKET_PREDICTED):
        raise BitstreamError(f"unknown packet type {packet_type} at byte {pos}")
    length, cursor = read_leb128(data, pos + 5, "packet length")
    if length > MAX_PAYLOAD:
        raise BitstreamError(f"payload length {length} exceeds the {MAX_PAYLOAD}-byte limit")
    return packet_type, index, length, cursor


def parse_packet(data: bytes | memoryview, pos: int = 0) -> Packet:
    """Parse and CRC-check the packet starting at ``data[pos]``."""
    packet_type, index, length, start = _parse_header(data, pos)
    end = start + length
    if end + 4 > len(data):
        raise BitstreamError(f"truncated packet at byte {pos}: needs {end + 4 - pos} bytes, "
                             f"{len(data) - pos} present")
    (crc,) = struct.unpack_from("<I", data, end)
    if zlib.crc32(data[pos + 2:end]) != crc:
        raise ChecksumError(f"CRC mismatch in packet at byte {pos} (frame {index})")
    return Packet(packet_type, index, bytes(data[start:end]), end + 4 - pos)


class PacketReader:
    """Iterates the packets of an .lvc file, resynchronising after damage.

    Yields ``Packet`` objects for intact packets, ``BitstreamError`` instances (not raised)
    for damaged stretches, so a caller can report and conceal them and carry on, and a
    ``FileHeader`` where another intact file header starts a new stream inside the file (files
    joined with ``cat``). Reads the whole file into memory once (the file size, not a header
    field, bounds the allocation).
    """

    def __init__(self, stream: BinaryIO):
        data = stream.read()
        self.header = read_file_header(data[:FILE_HEADER_SIZE])
        self._raw = data
        self._data = memoryview(data)
        self.stream_bytes = len(data) - FILE_HEADER_SIZE

    def __iter__(self) -> Iterator[Packet | BitstreamError | FileHeader]:
        data = self._data
        pos = FILE_HEADER_SIZE
        starts = _Starts(self._raw)
        while pos < len(data):
            header = _joined_header(data, pos)
            if header is not None:
                yield header
                pos += FILE_HEADER_SIZE
                continue
            try:
                packet = parse_packet(data, pos)
            except BitstreamError as exc:
                nxt = starts.next(pos + 1)
                yield BitstreamError(f"{exc}; skipped {(nxt if nxt >= 0 else len(data)) - pos} bytes")
                if nxt < 0:
                    return
                pos = nxt
                continue
            yield packet
            pos += packet.size


def _joined_header(data: memoryview, pos: int) -> FileHeader | None:
    """The file header of a joined stream starting at ``pos``, or None if there is none."""
    if bytes(data[pos:pos + len(FILE_MAGIC)]) != FILE_MAGIC:
        return None
    try:
        return read_file_header(bytes(data[pos:pos + FILE_HEADER_SIZE]))
    except BitstreamError:
        return None


class _Starts:
    """Where the next packet or joined file header may start, for resynchronising.

    The next file magic is remembered and looked for again only once passed: searching the
    rest of a large damaged file at every resync would make reading it quadratic.
    """

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._magic = raw.find(FILE_MAGIC, FILE_HEADER_SIZE)

    def next(self, pos: int) -> int:
        """The first candidate at or after ``pos``, or -1 when there is none."""
        if 0 <= self._magic < pos:
            self._magic = self._raw.find(FILE_MAGIC, pos)
        starts = [i for i in (self._raw.find(SYNC, pos), self._magic) if i >= 0]
        return min(starts, default=-1)
