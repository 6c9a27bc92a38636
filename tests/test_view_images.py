"""The view images the decoder thread prepares: shrunk to the size they are shown at, with
motion arrows no denser than the view can show apart."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from livecodec.app.pipeline import FrameStats, PipelineFrame
from livecodec.app.sources import DemoScene
from livecodec.app.view_images import (LENGTH_BINS, LENGTH_COLOURS, draw_vectors, prepare_views,
                                       shrink, vector_arrows)
from livecodec.codec import FRAME_PREDICTED, MODE_INTER, MODE_SKIP, CodecParams


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
    stats = FrameStats(index=1, frame_type=FRAME_PREDICTED, quality=50, nbytes=100,
                       bytes_by_part={}, psnr=30.0, encode_ms=1.0, decode_ms=1.0,
                       latency_ms=1.0, shown_at=0.0)
    views = prepare_views(PipelineFrame(picture, reconstruction, vectors, modes, 16,
                                        CodecParams(), 30.0, stats))
    for image in (views.original, views.reconstruction, views.motion, views.error):
        assert image.shape == (64, 96, 4) and image.flags.c_contiguous
        assert (image[:, :, 3] == 255).all()
    assert np.array_equal(views.original[:, :, :3], picture[:, :, ::-1])          # BGR -> RGB
    assert np.array_equal(views.reconstruction[:, :, :3], reconstruction[:, :, ::-1])
    assert views.error[:16, :16, :3].mean() > views.error[32:, 48:, :3].mean()   # the error shows
    arrow_colours = {tuple(c) for c in LENGTH_COLOURS}
    drawn = {tuple(p) for p in views.motion[:, :, :3].reshape(-1, 3)} & arrow_colours
    assert drawn                                             # arrows in their colours
