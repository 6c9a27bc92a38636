"""codec.common.metrics.ssim: scikit-image's SSIM (Gaussian window, population covariances, 8-bit
range, channels averaged), only faster."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from livecodec.app.sources import DemoScene
from livecodec.codec import SSIM_MIN_SIDE, ssim


def _reference(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, channel_axis=2)


@pytest.mark.parametrize("noise", [1, 6, 40])
@pytest.mark.parametrize("size", [(11, 11), (97, 64), (320, 240)])
def test_ssim_is_scikit_images(noise, size) -> None:
    rng = np.random.default_rng(noise)
    a = DemoScene(*size).read() if min(size) >= DemoScene.MIN_SIDE else \
        rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-noise, noise + 1, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, b) == pytest.approx(_reference(a, b), abs=1e-5)
    assert ssim(a, a) == pytest.approx(1.0)


def test_ssim_orders_by_damage_and_refuses_what_it_cannot_measure() -> None:
    a = DemoScene(160, 120).read()
    blurred = [a] + [np.ascontiguousarray(np.roll(a, k, axis=1)) for k in (1, 3)]
    values = [ssim(a, b) for b in blurred]
    assert values[0] > values[1] > values[2]
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(a, a[:, :-1])
    tiny = a[:SSIM_MIN_SIDE - 1, :40]
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(tiny, tiny)
