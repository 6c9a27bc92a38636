"""Spatial intra prediction of refresh frames: the modes' syntax, the choice the encoder makes
on pictures made for one mode, and encoder and decoder rebuilding the same pictures."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.app.sources import DemoScene
from livecodec.codec import (MODE_INTRA_DC, MODE_INTRA_H, MODE_INTRA_V, MODE_PALETTE, CodecParams,
                             Decoder, Encoder)
from livecodec.codec.common.bitstream import parse_packet
from livecodec.codec.common.entropy import new_contexts
from livecodec.codec.common.framing import (RefreshHeader, pack_refresh_header,
                                            unpack_refresh_header)
from livecodec.codec.common.syntax import N_CONTEXTS, decode_symbols, encode_symbols

INTRA_MODES = (MODE_PALETTE, MODE_INTRA_DC, MODE_INTRA_V, MODE_INTRA_H)


def test_intra_modes_and_labels_round_trip_through_the_range_coder() -> None:
    rng = np.random.default_rng(7)
    rows, cols = 9, 11
    modes = rng.choice(INTRA_MODES, size=(rows, cols)).astype(np.int8)
    labels = np.where(modes == MODE_PALETTE, rng.integers(0, 16, (rows, cols)), -1).astype(np.int32)
    empty = np.zeros((0, 0, 64), np.int16)
    no_tiles = np.zeros((0, 0), np.uint8)
    data, _ = encode_symbols(True, True, False, False, False, modes,
                             np.zeros((rows, cols, 2), np.int32),
                             np.zeros((rows, cols, 4, 2), np.int32), labels, 4, empty, empty,
                             empty, no_tiles, no_tiles, no_tiles, 2, 1, new_contexts(N_CONTEXTS))
    got_modes, _, _, got_labels, error, consumed = decode_symbols(
        data, True, True, False, False, False, rows, cols, 16, 4, empty, empty, empty, no_tiles,
        no_tiles, no_tiles, 2, 1, new_contexts(N_CONTEXTS))
    assert error == 0 and consumed <= len(data)
    assert (got_modes == modes).all() and (got_labels == labels).all()


def _picture(kind: str, width: int = 192, height: int = 128) -> np.ndarray:
    """Stripes that a block's top row (vertical) or left column (horizontal) predicts."""
    x = np.arange(width)
    y = np.arange(height)
    if kind == "vertical":
        grey = np.tile((128 + 90 * np.sin(x / 2.3)).astype(np.uint8), (height, 1))
    else:
        grey = np.tile((128 + 90 * np.sin(y / 2.3)).astype(np.uint8)[:, None], (1, width))
    return np.repeat(grey[:, :, None], 3, axis=2)


@pytest.mark.parametrize("kind, mode", [("vertical", MODE_INTRA_V), ("horizontal", MODE_INTRA_H)])
def test_stripes_are_predicted_along_them_for_fewer_bits(kind, mode) -> None:
    picture = _picture(kind)
    with_intra = Encoder(CodecParams(quality=50)).encode(picture)
    without = Encoder(CodecParams(quality=50, intra=False)).encode(picture)
    inner = with_intra.block_modes[1:, 1:]      # blocks with both neighbours
    assert (inner == mode).mean() > 0.9
    assert len(with_intra.data) < 0.7 * len(without.data)
    assert Decoder().decode(with_intra.data).shape == picture.shape


@pytest.mark.parametrize("block_size", [4, 8, 16, 32])
@pytest.mark.parametrize("quality", [0, 40])
def test_encoder_and_decoder_rebuild_the_same_refresh_pictures(block_size, quality) -> None:
    """Every block size (chroma tiles of 2 to 8 samples), without and with residual, in a
    picture large enough for two slices (a slice's first row has no top neighbours)."""
    scene = DemoScene(400, 264)
    encoder = Encoder(CodecParams(block_size=block_size, quality=quality, refresh_interval=2))
    decoder = Decoder()
    modes = set()
    for i in range(3):
        coded = encoder.encode(scene.frame(i))
        assert np.array_equal(decoder.decode(coded.data), coded.reconstruction)
        if coded.frame_type == "refresh":
            modes |= set(np.unique(coded.block_modes).tolist())
    assert {MODE_PALETTE, MODE_INTRA_DC} <= modes and modes & {MODE_INTRA_V, MODE_INTRA_H}


def test_the_refresh_header_states_intra_and_a_change_starts_a_refresh() -> None:
    header = RefreshHeader(64, 48, 16, 50, np.zeros((2, 3), np.uint8), 1, False, True)
    parsed, _ = unpack_refresh_header(pack_refresh_header(header))
    assert (parsed.intra, parsed.deblock) == (True, False)
    scene = DemoScene(64, 48)
    encoder = Encoder(CodecParams(intra=False))
    first = [encoder.encode(scene.frame(i)) for i in range(2)]
    assert set(np.unique(first[0].block_modes)) == {MODE_PALETTE}
    encoder.set_params(CodecParams(intra=True))
    switched = encoder.encode(scene.frame(2))
    assert switched.frame_type == "refresh"
    assert unpack_refresh_header(parse_packet(switched.data).payload)[0].intra
