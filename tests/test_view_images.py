"""The view images the decoder thread prepares: shrunk to the size they are shown at, with
motion arrows no denser than the view can show apart, and split blocks' quadrants drawn."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from livecodec.app.pipeline import FrameStats, PipelineFrame
from livecodec.app.sources import DemoScene
from livecodec.app.view_images import (LENGTH_BINS, LENGTH_COLOURS, MODE_COLOURS, PARTITION_COLOUR,
                                       draw_vectors, prepare_views, shrink, split_crosses,
                                       vector_arrows)
from livecodec.codec import FRAME_PREDICTED, MODE_INTER, MODE_SKIP, MODE_SPLIT, CodecParams


@pytest.mark.parametrize("size, shown", [((640, 480), (441, 331)), ((1280, 720), (441, 248)),
                                         ((1920, 1080), (441, 248)), ((640, 480), (320, 240))])
def test_shrink_gives_the_shown_size_and_looks_like_area_averaging(size, shown) -> None:
    picture = DemoScene(*size).read()
    small = shrink(picture, shown)
    assert small.shape == (shown[1], shown[0], 3) and small.dtype == np.uint8
    reference = cv2.resize(picture, shown, interpolation=cv2.INTER_AREA)
    difference = np.abs(small.astype(int) - reference.astype(int))
    assert difference.mean() < 3.0          # grey levels: the same picture to the eye
    grey = shrink(picture[:, :, 0].copy(), shown)
    assert grey.shape == (shown[1], shown[0])


def _field(rows: int, cols: int, vector: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Motion vectors and block modes with every block moving by vector."""
    vectors = np.zeros((rows, cols, 2), np.int32)
    vectors[:, :] = vector
    return vectors, np.full((rows, cols), MODE_INTER, np.int8)


def _quadrants(vectors: np.ndarray) -> np.ndarray:
    """The quadrant vectors of unsplit blocks: each block's vector four times."""
    return np.repeat(vectors[:, :, None], 4, axis=2)


def _split(vectors: np.ndarray, modes: np.ndarray, r: int, c: int,
           quadrant: list[tuple[int, int]]) -> np.ndarray:
    """Split block (r, c) into quadrants moving by ``quadrant`` (raster order), as the codec
    reports it: its motion vector is its last quadrant's. Returns the quadrant vectors."""
    quadrants = _quadrants(vectors)
    modes[r, c] = MODE_SPLIT
    quadrants[r, c] = quadrant
    vectors[r, c] = quadrant[3]
    return quadrants


def _stats() -> FrameStats:
    return FrameStats(index=1, frame_type=FRAME_PREDICTED, quality=50, nbytes=100,
                      bytes_by_part={}, psnr=30.0, encode_ms=1.0, decode_ms=1.0,
                      latency_ms=1.0, shown_at=0.0)


def _assert_arrows(arrows: tuple[np.ndarray, ...], expected: list[tuple[float, ...]]) -> None:
    """The arrows drawn are ``expected``: (tail x, tail y, tip x, tip y) each, in any order."""
    drawn = np.concatenate(arrows)[:, :2].reshape(-1, 4)
    np.testing.assert_allclose(sorted(map(tuple, drawn)), sorted(expected))


def test_an_arrow_runs_from_the_reference_to_the_block_centre() -> None:
    vectors, modes = _field(2, 3, (0, 0))
    vectors[1, 2] = (-6, 0)                 # predicted from 6 px to the left: content moved right
    arrows = vector_arrows(vectors, modes, 16)
    drawn = [b for b, a in enumerate(arrows) if len(a)]
    assert drawn == [np.digitize(6.0, LENGTH_BINS)]     # one arrow, coloured by its length
    assert len(arrows[drawn[0]]) == 1
    tail, tip = arrows[drawn[0]][0, 0], arrows[drawn[0]][0, 1]
    np.testing.assert_allclose(tip, (2.5 * 16, 1.5 * 16))
    np.testing.assert_allclose(tail, (2.5 * 16 - 6, 1.5 * 16))


