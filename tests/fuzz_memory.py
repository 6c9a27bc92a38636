"""Peak memory of the decoder while it reads mutated streams, measured in a process of its own.

    python -m tests.fuzz_memory CASES SEED STREAM_FILE...      (from the repository root)

Run by ``tests/test_fuzz.py::test_fuzz_memory_stayed_bounded``. The child loads only the decoder
side of the codec, decodes every intact stream once (numba kernels compiled or loaded from the
cache, buffers and the codec's worker thread in place), then takes its baseline: the peak
resident set (VmHWM) is reset to the current one through ``/proc/self/clear_refs`` where the
kernel allows it (otherwise the baseline is the peak so far, which can only hide growth below
the peak of start-up). It then decodes the largest-frame-size mutations of ``fuzz_corpus`` and
CASES seeded random mutated streams, and prints one JSON line: baseline and peak RSS in kB,
their difference, and every exception that escaped (``decode_everything`` swallows
BitstreamError, so any other is a finding).

An address-space limit (RLIMIT_AS) of the baseline's virtual size plus ADDRESS_HEADROOM_KB is set
after the warm-up, so a runaway allocation fails in this process (as a reported MemoryError)
instead of taking the shared machine's memory.
"""
from __future__ import annotations

import json
import random
import resource
import sys
import time
import traceback

from tests.fuzz_corpus import apply_mutations, decode_everything, largest_frame_cases, random_mutation

#: Address space the fuzz run may add to the warmed-up process: far above the 400 MB RSS bound
#: (untouched reservations of malloc arenas and thread stacks count here, not in RSS).
ADDRESS_HEADROOM_KB = 2_000_000


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_rss_kb() -> int:
    """This process's own peak RSS. Not ru_maxrss: after fork/vfork and exec that also holds the
    peak of the parent (the kernel carries the old address space's high-water mark over into
    the new program's rusage), so a child of a pytest that had grown to 740 MB reported 740 MB."""
    hwm = _status_kb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Reset the peak RSS to the current RSS (Linux 4.0+); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    n_cases, seed, paths = int(argv[0]), int(argv[1]), argv[2:]
    streams = []
    for path in paths:
        with open(path, "rb") as f:
            streams.append(f.read())
    started = time.monotonic()
    for data in streams:
        decode_everything(data)
    warm_s = time.monotonic() - started

    peak_was_reset = _reset_peak()
    baseline_kb = _status_kb("VmRSS") if peak_was_reset else _peak_rss_kb()
    virtual_kb = _status_kb("VmSize")
    if virtual_kb is not None:
        limit = (virtual_kb + ADDRESS_HEADROOM_KB) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))

    rng = random.Random(seed)
    cases = largest_frame_cases(len(streams))
    cases += [(rng.randrange(len(streams)), [random_mutation(rng) for _ in range(rng.randint(1, 4))])
              for _ in range(n_cases)]
    failures = []
    started = time.monotonic()
    for number, (which, mutations) in enumerate(cases):
        try:
            decode_everything(apply_mutations(streams[which], mutations))
        except Exception:  # noqa: BLE001 -- every exception (even a BitstreamError) is a finding
            failures.append({"case": number, "stream": which, "mutations": repr(mutations)[:2000],
                             "error": traceback.format_exc(limit=6)})
    peak_kb = _peak_rss_kb()
    print(json.dumps({
        "cases": len(cases), "baseline_kb": baseline_kb, "peak_kb": peak_kb,
        "growth_kb": peak_kb - baseline_kb, "peak_was_reset": peak_was_reset,
        "virtual_peak_kb": _status_kb("VmPeak"), "virtual_at_baseline_kb": virtual_kb,
        "warm_up_s": round(warm_s, 2), "fuzz_s": round(time.monotonic() - started, 2),
        "failures": failures}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
