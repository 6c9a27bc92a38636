"""Quality and rate measures exactly as DESIGN.md defines them."""
from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["psnr", "ssim", "bits_per_pixel", "kbps", "PSNR_CAP", "SSIM_MIN_SIDE"]

#: SSIM's Gaussian window (Wang et al. 2004; scikit-image's gaussian_weights=True): sigma
#: 1.5, 11 taps; and its stabilising constants for 8-bit samples.
_SSIM_SIGMA, _SSIM_TAPS = 1.5, 11
#: The smallest picture side SSIM is defined for (its window).
SSIM_MIN_SIDE = _SSIM_TAPS
_SSIM_C1, _SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

#: PSNR of identical pictures is infinite; reports cap it here so means stay finite.
PSNR_CAP = 100.0


def psnr(original: np.ndarray, reconstruction: np.ndarray) -> float:
    """PSNR in dB over all channels of two 8-bit pictures, capped at ``PSNR_CAP``."""
    if original.shape != reconstruction.shape:
        raise ValueError(f"shapes differ: {original.shape} vs {reconstruction.shape}")
    diff = original.astype(np.float64) - reconstruction.astype(np.float64)
    mse = float(np.mean(diff * diff)) if diff.size else 0.0
    if mse == 0.0:
        return PSNR_CAP
    return min(10.0 * math.log10(255.0 ** 2 / mse), PSNR_CAP)


def ssim(original: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean SSIM of two 8-bit pictures, averaged over channels: the number scikit-image's
    ``structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, channel_axis=2)`` gives (tests/test_metrics.py checks it), by
    OpenCV's Gaussian blur: a 640x480 frame in milliseconds rather than a fifth of a second,
    so every frame of a benchmark sweep can be measured."""
    if original.shape != reconstruction.shape:
        raise ValueError(f"shapes differ: {original.shape} vs {reconstruction.shape}")
    pad = (_SSIM_TAPS - 1) // 2
    if min(original.shape[:2]) < _SSIM_TAPS:
        raise ValueError(f"SSIM needs pictures of at least {_SSIM_TAPS}x{_SSIM_TAPS} pixels")
    a = original.astype(np.float32)     # float32: OpenCV's vectorised blur, 1e-5 of float64
    b = reconstruction.astype(np.float32)

    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image, (_SSIM_TAPS, _SSIM_TAPS), _SSIM_SIGMA,
                                borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + _SSIM_C1) * (2 * cov + _SSIM_C2)
             / ((mu_a * mu_a + mu_b * mu_b + _SSIM_C1) * (var_a + var_b + _SSIM_C2)))
    return float(index[pad:-pad, pad:-pad].mean())


def bits_per_pixel(n_bytes: int, frames: int, width: int, height: int) -> float:
    """8 * bytes / (frames * W * H)."""
    return 8.0 * n_bytes / (frames * width * height)


def kbps(n_bytes: int, frames: int, fps: float) -> float:
    """8 * bytes / (frames / fps) / 1000."""
    return 8.0 * n_bytes / (frames / fps) / 1000.0
