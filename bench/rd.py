"""Rate-distortion: livecodec's quality sweep and the anchors' sweeps on the same frames.

PSNR and bitrate exactly as DESIGN.md defines them: PSNR per frame over the three BGR channels
(``codec.common.metrics.psnr``), mean over frames, with SSIM (``codec.common.metrics.ssim``, scikit-image's
definition; mean over every ``SSIM_STRIDE``-th frame) beside it; bytes = the packets (no file
header); ``bpp = 8 * bytes / (frames * W * H)``.

livecodec points run in a pool of worker processes (two by default: the RD numbers do not
depend on timing; the encode/decode fps recorded with each point are therefore only indicative,
``bench.speed`` measures speed properly, alone).
"""
from __future__ import annotations

import multiprocessing as mp
import sys
import time
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from . import anchors
from .bdrate import compare
from .common import CLIPS, SSIM_STRIDE, Clip, clip_pixels, load_frames

__all__ = ["LIVECODEC_QUALITIES", "JPEG_QUALITIES", "MPEG4_QS", "X264_CRFS", "Sweeps",
           "livecodec_point", "run_rd", "plot_rd", "METHODS", "ANCHORS"]

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


# -- livecodec --------------------------------------------------------------------------------
def livecodec_point(frames: Sequence[np.ndarray], quality: int, params=None) -> dict:
    """Encode and decode ``frames`` in-process at ``quality`` (other settings: ``params`` or
    the CodecParams defaults); bytes, bpp, mean PSNR and SSIM, and median per-frame speeds."""
    from livecodec.codec import CodecParams, Decoder, Encoder, psnr, ssim

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


_CACHE: dict = {}


def _clip_frames(name: str, max_frames: int | None):
    """Frames of a clip, keeping only the last clip loaded (workers go clip by clip)."""
    key = (name, max_frames)
    if _CACHE.get("key") != key:
        _CACHE.clear()
        _CACHE["key"] = key
        _CACHE["value"] = load_frames(CLIPS[name], max_frames)
    return _CACHE["value"]


def _livecodec_task(task: tuple[str, int | None, int]) -> tuple[str, dict]:
    name, max_frames, quality = task
    frames, _ = _clip_frames(name, max_frames)
    return name, livecodec_point(frames, quality)


def run_livecodec(clips: Sequence[Clip], frame_caps: dict[str, int | None],
                  qualities: Sequence[int], jobs: int = 2) -> dict[str, list[dict]]:
    """livecodec's sweep on every clip, in ``jobs`` processes; returns clip -> points."""
    # The heaviest clip first, so that the two workers finish together.
    sizes = {c.name: clip_pixels(c, frame_caps.get(c.name)) for c in clips}
    order = sorted(clips, key=lambda c: -sizes[c.name])
    tasks = [(c.name, frame_caps.get(c.name), q) for c in order for q in qualities]
    bars = {c.name: tqdm(total=len(qualities), desc=f"livecodec {c.name}", unit="pt",
                         position=i, leave=True, disable=None) for i, c in enumerate(order)}
    results: dict[str, list[dict]] = {c.name: [] for c in clips}
    t0 = time.perf_counter()
    try:
        if jobs <= 1:
            for task in tasks:
                name, point = _livecodec_task(task)
                results[name].append(point)
                bars[name].update()
                _done(name, results[name], len(qualities), t0)
        else:
            # spawn: a clean interpreter per worker (numba's threads do not survive a fork well).
            with mp.get_context("spawn").Pool(jobs) as pool:
                for name, point in pool.imap_unordered(_livecodec_task, tasks, chunksize=1):
                    results[name].append(point)
                    bars[name].update()
                    _done(name, results[name], len(qualities), t0)
    finally:
        for bar in bars.values():
            bar.close()
    for points in results.values():
        points.sort(key=lambda p: p["setting"])
    return results


def _done(name: str, points: list[dict], total: int, t0: float) -> None:
    if len(points) == total:
        log(f"livecodec {name}: {total} points done at {time.perf_counter() - t0:.0f} s")


def log(message: str) -> None:
    """One progress line on stderr (also when the bars are off: not a terminal)."""
    tqdm.write(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr)


