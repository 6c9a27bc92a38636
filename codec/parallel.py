"""Run independent pieces of one frame's work on several cores.

The codec's kernels are numba functions compiled with ``nogil=True``, so plain threads run them
truly in parallel. An encoder or decoder sets its thread count for the duration of a call
(``using_threads``); pools of that size are shared by every encoder and decoder in the process,
and the calling thread always takes the first piece itself, so nothing waits for an idle
worker. The thread count never changes a byte of the stream: how a frame is cut into pieces
(``row_bands``) depends on the frame alone.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, Sequence, TypeVar

__all__ = ["default_threads", "check_threads", "using_threads", "run_parallel", "row_bands",
           "per_plane", "MAX_THREADS"]

T = TypeVar("T")

#: More threads than a frame has pieces gain nothing; this bounds a mistyped --threads.
MAX_THREADS = 64
_threads: ContextVar[int | None] = ContextVar("codec_threads", default=None)
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:          # not on Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: int | None) -> int:
    """threads, or default_threads() for None; ValueError naming the range otherwise."""
    if threads is None:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads must be an integer in 1..{MAX_THREADS}, got {threads!r}")
    return threads


@contextmanager
def using_threads(threads: int) -> Iterator[None]:
    """Work started by run_parallel in this thread (and context) uses ``threads`` threads."""
    token = _threads.set(threads)
    try:
        yield
    finally:
        _threads.reset(token)


def _executor(workers: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers,
                                                 thread_name_prefix="codec-worker")
        return _pools[workers]


def run_parallel(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Results of the tasks, the first run in the calling thread, the others in a pool, at
    most the current thread count at once."""
    threads = _threads.get() or default_threads()
    if threads == 1 or len(tasks) == 1:
        return [task() for task in tasks]
    futures = [_executor(threads - 1).submit(task) for task in tasks[1:]]
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
