"""The view images the decoder thread prepares: shrunk to the size they are shown at."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from livecodec.app.sources import DemoScene
from livecodec.app.view_images import shrink


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