# -- anchors ----------------------------------------------------------------------------------
def run_anchors(clip: Clip, frames, fps: float, *, jpeg_q: Sequence[int], mpeg4_q: Sequence[int],
                x264_crf: Sequence[int]) -> tuple[Sweeps, float | None, list[str]]:
    """The anchors' sweeps on ``frames``; returns (sweeps, yuv420p ceiling PSNR, notes)."""
    sweeps: Sweeps = {}
    notes: list[str] = []

    def sweep(key: str, settings: Sequence[int], fn: Callable[[int], anchors.AnchorPoint]):
        points = []
        for s in tqdm(settings, desc=f"{key:>9} {clip.name}", unit="pt", leave=False, disable=None):
            points.append(fn(s).as_dict())
        sweeps[key] = points

    sweep("mjpeg", jpeg_q, lambda q: anchors.jpeg_point(frames, q))
    ceiling = None
    if anchors.ffmpeg_path() is None:
        notes.append("ffmpeg is not installed: the MPEG-4 Part 2 and x264 anchors and the "
                     "yuv420p ceiling were skipped (`apt-get install ffmpeg`, then rerun).")
        return sweeps, ceiling, notes
    h, w = frames[0].shape[:2]
    if w % 2 or h % 2:
        notes.append(f"{w}x{h} is not even: the 4:2:0 ffmpeg anchors were skipped.")
        return sweeps, ceiling, notes
    encoders = anchors.ffmpeg_encoders()
    ceiling = anchors.yuv420_ceiling(frames, fps).psnr
    if "mpeg4" in encoders:
        sweep("mpeg4", mpeg4_q, lambda q: anchors.mpeg4_point(frames, fps, q))
    else:
        notes.append("this ffmpeg has no mpeg4 encoder: MPEG-4 Part 2 skipped.")
    if "libx264" in encoders:
        for preset in anchors.X264_PRESETS:
            sweep(X264_KEYS[preset], x264_crf,
                  lambda c, preset=preset: anchors.x264_point(frames, fps, c, preset))
    else:
        notes.append("this ffmpeg has no libx264 encoder: x264 skipped.")
    return sweeps, ceiling, notes


# -- the whole RD benchmark -------------------------------------------------------------------
def run_rd(clips: Sequence[Clip], frame_caps: dict[str, int | None], *, quick: bool = False,
           jobs: int = 2, qualities: Sequence[int] | None = None) -> list[dict]:
    """Every clip: livecodec and anchor sweeps, the yuv420p ceiling and the BD-rates."""
    if qualities is None:
        qualities = QUICK_QUALITIES if quick else LIVECODEC_QUALITIES
    t0 = time.perf_counter()
    lc = run_livecodec(clips, frame_caps, qualities, jobs)
    lc_seconds = time.perf_counter() - t0
    out = []
    for clip in tqdm(clips, desc="anchors", unit="clip", leave=False, disable=None):
        frames, fps = load_frames(clip, frame_caps.get(clip.name))
        h, w = frames[0].shape[:2]
        t1 = time.perf_counter()
        sweeps, ceiling, notes = run_anchors(
            clip, frames, fps,
            jpeg_q=QUICK_JPEG if quick else JPEG_QUALITIES,
            mpeg4_q=QUICK_MPEG4 if quick else MPEG4_QS,
            x264_crf=QUICK_X264 if quick else X264_CRFS)
        sweeps = {"livecodec": lc[clip.name], **sweeps}
        test = ([p["bpp"] for p in lc[clip.name]], [p["psnr"] for p in lc[clip.name]])
        bd = {}
        for key in ANCHORS:
            if key in sweeps:
                pts = sweeps[key]
                res = compare(([p["bpp"] for p in pts], [p["psnr"] for p in pts]), test)
                bd[key] = {"bd_rate": res.bd_rate, "bd_psnr": res.bd_psnr,
                           "psnr_lo": res.psnr_lo, "psnr_hi": res.psnr_hi}
        log(f"anchors {clip.name}: done in {time.perf_counter() - t1:.0f} s")
        out.append({"name": clip.name, "source": clip.describe(), "frames": len(frames),
                    "width": w, "height": h, "fps": fps, "sweeps": sweeps, "ceiling": ceiling,
                    "bd": bd, "notes": notes, "anchor_seconds": time.perf_counter() - t1})
        del frames
    for r in out:
        r["livecodec_seconds_all_clips"] = lc_seconds
    return out


# -- plots ------------------------------------------------------------------------------------
_STYLE = {"livecodec": ("tab:red", "o", "-"), "mjpeg": ("tab:gray", "s", "--"),
          "mpeg4": ("tab:blue", "^", "-."), "x264": ("tab:green", "D", ":"),
          "x264_veryfast": ("tab:olive", "v", ":"), "x264_medium": ("tab:purple", "P", ":")}


def plot_rd(result: dict, path) -> None:
    """PSNR against bpp (log axis) of every method on one clip, with the 4:2:0 ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=110)
    for key, label in METHODS.items():
        pts = result["sweeps"].get(key)
        if not pts:
            continue
        color, marker, line = _STYLE[key]
        # In sweep order, so that an anchor whose rate is not monotone in its setting shows it.
        ax.plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], color=color, marker=marker,
                linestyle=line, markersize=4, linewidth=2.2 if key == "livecodec" else 1.4,
                label=label)
    if result.get("ceiling") is not None:
        ax.axhline(result["ceiling"], color="black", linewidth=0.8, linestyle=(0, (2, 3)),
                   label=f"yuv420p round trip ({result['ceiling']:.1f} dB)")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bits per pixel (log scale)")
    ax.set_ylabel("PSNR (dB, mean over frames, BGR)")
    ax.set_title(f"{result['name']}: {result['width']}x{result['height']}, "
                 f"{result['frames']} frames")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
