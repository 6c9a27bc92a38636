"""The fuzz corpus and its mutations, shared by tests/test_fuzz.py and tests/fuzz_memory.py.

Importing this module loads only the decoder side of the codec; ``build_streams`` imports the
encoder (and with it scikit-learn) when it is called, so the memory child never loads it.
"""
from __future__ import annotations

import io
import random
import struct

from livecodec.codec import BitstreamError, Decoder, PacketReader
from livecodec.codec.common.bitstream import (FILE_HEADER_SIZE, PACKET_REFRESH, build_packet,
                                              parse_packet)
from livecodec.codec.decoder.recovery import recover_frames

#: Mutation positions are taken modulo the stream length.
MAX_POSITION = 10**6
#: Values written into header fields (frame size, block size code, palette size, quality).
FIELD_VALUES = (0, 1, 2, 255, 256, 4095, 4096, 4097, 32767, 65535)
#: Values written as the first slice's LEB128 byte length.
SLICE_LENGTHS = (0, 1, 2, 127, 128, 1000, 16383, 16384, 2**21, 2**28 - 1)
KINDS = ("flip", "truncate", "insert", "duplicate", "junk", "field", "payload", "slice")

#: (width, height, block size, frames, params): the corpus. The last stream's frames are
#: 390x250, padded to 400x256 = 102,400 luma samples with 16-pixel blocks: just over the
#: 100,000 of codec.common.parallel.MIN_BAND_SAMPLES, so every frame has two slices.
CORPUS = (
    (72, 40, 6, dict(block_size=8, n_clusters=8, refresh_interval=3, quality=60)),
    (72, 40, 6, dict(block_size=4, n_clusters=3, refresh_interval=4, quality=0)),
    (390, 250, 3, dict(block_size=16, n_clusters=4, refresh_interval=10, quality=20)),
)
MULTI_SLICE = 2     # index in CORPUS of the stream with two slices per frame


def build_streams() -> list[bytes]:
    """The corpus streams: file header and packets of a few demo-scene frames each."""
    from livecodec.app.sources import DemoScene
    from livecodec.codec import CodecParams, Encoder, write_file_header

    streams = []
    for width, height, n_frames, params in CORPUS:
        scene = DemoScene(width=width, height=height, n_frames=n_frames)
        encoder = Encoder(CodecParams(**params))
        streams.append(write_file_header(30.0) + b"".join(
            encoder.encode(scene.frame(i)).data for i in range(n_frames)))
    return streams


def packet_offsets(data: bytes) -> list[int]:
    """Start of every packet; raises BitstreamError when the stream is not intact."""
    offsets, pos = [], FILE_HEADER_SIZE
    while pos < len(data):
        offsets.append(pos)
        pos += parse_packet(data, pos).size
    return offsets


def _rebuild(data: bytes, offsets: list[int], which: int, change) -> bytes:
    """Apply ``change(payload: bytearray, packet)`` to one packet and give it a valid CRC."""
    start = offsets[which % len(offsets)]
    packet = parse_packet(data, start)
    payload = bytearray(packet.payload)
    change(payload, packet)
    rebuilt = build_packet(packet.type, packet.frame_index, bytes(payload))
    return data[:start] + rebuilt + data[start + packet.size:]


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def symbols_offset(packet_type: int, payload: bytes | bytearray) -> int:
    """Where the range-coded symbols (and the slice table) of a payload start."""
    if packet_type == PACKET_REFRESH:
        return 7 + 3 * (payload[5] + 1) if len(payload) > 5 else len(payload)
    return 1


