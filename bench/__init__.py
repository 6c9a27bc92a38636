"""livecodec benchmarks: rate-distortion against standard anchors, and per-stage speed.

Run everything with ``python -m bench.run_all`` (what ``make bench`` does); it writes
``docs/BENCHMARKS.md`` and the PNG plots next to it.

Modules:
    common   clips, frame loading, machine description
    rd       livecodec's and the anchors' sweeps on every clip, in worker processes
    speed    encode / decode frames per second and per-stage encoder and decoder times
    run_all  the whole run and the report

The measurements themselves (anchors, BD-rate, sweeps, the RD plot) are in
``livecodec.app.evaluation``, which ``livecodec compare`` runs on a user's own clip.
"""
