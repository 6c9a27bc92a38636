"""livecodec benchmarks: rate-distortion against standard anchors, and per-stage speed.

Run everything with ``python -m bench.run_all`` (what ``make bench`` does); it writes
``docs/BENCHMARKS.md`` and the PNG plots next to it.

Modules:
    common   clips, frame loading, machine description
    bdrate   Bjontegaard delta rate / PSNR (piecewise cubic or cubic polynomial fit)
    anchors  OpenCV JPEG (MJPEG), ffmpeg MPEG-4 Part 2 and x264, the yuv420p ceiling
    rd       livecodec quality sweeps and the anchors' sweeps on the same frames
    speed    encode / decode frames per second and per-stage encoder and decoder times
    run_all  the whole run and the report
"""
