"""Exceptions raised for malformed or out-of-order streams."""
from __future__ import annotations

__all__ = ["BitstreamError", "MissingReferenceError", "FrameGapError", "ChecksumError"]


class BitstreamError(ValueError):
    """Bytes that are not a valid livecodec stream (truncated, corrupt, out of order)."""


class ChecksumError(BitstreamError):
    """A packet whose CRC-32 does not match its contents."""


class MissingReferenceError(BitstreamError):
    """A predicted packet arrived with no decoded refresh frame to predict from."""


class FrameGapError(BitstreamError):
    """A predicted packet that does not directly follow the previously decoded frame."""
