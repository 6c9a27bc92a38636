"""The coding tools a stream uses, as its refresh header states them."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Tools"]


@dataclass(frozen=True)
class Tools:
    """The coding tools a refresh header states (docs/BITSTREAM.md, tools byte)."""

    deblock: bool
    intra: bool
    qpel: bool
    split: bool = False
    tskip: bool = False

    @property
    def pel_shift(self) -> int:
        """log2 of the vector units per pixel: 2 quarter-pel, 1 half-pel."""
        return 2 if self.qpel else 1
