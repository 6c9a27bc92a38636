"""Segments at the codec level: what starts one, and what is still a duplicate or damage."""
from __future__ import annotations

import io

import numpy as np

from livecodec.app.sources import DemoScene
from livecodec.codec import (CodecParams, ConcealingDecoder, Encoder, PacketReader,
                             read_stream_info, write_file_header)
from livecodec.codec.common.bitstream import parse_packet

SIZE = (64, 48)


def packets(n: int, quality: int = 50) -> list[bytes]:
    scene = DemoScene(*SIZE, n_frames=n)
    encoder = Encoder(CodecParams(block_size=8, refresh_interval=4, quality=quality))
    return [encoder.encode(scene.frame(i)).data for i in range(n)]


def decode_all(data: bytes) -> tuple[list, ConcealingDecoder]:
    decoder = ConcealingDecoder()
    frames = []
    for item in PacketReader(io.BytesIO(data)):
        frames.extend(decoder.feed(item))
    return frames, decoder


def test_a_repeated_refresh_packet_is_a_duplicate_not_a_segment() -> None:
    first = packets(3)
    data = write_file_header(30.0) + first[0] + first[0] + b"".join(first[1:])
    frames, decoder = decode_all(data)
    assert [f.frame_index for f in frames] == [0, 1, 2]
    assert decoder.segment == 0
    assert any("duplicate" in p for p in decoder.problems)


def test_restart_without_header_and_joined_header_each_start_a_segment() -> None:
    a, b = packets(5), packets(4, quality=20)
    data = write_file_header(30.0) + b"".join(a) + b"".join(b) + write_file_header(25.0) + b"".join(a)
    frames, decoder = decode_all(data)
    assert [f.segment for f in frames] == [0] * 5 + [1] * 4 + [2] * 5
    assert all(f.problem is None for f in frames) and decoder.problems == []
    info = read_stream_info(PacketReader(io.BytesIO(data)))
    assert info.segments == 3 and info.total_frames == 14 and info.frame_sizes == [SIZE]


def test_a_predicted_packet_out_of_order_is_still_damage() -> None:
    """Only a refresh may restart numbering: a stray predicted packet is dropped, not a seam."""
    a = packets(6)
    late = parse_packet(a[2])
    data = write_file_header(30.0) + b"".join(a[:5]) + a[2] + a[5]
    frames, decoder = decode_all(data)
    assert late.type == 1 and decoder.segment == 0
    assert [f.frame_index for f in frames] == [0, 1, 2, 3, 4, 5]
    assert np.array_equal(frames[-1].image, decode_all(write_file_header(30.0) + b"".join(a))[0][-1].image)
