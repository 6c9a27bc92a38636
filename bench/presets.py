"""Speed presets: each preset's compression (BD-rate against balanced and against x264 medium)
and encode speed at 640x480, 1280x720 and 1920x1080, with x264 ultrafast encoding the same
frames in the same run; and each coding tool's BD-rate (balanced with it against balanced
without it).

    python -m bench.presets [--frames 60] [--speed-frames 60] [--quick] [--json]

Compression: a quality sweep per preset on the first frames of each shared clip, BD-rate
against balanced (negative: fewer bits at equal PSNR). Speed: the first frames of bikes scaled
to each size (INTER_CUBIC, as a camera's scaler would), encoded in this process with the
default threads after one warm-up run; the median of three runs. x264 ultrafast zerolatency
(crf 23) encodes the same frames through ffmpeg (raw bgr24 pipe, process start and colour
conversion included, as the issue's reference figures were taken), also median of three.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from typing import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from livecodec.app.evaluation import anchors
from livecodec.app.evaluation.bdrate import compare
from livecodec.app.evaluation.rd import X264_CRFS

from .common import CLIPS, load_frames

#: Quality sweep of the BD-rate comparison (five points span the useful range).
QUALITIES = (25, 40, 55, 70, 85)
#: Frame sizes of the speed table (what webcams deliver).
SPEED_SIZES = ((640, 480), (1280, 720), (1920, 1080))
#: The issue's targets for the fast preset at 1080p.
FAST_1080P_FPS, FAST_1080P_X264_RATIO = 30.0, 0.8
X264_SPEED_CRF = 23
RUNS = 3
#: Frames per clip of the BD-rate comparison, and per speed run.
DEFAULT_FRAMES, SPEED_FRAMES, SLICE_FRAMES = 60, 60, 30


#: The coding tools that can be switched off, as CodecParams changes: the tools table gives
#: each one's BD-rate, balanced with every tool against balanced without that one.
TOOLS_OFF = {"deblocking filter": {"deblock": False}, "intra prediction": {"intra": False},
             "quarter-pel motion": {"qpel": False}, "split blocks": {"split": False},
             "RD-optimised quantisation": {"rdoq": False}, "transform skip": {"tskip": False}}


def _point(task: tuple[str, str, dict, int, int]) -> tuple[str, str, int, float, float]:
    from livecodec.app.evaluation.rd import livecodec_point
    from livecodec.codec import CodecParams

    clip, variant, changes, quality, frames = task
    point = livecodec_point(load_frames(CLIPS[clip], frames)[0], quality, CodecParams(**changes))
    return clip, variant, quality, point["bpp"], point["psnr"]


def run_variants(clips: Sequence[str], frames: int, variants: dict[str, dict],
                 qualities: Sequence[int] = QUALITIES, jobs: int = 2,
                 desc: str = "variants RD") -> dict[str, dict[str, tuple[list, list]]]:
    """clip -> variant -> (bits per pixel, PSNR) over the quality sweep; a variant is a name
    and the CodecParams fields it sets."""
    tasks = [(c, name, changes, q, frames) for c in clips for name, changes in variants.items()
             for q in qualities]
    with mp.get_context("spawn").Pool(jobs) as pool:
        points = list(tqdm(pool.imap_unordered(_point, tasks), total=len(tasks), desc=desc,
                           unit="pt", disable=None))
    curves: dict[str, dict[str, tuple[list, list]]] = {}
    for clip in clips:
        for name in variants:
            ordered = sorted((p for p in points if p[0] == clip and p[1] == name),
                             key=lambda p: p[2])
            curves.setdefault(clip, {})[name] = ([p[3] for p in ordered], [p[4] for p in ordered])
    return curves


def run_compression(clips: Sequence[str], frames: int, qualities: Sequence[int] = QUALITIES,
                    jobs: int = 2) -> tuple[dict[str, dict[str, float]],
                                            dict[str, dict[str, float | None]]]:
    """(clip -> preset -> BD-rate (%) against balanced, clip -> preset -> BD-rate against x264
    medium zerolatency on the same frames: the compression issue reports ``best`` against it;
    empty without ffmpeg, None where the curves do not overlap)."""
    from livecodec.codec import PRESETS

    curves = run_variants(clips, frames, {p: {"preset": p} for p in PRESETS}, qualities, jobs,
                          "presets RD")
    against_balanced = {clip: {p: round(compare(c["balanced"], c[p]).bd_rate, 2)
                               for p in PRESETS} for clip, c in curves.items()}
    against_medium: dict[str, dict[str, float | None]] = {}
    if anchors.ffmpeg_path():
        for clip in tqdm(clips, desc="x264 medium", unit="clip", disable=None):
            clip_frames, fps = load_frames(CLIPS[clip], frames)
            points = [anchors.x264_point(clip_frames, fps, crf, "medium") for crf in X264_CRFS]
            medium = ([p.bpp for p in points], [p.psnr for p in points])
            bd = {p: compare(medium, curves[clip][p]).bd_rate for p in PRESETS}
            against_medium[clip] = {p: None if v is None else round(v, 2) for p, v in bd.items()}
    return against_balanced, against_medium


def run_tools(clips: Sequence[str], frames: int, qualities: Sequence[int] = QUALITIES,
              jobs: int = 2) -> dict[str, dict[str, float]]:
    """clip -> tool -> BD-rate (%) of balanced against balanced without the tool (negative:
    the tool saves that share of the bits at equal PSNR)."""
    curves = run_variants(clips, frames, {"all": {}, **TOOLS_OFF}, qualities, jobs, "tools RD")
    return {clip: {tool: round(compare(c[tool], c["all"]).bd_rate, 2) for tool in TOOLS_OFF}
            for clip, c in curves.items()}


def scaled_frames(width: int, height: int, n: int) -> list[np.ndarray]:
    """The first n frames of bikes scaled to width x height."""
    frames, _ = load_frames(CLIPS["bikes"], n)
    return [cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in frames]


def _encode_fps(frames: Sequence[np.ndarray], preset: str) -> float:
    from livecodec.codec import CodecParams, Encoder

    encoder = Encoder(CodecParams(preset=preset))
    started = time.perf_counter()
    for frame in frames:
        encoder.encode(frame)
    return len(frames) / (time.perf_counter() - started)


def _x264_fps(frames: Sequence[np.ndarray]) -> float:
    point = anchors.x264_point(frames, 30.0, X264_SPEED_CRF)
    return len(frames) / point.encode_seconds


def run_speed(frames: int, sizes: Sequence[tuple[int, int]] = SPEED_SIZES,
              runs: int = RUNS) -> list[dict]:
    """Per size: encode fps of every preset and of x264 ultrafast, medians of ``runs``."""
    from livecodec.codec import PRESETS

    rows = []
    bar = tqdm(total=len(sizes) * runs * (len(PRESETS) + 1), desc="presets speed", unit="run",
               disable=None)
    for width, height in sizes:
        clip = scaled_frames(width, height, frames)
        for preset in PRESETS:
            _encode_fps(clip[:3], preset)           # warm-up: kernels, caches
        samples: dict[str, list[float]] = {p: [] for p in (*PRESETS, "x264")}
        for _ in range(runs):                       # interleaved: load changes hit all alike
            for preset in PRESETS:
                samples[preset].append(_encode_fps(clip, preset))
                bar.update()
            if anchors.ffmpeg_path():
                samples["x264"].append(_x264_fps(clip))
            bar.update()
        rows.append({"size": [width, height], "frames": len(clip),
                     **{name: round(statistics.median(v), 1) if v else None
                        for name, v in samples.items()}})
    bar.close()
    return rows


def slice_cost(frames: int, sizes: Sequence[tuple[int, int]] = SPEED_SIZES[1:],
               quality: int = 50) -> list[dict]:
    """Bytes and PSNR of bikes at each size coded with the encoder's slices and with one slice
    (balanced, one quality): what the slices cost in bits."""
    from livecodec.codec import CodecParams, Decoder, Encoder, psnr
    from livecodec.codec.common.blocks import padded_size
    from livecodec.codec.encoder import encoder as encoder_module
    from livecodec.codec.encoder.analysis import choose_slice_count

    rows = []
    for width, height in sizes:
        clip = scaled_frames(width, height, frames)
        bs = CodecParams().block_size
        padded = padded_size(width, height, bs)
        result = {"size": [width, height],
                  "slices": choose_slice_count(padded[1] // bs, padded[0] // bs, bs)}
        original = encoder_module.choose_slice_count
        for key, count in (("sliced", None), ("one", 1)):
            if count is not None:
                encoder_module.choose_slice_count = lambda rows_, cols, bs: count
            try:
                encoder, decoder = Encoder(CodecParams(quality=quality)), Decoder()
                sizes_, values = [], []
                for frame in clip:
                    data = encoder.encode(frame).data
                    sizes_.append(len(data))
                    values.append(psnr(frame, decoder.decode(data)))
            finally:
                encoder_module.choose_slice_count = original
            result[f"bytes_{key}"], result[f"psnr_{key}"] = sum(sizes_), float(np.mean(values))
        result["extra_bits"] = round(100.0 * (result["bytes_sliced"] / result["bytes_one"] - 1), 2)
        rows.append(result)
    return rows


def verdicts(speed: list[dict]) -> list[str]:
    """The issue's fast-preset targets at 1080p, met or missed."""
    out = []
    for row in speed:
        if tuple(row["size"]) == (1920, 1080):
            fast, x264 = row["fast"], row["x264"]
            out.append(f"fast at 1920x1080: {fast} fps (target >= {FAST_1080P_FPS:g}: "
                       f"{'met' if fast >= FAST_1080P_FPS else 'missed'})")
            if x264:
                ratio = fast / x264
                out.append(f"fast / x264 ultrafast at 1920x1080: {ratio:.2f} (target >= "
                           f"{FAST_1080P_X264_RATIO}: "
                           f"{'met' if ratio >= FAST_1080P_X264_RATIO else 'missed'})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                        help="frames per clip for BD-rate")
    parser.add_argument("--speed-frames", type=int, default=SPEED_FRAMES,
                        help="frames per speed run")
    parser.add_argument("--clips", default="carphone,bikes,scene_cuts,demo")
    parser.add_argument("--quick", action="store_true", help="few frames, two qualities")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    clips = [c for c in args.clips.split(",") if CLIPS[c].available()]
    if args.quick:
        compression, against_medium = run_compression(clips[:1], 6, (30, 70))
        tools = run_tools(clips[:1], 6, (30, 70))
        speed = run_speed(4, SPEED_SIZES[:1], runs=1)
    else:
        compression, against_medium = run_compression(clips, args.frames)
        tools = run_tools(clips, args.frames)
        speed = run_speed(args.speed_frames)
    result = {"compression": compression, "x264_medium": against_medium, "tools": tools,
              "speed": speed,
              "verdicts": verdicts(speed),
              "slices": slice_cost(4 if args.quick else SLICE_FRAMES)}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
