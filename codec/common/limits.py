"""What the stream can carry: block sizes and frame sides (both sides check them)."""
from __future__ import annotations

__all__ = ["BLOCK_SIZES", "MAX_DIMENSION", "check_frame_size"]

#: Block sizes the stream can signal; each halves cleanly into the 4:2:0 chroma planes.
BLOCK_SIZES = (4, 8, 16, 32)
#: Largest frame side the stream accepts (a 4096x4096 frame needs ~25 MB of planes).
MAX_DIMENSION = 4096


def check_frame_size(width: int, height: int) -> None:
    """ValueError (one line, naming the limit) unless the stream can carry width x height."""
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise ValueError(f"frame size {width}x{height} is not supported (the codec takes up to "
                         f"{MAX_DIMENSION}x{MAX_DIMENSION})")