def mutate(data: bytes, offsets: list[int], m: tuple) -> bytes:
    """One mutation ``m`` (a tuple whose first item is one of KINDS) applied to ``data``."""
    kind = m[0]
    n = len(data)
    if kind == "flip":
        i = m[1] % n
        return data[:i] + bytes([data[i] ^ (1 << m[2])]) + data[i + 1:]
    if kind == "truncate":
        return data[: m[1] % (n + 1)]
    if kind == "insert":
        i = m[1] % (n + 1)
        return data[:i] + m[2] + data[i:]
    if kind == "duplicate":
        a = m[1] % n
        piece = data[a:a + m[2]]
        c = m[3] % (n + 1)
        return data[:c] + piece + data[c:]
    if kind == "junk":
        i = m[1] % n
        return data[:i] + m[2] + data[i + len(m[2]):]

    # The rest rewrite one packet's payload and recompute its CRC, so they reach the deepest checks.
    def field(payload: bytearray, packet) -> None:     # a byte pair of the payload
        if payload:
            pos = m[2] % len(payload)
            payload[pos:pos + 2] = struct.pack("<H", m[3] & 0xFFFF)[: len(payload) - pos]

    def overwrite(payload: bytearray, packet) -> None:
        i = m[2] % max(1, len(payload))
        payload[i:i + len(m[3])] = m[3]

    def slice_length(payload: bytearray, packet) -> None:   # the first slice's byte length
        start = symbols_offset(packet.type, payload)
        end = start
        while end < len(payload) and payload[end] & 0x80:
            end += 1
        payload[start:end + 1] = _leb128(m[2])

    change = {"field": field, "payload": overwrite, "slice": slice_length}[kind]
    return _rebuild(data, offsets, m[1], change)


def apply_mutations(data: bytes, mutations: list[tuple]) -> bytes:
    """The mutations in order; those that need an intact packet are skipped once none is left."""
    for m in mutations:
        if not data:
            break
        try:
            offsets = packet_offsets(data)
        except BitstreamError:
            offsets = []
        if not offsets and m[0] in ("field", "payload", "slice"):
            continue
        data = mutate(data, offsets, m)
    return data


def decode_everything(data: bytes) -> None:
    """Every way the product reads a stream; anything but BitstreamError propagates."""
    try:
        reader = PacketReader(io.BytesIO(data))
    except BitstreamError:
        return
    for frame in recover_frames(reader, []):
        assert frame.image.ndim == 3
    decoder = Decoder()
    pos = FILE_HEADER_SIZE
    while pos < len(data):
        try:
            packet = parse_packet(data, pos)
        except BitstreamError:
            pos += 1
            continue
        try:
            decoder.decode(data[pos:pos + packet.size])
        except BitstreamError:
            pass
        pos += packet.size


def random_mutation(rng: random.Random) -> tuple:
    """One mutation drawn like test_fuzz's hypothesis strategy (for the seeded memory run)."""
    kind = rng.choice(KINDS)
    pos = rng.randrange(MAX_POSITION + 1)
    if kind == "flip":
        return (kind, pos, rng.randrange(8))
    if kind == "truncate":
        return (kind, pos)
    if kind in ("insert", "junk"):
        return (kind, pos, rng.randbytes(rng.randint(1, 64 if kind == "insert" else 32)))
    if kind == "duplicate":
        return (kind, pos, rng.randint(1, 400), rng.randrange(MAX_POSITION + 1))
    if kind == "field":
        return (kind, rng.randrange(21), rng.randrange(13), rng.choice(FIELD_VALUES))
    if kind == "payload":
        return (kind, rng.randrange(21), pos, rng.randbytes(rng.randint(1, 8)))
    return (kind, rng.randrange(21), rng.choice(SLICE_LENGTHS))


def largest_frame_cases(n_streams: int) -> list[tuple[int, list[tuple]]]:
    """(stream, mutations) that give the first refresh packet of each stream the largest frame
    sizes: 4096 wide, 4096 high, both, both with 4-pixel blocks (the most blocks a stream may
    declare), and sizes just past the limit (refused)."""
    cases = []
    for stream in range(n_streams):
        cases += [
            (stream, [("field", 0, 0, 4096)]),
            (stream, [("field", 0, 2, 4096)]),
            (stream, [("field", 0, 0, 4096), ("field", 0, 2, 4096)]),
            (stream, [("field", 0, 0, 4096), ("field", 0, 2, 4096), ("field", 0, 4, 0x0000)]),
            (stream, [("field", 0, 0, 4096), ("field", 0, 2, 4096), ("field", 0, 4, 0xFF03)]),
            (stream, [("field", 0, 0, 4097), ("field", 0, 2, 65535)]),
        ]
    return cases
