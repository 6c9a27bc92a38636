"""Slices are a property of the stream: stated in the refresh header, obeyed by the decoder."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.app.sources import DemoScene
from livecodec.codec import BitstreamError, CodecParams, Decoder, Encoder
from livecodec.codec.common.bitstream import PACKET_REFRESH, build_packet, parse_packet
from livecodec.codec.common.framing import unpack_refresh_header
from livecodec.codec.common.slices import legacy_slice_count
from livecodec.codec.encoder import encoder as encoder_module
from livecodec.codec.encoder.analysis import choose_slice_count


@pytest.mark.parametrize("width, height, slices", [
    (176, 144, 1), (640, 272, 2), (640, 480, 2), (1280, 272, 2), (1280, 720, 4), (1920, 1080, 8),
    (3840, 2160, 8)])
def test_the_encoder_cuts_hd_frames_into_enough_slices_for_eight_cores(width, height, slices):
    rows, cols = -(-height // 16), -(-width // 16)
    assert choose_slice_count(rows, cols, 16) == slices


def test_a_picture_never_has_more_slices_than_block_rows():
    assert choose_slice_count(2, 4000, 32) == 2          # 4096x64 at block 32: 2 rows
    assert legacy_slice_count(1, 4000, 32) == 1


def encode(frames: int, size=(96, 80), params=CodecParams(block_size=8, quality=60)):
    scene = DemoScene(*size)
    encoder = Encoder(params)
    return [encoder.encode(scene.frame(i)) for i in range(frames)]


def test_the_decoder_follows_the_slice_count_in_the_header(monkeypatch):
    """An encoder that cuts a small picture into 3 slices (its choice, written in the header)
    is decoded exactly; the refresh header says 3."""
    monkeypatch.setattr(encoder_module, "choose_slice_count", lambda rows, cols, bs: 3)
    coded = encode(4)
    refresh = parse_packet(coded[0].data)
    header, _ = unpack_refresh_header(refresh.payload)
    assert header.slices == 3
    decoder = Decoder()
    for frame in coded:
        assert np.array_equal(decoder.decode(frame.data), frame.reconstruction)


def test_three_slices_cost_bits_on_a_small_picture(monkeypatch):
    """Why small pictures are one slice: each slice restarts its contexts and neighbours."""
    one = sum(len(f.data) for f in encode(4))
    monkeypatch.setattr(encoder_module, "choose_slice_count", lambda rows, cols, bs: 3)
    three = sum(len(f.data) for f in encode(4))
    assert three > one


@pytest.mark.parametrize("field, problem", [(11 << 2 | 1, "11 slices in a picture 10 block rows"),
                                            (63 << 2 | 0, "63 slices")])
def test_a_slice_count_beyond_the_block_rows_is_a_bitstream_error(field, problem):
    payload = bytearray(parse_packet(encode(1)[0].data).payload)
    payload[4] = field                                   # 96x80 at block 8: 10 rows
    with pytest.raises(BitstreamError, match=problem):
        Decoder().decode(build_packet(PACKET_REFRESH, 0, bytes(payload)))


class TestCarriedContexts:
    def test_slice_contexts_carry_copies_per_slice(self):
        from livecodec.codec.common.entropy import PROB_INIT
        from livecodec.codec.common.slices import SliceContexts
        kept = SliceContexts()
        def is_fresh(contexts):
            return (contexts[:, :2] == PROB_INIT).all()      # both estimates of every context

        fresh = kept.start(2, carry=True)                    # nothing kept yet: fresh
        assert len(fresh) == 2 and all(is_fresh(c) for c in fresh)
        fresh[0][5, 0], fresh[1][7, 1] = 100, 200
        kept.keep(fresh)
        carried = kept.start(2, carry=True)
        assert carried[0][5, 0] == 100 and carried[1][7, 1] == 200
        carried[0][5, 0] = 1                                 # a copy: the kept state holds
        assert kept.start(2, carry=True)[0][5, 0] == 100
        assert is_fresh(kept.start(2, carry=False)[0])       # refresh pictures
        assert is_fresh(kept.start(3, carry=True)[0])        # another slice layout
        kept.keep(None)                                      # after an error
        assert is_fresh(kept.start(2, carry=True)[0])

    def test_same_pictures_fewer_bytes_and_the_header_says_so(self, monkeypatch):
        """Predicted pictures start from where the previous picture's slices left the
        contexts: the coded decisions and pictures are the same, the bytes fewer. (RDOQ and
        split blocks are off in both runs: they price levels and quadrants with the carried
        contexts, so with them the decisions would rightly differ.)"""
        from livecodec.codec.common.slices import SliceContexts
        params = CodecParams(quality=40, rdoq=False, split=False)
        carried = encode(8, (160, 112), params)
        assert all(unpack_refresh_header(parse_packet(f.data).payload)[0].carry_contexts
                   for f in carried if f.frame_type == "refresh")
        decoder = Decoder()
        assert all(np.array_equal(decoder.decode(f.data), f.reconstruction) for f in carried)
        fresh_start = SliceContexts.start
        monkeypatch.setattr(SliceContexts, "start",
                            lambda self, slices, carry: fresh_start(self, slices, False))
        fresh = encode(8, (160, 112), params)
        assert all(np.array_equal(a.reconstruction, b.reconstruction)
                   for a, b in zip(carried, fresh))
        predicted = [i for i, f in enumerate(carried) if f.frame_type == "predicted"]
        assert len(predicted) == 7
        assert (sum(len(carried[i].data) for i in predicted)
                < 0.97 * sum(len(fresh[i].data) for i in predicted))
