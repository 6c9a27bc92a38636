"""Bytes the range coder spends per symbol stream, against each stream's zeroth-order entropy.

The zeroth-order entropy (per frame: the Shannon entropy of the stream's symbol histogram, times
its length) is what a static per-frame code with free tables would reach; the adaptive, context
coded streams should come in below it. Measured by intercepting the encoder's symbol arrays
in this process only (``codec/`` is not modified).

    python -m bench.entropy_report [--frames N]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

import numpy as np

import livecodec.codec.encoder.encoder as encoder_module
from livecodec.codec import CodecParams, Encoder
from livecodec.codec.common.modes import MODE_INTER, MODE_PALETTE, MODE_SKIP, MODE_SPLIT

from .common import CLIPS, load_frames


def zeroth_order_bits(symbols: np.ndarray) -> float:
    """len(symbols) x the entropy of their histogram, in bits."""
    if symbols.size == 0:
        return 0.0
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / symbols.size
    return float(-(counts * np.log2(p)).sum())


def measure(frames: list[np.ndarray], params: CodecParams) -> dict[str, dict[str, float]]:
    """Coded bytes and zeroth-order entropy bytes per stream, summed over the frames."""
    captured: dict = {}
    original = encoder_module.encode_slices

    def spy(is_refresh, modes, mvd, labels, label_bits, levels, *layout, intra=False,
            quadrant_mvd=None, **options):
        captured.update(is_refresh=is_refresh, intra=intra, coded=levels is not None,
                        modes=modes.copy(), mvd=mvd.copy(), labels=labels.copy(),
                        quadrant_mvd=None if quadrant_mvd is None else quadrant_mvd.copy(),
                        levels=None if levels is None else [lev.copy() for lev in levels])
        return original(is_refresh, modes, mvd, labels, label_bits, levels, *layout, intra=intra,
                        quadrant_mvd=quadrant_mvd, **options)

    totals: dict[str, dict[str, float]] = defaultdict(lambda: {"coded_bytes": 0.0, "h0_bytes": 0.0})
    encoder_module.encode_slices = spy
    try:
        encoder = Encoder(params)
        for frame in frames:
            ef = encoder.encode(frame)
            c = captured      # the last call is the one that was kept (after any retry)
            modes = c["modes"]
            palette_blocks = modes == MODE_PALETTE
            label_h0 = zeroth_order_bits(c["labels"][palette_blocks])
            if c["intra"]:      # a refresh frame's intra modes are coded with its labels
                label_h0 += zeroth_order_bits(modes.ravel())
            motion_h0 = 0.0
            if not c["is_refresh"]:
                motion_h0 += zeroth_order_bits(modes.ravel())   # skip / motion / split / palette
                # A motion block codes one vector difference, a split block one per quadrant.
                differences = [c["mvd"][modes == MODE_INTER].ravel()]
                if c["quadrant_mvd"] is not None:
                    differences.append(c["quadrant_mvd"][modes == MODE_SPLIT].ravel())
                motion_h0 += zeroth_order_bits(np.concatenate(differences))
            residual_h0 = 0.0
            if c["coded"]:
                coded_blocks = modes != MODE_SKIP
                for lev in c["levels"]:
                    rows, cols = modes.shape
                    view = lev.reshape(rows, lev.shape[0] // rows, cols, lev.shape[1] // cols, -1)
                    per_block = view.transpose(0, 2, 1, 3, 4)
                    residual_h0 += zeroth_order_bits(per_block[coded_blocks].ravel())
            for part, h0 in (("labels", label_h0), ("motion", motion_h0), ("residual", residual_h0)):
                totals[part]["coded_bytes"] += ef.bytes_by_part[part]
                totals[part]["h0_bytes"] += h0 / 8.0
    finally:
        encoder_module.encode_slices = original
    return {part: {k: round(v) for k, v in t.items()} for part, t in totals.items()}


def run_entropy_report(max_frames: int = 60) -> list[dict]:
    rows = []
    for clip in CLIPS.values():
        if not clip.available():
            continue
        frames, _ = load_frames(clip, max_frames)
        for part, t in measure(frames, CodecParams()).items():
            ratio = t["coded_bytes"] / t["h0_bytes"] if t["h0_bytes"] else float("nan")
            rows.append({"clip": clip.name, "stream": part, **t, "coded_over_h0": round(ratio, 3)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args(argv)
    for row in run_entropy_report(args.frames):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
