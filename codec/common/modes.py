"""Names both sides and the app share: block modes as coded in the stream, and frame types."""
from __future__ import annotations

__all__ = ["MODE_SKIP", "MODE_INTER", "MODE_SPLIT", "MODE_PALETTE", "MODE_INTRA_DC", "MODE_INTRA_V",
           "MODE_INTRA_H", "FRAME_REFRESH", "FRAME_PREDICTED"]

#: A block's mode: skip = vector is its prediction and no residual; inter = coded vector and
#: residual; split = four quadrants, each with its own coded vector, and residual (predicted
#: frames whose refresh header sets the split tool); palette = one flat palette colour (vector
#: counts as zero). The values are names only: the stream codes modes as flags.
MODE_SKIP, MODE_INTER, MODE_SPLIT, MODE_PALETTE = 0, 1, 2, 3
#: Spatial intra prediction of refresh frames (codec.common.intra_prediction): the mean of the
#: samples above and to the left, the row above copied down, the column to the left copied
#: across. Like palette
#: blocks they are intra blocks: every mode from MODE_PALETTE up.
MODE_INTRA_DC, MODE_INTRA_V, MODE_INTRA_H = 4, 5, 6

#: ``frame_type`` of encoded and decoded frames.
FRAME_REFRESH, FRAME_PREDICTED = "refresh", "predicted"
