"""Quality and rate measures exactly as DESIGN.md defines them."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["psnr", "bits_per_pixel", "kbps", "PSNR_CAP"]

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


def bits_per_pixel(n_bytes: int, frames: int, width: int, height: int) -> float:
    """8 * bytes / (frames * W * H)."""
    return 8.0 * n_bytes / (frames * width * height)


def kbps(n_bytes: int, frames: int, fps: float) -> float:
    """8 * bytes / (frames / fps) / 1000."""
    return 8.0 * n_bytes / (frames / fps) / 1000.0