def test_blocks_shown_small_share_one_arrow_with_their_mean_vector() -> None:
    vectors, modes = _field(6, 6, (4, 2))
    modes[0, 0] = MODE_SKIP                 # not moving: left out of its group's mean
    vectors[0, 0] = (100, 100)
    zoom = 1 / 3                            # 16-px blocks shown 5.3 px apart: groups of 3x3
    arrows = np.concatenate([a for a in vector_arrows(vectors, modes, 16, zoom) if len(a)])
    assert len(arrows) == 4
    np.testing.assert_allclose(arrows[:, 0] - arrows[:, 1], np.tile(np.array([4, 2]) * zoom, (4, 1)))
    np.testing.assert_allclose(sorted(map(tuple, arrows[:, 1])),
                               sorted((x * zoom, y * zoom) for x in (24, 72) for y in (24, 72)))


@pytest.mark.parametrize("zoom", [2.0, 1.0, 0.5, 1 / 3, 0.2])
def test_unsplit_frames_draw_the_same_arrows_with_their_quadrant_vectors(zoom) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.integers(-20, 21, (7, 9, 2)).astype(np.int32)
    modes = rng.choice(np.array([MODE_SKIP, MODE_INTER], np.int8), (7, 9))
    plain = vector_arrows(vectors, modes, 16, zoom)
    with_quadrants = vector_arrows(vectors, modes, 16, zoom, _quadrants(vectors))
    assert sum(map(len, plain)) > 0
    for a, b in zip(plain, with_quadrants):
        np.testing.assert_allclose(b, a)


def test_a_split_block_gets_an_arrow_per_moving_quadrant_from_the_quadrants_centre() -> None:
    vectors, modes = _field(2, 2, (0, 0))
    vectors[0, 0] = (-6, 0)                 # a whole block beside it: one arrow, as before
    quadrants = _split(vectors, modes, 0, 1, [(-4, 0), (0, -10), (0, 0), (20, 3)])
    arrows = vector_arrows(vectors, modes, 32, 1.0, quadrants)   # quadrants 16 px apart
    _assert_arrows(arrows, [(16 - 6, 16, 16, 16),
                            (40 - 4, 8, 40, 8), (56, 8 - 10, 56, 8), (56 + 20, 24 + 3, 56, 24)])
    assert len(arrows[np.digitize(np.hypot(20, 3), LENGTH_BINS)]) == 1  # coloured by its own length


def test_split_blocks_shown_small_average_their_moving_quadrants() -> None:
    vectors, modes = _field(1, 2, (4, 2))
    quadrants = _split(vectors, modes, 0, 1, [(2, 0), (6, 0), (0, 0), (4, 4)])
    arrows = vector_arrows(vectors, modes, 16, 1.0, quadrants)   # quadrants 8 px apart
    _assert_arrows(arrows, [(8 + 4, 8 + 2, 8, 8), (24 + 4, 8 + 4 / 3, 24, 8)])


def test_a_group_weighs_a_split_blocks_quadrants_as_quarters_of_whole_blocks() -> None:
    vectors, modes = _field(2, 2, (4, 0))
    quadrants = _split(vectors, modes, 1, 1, [(8, 0), (8, 0), (0, 0), (8, 0)])
    zoom = 0.5                              # 16-px blocks shown 8 px apart: groups of 2x2
    arrows = vector_arrows(vectors, modes, 16, zoom, quadrants)
    mean = (12 * 4 + 3 * 8) / 15            # twelve whole-block quarters, three moving quadrants
    _assert_arrows(arrows, [((16 + mean) * zoom, 16 * zoom, 16 * zoom, 16 * zoom)])


