"""Names both sides and the app share: block modes as coded in the stream, and frame types."""
from __future__ import annotations

__all__ = ["MODE_SKIP", "MODE_INTER", "MODE_PALETTE", "FRAME_REFRESH", "FRAME_PREDICTED"]

#: A block's mode (values as coded): skip = vector is its prediction and no residual;
#: inter = coded vector and residual; palette = one flat palette colour (vector counts as zero).
MODE_SKIP, MODE_INTER, MODE_PALETTE = 0, 1, 2

#: ``frame_type`` of encoded and decoded frames.
FRAME_REFRESH, FRAME_PREDICTED = "refresh", "predicted"
