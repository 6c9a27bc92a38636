"""Speed presets: how hard the encoder works, never what the decoder has to do.

A preset is a set of effort levels of the encoder's own decisions, as x264's presets are: the
stream syntax is the same for all of them, so any decoder plays any preset. README "Speed
presets" lists their speed and BD-rate from ``make bench``.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRESETS", "Effort", "effort"]

#: Fastest first: the live pipeline steps along this order when the encoder falls behind.
PRESETS = ("fast", "balanced", "best")


@dataclass(frozen=True)
class Effort:
    """Encoder effort levels of one preset.

    half_pel: refine each vector to half-pel precision (8 more SADs per block).
    early_stop: SAD per pixel at which a search starting point is taken as is (noise floor).
    neighbour_stop: also take a start as good as a neighbour's final match (PMVFAST).
    max_search_range: cap on ``CodecParams.search_range`` (pixels).
    palette_iterations: Lloyd iterations of the refresh palette's KMeans.
    zero_residual: mean |residual| per pixel, in quantiser steps, under which a tile's residual
        is dropped without transforming it (0: only tiles that provably quantise to zero).
    """

    half_pel: bool
    early_stop: float
    neighbour_stop: bool
    max_search_range: int
    palette_iterations: int
    zero_residual: float


_EFFORTS = {
    "fast": Effort(half_pel=True, early_stop=2.0, neighbour_stop=True, max_search_range=64,
                   palette_iterations=6, zero_residual=0.4),
    "balanced": Effort(half_pel=True, early_stop=0.5, neighbour_stop=False, max_search_range=64,
                       palette_iterations=20, zero_residual=0.1),
    "best": Effort(half_pel=True, early_stop=0.0, neighbour_stop=False, max_search_range=64,
                   palette_iterations=50, zero_residual=0.0),
}


def effort(preset: str) -> Effort:
    """The effort levels of a preset named in ``PRESETS``."""
    return _EFFORTS[preset]