def test_split_crosses_run_along_the_quadrant_boundaries_of_split_blocks_only() -> None:
    modes = np.full((2, 3), MODE_INTER, np.int8)
    modes[1, 2] = MODE_SPLIT
    crosses = split_crosses(modes, 32, zoom=0.5)     # the block spans x 32-48, y 16-32 shown
    np.testing.assert_allclose(crosses, [[[33, 24], [46, 24]],      # across, inside the block
                                         [[40, 17], [40, 30]]])     # down
    assert split_crosses(np.full((2, 3), MODE_INTER, np.int8), 16).shape == (0, 2, 2)
    assert split_crosses(modes, 16, zoom=0.25).shape == (0, 2, 2)   # 4-px blocks: tint only


def test_draw_vectors_paints_the_arrow_in_its_length_colour() -> None:
    vectors, modes = _field(1, 1, (-20, 0))
    arrows = vector_arrows(vectors, modes, 64)
    image = np.zeros((64, 64, 3), np.uint8)
    draw_vectors(image, arrows)
    colour = np.array(LENGTH_COLOURS[np.digitize(20.0, LENGTH_BINS)], float)
    shaft = image[32, 15:30] / colour       # between tail (12, 32) and tip (32, 32)
    assert ((shaft > 0.8) & (shaft <= 1.0)).all()       # the colour, antialiased
    assert image[5].max() == 0              # nothing drawn far from the arrow


def test_views_are_opaque_rgba_pictures_of_the_frame() -> None:
    """Qt draws the four views from RGBA rows; every pixel opaque, the colours the frame's."""
    picture = DemoScene(96, 64).read()
    reconstruction = picture.copy()
    reconstruction[:16, :16] = 0                            # an error in the top-left block
    vectors, modes = _field(4, 6, (-12, 0))                  # long enough to draw arrows
    views = prepare_views(PipelineFrame(picture, reconstruction, vectors, _quadrants(vectors),
                                        modes, 16, CodecParams(), 30.0, _stats()))
    for image in (views.original, views.reconstruction, views.motion, views.error):
        assert image.shape == (64, 96, 4) and image.flags.c_contiguous
        assert (image[:, :, 3] == 255).all()
    assert np.array_equal(views.original[:, :, :3], picture[:, :, ::-1])          # BGR -> RGB
    assert np.array_equal(views.reconstruction[:, :, :3], reconstruction[:, :, ::-1])
    assert views.error[:16, :16, :3].mean() > views.error[32:, 48:, :3].mean()   # the error shows
    arrow_colours = {tuple(c) for c in LENGTH_COLOURS}
    drawn = {tuple(p) for p in views.motion[:, :, :3].reshape(-1, 3)} & arrow_colours
    assert drawn                                             # arrows in their colours


def test_the_motion_view_draws_a_cross_over_a_split_block_and_tints_it() -> None:
    picture = DemoScene(64, 64).read()
    vectors, modes = _field(2, 2, (0, 0))          # no arrows: only the cross is drawn
    unsplit = prepare_views(PipelineFrame(picture, picture, vectors, _quadrants(vectors),
                                          modes.copy(), 32, CodecParams(), 30.0, _stats()))
    quadrants = _split(vectors, modes, 1, 0, [(0, 0)] * 4)
    split = prepare_views(PipelineFrame(picture, picture, vectors, quadrants, modes, 32,
                                        CodecParams(), 30.0, _stats()))
    partition = np.array(PARTITION_COLOUR)
    across, down = split.motion[48, 2:30, :3], split.motion[34:62, 16, :3]
    assert (np.abs(across - partition) <= 0.2 * partition).all()
    assert (np.abs(down - partition) <= 0.2 * partition).all()
    changed = np.any(split.motion != unsplit.motion, axis=2)
    assert not changed[:32].any() and not changed[:, 32:].any()    # inside the block only
    assert tuple(split.modes[1, 0]) == MODE_COLOURS[MODE_SPLIT]
    assert tuple(split.modes[0, 0]) == MODE_COLOURS[MODE_INTER]
    assert len(set(MODE_COLOURS.values())) == len(MODE_COLOURS)      # a tint of its own
