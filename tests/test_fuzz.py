"""Fuzzing the decoder with mutated real streams: only BitstreamError may ever come out.

Mutations: bit flips, truncation, insertion, duplication, junk overwrites, and absurd values
written into header fields with the CRC recomputed (so they reach the deepest checks).
``make fuzz`` runs this file with FUZZ_EXAMPLES=100000; ``make test`` runs a few hundred.
"""
from __future__ import annotations

import io
import os
import resource
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livecodec.app.sources import DemoScene
from livecodec.codec import BitstreamError, CodecParams, Decoder, Encoder, PacketReader, write_file_header
from livecodec.codec.bitstream import FILE_HEADER_SIZE, build_packet, parse_packet
from livecodec.codec.recovery import recover_frames

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
#: One example decodes ~6 small packets; a second means a hang or a runaway loop.
DEADLINE_MS = 2000
#: Peak memory may grow by at most this much over the whole run (the largest legal picture,
#: 4096 x 4096, needs about 75 MB of planes and levels).
MAX_RSS_GROWTH_KB = 400_000


def _stream(params: CodecParams) -> bytes:
    scene = DemoScene(width=72, height=40, n_frames=6)
    encoder = Encoder(params)
    return write_file_header(30.0) + b"".join(
        encoder.encode(scene.frame(i)).data for i in range(6))


STREAMS = [
    _stream(CodecParams(block_size=8, n_clusters=8, refresh_interval=3, quality=60)),
    _stream(CodecParams(block_size=4, n_clusters=3, refresh_interval=4, quality=0)),
]


def _packet_offsets(data: bytes) -> list[int]:
    offsets, pos = [], FILE_HEADER_SIZE
    while pos < len(data):
        offsets.append(pos)
        pos += parse_packet(data, pos).size
    return offsets


def _rewrite_field(data: bytes, offsets: list[int], which: int, field: int, value: int) -> bytes:
    """Overwrite a payload byte pair of one packet and rebuild it with a valid CRC."""
    start = offsets[which % len(offsets)]
    packet = parse_packet(data, start)
    payload = bytearray(packet.payload)
    if payload:
        pos = field % len(payload)
        payload[pos:pos + 2] = struct.pack("<H", value & 0xFFFF)[: len(payload) - pos]
    rebuilt = build_packet(packet.type, packet.frame_index, bytes(payload))
    return data[:start] + rebuilt + data[start + packet.size:]


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6), st.integers(1, 400), st.integers(0, 10**6)),
    st.tuples(st.just("junk"), st.integers(0, 10**6), st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("field"), st.integers(0, 20), st.integers(0, 12),
              st.sampled_from([0, 1, 2, 255, 256, 4095, 4096, 4097, 32767, 65535])),
    st.tuples(st.just("payload"), st.integers(0, 20), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
)


def _mutate(data: bytes, offsets: list[int], m: tuple) -> bytes:
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
    if kind == "field":
        return _rewrite_field(data, offsets, m[1], m[2], m[3])
    # "payload": overwrite payload bytes of one packet, CRC recomputed
    start = offsets[m[1] % len(offsets)]
    packet = parse_packet(data, start)
    payload = bytearray(packet.payload)
    i = m[2] % max(1, len(payload))
    payload[i:i + len(m[3])] = m[3]
    rebuilt = build_packet(packet.type, packet.frame_index, bytes(payload))
    return data[:start] + rebuilt + data[start + packet.size:]


def _decode_everything(data: bytes) -> None:
    """Every way the product reads a stream; anything but BitstreamError fails the test."""
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


_RSS_AT_START = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@settings(max_examples=EXAMPLES, deadline=DEADLINE_MS, derandomize=EXAMPLES <= 1000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(which=st.integers(0, len(STREAMS) - 1), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_streams_raise_only_bitstream_errors(which: int, mutations: list) -> None:
    data = STREAMS[which]
    for m in mutations:
        if not data:
            break
        try:
            offsets = _packet_offsets(data)
        except BitstreamError:
            offsets = []
        if not offsets and m[0] in ("field", "payload"):
            continue        # those mutations need an intact packet to rewrite
        data = _mutate(data, offsets, m)
    _decode_everything(data)


def test_fuzz_memory_stayed_bounded() -> None:
    """Runs after the fuzz test in file order: peak RSS grew by less than the bound."""
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - _RSS_AT_START
    assert growth < MAX_RSS_GROWTH_KB, f"peak RSS grew by {growth} kB while fuzzing"


@pytest.mark.parametrize("width,height", [(65535, 65535), (0, 10), (4097, 1)])
def test_absurd_frame_size_is_refused_before_decoding(width: int, height: int) -> None:
    data = STREAMS[0]
    first = parse_packet(data, FILE_HEADER_SIZE)
    payload = struct.pack("<HH", width, height) + first.payload[4:]
    with pytest.raises(BitstreamError, match="frame size"):
        Decoder().decode(build_packet(first.type, first.frame_index, payload))


def test_intact_streams_decode_without_problems() -> None:
    """The fuzz corpus itself is valid: every frame decodes and nothing is reported."""
    for data in STREAMS:
        problems: list[str] = []
        frames = list(recover_frames(PacketReader(io.BytesIO(data)), problems))
        assert len(frames) == 6 and problems == []
        assert all(f.problem is None for f in frames)
        assert np.all([f.image.shape == (40, 72, 3) for f in frames])
