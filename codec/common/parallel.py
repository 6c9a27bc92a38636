"""Run independent pieces of one frame's work on several cores.

The codec's kernels are numba functions compiled with ``nogil=True``, so plain threads run them
truly in parallel. An encoder or decoder sets its thread count for the duration of a call
(``using_threads``); pools of that size are shared by every encoder and decoder in the process,
and the calling thread works through the pieces too, so nothing waits for an idle worker. The
thread count never changes a byte of the stream: how a frame is cut into pieces (its slices,
``codec.common.slices``) is written in the stream.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, Sequence, TypeVar

__all__ = ["default_threads", "check_threads", "using_threads", "run_parallel",
           "per_plane_in_bands", "MAX_THREADS"]

T = TypeVar("T")

#: More threads than a frame has pieces gain nothing; this bounds a mistyped --threads.
MAX_THREADS = 64
#: Bands of the luma plane in per_plane_in_bands (each as large as a chroma plane).
LUMA_BANDS = 4
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


def _executor(threads: int) -> ThreadPoolExecutor:
    """The shared pool of helpers for ``threads`` threads (the caller is the last one)."""
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(max_workers=threads - 1,
                                                 thread_name_prefix="codec-worker")
        return _pools[threads]


def run_parallel(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Results of the tasks in order, run by at most the current thread count at once.

    The calling thread works too, and every thread takes the next unstarted task when it
    finishes one, so eight slices on two cores keep both cores busy to the end.
    """
    threads = _threads.get() or default_threads()
    busy = min(threads, len(tasks))
    if busy <= 1:
        return [task() for task in tasks]
    results: list = [None] * len(tasks)
    order = iter(range(len(tasks)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(order, None)
            if i is None:
                return
            results[i] = tasks[i]()

    helpers = [_executor(threads).submit(work) for _ in range(busy - 1)]
    try:
        work()
    finally:
        # A helper still queued (the shared pool busy with another encoder's or decoder's
        # pieces) has nothing left to take: cancelled, not waited for.
        for helper in helpers:
            if not helper.cancel():
                helper.result()
    return results


def per_plane_in_bands(work: Callable[[int, int, int], None], rows: Sequence[int]) -> None:
    """work(k, r0, r1) over bands [r0, r1) of the rows of each plane k (Y, Cr, Cb, with
    rows[k] rows of whatever unit the work counts: tile or block rows).

    A 4:2:0 chroma plane holds a quarter of the luma samples, so luma is cut into four bands
    and each chroma plane is one piece: six pieces of the same size keep two, three or six
    cores busy to the end (whole planes left one core with two thirds of the work).
    """
    edges = [rows[0] * i // LUMA_BANDS for i in range(LUMA_BANDS + 1)]
    pieces = [(0, edges[i], edges[i + 1]) for i in range(LUMA_BANDS)]
    pieces += [(k, 0, rows[k]) for k in (1, 2)]
    run_parallel([lambda k=k, r0=r0, r1=r1: work(k, r0, r1) for k, r0, r1 in pieces if r1 > r0])
