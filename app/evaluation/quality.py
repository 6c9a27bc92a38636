"""How the picture quality of a sweep point is measured, the same for livecodec and anchors."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from livecodec.codec import psnr, ssim

__all__ = ["SSIM_STRIDE", "mean_quality"]

#: SSIM in the RD tables is the mean over every 7th frame (0, 7, 14, ...): it cost most of the
#: anchors stage's 33 minutes on every frame. 7 is prime to the 30-frame refresh interval, so
#: refresh frames weigh in the sample as they do in the clip; PSNR still covers every frame.
SSIM_STRIDE = 7


def mean_quality(frames: Sequence[np.ndarray],
                 decoded: Sequence[np.ndarray]) -> tuple[float, float]:
    """(mean PSNR, mean SSIM) of decoded pictures against their frames (SSIM: every
    ``SSIM_STRIDE``-th frame)."""
    pairs = list(zip(frames, decoded, strict=True))
    return (float(np.mean([psnr(a, b) for a, b in pairs])),
            float(np.mean([ssim(a, b) for a, b in pairs[::SSIM_STRIDE]])))
