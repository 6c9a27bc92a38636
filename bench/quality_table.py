"""One clip's livecodec quality sweep beside OpenCV JPEG's, as a Markdown table.

    python -m bench.quality_table [--clip carphone]
"""
from __future__ import annotations

import argparse
import sys

from livecodec.app.evaluation.anchors import jpeg_point
from livecodec.app.evaluation.rd import livecodec_point

from .common import CLIPS, load_frames

LIVECODEC = (15, 25, 35, 45, 50, 55, 65, 75, 85, 95)
JPEG = (5, 10, 20, 30, 40, 50, 60, 70, 80, 95)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="carphone", choices=sorted(CLIPS))
    args = parser.parse_args(argv)
    frames, _ = load_frames(CLIPS[args.clip])
    print("| livecodec quality | bpp | PSNR dB | | JPEG quality | bpp | PSNR dB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for q, jq in zip(LIVECODEC, JPEG):
        p = livecodec_point(frames, q)
        j = jpeg_point(frames, jq)
        jpeg_bpp = 8.0 * j.bytes / (j.frames * j.width * j.height)
        print(f"| {q} | {p['bpp']:.3f} | {p['psnr']:.2f} | | {jq} | {jpeg_bpp:.3f} | {j.psnr:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
