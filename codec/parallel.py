"""Run independent pieces of one frame's work on both cores.

The codec's kernels are numba functions compiled with ``nogil=True``, so plain threads run them
truly in parallel. One small shared pool serves every encoder and decoder in the process; the
calling thread always takes the first piece itself, so nothing waits for an idle worker.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

__all__ = ["WORKERS", "run_parallel", "row_bands", "per_plane"]

T = TypeVar("T")

#: Threads that work on one frame (the caller plus pool workers): this machine class has 2 cores.
WORKERS = max(1, min(2, os.cpu_count() or 1))
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=WORKERS - 1, thread_name_prefix="codec-worker")
    return _pool


def run_parallel(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Results of the tasks, the first run in the calling thread, the others in the pool."""
    if WORKERS == 1 or len(tasks) == 1:
        return [task() for task in tasks]
    futures = [_executor().submit(task) for task in tasks[1:]]
    first = tasks[0]()
    return [first] + [f.result() for f in futures]


#: Bands (slices) of a large frame. Fixed, not WORKERS: the bands are part of the stream, and
#: the same input must give the same stream on every machine.
BANDS = 2
#: Frames with fewer luma samples than this stay one band: each extra band resets the entropy
#: contexts and the neighbours of its first row, which cost carphone (176x144) 3 % of its
#: bits, bikes (640x272) under 1 %; a small frame is fast enough without.
MIN_BAND_SAMPLES = 100_000


def row_bands(rows: int, cols: int, block_size: int) -> list[tuple[int, int]]:
    """Block-row ranges of the bands (slices) of a frame of rows x cols blocks."""
    parts = BANDS if rows * cols * block_size * block_size >= MIN_BAND_SAMPLES else 1
    parts = max(1, min(parts, rows))
    edges = [rows * i // parts for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def per_plane(work: Callable[[int], T]) -> list[T]:
    """[work(0), work(1), work(2)] for the Y, Cr, Cb planes: luma on one core, both chroma
    planes (together as many samples as luma) on the other."""
    luma, chroma = run_parallel([lambda: work(0), lambda: (work(1), work(2))])
    return [luma, *chroma]
