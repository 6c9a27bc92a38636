"""Soak test: the live pipeline on the demo scene for a long time, parameters changing.

Reports memory (RSS) at start, half-time and end, frames processed and dropped, errors, and
whether all three worker threads stayed alive; exits 1 when memory grew beyond noise over the
second half of the run, or a thread died. (The first time a parameter combination appears, its
buffers raise the allocator's high-water mark once; a leak grows all the time, so the second
half is where it shows.)

    python -m bench.soak --minutes 10 --change-every 3
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time

from livecodec.app.pipeline import Pipeline
from livecodec.codec import BLOCK_SIZES, CodecParams

#: Memory growth (MB) over the second half of the run that counts as a leak: allocator noise
#: on this workload is a few MB.
MAX_GROWTH_MB = 10.0
#: RSS is sampled from this moment on (numba's caches and the demo canvas fill the first seconds).
WARM_UP_S = 20.0


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def random_params(rng: random.Random) -> CodecParams:
    return CodecParams(block_size=rng.choice(BLOCK_SIZES), n_clusters=rng.choice([2, 8, 16, 64, 256]),
                       refresh_interval=rng.choice([1, 10, 30, 300]), quality=rng.randint(0, 100),
                       search_range=rng.choice([1, 8, 16, 64]),
                       target_kbps=rng.choice([None, None, 300.0, 1500.0]))


def worker_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("livecodec-"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--change-every", type=float, default=3.0, help="seconds between parameter changes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    errors: list[str] = []
    pipeline = Pipeline("demo", CodecParams(),
                        on_message=lambda level, text: errors.append(text) if level == "error" else None)
    rng = random.Random(args.seed)
    start = time.monotonic()
    end = start + args.minutes * 60.0
    pipeline.start()
    expected_threads = worker_threads()
    samples: list[tuple[float, float]] = []
    changes = 0
    died = None
    next_change = start + args.change_every
    next_sample = start + WARM_UP_S
    while time.monotonic() < end:
        time.sleep(0.2)
        now = time.monotonic()
        if worker_threads() != expected_threads:
            died = f"worker threads changed: {expected_threads} -> {worker_threads()}"
            break
        if now >= next_change:
            pipeline.set_params(random_params(rng))
            changes += 1
            next_change = now + args.change_every
        if now >= next_sample:
            samples.append((now - start, rss_mb()))
            next_sample = now + 10.0
            s = pipeline.stats()
            print(f"\r{now - start:6.0f} s  rss {samples[-1][1]:7.1f} MB  shown {s['frames_shown']}  "
                  f"dropped {s['frames_dropped']}  fps {s['fps']:.1f}  errors {len(errors)}",
                  end="", file=sys.stderr, flush=True)
    stats = pipeline.stats()
    clean_stop = pipeline.stop(timeout=2.0)
    print(file=sys.stderr)
    half = next((m for t, m in samples if t >= samples[-1][0] / 2), None) if samples else None
    growth = samples[-1][1] - half if half is not None else 0.0
    report = {
        "minutes": round((time.monotonic() - start) / 60.0, 2),
        "parameter_changes": changes,
        "rss_start_mb": round(samples[0][1], 1) if samples else None,
        "rss_half_mb": round(half, 1) if half is not None else None,
        "rss_end_mb": round(samples[-1][1], 1) if samples else None,
        "rss_max_mb": round(max(m for _, m in samples), 1) if samples else None,
        "rss_growth_second_half_mb": round(growth, 1),
        "frames_captured": stats["frames_captured"],
        "frames_shown": stats["frames_shown"],
        "frames_dropped": stats["frames_dropped"],
        "fps_mean": stats["fps_mean"],
        "errors": errors[:10],
        "error_count": len(errors),
        "thread_died": died,
        "stopped_cleanly": clean_stop,
    }
    print(json.dumps(report))
    ok = died is None and not errors and clean_stop and growth < MAX_GROWTH_MB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
