"""Rate-distortion on the benchmark clips: livecodec's and the anchors' sweeps
(``livecodec.app.evaluation.rd``) on every clip, and the BD-rates.

livecodec points run in a pool of worker processes (two by default: the RD numbers do not
depend on timing; the encode/decode fps recorded with each point are therefore only indicative,
``bench.speed`` measures speed properly, alone).
"""
from __future__ import annotations

import multiprocessing as mp
import sys
import time
from dataclasses import asdict
from typing import Sequence

from tqdm import tqdm

from livecodec.app.evaluation.rd import bd_rates, livecodec_point, run_anchors, sweep_settings

from .common import CLIPS, Clip, clip_pixels, load_frames

__all__ = ["run_rd", "log"]


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


# -- the whole RD benchmark -------------------------------------------------------------------
def run_rd(clips: Sequence[Clip], frame_caps: dict[str, int | None], *, quick: bool = False,
           jobs: int = 2, qualities: Sequence[int] | None = None) -> list[dict]:
    """Every clip: livecodec and anchor sweeps, the yuv420p ceiling and the BD-rates."""
    settings = sweep_settings(quick)
    if qualities is None:
        qualities = settings["livecodec"]
    t0 = time.perf_counter()
    lc = run_livecodec(clips, frame_caps, qualities, jobs)
    lc_seconds = time.perf_counter() - t0
    out = []
    for clip in tqdm(clips, desc="anchors", unit="clip", leave=False, disable=None):
        frames, fps = load_frames(clip, frame_caps.get(clip.name))
        h, w = frames[0].shape[:2]
        t1 = time.perf_counter()
        sweeps, ceiling, notes = run_anchors(
            frames, fps, jpeg_q=settings["mjpeg"], mpeg4_q=settings["mpeg4"],
            x264_crf=settings["x264"], label=clip.name)
        sweeps = {"livecodec": lc[clip.name], **sweeps}
        bd = {key: asdict(res) for key, res in bd_rates(sweeps).items()}
        log(f"anchors {clip.name}: done in {time.perf_counter() - t1:.0f} s")
        out.append({"name": clip.name, "source": clip.describe(), "frames": len(frames),
                    "width": w, "height": h, "fps": fps, "sweeps": sweeps, "ceiling": ceiling,
                    "bd": bd, "notes": notes, "anchor_seconds": time.perf_counter() - t1})
        del frames
    for r in out:
        r["livecodec_seconds_all_clips"] = lc_seconds
    return out
