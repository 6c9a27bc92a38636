"""Speed: encode and decode frames per second, and where the encoder's and decoder's time goes.

Protocol (DESIGN.md, Measuring): one process, default ``CodecParams``, the demo scene at
640x480 and 1280x720. The N frames are generated first; one warm-up run (numba compilation and
caches, first KMeans) is not counted; then R timed runs, each with a fresh Encoder and Decoder
(so each run contains its refresh frames); fps = N / time of the run, median over the runs.

Per-stage times come from separate runs in which the functions the encoder and decoder modules
call (``codec.encoder.encoder.diamond_search`` and the like) are replaced *in the benchmark process
only* by timed wrappers; ``codec/`` is never modified. Each wrapped function is assigned a stage
by its name, so new codec functions are picked up without editing this file; time not spent
inside any wrapped function is the modules' own Python ("glue"). Nested wrapped calls are
counted once, in the outermost one.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

__all__ = ["SIZES", "TARGETS", "measure_speed", "run_speed", "plot_speed", "classify",
           "stage_timers", "ENCODER_STAGES", "DECODER_STAGES"]

SIZES = ((640, 480), (1280, 720))
#: Issue 4's targets: (width, height, side) -> minimum fps.
TARGETS = {(640, 480, "encode"): 60.0, (640, 480, "decode"): 150.0, (1280, 720, "encode"): 25.0}

#: Stage of a wrapped function, by the first rule whose pattern its name matches (in order).
ENCODER_STAGES: list[tuple[str, str]] = [
    (r"packet|header|pack_|crc", "entropy coding + packet"),
    (r"frame_to_planes|planes_to_frame|colou?r|to_planes|to_frame|ycc|yuv", "colour conversion / planes"),
    (r"fit_palette|kmeans|palette", "palette: KMeans fit"),
    (r"intra", "intra refresh coding (prediction, transform, reconstruction)"),
    (r"deblock", "deblocking filter"),
    (r"search|motion|vector|half_pel|subpel|refine", "motion search"),
    (r"nearest_label|label|block_means|abs_dev|sad|mean|variance|decide|mode|scene", "block analysis / mode decision"),
    (r"add_residual|reconstruct|dequant|inverse|compensat|predict", "prediction + reconstruction"),
    (r"quant|transform|dct|residual|step", "residual transform + quantisation"),
    (r"symbol|entropy|range_cod|arith|encode|code|slice", "entropy coding + packet"),
]
DECODER_STAGES: list[tuple[str, str]] = [
    (r"parse_packet|unpack|header|crc", "packet parsing"),
    (r"symbol|entropy|decode|slice", "entropy decoding"),
    (r"deblock", "deblocking filter"),
    (r"reconstruct|compensat|predict|quant|transform|step", "reconstruction (incl. inverse transform)"),
    (r"frame_to_planes|planes_to_frame|colou?r|to_frame|ycc|yuv", "colour conversion / planes"),
]
GLUE = "Python glue (not in a wrapped function)"
OTHER = "other codec functions"
#: Every stage in a fixed order: the plot's colours and the tables' rows follow it.
STAGE_ORDER = ["colour conversion / planes", "palette: KMeans fit", "motion search",
               "block analysis / mode decision", "prediction + reconstruction",
               "residual transform + quantisation",
               "intra refresh coding (prediction, transform, reconstruction)",
               "entropy coding + packet", "packet parsing", "entropy decoding",
               "reconstruction (incl. inverse transform)", "deblocking filter", OTHER, GLUE]
assert set(STAGE_ORDER) >= {s for _, s in ENCODER_STAGES + DECODER_STAGES}
#: Modules whose functions only hand work to threads (codec.common.parallel): not wrapped, so that
#: the stages of the work they run stay visible (see StageTimer).
DISPATCH_MODULES = ("livecodec.codec.common.parallel",)


def classify(name: str, rules: Sequence[tuple[str, str]]) -> str:
    """The stage of a codec function called ``name``."""
    for pattern, stage in rules:
        if re.search(pattern, name):
            return stage
    return OTHER


def _codec_callables(module) -> dict[str, Callable]:
    """Functions (and numba dispatchers) a codec module imported from other codec modules."""
    found = {}
    for name, obj in vars(module).items():
        if name.startswith("__") or inspect.isclass(obj) or inspect.ismodule(obj):
            continue
        if not callable(obj):
            continue
        mod = getattr(obj, "__module__", None) or getattr(getattr(obj, "py_func", None), "__module__", "")
        if (mod and mod.startswith("livecodec.codec.") and mod != module.__name__
                and mod not in DISPATCH_MODULES):
            found[name] = obj
    return found


@dataclass
class StageTimer:
    """Accumulates seconds per stage while the wrappers are installed.

    Only calls made on the thread that created the timer (the one calling ``encode`` /
    ``decode``) are timed: where the codec spreads a frame's work over both cores, a stage's
    time is the wall time the caller spends in it, the stages never overlap, and stages plus
    glue add up to the frame's time (waiting for the other core's share counts as glue).
    """

    rules: Sequence[tuple[str, str]]
    seconds: dict[str, float] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # function name -> stage
    _depth: int = 0
    _owner: int = field(default_factory=threading.get_ident)

    def wrap(self, name: str, fn: Callable) -> Callable:
        stage = classify(name, self.rules)
        self.functions[name] = stage

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self._depth or threading.get_ident() != self._owner:
                return fn(*args, **kwargs)
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
                self._depth -= 1

        return timed

    def take(self) -> dict[str, float]:
        out, self.seconds = self.seconds, {}
        return out


@contextlib.contextmanager
def stage_timers() -> Iterator[tuple[StageTimer, StageTimer]]:
    """Install timed wrappers in codec.encoder.encoder and codec.decoder.decoder; restore them on
    exit."""
    import livecodec.codec.decoder.decoder as dmod
    import livecodec.codec.encoder.encoder as emod

    enc_timer, dec_timer = StageTimer(ENCODER_STAGES), StageTimer(DECODER_STAGES)
    saved = []
    try:
        for module, timer in ((emod, enc_timer), (dmod, dec_timer)):
            for name, fn in _codec_callables(module).items():
                saved.append((module, name, fn))
                setattr(module, name, timer.wrap(name, fn))
        yield enc_timer, dec_timer
    finally:
        for module, name, fn in saved:
            setattr(module, name, fn)


def _demo_frames(width: int, height: int, n: int) -> list[np.ndarray]:
    from livecodec.app.sources import DemoScene

    scene = DemoScene(width, height)
    return [np.ascontiguousarray(scene.frame(i)) for i in range(n)]


def _one_run(frames, params, timers=None):
    """Encode then decode all frames; per-frame seconds, frame types, stage seconds per frame."""
    from livecodec.codec import Decoder, Encoder

    enc, dec = Encoder(params), Decoder()
    enc_t, types, packets, enc_stages = [], [], [], []
    for frame in frames:
        t0 = time.perf_counter()
        ef = enc.encode(frame)
        enc_t.append(time.perf_counter() - t0)
        types.append(ef.frame_type)
        packets.append(ef.data)
        if timers:
            enc_stages.append(timers[0].take())
    dec_t, dec_stages = [], []
    for data in packets:
        t0 = time.perf_counter()
        dec.decode(data)
        dec_t.append(time.perf_counter() - t0)
        if timers:
            dec_stages.append(timers[1].take())
    return enc_t, dec_t, types, enc_stages, dec_stages


def _stage_table(per_frame: list[list[dict]], totals: list[list[float]], types: list[str]) -> dict:
    """ms per frame for each stage (median over runs of the mean over frames), overall and by
    frame type, with the unattributed remainder as GLUE."""
    out: dict[str, dict[str, float]] = {}
    kinds = {"all": lambda t: True, "refresh": lambda t: t == "refresh",
             "predicted": lambda t: t == "predicted"}
    stages = sorted({s for run in per_frame for f in run for s in f}, key=_stage_key)
    for kind, keep in kinds.items():
        idx = [i for i, t in enumerate(types) if keep(t)]
        if not idx:
            continue
        row = {}
        for stage in stages + [GLUE, "total"]:
            vals = []
            for run, tot in zip(per_frame, totals):
                if stage == "total":
                    vals.append(np.mean([tot[i] for i in idx]))
                elif stage == GLUE:
                    vals.append(np.mean([tot[i] - sum(run[i].values()) for i in idx]))
                else:
                    vals.append(np.mean([run[i].get(stage, 0.0) for i in idx]))
            row[stage] = 1000.0 * float(statistics.median(vals))
        out[kind] = row
    return out


def _stage_key(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def measure_speed(width: int, height: int, n_frames: int = 60, runs: int = 5,
                  stage_runs: int = 3, params=None, desc: str | None = None) -> dict:
    """Encode / decode fps and per-stage ms at one frame size (see the module docstring)."""
    from livecodec.codec import CodecParams

    params = params if params is not None else CodecParams()
    frames = _demo_frames(width, height, n_frames)
    bar = tqdm(total=1 + runs + stage_runs, desc=desc or f"speed {width}x{height}", unit="run",
               leave=False, disable=None)
    _one_run(frames, params)                                   # warm-up: not counted
    bar.update()
    enc_fps, dec_fps, enc_frame, dec_frame, types = [], [], [], [], None
    for _ in range(runs):
        enc_t, dec_t, types, _, _ = _one_run(frames, params)
        enc_fps.append(len(frames) / sum(enc_t))
        dec_fps.append(len(frames) / sum(dec_t))
        enc_frame.append(enc_t)
        dec_frame.append(dec_t)
        bar.update()
    enc_stage_runs, dec_stage_runs, enc_tot, dec_tot = [], [], [], []
    with stage_timers() as timers:
        for _ in range(stage_runs):
            enc_t, dec_t, stypes, es, ds = _one_run(frames, params, timers)
            enc_stage_runs.append(es)
            dec_stage_runs.append(ds)
            enc_tot.append(enc_t)
            dec_tot.append(dec_t)
            bar.update()
        enc_map, dec_map = dict(timers[0].functions), dict(timers[1].functions)
    bar.close()
    from .rd import log
    log(f"speed {width}x{height}: encode {statistics.median(enc_fps):.1f} fps, "
        f"decode {statistics.median(dec_fps):.1f} fps (medians of {runs} runs)")

    def per_type_ms(samples, kind):
        vals = [t for run in samples for t, ty in zip(run, types) if kind in (None, ty)]
        return 1000.0 * float(np.median(vals)) if vals else None

    return {
        "width": width, "height": height, "frames": n_frames, "runs": runs,
        "refresh_frames": sum(t == "refresh" for t in types),
        "encode_fps": float(statistics.median(enc_fps)), "decode_fps": float(statistics.median(dec_fps)),
        "encode_fps_best": max(enc_fps), "decode_fps_best": max(dec_fps),
        "encode_fps_runs": enc_fps, "decode_fps_runs": dec_fps,
        "encode_ms_median": per_type_ms(enc_frame, None),
        "encode_ms_refresh": per_type_ms(enc_frame, "refresh"),
        "encode_ms_predicted": per_type_ms(enc_frame, "predicted"),
        "decode_ms_median": per_type_ms(dec_frame, None),
        "encode_stages": _stage_table(enc_stage_runs, enc_tot, stypes),
        "decode_stages": _stage_table(dec_stage_runs, dec_tot, stypes),
        "encoder_functions": enc_map, "decoder_functions": dec_map,
    }


def run_speed(quick: bool = False, sizes: Sequence[tuple[int, int]] = SIZES) -> list[dict]:
    """measure_speed at every size (fewer, shorter runs with ``quick``)."""
    out = []
    for w, h in sizes:
        if quick:
            out.append(measure_speed(w, h, n_frames=12, runs=2, stage_runs=1))
        else:
            out.append(measure_speed(w, h, n_frames=60, runs=5, stage_runs=3))
    for r in out:
        r["targets"] = {side: TARGETS[(r["width"], r["height"], side)]
                        for side in ("encode", "decode") if (r["width"], r["height"], side) in TARGETS}
    return out


# -- plot -------------------------------------------------------------------------------------
def plot_speed(results: Sequence[dict], path) -> None:
    """Stacked horizontal bars: ms per frame by stage, encoder and decoder, at each size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = []
    for r in results:
        size = f"{r['width']}x{r['height']}"
        bars.append((f"encode {size}", r["encode_stages"]["all"],
                     1000.0 / r["targets"]["encode"] if "encode" in r.get("targets", {}) else None))
        bars.append((f"decode {size}", r["decode_stages"]["all"],
                     1000.0 / r["targets"]["decode"] if "decode" in r.get("targets", {}) else None))
    stages = []
    for _, row, _ in bars:
        for s in row:
            if s != "total" and s not in stages:
                stages.append(s)
    stages.sort(key=_stage_key)
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.7 * len(bars)), dpi=110)
    for i, (label, row, budget) in enumerate(reversed(bars)):
        left = 0.0
        for stage in stages:
            v = row.get(stage, 0.0)
            if v <= 0:
                continue
            ax.barh(i, v, left=left, color=cmap(_stage_key(stage)[0] % 20),
                    label=stage if i == 0 or stage not in ax.get_legend_handles_labels()[1] else None)
            left += v
        ax.text(max(left, budget or 0.0) + 0.3, i, f" {row['total']:.1f} ms", va="center", fontsize=8)
        if budget is not None:
            ax.plot([budget, budget], [i - 0.42, i + 0.42], color="black", linewidth=2)
            ax.text(budget, i + 0.28, f" target {1000 / budget:.0f} fps", fontsize=7, ha="left")
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels([b[0] for b in reversed(bars)])
    ax.set_xlabel("ms per frame (mean over frames, refresh and predicted; black tick: target budget)")
    ax.set_title("livecodec time per stage, default settings, one process")
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, l in zip(handles, labels):
        seen.setdefault(l, h)
    ax.legend(seen.values(), seen.keys(), fontsize=7, loc="upper center",
              bbox_to_anchor=(0.5, -0.18), ncol=2)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
