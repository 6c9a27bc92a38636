"""Validated, immutable encoder settings shared by the encoder, the CLI and the window."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ..common.limits import BLOCK_SIZES
from .presets import PRESETS

__all__ = ["CodecParams"]

_RANGES: dict[str, tuple[int, int]] = {
    "n_clusters": (2, 256),
    "refresh_interval": (1, 1000),
    "quality": (0, 100),
    "search_range": (1, 64),
}


@dataclass(frozen=True)
class CodecParams:
    """Encoder settings.

    Args:
        block_size: side of a coding block in pixels, one of 4, 8, 16, 32.
        n_clusters: palette size of refresh frames (2-256).
        refresh_interval: at most this many frames from one refresh to the next (1-1000);
            1 makes every frame a refresh.
        quality: residual fidelity 0-100; 0 sends no residual at all (palette + motion only).
            Refresh frames are coded ``encoder.REFRESH_QUALITY_BONUS`` points finer (at most
            100), unless rate control chooses.
        search_range: motion search window, +-pixels (1-64).
        target_kbps: when set, rate control picks the quantiser per frame to hold this bitrate
            and ``quality`` is only the starting point.
        preset: encoder effort, one of ``PRESETS`` ("fast", "balanced", "best"): speed
            against compression; the decoder does not need to know it.
        deblock: the in-loop deblocking filter (``codec.common.deblock``); stated in every refresh
            header, so a change takes effect with a refresh. The fast preset leaves it off.
        intra: spatial intra prediction of refresh-frame blocks
            (``codec.common.intra_prediction``) beside the palette colour; stated in the
            refresh header too.
        qpel: quarter-pel motion vectors (else half-pel); stated in the refresh header too.
            The fast preset keeps half-pel vectors.
        split: predicted blocks may be split into quadrants with a vector each, where the
            quadrants' matches pay for their vectors; stated in the refresh header. The fast
            preset and 4x4 blocks leave it off.
        rdoq: rate-distortion optimised quantisation (``codec.encoder.rdoq``): the encoder
            weighs each level's bits against its error. Encoder only (the stream syntax does not change);
            the fast preset leaves it off, and so does rate control (``target_kbps``).
        tskip: transform skip: a tile's residual samples may be quantised as they are, without
            the DCT, where RDOQ finds that cheaper (sharp graphics and text); stated in the
            refresh header. Decided by RDOQ, so off wherever that is (fast, rate control).
    """

    block_size: int = 16
    n_clusters: int = 16
    refresh_interval: int = 30
    quality: int = 50
    search_range: int = 64
    target_kbps: float | None = None
    preset: str = "balanced"
    deblock: bool = True
    intra: bool = True
    qpel: bool = True
    split: bool = True
    rdoq: bool = True
    tskip: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "preset":
                if value not in PRESETS:
                    raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {value!r}")
                continue
            if f.name in ("deblock", "intra", "qpel", "split", "rdoq", "tskip"):
                if not isinstance(value, bool):
                    raise ValueError(f"{f.name} must be True or False, got {value!r}")
                continue
            if f.name == "target_kbps":
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                          or not 1 <= value <= 100_000):
                    raise ValueError(f"target_kbps must be a number in 1..100000 or None, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{f.name} must be an integer, got {value!r}")
            if f.name == "block_size":
                if value not in BLOCK_SIZES:
                    raise ValueError(f"block_size must be one of {BLOCK_SIZES}, got {value}")
                continue
            lo, hi = _RANGES[f.name]
            if not lo <= value <= hi:
                raise ValueError(f"{f.name} must be in {lo}..{hi}, got {value}")

    def with_changes(self, **changes: Any) -> "CodecParams":
        """A copy with some fields changed (validated like the constructor)."""
        return replace(self, **changes)
