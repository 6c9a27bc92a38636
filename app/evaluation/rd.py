"""Rate-distortion sweeps: livecodec's qualities and the anchors' settings on the same frames,
and livecodec's BD-rates against each anchor.

PSNR and bitrate exactly as DESIGN.md defines them: PSNR per frame over the three BGR channels
(``codec.psnr``), mean over frames, with SSIM (``codec.ssim``, scikit-image's definition; mean
over every ``SSIM_STRIDE``-th frame) beside it; bytes = the packets (no file header);
``bpp = 8 * bytes / (frames * W * H)``.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from livecodec.codec import CodecParams, Decoder, psnr, ssim

from . import anchors
from .bdrate import BDResult, compare
from .quality import SSIM_STRIDE

__all__ = ["LIVECODEC_QUALITIES", "JPEG_QUALITIES", "MPEG4_QS", "X264_CRFS", "QUICK_QUALITIES",
           "QUICK_JPEG", "QUICK_MPEG4", "QUICK_X264", "METHODS", "ANCHORS", "SETTING_NAME",
           "X264_KEYS", "Sweeps", "sweep_settings", "livecodec_point", "anchor_plan",
           "run_anchors", "bd_rates"]

LIVECODEC_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
JPEG_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
MPEG4_QS = (2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 31)
X264_CRFS = (18, 21, 24, 27, 30, 33, 36, 39, 42, 45)

QUICK_QUALITIES = (20, 50, 80)
QUICK_JPEG = (20, 50, 80)
QUICK_MPEG4 = (3, 8, 20)
QUICK_X264 = (20, 30, 40)

#: Method key -> label, in the order of tables and legends.
METHODS = {"livecodec": "livecodec", "mjpeg": "MJPEG (OpenCV JPEG)",
           "mpeg4": "MPEG-4 Part 2 (ffmpeg mpeg4)", "x264": "x264 ultrafast zerolatency",
           "x264_veryfast": "x264 veryfast zerolatency", "x264_medium": "x264 medium zerolatency"}
ANCHORS = ("mjpeg", "mpeg4", "x264", "x264_veryfast", "x264_medium")
SETTING_NAME = {"livecodec": "quality", "mjpeg": "quality", "mpeg4": "q:v", "x264": "crf",
                "x264_veryfast": "crf", "x264_medium": "crf"}
#: The key of each x264 preset's sweep ("x264" alone: ultrafast, as before the others).
X264_KEYS = {"ultrafast": "x264", "veryfast": "x264_veryfast", "medium": "x264_medium"}

Sweeps = dict  # method -> list of point dicts (setting, bytes, bpp, psnr, ...)


def sweep_settings(quick: bool) -> dict[str, tuple[int, ...]]:
    """The settings swept per codec family (every x264 preset sweeps the "x264" CRFs)."""
    if quick:
        return {"livecodec": QUICK_QUALITIES, "mjpeg": QUICK_JPEG, "mpeg4": QUICK_MPEG4,
                "x264": QUICK_X264}
    return {"livecodec": LIVECODEC_QUALITIES, "mjpeg": JPEG_QUALITIES, "mpeg4": MPEG4_QS,
            "x264": X264_CRFS}


# -- livecodec --------------------------------------------------------------------------------
def livecodec_point(frames: Sequence[np.ndarray], quality: int,
                    params: CodecParams | None = None) -> dict:
    """Encode and decode ``frames`` in-process at ``quality`` (other settings: ``params`` or
    the CodecParams defaults); bytes, bpp, mean PSNR and SSIM, and median per-frame speeds."""
    from livecodec.codec import Encoder     # scikit-learn: loaded once a sweep runs

    params = replace(params if params is not None else CodecParams(), quality=int(quality))
    enc, dec = Encoder(params), Decoder()
    h, w = frames[0].shape[:2]
    total, enc_t, dec_t, values, similarities, refresh = 0, [], [], [], [], 0
    parts: dict[str, int] = {}
    for frame in frames:
        t0 = time.perf_counter()
        ef = enc.encode(frame)
        t1 = time.perf_counter()
        image = dec.decode(ef.data)
        t2 = time.perf_counter()
        enc_t.append(t1 - t0)
        dec_t.append(t2 - t1)
        total += len(ef.data)
        refresh += ef.frame_type == "refresh"
        for key, value in (getattr(ef, "bytes_by_part", None) or {}).items():
            parts[key] = parts.get(key, 0) + int(value)
        values.append(psnr(frame, image))
        if (len(values) - 1) % SSIM_STRIDE == 0:
            similarities.append(ssim(frame, image))
        if not np.array_equal(image, ef.reconstruction):
            raise AssertionError(f"decoder output differs from the encoder's reconstruction "
                                 f"(quality {quality}, frame {len(values) - 1})")
    n = len(frames)
    return {"setting": int(quality), "bytes": total, "bpp": 8.0 * total / (n * w * h),
            "psnr": float(np.mean(values)), "psnr_min": float(np.min(values)),
            "ssim": float(np.mean(similarities)), "frames": n,
            "refresh_frames": refresh, "bytes_by_part": parts,
            "encode_fps": 1.0 / float(np.median(enc_t)), "decode_fps": 1.0 / float(np.median(dec_t))}


# -- anchors ----------------------------------------------------------------------------------
def _ffmpeg_problem(width: int, height: int) -> str | None:
    """Why the ffmpeg anchors cannot run on frames of this size here, or None."""
    if anchors.ffmpeg_path() is None:
        return ("ffmpeg is not installed: the MPEG-4 Part 2 and x264 anchors and the yuv420p "
                "ceiling were skipped (`apt-get install ffmpeg`, then rerun).")
    if width % 2 or height % 2:
        return f"{width}x{height} is not even: the 4:2:0 ffmpeg anchors were skipped."
    return None


def anchor_plan(width: int, height: int, *, jpeg_q: Sequence[int], mpeg4_q: Sequence[int],
                x264_crf: Sequence[int]) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    """The anchors that can run here, each with its settings, and a note on each left out
    (known before any frame is coded, so a progress bar knows its length)."""
    plan = {"mjpeg": tuple(jpeg_q)}
    problem = _ffmpeg_problem(width, height)
    if problem:
        return plan, [problem]
    notes = []
    encoders = anchors.ffmpeg_encoders()
    if "mpeg4" in encoders:
        plan["mpeg4"] = tuple(mpeg4_q)
    else:
        notes.append("this ffmpeg has no mpeg4 encoder: MPEG-4 Part 2 skipped.")
    if "libx264" in encoders:
        plan.update({X264_KEYS[preset]: tuple(x264_crf) for preset in anchors.X264_PRESETS})
    else:
        notes.append("this ffmpeg has no libx264 encoder: x264 skipped.")
    return plan, notes


def run_anchors(frames: Sequence[np.ndarray], fps: float, *, jpeg_q: Sequence[int],
                mpeg4_q: Sequence[int], x264_crf: Sequence[int], label: str = "",
                on_point: Callable[[str], None] | None = None,
                ) -> tuple[Sweeps, float | None, list[str]]:
    """The anchors' sweeps on ``frames``; returns (sweeps, yuv420p ceiling PSNR, notes).

    ``on_point(key)`` is called after each point, for a caller that shows its own progress;
    without it each sweep shows a bar named by ``label``.
    """
    h, w = frames[0].shape[:2]
    plan, notes = anchor_plan(w, h, jpeg_q=jpeg_q, mpeg4_q=mpeg4_q, x264_crf=x264_crf)
    coders: dict[str, Callable[[int], anchors.AnchorPoint]] = {
        "mjpeg": lambda q: anchors.jpeg_point(frames, q),
        "mpeg4": lambda q: anchors.mpeg4_point(frames, fps, q),
        **{X264_KEYS[preset]: (lambda c, preset=preset: anchors.x264_point(frames, fps, c, preset))
           for preset in anchors.X264_PRESETS}}
    ceiling = None if _ffmpeg_problem(w, h) else anchors.yuv420_ceiling(frames, fps).psnr
    sweeps: Sweeps = {}
    for key, settings in plan.items():
        points = []
        for s in tqdm(settings, desc=f"{key:>9} {label}", unit="pt", leave=False,
                      disable=True if on_point else None):
            points.append(coders[key](s).as_dict())
            if on_point:
                on_point(key)
        sweeps[key] = points
    return sweeps, ceiling, notes


# -- BD-rates ---------------------------------------------------------------------------------
def _curve(points: Sequence[dict]) -> tuple[list[float], list[float]]:
    return [p["bpp"] for p in points], [p["psnr"] for p in points]


def bd_rates(sweeps: Sweeps) -> dict[str, BDResult]:
    """livecodec's BD-rate and BD-PSNR (bpp against mean PSNR) against each anchor swept."""
    test = _curve(sweeps["livecodec"])
    return {key: compare(_curve(sweeps[key]), test) for key in ANCHORS if key in sweeps}
