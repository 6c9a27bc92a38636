"""Transform skip: a tile's residual samples quantised as they are, without the DCT."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from livecodec.codec import MODE_PALETTE, CodecParams
from livecodec.codec.common.entropy import new_contexts
from livecodec.codec.common.slices import SliceContexts, decode_slices, encode_slices
from livecodec.codec.common.syntax import N_CONTEXTS, decode_symbols, encode_symbols
from livecodec.codec.common.transform import (LEVEL_DTYPE, STEP_ONE, TILE_DCT, TILE_SKIP,
                                              TILE_UNCODED, add_residual, zigzag_order)
from livecodec.codec.encoder.presets import tools_in_effect
from livecodec.codec.encoder.quantise import ROUNDING_INTER, forward_quantise
from livecodec.codec.encoder.rdoq import LAMBDA_INTER, rate_table
from tests.closed_loop import code_and_measure

STEP = 8.0


def _quantised_tile(residual: np.ndarray, tskip: bool) -> tuple[np.ndarray, np.ndarray]:
    """One 8 x 8 tile of ``residual`` on a flat prediction, quantised with RDOQ."""
    prediction = np.full((8, 8), 128, np.uint8)
    current = np.clip(128 + residual, 0, 255).astype(np.uint8)
    levels = np.zeros((1, 1, 64), LEVEL_DTYPE)
    coded = np.zeros((1, 1), np.uint8)
    forward_quantise(current, prediction, 8, STEP, ROUNDING_INTER, out=levels, coded=coded,
                     rd_lambda=LAMBDA_INTER, rates=rate_table(None), tskip=tskip)
    return levels, coded


def test_a_thin_line_is_coded_without_the_transform() -> None:
    """A one-pixel slanted line spreads over most DCT frequencies; as samples it is eight
    levels."""
    line = np.zeros((8, 8))
    line[np.arange(8), [1, 2, 2, 3, 4, 4, 5, 6]] = 60
    levels, coded = _quantised_tile(line, tskip=True)
    assert coded[0, 0] == TILE_SKIP
    raster = np.zeros(64, int)
    raster[zigzag_order(8)] = levels[0, 0]
    assert (np.flatnonzero(raster) == np.flatnonzero(line)).all()
    assert (np.abs(raster - line.ravel() / STEP) <= 1).all()
    assert _quantised_tile(line, tskip=False)[1][0, 0] == TILE_DCT


def test_a_smooth_residual_keeps_the_transform() -> None:
    ramp = np.add.outer(np.arange(8), np.arange(8)) * 4.0 - 28
    levels, coded = _quantised_tile(ramp, tskip=True)
    assert coded[0, 0] == TILE_DCT
    assert np.count_nonzero(levels) < 10        # a few low frequencies, not 64 samples


def test_a_skipped_tile_adds_each_level_times_the_step_at_its_sample() -> None:
    rng = np.random.default_rng(3)
    levels = rng.integers(-6, 7, (2, 3, 16)).astype(LEVEL_DTYPE)
    coded = np.full((2, 3), TILE_SKIP, np.uint8)
    coded[1, 2] = TILE_UNCODED
    prediction = rng.integers(0, 256, (8, 12)).astype(np.uint8)
    step_fp = 5 * STEP_ONE // 2                              # a step of 2.5
    rebuilt = add_residual(prediction, levels, step_fp, coded=coded)
    raster = np.zeros_like(levels, dtype=np.int64)
    raster[:, :, zigzag_order(4)] = levels
    residual = (raster * step_fp + STEP_ONE // 2) >> 6       # rounded to whole grey levels
    residual = residual.reshape(2, 3, 4, 4).transpose(0, 2, 1, 3).reshape(8, 12)
    residual[4:, 8:] = 0
    assert (rebuilt == np.clip(prediction + residual, 0, 255)).all()


def test_tile_maps_round_trip_through_the_range_coder() -> None:
    rng = np.random.default_rng(5)
    rows, cols, ky, kc = 4, 5, 2, 1
    shapes = [(rows * k, cols * k, 64) for k in (ky, kc, kc)]
    levels = [np.asarray(rng.integers(-3, 4, shape) * (rng.random(shape) < 0.1), LEVEL_DTYPE)
              for shape in shapes]
    tiles = [np.where(lev.any(axis=2), np.where(rng.random(lev.shape[:2]) < 0.5, TILE_SKIP,
                                                  TILE_DCT), TILE_UNCODED).astype(np.uint8)
             for lev in levels]
    modes = np.full((rows, cols), MODE_PALETTE, np.int8)    # labels, then residual
    labels = np.zeros((rows, cols), np.int32)
    vectors = np.zeros((rows, cols, 2), np.int32)
    quadrants = np.zeros((rows, cols, 4, 2), np.int32)
    for tskip in (True, False):
        data, _ = encode_symbols(True, False, False, tskip, True, modes, vectors, quadrants,
                                 labels, 1, *levels, *tiles, ky, kc, new_contexts(N_CONTEXTS))
        got_levels = [np.zeros_like(lev) for lev in levels]
        got_tiles = [np.zeros_like(t) for t in tiles]
        *_, error, consumed = decode_symbols(data, True, False, False, tskip, True, rows, cols,
                                             2, 1, *got_levels, *got_tiles, ky, kc,
                                             new_contexts(N_CONTEXTS))
        assert error == 0 and consumed <= len(data)
        assert all((got == lev).all() for got, lev in zip(got_levels, levels))
        # Without the tool no flag is sent: every coded tile is a DCT tile.
        expected = tiles if tskip else [np.minimum(t, TILE_DCT) for t in tiles]
        assert all((got == want).all() for got, want in zip(got_tiles, expected))


def _chart(shift: int) -> np.ndarray:
    """A plot-like picture: thin axes, text and a one-pixel line at ``shift``."""
    image = np.full((96, 128, 3), 255, np.uint8)
    cv2.rectangle(image, (10, 10), (118, 60), (0, 0, 0), 1)
    cv2.putText(image, "0.8 livecodec", (12, 80), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    for x in range(20, 118, 24):
        cv2.line(image, (x, 58), (x + 3, 14), (200, 60, 0), 1)
    cv2.line(image, (14 + shift, 12), (14 + shift, 58), (0, 160, 0), 1)
    return image


def test_sharp_graphics_cost_fewer_bytes_with_transform_skip() -> None:
    frames = [_chart(2 * i) for i in range(4)]
    results = {tskip: code_and_measure(frames, CodecParams(quality=60, tskip=tskip))
               for tskip in (True, False)}
    assert results[True][0] < 0.9 * results[False][0]
    assert results[True][1] > results[False][1] - 0.2


def test_the_tool_is_used_where_rdoq_decides() -> None:
    assert tools_in_effect(CodecParams()).tskip
    assert not tools_in_effect(CodecParams(preset="fast")).tskip
    assert not tools_in_effect(CodecParams(rdoq=False)).tskip
    assert not tools_in_effect(CodecParams(target_kbps=500)).tskip
    assert not tools_in_effect(CodecParams(tskip=False)).tskip


def test_slice_coding_refuses_levels_without_their_tile_maps() -> None:
    """The kernels index the maps beside the levels: a call without them is refused."""
    levels = tuple(np.zeros((2, 2, 64), LEVEL_DTYPE) for _ in range(3))
    with pytest.raises(ValueError, match="tile maps"):
        decode_slices(np.zeros(8, np.uint8), True, 1, 2, 1, levels, 16, [(0, 1)],
                      SliceContexts().start(1, False))
    with pytest.raises(ValueError, match="tile maps"):
        encode_slices(True, np.zeros((1, 1), np.int8), np.zeros((1, 1, 2), np.int32),
                      np.zeros((1, 1), np.int32), 1, levels, 16, [(0, 1)],
                      SliceContexts().start(1, False), tskip=True)
