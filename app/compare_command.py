"""``livecodec compare SRC``: livecodec against JPEG, MPEG-4 Part 2 and x264 on a user's own
clip, measured as ``make bench`` measures the shared clips (``app/evaluation``)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from livecodec.codec import PRESETS, SSIM_MIN_SIDE, CodecParams, kbps

from .cli import (EXIT_OK, STOP, UsageError, _add_capture_options, _capture, _check_frames_option,
                  _check_output, _frames, _open)
from .evaluation.anchors import FfmpegError
from .evaluation.bdrate import BDResult
from .evaluation.rd import (METHODS, SETTING_NAME, anchor_plan, bd_rates, livecodec_point,
                            run_anchors, sweep_settings)
from .evaluation.rdplot import plot_rd
from .outputs import PendingOutput

__all__ = ["add_compare_command", "cmd_compare", "DEFAULT_FRAMES"]

#: Frames compared when --frames is not given: about two minutes for 640x480 on two cores.
DEFAULT_FRAMES = 60


def add_compare_command(sub: argparse._SubParsersAction) -> None:
    """The compare parser."""
    cmp = sub.add_parser("compare", help="rate-distortion against JPEG, MPEG-4 Part 2 and x264 "
                                         "on a clip: BD-rate table and RD plot")
    cmp.add_argument("source", metavar="SRC", help="video file or demo")
    cmp.add_argument("--frames", type=int, metavar="N",
                     help=f"compare the first N frames (default {DEFAULT_FRAMES})")
    _add_capture_options(cmp)
    cmp.add_argument("--preset", choices=PRESETS, default=CodecParams().preset,
                     help="livecodec's encoder effort (default %(default)s)")
    cmp.add_argument("--quick", action="store_true",
                     help="three points per codec instead of 9 to 12: quicker, a rougher fit")
    cmp.add_argument("--out", metavar="PLOT.png",
                     help="the RD plot (default: rd_<name of SRC>.png in this folder)")
    cmp.add_argument("--json", metavar="FILE", help="also write every point and BD-rate as JSON")


def _outputs(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The plot and JSON paths, checked before any frame is coded."""
    plot = _check_output(args.out or f"rd_{Path(args.source).stem or 'clip'}.png",
                         [args.source], suffixes=(".png",))
    report = _check_output(args.json, [args.source]) if args.json else None
    if report is not None and report.resolve() == plot.resolve():
        raise UsageError(f"--json and --out both name {plot}: choose two files")
    return plot, report


def _read(args: argparse.Namespace) -> tuple[list[np.ndarray], float]:
    """The frames to compare, and their rate."""
    source = _open(args.source, _capture(args))
    try:
        if min(source.size) < SSIM_MIN_SIDE:
            raise UsageError(f"{args.source}: {source.size[0]}x{source.size[1]} is too small to "
                             f"compare (SSIM needs {SSIM_MIN_SIDE}x{SSIM_MIN_SIDE})")
        frames = list(_frames(source, args.frames or DEFAULT_FRAMES, "reading"))
    finally:
        source.close()
    if not frames:
        raise UsageError(f"{args.source} gave no frames")
    return frames, source.fps


def _measure(frames: list[np.ndarray], fps: float, params: CodecParams, quick: bool) -> dict:
    """Every sweep on the frames, with one progress bar over all their points."""
    settings = sweep_settings(quick)
    h, w = frames[0].shape[:2]
    plan, _ = anchor_plan(w, h, jpeg_q=settings["mjpeg"], mpeg4_q=settings["mpeg4"],
                          x264_crf=settings["x264"])
    total = len(settings["livecodec"]) + sum(len(s) for s in plan.values())
    bar = tqdm(total=total, desc="comparing", unit="pt", disable=None, leave=False)

    def point_done(key: str) -> None:
        bar.set_postfix_str(key)
        bar.update()
        STOP.check()

    try:
        lc = []
        for quality in settings["livecodec"]:
            lc.append(livecodec_point(frames, quality, params))
            point_done("livecodec")
        sweeps, ceiling, notes = run_anchors(frames, fps, jpeg_q=settings["mjpeg"],
                                             mpeg4_q=settings["mpeg4"],
                                             x264_crf=settings["x264"], on_point=point_done)
    except FfmpegError as exc:
        STOP.check()        # a Ctrl+C reached ffmpeg too: report the stop, not its failure
        raise RuntimeError(str(exc).splitlines()[0]) from exc   # one line; the command after it
    finally:
        bar.close()
    sweeps = {"livecodec": lc, **sweeps}
    return {"frames": len(frames), "width": w, "height": h, "fps": fps, "sweeps": sweeps,
            "ceiling": ceiling, "bd": bd_rates(sweeps), "notes": notes}


def _table(result: dict) -> list[str]:
    """The BD-rate table and the RD points, as printed."""
    lines = [f"{result['name']}: {result['frames']} frames {result['width']}x{result['height']} "
             f"at {result['fps']:.2f} fps, livecodec preset {result['preset']}"
             + (", quick sweeps" if result["quick"] else "")]
    if result["ceiling"] is not None:
        lines.append(f"yuv420p round trip (the 4:2:0 anchors' ceiling): {result['ceiling']:.2f} dB")
    lines += ["", "livecodec against each anchor: BD-rate = bits at equal PSNR (negative: "
                  "livecodec needs fewer),", "BD-PSNR = dB gained at equal rate, over the PSNR "
                  "range both curves cover", "",
              f"{'anchor':<30} {'BD-rate':>16} {'BD-PSNR':>16}  PSNR range"]
    bd: dict[str, BDResult] = result["bd"]
    for key, res in bd.items():
        lines.append(f"{METHODS[key]:<30} {res.rate_text():>16} {res.psnr_text():>16}  "
                     f"{res.range_text()}")
    lines += ["", f"{'method':<30} {'setting':>11} {'bytes':>9} {'bpp':>8} {'kbps':>9} "
                  f"{'PSNR dB':>8} {'SSIM':>7}"]
    for key, points in result["sweeps"].items():
        for p in points:
            lines.append(f"{METHODS[key]:<30} {SETTING_NAME[key] + ' ' + str(p['setting']):>11} "
                         f"{p['bytes']:>9} {p['bpp']:>8.4f} "
                         f"{kbps(p['bytes'], p['frames'], result['fps']):>9.1f} "
                         f"{p['psnr']:>8.2f} {p['ssim']:>7.4f}")
    return lines


def _save(out: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file beside ``out``: a failed run leaves ``out`` as it was."""
    try:
        with PendingOutput(out) as pending:
            write(pending.path)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None


def cmd_compare(args: argparse.Namespace) -> int:
    """Outputs and source checked first, then the sweeps (minutes), then the table and files."""
    t0 = time.perf_counter()
    _check_frames_option(args)
    params = CodecParams(preset=args.preset)
    plot, report = _outputs(args)
    frames, fps = _read(args)
    result = {"source": args.source, "name": Path(args.source).name, "preset": args.preset,
              "quick": args.quick, **_measure(frames, fps, params, args.quick)}
    for note in result["notes"]:
        print(f"livecodec: note: {note}", file=sys.stderr)
    print("\n".join(_table(result)))
    _save(plot, lambda path: plot_rd(result, path))
    if report is not None:
        data = {**result, "bd": {key: asdict(res) for key, res in result["bd"].items()}}
        _save(report, lambda path: path.write_text(json.dumps(data, indent=1), encoding="utf-8"))
    print(f"\n{plot}: RD plot" + (f"; {report}: every point and BD-rate" if report else "")
          + f" ({time.perf_counter() - t0:.0f} s)")
    return EXIT_OK
