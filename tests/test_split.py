"""Split blocks: a vector per quadrant where the quadrants move apart (docs/BITSTREAM.md,
"Block modes"). The syntax round-trips, the encoder splits where the motion says so and the
decoder rebuilds its pictures bit for bit; the header states the tool."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.codec import (MODE_INTER, MODE_PALETTE, MODE_SPLIT, BitstreamError, CodecParams,
                             Decoder, Encoder, psnr)
from livecodec.codec.common.bitstream import parse_packet
from livecodec.codec.common.blocks import Planes
from livecodec.codec.common.deblock import deblock
from livecodec.codec.common.entropy import new_contexts
from livecodec.codec.common.framing import (RefreshHeader, pack_refresh_header,
                                            unpack_refresh_header)
from livecodec.codec.common.inter_prediction import (quadrant_differences, vector_predictors,
                                                     whole_block_quadrants)
from livecodec.codec.common.syntax import N_CONTEXTS, decode_symbols, encode_symbols
from livecodec.codec.common.transform import plane_steps

BLOCK = 16
#: Every 8 x 8 quadrant of the test picture moves one of two ways, in a checkerboard.
MOTIONS = ((3, 0), (0, 2))


def test_split_blocks_round_trip_through_the_range_coder() -> None:
    rng = np.random.default_rng(11)
    rows, cols = 7, 9
    modes = rng.choice([MODE_INTER, MODE_SPLIT, MODE_PALETTE], size=(rows, cols)).astype(np.int8)
    quadrants = whole_block_quadrants(rng.integers(-40, 41, (rows, cols, 2)).astype(np.int32))
    split = modes == MODE_SPLIT
    quadrants[split] = rng.integers(-40, 41, (int(split.sum()), 4, 2))
    quadrants[modes == MODE_PALETTE] = 0
    predictors = vector_predictors(quadrants, [(0, rows)])
    mvd = quadrants[:, :, 0] - predictors          # unsplit blocks: all quadrants are the vector
    mvd[modes == MODE_PALETTE] = 0
    quadrant_mvd = quadrant_differences(quadrants, predictors)
    labels = np.where(modes == MODE_PALETTE, rng.integers(0, 4, (rows, cols)), -1).astype(np.int32)
    empty = np.zeros((0, 0, 64), np.int16)
    no_tiles = np.zeros((0, 0), np.uint8)
    data, _ = encode_symbols(False, False, True, False, False, modes, mvd.astype(np.int32),
                             quadrant_mvd, labels, 2, empty, empty, empty, no_tiles, no_tiles,
                             no_tiles, 2, 1, new_contexts(N_CONTEXTS))
    got_modes, got_mvs, got_quadrants, got_labels, error, consumed = decode_symbols(
        data, False, False, True, False, False, rows, cols, 4, 2, empty, empty, empty, no_tiles,
        no_tiles, no_tiles, 2, 1, new_contexts(N_CONTEXTS))
    assert error == 0 and consumed <= len(data)
    assert (got_modes == modes).all() and (got_labels == labels).all()
    assert (got_quadrants == quadrants).all()
    assert (got_mvs == quadrants[:, :, 3]).all()       # a split block's vector is quadrant 3's


def _checkerboard_motion(frames: int = 4, width: int = 192, height: int = 128) -> list[np.ndarray]:
    """Textured pictures whose 8 x 8 squares move by one of ``MOTIONS``, alternating like a
    checkerboard: every 16 x 16 block holds both motions."""
    rng = np.random.default_rng(5)
    texture = rng.integers(0, 256, (height + 64, width + 64), np.uint8)
    texture = np.repeat(np.repeat(texture, 2, axis=0), 2, axis=1)[:height + 64, :width + 64]
    pictures = []
    for t in range(frames):
        grey = np.empty((height, width), np.uint8)
        for y in range(0, height, 8):
            for x in range(0, width, 8):
                dx, dy = MOTIONS[(y // 8 + x // 8) % 2]
                sy, sx = 32 + y - t * dy, 32 + x - t * dx
                grey[y:y + 8, x:x + 8] = texture[sy:sy + 8, sx:sx + 8]
        pictures.append(np.dstack([grey, grey, grey]))
    return pictures


def _encode(frames: list[np.ndarray], **params) -> list:
    encoder = Encoder(CodecParams(quality=60, block_size=BLOCK, **params), threads=1)
    return [encoder.encode(frame) for frame in frames]


def test_the_encoder_splits_blocks_whose_quadrants_move_apart() -> None:
    frames = _checkerboard_motion()
    split, whole = _encode(frames), _encode(frames, split=False)
    decoder = Decoder(threads=1)
    for ef in split:
        assert np.array_equal(decoder.decode(ef.data), ef.reconstruction)
    predicted = split[1:]
    share = np.mean([(ef.block_modes == MODE_SPLIT).mean() for ef in predicted])
    assert share > 0.5, f"only {share:.0%} of the blocks split"
    ef = predicted[-1]
    quadrants = ef.quadrant_vectors[ef.block_modes == MODE_SPLIT]      # (n, 4, 2) pixels
    # Quadrants 0 and 3 sit on one colour of the checkerboard, 1 and 2 on the other; a vector
    # points to where the content came from.
    assert (np.abs(quadrants[:, [0, 3]] + MOTIONS[0]) <= 1).all(axis=2).mean() > 0.9
    assert (np.abs(quadrants[:, [1, 2]] + MOTIONS[1]) <= 1).all(axis=2).mean() > 0.9
    size = sum(len(ef.data) for ef in predicted)
    size_whole = sum(len(ef.data) for ef in whole[1:])
    quality = np.mean([psnr(f, ef.reconstruction) for f, ef in zip(frames[1:], predicted)])
    quality_whole = np.mean([psnr(f, ef.reconstruction) for f, ef in zip(frames[1:], whole[1:])])
    assert size < 0.8 * size_whole and quality >= quality_whole - 0.2


@pytest.mark.parametrize("params", [{"preset": "fast"}, {"block_size": 4}, {"split": False}])
def test_the_refresh_header_states_the_tool_only_when_it_is_used(params) -> None:
    frames = _checkerboard_motion(frames=2)
    settings = {"block_size": BLOCK, **params}
    encoder = Encoder(CodecParams(quality=60, **settings), threads=1)
    refresh = encoder.encode(frames[0])
    header, _ = unpack_refresh_header(parse_packet(refresh.data).payload)
    assert not header.split
    assert (encoder.encode(frames[1]).block_modes != MODE_SPLIT).all()
    default, _ = unpack_refresh_header(parse_packet(_encode(frames[:1])[0].data).payload)
    assert default.split


def test_a_split_header_with_4x4_blocks_is_refused() -> None:
    packed = pack_refresh_header(RefreshHeader(64, 48, 4, 50, np.zeros((2, 3), np.uint8), 1,
                                               split=True))
    with pytest.raises(BitstreamError, match="quadrants need blocks of 8"):
        unpack_refresh_header(packed)


def test_the_edge_between_quadrants_moving_apart_is_filtered() -> None:
    """Inside a block only a split block's quadrants can differ; without residual their
    edge gets strength 1 where the vectors are a pixel apart."""
    y = np.full((BLOCK, BLOCK), 100, np.uint8)
    y[:, BLOCK // 2:] = 104
    chroma = np.full((BLOCK // 2, BLOCK // 2), 128, np.uint8)
    no_residual = (np.zeros((2, 2), bool), np.zeros((1, 1), bool), np.zeros((1, 1), bool))
    results = []
    for vectors in ([[0, 0], [0, 0], [0, 0], [0, 0]], [[0, 0], [4, 0], [0, 0], [4, 0]]):
        planes = Planes(y.copy(), chroma.copy(), chroma.copy())
        deblock(planes, plane_steps(30), no_residual,
                np.array([[MODE_SPLIT]], np.int8), np.array([[vectors]], np.int32), BLOCK, 2)
        results.append(planes.y)
    assert np.array_equal(results[0], y)                 # same vectors: no edge
    assert not np.array_equal(results[1], y)             # a pixel apart: filtered
    assert np.abs(np.diff(results[1].astype(int), axis=1)).max() < 4


def test_an_edge_takes_the_quadrants_next_to_it() -> None:
    """Across a block edge the strength comes from the quadrants touching it: a split block
    whose right-hand quadrants move with its right neighbour leaves that edge alone, in chroma
    too (where one tile covers the whole block)."""
    y = np.full((BLOCK, 2 * BLOCK), 100, np.uint8)
    chroma = np.full((BLOCK // 2, BLOCK), 120, np.uint8)
    chroma[:, BLOCK // 2:] = 124
    no_residual = (np.zeros((2, 4), bool), np.zeros((1, 2), bool), np.zeros((1, 2), bool))
    modes = np.array([[MODE_SPLIT, MODE_INTER]], np.int8)
    left = [[0, 0], [8, 0], [0, 0], [8, 0]]
    results = []
    for right in ([8, 0], [0, 0]):
        planes = Planes(y.copy(), chroma.copy(), chroma.copy())
        deblock(planes, plane_steps(30), no_residual, modes,
                np.array([[left, [right] * 4]], np.int32), BLOCK, 2)
        results.append(planes.cr)
    assert np.array_equal(results[0], chroma)            # the quadrants at the edge agree
    assert not np.array_equal(results[1], chroma)        # they are two pixels apart


def test_switching_split_blocks_off_sends_a_refresh_that_says_so() -> None:
    frames = _checkerboard_motion(frames=3)
    encoder = Encoder(CodecParams(quality=60, block_size=BLOCK), threads=1)
    encoder.encode(frames[0])
    assert (encoder.encode(frames[1]).block_modes == MODE_SPLIT).any()
    encoder.set_params(encoder.params.with_changes(split=False))
    refresh = encoder.encode(frames[2])
    assert refresh.frame_type == "refresh"
    assert not unpack_refresh_header(parse_packet(refresh.data).payload)[0].split
