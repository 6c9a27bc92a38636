"""Tests of codec/common/bitstream.py: file header, packets, CRC, bounded parsing, resynchronisation."""
from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import pytest

from livecodec.codec import FORMAT_VERSION, BitstreamError, ChecksumError, PacketReader
from livecodec.codec.common.bitstream import (FILE_HEADER_SIZE, FILE_MAGIC, MAX_PAYLOAD,
                                              PACKET_PREDICTED, PACKET_REFRESH, SYNC, build_packet,
                                              parse_packet, read_file_header, write_file_header)


def reader_items(data: bytes) -> list:
    return list(PacketReader(io.BytesIO(data)))


class TestFileHeader:
    @pytest.mark.parametrize("fps", [0.001, 1, 25, 29.97, 30, 59.94, 1000])
    def test_round_trip(self, fps):
        head = write_file_header(fps)
        assert len(head) == FILE_HEADER_SIZE == 13 and head.startswith(FILE_MAGIC)
        parsed = read_file_header(head)
        assert parsed.version == FORMAT_VERSION
        assert parsed.fps == pytest.approx(fps, abs=5e-4)

    @pytest.mark.parametrize("fps", [0, 0.0004, -30, 1000.5, 1e9])
    def test_bad_fps_rejected_on_write(self, fps):
        with pytest.raises(ValueError, match="fps"):
            write_file_header(fps)

    def test_short(self):
        for n in range(FILE_HEADER_SIZE):
            with pytest.raises(BitstreamError, match="shorter"):
                read_file_header(write_file_header(30)[:n])

    def test_bad_magic(self):
        with pytest.raises(BitstreamError, match="magic"):
            read_file_header(b"RIFF" + write_file_header(30)[4:])

    def test_every_bit_flip_detected(self):
        head = write_file_header(30)
        for i in range(len(head) * 8):
            bad = bytearray(head)
            bad[i // 8] ^= 1 << (i % 8)
            with pytest.raises(BitstreamError):
                read_file_header(bytes(bad))

    def test_version_and_fps_checked_after_crc(self):
        def header(version: int, milli: int) -> bytes:
            head = FILE_MAGIC + struct.pack("<BI", version, milli)
            return head + struct.pack("<I", zlib.crc32(head))
        with pytest.raises(BitstreamError, match="version"):
            read_file_header(header(FORMAT_VERSION + 1, 30_000))
        with pytest.raises(BitstreamError, match="frame rate"):
            read_file_header(header(FORMAT_VERSION, 0))
        with pytest.raises(BitstreamError, match="frame rate"):
            read_file_header(header(FORMAT_VERSION, 2_000_000))


class TestPacket:
    @pytest.mark.parametrize("size", [0, 1, 127, 128, 16383, 16384, 70_000])
    @pytest.mark.parametrize("ptype", [PACKET_REFRESH, PACKET_PREDICTED])
    def test_round_trip(self, size, ptype):
        payload = bytes((i * 7 + size) & 0xFF for i in range(size))
        data = build_packet(ptype, 1234, payload)
        assert data.startswith(SYNC)
        packet = parse_packet(data)
        assert (packet.type, packet.frame_index, packet.payload, packet.size) == \
            (ptype, 1234, payload, len(data))

    def test_parse_at_offset_and_frame_index_wraps(self):
        a = build_packet(PACKET_REFRESH, 65_535, b"abc")
        b = build_packet(PACKET_PREDICTED, 65_536, b"defg")
        data = b"xx" + a + b
        first = parse_packet(data, 2)
        second = parse_packet(data, 2 + first.size)
        assert (first.frame_index, first.payload) == (65_535, b"abc")
        assert (second.frame_index, second.payload, second.type) == (0, b"defg", PACKET_PREDICTED)

    def test_oversized_payload_refused_on_write(self):
        class Huge(bytes):
            def __len__(self):
                return MAX_PAYLOAD + 1
        with pytest.raises(ValueError, match="exceeds"):
            build_packet(PACKET_REFRESH, 0, Huge())

    def test_crc_mismatch(self):
        data = bytearray(build_packet(PACKET_PREDICTED, 5, b"hello world"))
        data[-1] ^= 0x01
        with pytest.raises(ChecksumError):
            parse_packet(bytes(data))
        data = bytearray(build_packet(PACKET_PREDICTED, 5, b"hello world"))
        data[10] ^= 0x80           # inside the payload
        with pytest.raises(ChecksumError, match="CRC"):
            parse_packet(bytes(data))

    def test_every_bit_flip_is_an_error(self):
        data = build_packet(PACKET_REFRESH, 3, bytes(range(40)))
        for i in range(len(data) * 8):
            bad = bytearray(data)
            bad[i // 8] ^= 1 << (i % 8)
            try:
                packet = parse_packet(bytes(bad))
            except BitstreamError:
                continue
            pytest.fail(f"bit {i} flipped, parsed anyway: {packet}")

    def test_every_truncation_is_an_error(self):
        data = build_packet(PACKET_PREDICTED, 9, bytes(range(200)))
        for n in range(len(data)):
            with pytest.raises(BitstreamError, match="truncated|sync"):
                parse_packet(data[:n])

    def test_no_sync(self):
        with pytest.raises(BitstreamError, match="sync"):
            parse_packet(b"\x00" + build_packet(PACKET_REFRESH, 0, b"x")[1:])

    def test_unknown_type(self):
        body = struct.pack("<BH", 7, 0) + b"\x01" + b"x"
        data = SYNC + body + struct.pack("<I", zlib.crc32(body))
        with pytest.raises(BitstreamError, match="type 7"):
            parse_packet(data)

    def test_absurd_length_rejected_without_allocating(self):
        # Length 2^27 (LEB128 80 80 80 40) in a 20-byte buffer.
        body = struct.pack("<BH", PACKET_REFRESH, 0) + b"\x80\x80\x80\x40" + b"\x00" * 11
        data = SYNC + body
        assert len(data) == 20
        tracemalloc.start()
        try:
            with pytest.raises(BitstreamError, match="truncated|exceeds"):
                parse_packet(data)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20

    def test_length_above_the_limit(self):
        # 2^28 - 1 (the largest 4-byte LEB128) exceeds MAX_PAYLOAD.
        body = struct.pack("<BH", PACKET_REFRESH, 0) + b"\xff\xff\xff\x7f" + b"\x00" * 10
        with pytest.raises(BitstreamError, match="exceeds"):
            parse_packet(SYNC + body)

    def test_length_field_too_long(self):
        body = struct.pack("<BH", PACKET_REFRESH, 0) + b"\x80\x80\x80\x80\x01" + b"\x00" * 10
        with pytest.raises(BitstreamError, match="too long"):
            parse_packet(SYNC + body)


class TestPacketReader:
    @staticmethod
    def stream(n: int = 6) -> tuple[bytes, list[bytes]]:
        packets = [build_packet(PACKET_REFRESH if i % 3 == 0 else PACKET_PREDICTED, i,
                                bytes([i]) * (10 + 5 * i)) for i in range(n)]
        return write_file_header(25) + b"".join(packets), packets

    def test_reads_every_packet(self):
        data, packets = self.stream()
        reader = PacketReader(io.BytesIO(data))
        assert reader.header.fps == 25
        assert reader.stream_bytes == sum(map(len, packets))
        items = list(reader)
        assert [p.frame_index for p in items] == list(range(len(packets)))
        assert [p.payload for p in items] == [parse_packet(p).payload for p in packets]

    def test_header_only(self):
        assert reader_items(write_file_header(30)) == []

    def test_bad_header(self):
        with pytest.raises(BitstreamError):
            PacketReader(io.BytesIO(b"not a livecodec stream at all"))

    @pytest.mark.parametrize("junk", [b"\x00", b"junkjunk", SYNC, SYNC + b"\x00\x01", bytes(range(256))])
    def test_resynchronises_after_junk_between_packets(self, junk):
        data, packets = self.stream()
        damaged = write_file_header(25) + b"".join(packets[:3]) + junk + b"".join(packets[3:])
        items = reader_items(damaged)
        good = [i.frame_index for i in items if not isinstance(i, BitstreamError)]
        errors = [i for i in items if isinstance(i, BitstreamError)]
        assert good == list(range(len(packets)))
        assert 1 <= len(errors) <= len(junk)
        assert all("skipped" in str(e) for e in errors)

    def test_damaged_packet_is_skipped_and_reported(self):
        data, packets = self.stream()
        bad = bytearray(packets[2])
        bad[len(bad) // 2] ^= 0xFF
        items = reader_items(write_file_header(25) + b"".join(packets[:2]) + bytes(bad)
                             + b"".join(packets[3:]))
        good = [i.frame_index for i in items if not isinstance(i, BitstreamError)]
        assert good == [0, 1, 3, 4, 5]
        assert any(isinstance(i, ChecksumError) or "CRC" in str(i) for i in items)

    def test_truncated_tail(self):
        data, packets = self.stream()
        items = reader_items(data[:-3])
        assert [i.frame_index for i in items[:-1]] == list(range(len(packets) - 1))
        assert isinstance(items[-1], BitstreamError)
