"""Speed presets: how hard the encoder works, never what the decoder has to do.

A preset is a set of effort levels of the encoder's own decisions, as x264's presets are: the
stream syntax is the same for all of them, so any decoder plays any preset. README "Speed
presets" lists their speed and BD-rate from ``make bench``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..common.framing import MIN_SPLIT_BLOCK
from ..common.tools import Tools

if TYPE_CHECKING:
    from .params import CodecParams

__all__ = ["PRESETS", "Effort", "effort", "tools_in_effect"]

#: Fastest first: the live pipeline steps along this order when the encoder falls behind.
PRESETS = ("fast", "balanced", "best")


@dataclass(frozen=True)
class Effort:
    """Encoder effort levels of one preset.

    early_stop: SAD per pixel at which a search starting point is taken as is (noise floor).
    neighbour_stop: also take a start as good as a neighbour's final match (PMVFAST's
        threshold): much faster at HD, and a local minimum more often.
    palette_iterations: Lloyd iterations of the refresh palette's KMeans.
    zero_residual: mean |residual| per pixel, in quantiser steps, under which a tile's residual
        is dropped without transforming it (x264's early skip, in spirit; 0: only tiles that
        provably quantise to zero).
    quarter_pel: quarter-pel points tried around the best half-pel vector when
        ``CodecParams.qpel`` asks for quarter-pel vectors. 0 (fast) keeps half-pel vectors
        from the next refresh on and tries no quarter-pel point until then: a 4-point
        refinement cost fast 8 % of its 1080p speed. 4 (balanced) walks the 4-point diamond
        up to twice, at 12 % of its 640x480 speed; 8 (best) tries all eight once, at 19 %
        (BD-rate of the two within 0.6 % of each other).
    deblock: whether the in-loop deblocking filter runs when ``CodecParams.deblock`` asks for
        it. fast leaves it off, as x264's ultrafast does: measured at 1080p it made fast 6 %
        slower to encode (and the decoder with it) for 3-8 % fewer bits.
    split: blocks split into quadrants with a vector each (``CodecParams.split``): a second
        diamond search over the quadrants of every block. fast leaves it out.
    rdoq: rate-distortion optimised quantisation (``codec.encoder.rdoq``) of both frame kinds:
        -4 to -9 % bits (BD-rate) for about 12 % of balanced's 640x480 encoding time; fast
        keeps the dead-zone quantiser alone, as x264's fastest presets skip trellis (so does
        rate control for now: see ``Encoder._rdoq``). Transform skip is decided by RDOQ's
        costs, so it comes and goes with it (``tools_in_effect``).

    Tried and left out (measured on 60 frames of bikes and carphone): no half-pel refinement
    (+34 % / +24 % bits for little speed), a search range capped at 8 (+6 % on bikes, no speed),
    the small diamond alone or 4 half-pel points (no speed at 1080p); for fast, no more
    starting points once one is under the noise floor (PMVFAST's first exit): about 6 %
    faster at 1080p for +0.8 / +2.8 / +2.5 / +5.2 % bits (carphone / bikes / scene_cuts /
    demo), +1.5 to +5.5 % with the median predictor tried first.
    """

    early_stop: float
    neighbour_stop: bool
    palette_iterations: int
    zero_residual: float
    quarter_pel: int
    deblock: bool
    split: bool
    rdoq: bool


_EFFORTS = {
    "fast": Effort(early_stop=2.0, neighbour_stop=True, palette_iterations=6, zero_residual=0.25,
                   quarter_pel=0, deblock=False, split=False, rdoq=False),
    "balanced": Effort(early_stop=0.5, neighbour_stop=False, palette_iterations=20,
                       zero_residual=0.1, quarter_pel=4, deblock=True, split=True, rdoq=True),
    "best": Effort(early_stop=0.0, neighbour_stop=False, palette_iterations=50, zero_residual=0.1,
                   quarter_pel=8, deblock=True, split=True, rdoq=True),
}


def effort(preset: str) -> Effort:
    """The effort levels of a preset named in ``PRESETS``."""
    return _EFFORTS[preset]


def tools_in_effect(params: CodecParams) -> Tools:
    """The tools a stream coded with ``params`` uses from its next refresh: what the
    parameters ask for, less what the preset leaves out."""
    work = effort(params.preset)
    return Tools(params.deblock and work.deblock, params.intra,
                 params.qpel and work.quarter_pel > 0,
                 params.split and work.split and params.block_size >= MIN_SPLIT_BLOCK,
                 params.tskip and params.rdoq and work.rdoq and params.target_kbps is None)
