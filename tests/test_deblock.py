"""The in-loop deblocking filter: what it smooths, what it leaves alone, how the stream states
it, and that encoder and decoder filter to the same pictures."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.app.sources import DemoScene
from livecodec.codec import (MODE_INTER, MODE_PALETTE, MODE_SKIP, BitstreamError, CodecParams,
                             Decoder, Encoder, psnr)
from livecodec.codec.common.blocks import Planes
from livecodec.codec.common.deblock import deblock, edge_thresholds
from livecodec.codec.common.inter_prediction import whole_block_quadrants
from livecodec.codec.common.framing import (RefreshHeader, pack_refresh_header,
                                            unpack_refresh_header)
from livecodec.codec.common.transform import plane_steps

BLOCK = 16
QUALITY = 30            # a coarse step: alpha 28, beta 7 for luma


def _stepped_planes(left: int, right: int) -> Planes:
    """Two 16x16 blocks side by side (luma 16x32), flat at ``left`` and ``right``: the step a
    coarse quantiser leaves at the block edge."""
    y = np.full((BLOCK, 2 * BLOCK), left, np.uint8)
    y[:, BLOCK:] = right
    chroma = np.full((BLOCK // 2, BLOCK), 128, np.uint8)
    return Planes(y, chroma.copy(), chroma.copy())


def _filtered(planes: Planes, modes, vectors=None, coded: bool = True,
              pel_shift: int = 1) -> Planes:
    """The planes after deblock at QUALITY; every tile coded (or none)."""
    luma_tiles = np.full((BLOCK // 8, 2 * BLOCK // 8), coded)
    chroma_tiles = np.full((1, 2), coded)
    if vectors is None:
        vectors = np.zeros((1, 2, 2), np.int32)
    deblock(planes, plane_steps(QUALITY), (luma_tiles, chroma_tiles, chroma_tiles.copy()),
            np.array([modes], np.int8), whole_block_quadrants(vectors), BLOCK, pel_shift)
    return planes


def test_thresholds_grow_with_the_step_and_vanish_at_fine_steps() -> None:
    coarse, fine = edge_thresholds(plane_steps(20)[0]), edge_thresholds(plane_steps(95)[0])
    assert coarse[0] > fine[0] and coarse[1] >= fine[1]
    assert list(coarse[2]) == sorted(coarse[2]) and coarse[2][0] == 0   # by strength
    assert fine[0] == 0                     # alpha 0: nothing is filtered


def test_a_small_step_at_a_block_edge_is_smoothed() -> None:
    planes = _filtered(_stepped_planes(100, 110), [MODE_INTER, MODE_INTER])
    row = planes.y[5].astype(int)
    assert row[BLOCK - 1] > 100 and row[BLOCK] < 110          # p0 up, q0 down
    assert abs(row[BLOCK] - row[BLOCK - 1]) < 10
    assert (row[:BLOCK - 3] == 100).all() and (row[BLOCK + 3:] == 110).all()  # only near it
    assert (planes.y == planes.y[0]).all()  # every row alike


def test_a_real_edge_is_left_alone() -> None:
    alpha = edge_thresholds(plane_steps(QUALITY)[0])[0]
    planes = _filtered(_stepped_planes(60, 60 + alpha + 1), [MODE_PALETTE, MODE_PALETTE])
    assert (planes.y == _stepped_planes(60, 60 + alpha + 1).y).all()


def test_no_residual_and_equal_vectors_mean_no_edge() -> None:
    same = _filtered(_stepped_planes(100, 110), [MODE_SKIP, MODE_INTER], coded=False)
    assert (same.y == _stepped_planes(100, 110).y).all()
    vectors = np.array([[[0, 0], [4, 0]]], np.int32)          # two pixels apart: strength 1
    moved = _filtered(_stepped_planes(100, 110), [MODE_SKIP, MODE_INTER], vectors, coded=False)
    assert (moved.y != _stepped_planes(100, 110).y).any()


@pytest.mark.parametrize("pel_shift, one_pixel", [(1, 2), (2, 4)])
def test_vectors_a_pixel_apart_make_an_edge_in_either_unit(pel_shift, one_pixel) -> None:
    for apart, filtered in ((one_pixel - 1, False), (one_pixel, True)):
        vectors = np.array([[[0, 0], [0, apart]]], np.int32)
        planes = _filtered(_stepped_planes(100, 110), [MODE_SKIP, MODE_INTER], vectors,
                           coded=False, pel_shift=pel_shift)
        assert (planes.y != _stepped_planes(100, 110).y).any() == filtered, apart


def test_encoder_and_decoder_filter_to_the_same_pictures_and_it_pays() -> None:
    """Closed loop with the filter, and on a coarse quality the filtered stream is better
    at about the same size (the BD-rate table of README is the measurement)."""
    scene = DemoScene(160, 112)
    frames = [scene.frame(i) for i in range(8)]
    results = {}
    for on in (True, False):
        encoder, decoder = Encoder(CodecParams(quality=25, deblock=on)), Decoder()
        coded = [encoder.encode(frame) for frame in frames]
        decoded = [decoder.decode(e.data) for e in coded]
        assert all(np.array_equal(d, e.reconstruction) for d, e in zip(decoded, coded))
        results[on] = (sum(len(e.data) for e in coded),
                       np.mean([psnr(f, d) for f, d in zip(frames, decoded)]))
    (bytes_on, psnr_on), (bytes_off, psnr_off) = results[True], results[False]
    assert psnr_on > psnr_off and bytes_on < 1.03 * bytes_off


def test_changing_the_filter_starts_with_a_refresh_that_states_it() -> None:
    scene = DemoScene(64, 48)
    encoder = Encoder(CodecParams(deblock=False))
    first = [encoder.encode(scene.frame(i)) for i in range(2)]
    encoder.set_params(CodecParams(deblock=True))
    switched = encoder.encode(scene.frame(2))
    assert [e.frame_type for e in first] + [switched.frame_type] == ["refresh", "predicted",
                                                                     "refresh"]
    assert _deblock_states([first[0], switched]) == [False, True]


def _deblock_states(coded) -> list[bool]:
    from livecodec.codec.common.bitstream import parse_packet
    return [unpack_refresh_header(parse_packet(e.data).payload)[0].deblock
            for e in coded if e.frame_type == "refresh"]


def test_fast_preset_leaves_the_filter_off_from_the_next_refresh() -> None:
    """fast does not filter (as x264's ultrafast); a live switch to it or back changes the
    filter at the next refresh, which states it, so decoders stay in step."""
    scene = DemoScene(64, 48)
    encoder, decoder = Encoder(CodecParams(preset="fast", refresh_interval=3)), Decoder()
    coded = [encoder.encode(scene.frame(i)) for i in range(4)]
    encoder.set_params(CodecParams(preset="balanced", refresh_interval=3))
    coded += [encoder.encode(scene.frame(i)) for i in range(4, 8)]
    assert "".join(e.frame_type[0] for e in coded) == "rpprpprp"
    assert _deblock_states(coded) == [False, False, True]
    assert all(np.array_equal(decoder.decode(e.data), e.reconstruction) for e in coded)


class TestToolsByte:
    HEADER = RefreshHeader(64, 48, 16, 50, np.zeros((2, 3), np.uint8), 1, True)

    @pytest.mark.parametrize("tools", [(False, False, False, False, False, 1, False),
                                       (True, False, True, False, True, 2, False),
                                       (False, True, False, True, False, 1, True),
                                       (True, True, True, True, True, 2, True)])
    def test_round_trip(self, tools) -> None:
        header = RefreshHeader(64, 48, 16, 50, np.arange(6, dtype=np.uint8).reshape(2, 3), 1,
                               *tools)
        parsed, end = unpack_refresh_header(pack_refresh_header(header) + b"symbols")
        stated = (parsed.deblock, parsed.intra, parsed.qpel, parsed.carry_contexts, parsed.split,
                  parsed.context_model, parsed.tskip)
        assert (stated, parsed.quality, end) == (tools, 50, 7 + 1 + 6)
        assert (parsed.palette == header.palette).all()

    def test_version_2_header_has_no_tools(self) -> None:
        """Version 2 wrote the quality byte with bit 7 clear and no tools byte."""
        packed = pack_refresh_header(self.HEADER)
        old = packed[:6] + bytes([packed[6] & 0x7F]) + packed[8:]
        parsed, end = unpack_refresh_header(old)
        assert (parsed.deblock, parsed.context_model, parsed.quality, end) == (False, 1, 50, 7 + 6)

    def test_unknown_tool_is_refused_in_one_line(self) -> None:
        packed = bytearray(pack_refresh_header(self.HEADER))
        packed[7] |= 0x80
        with pytest.raises(BitstreamError, match="tools byte 0x81.*newer livecodec"):
            unpack_refresh_header(bytes(packed))

    def test_missing_tools_byte_is_an_error(self) -> None:
        with pytest.raises(BitstreamError, match="tools byte"):
            unpack_refresh_header(pack_refresh_header(self.HEADER)[:7])


def test_params_refuse_a_non_boolean() -> None:
    assert CodecParams().deblock is True
    with pytest.raises(ValueError, match="deblock must be True or False"):
        CodecParams(deblock=1)
