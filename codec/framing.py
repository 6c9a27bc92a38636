"""Payload headers: the few fixed fields in front of a packet's range-coded symbols.

    refresh payload   = width u16 | height u16 | log2(block size) - 2 u8 | palette size - 1 u8
                        | quality u8 | palette: (Y, Cr, Cb) u8 per entry | symbols
    predicted payload = quality u8 | symbols

A refresh payload is self-contained: everything a decoder needs to start there.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .blocks import MAX_DIMENSION
from .errors import BitstreamError
from .params import BLOCK_SIZES

__all__ = ["RefreshHeader", "pack_refresh_header", "unpack_refresh_header",
           "pack_predicted_header", "unpack_predicted_header"]

_REFRESH_FIXED = struct.Struct("<HHBBB")


@dataclass(frozen=True)
class RefreshHeader:
    width: int
    height: int
    block_size: int
    quality: int
    palette: np.ndarray     # uint8 (K, 3) in (Y, Cr, Cb)


def pack_refresh_header(header: RefreshHeader) -> bytes:
    k = len(header.palette)
    return (_REFRESH_FIXED.pack(header.width, header.height, BLOCK_SIZES.index(header.block_size),
                                k - 1, header.quality)
            + np.ascontiguousarray(header.palette, dtype=np.uint8).tobytes())


def unpack_refresh_header(payload: bytes) -> tuple[RefreshHeader, int]:
    """Parse and validate; returns the header and the offset of the symbols."""
    if len(payload) < _REFRESH_FIXED.size:
        raise BitstreamError("refresh payload too short for its header")
    width, height, code, k1, quality = _REFRESH_FIXED.unpack_from(payload)
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise BitstreamError(f"frame size {width}x{height} outside 1..{MAX_DIMENSION}")
    if code >= len(BLOCK_SIZES):
        raise BitstreamError(f"block size code {code} is not one of 0..{len(BLOCK_SIZES) - 1}")
    _check_quality(quality)
    k = k1 + 1
    end = _REFRESH_FIXED.size + 3 * k
    if len(payload) < end:
        raise BitstreamError(f"refresh payload too short for a {k}-colour palette")
    palette = np.frombuffer(payload, np.uint8, 3 * k, _REFRESH_FIXED.size).reshape(k, 3)
    return RefreshHeader(width, height, BLOCK_SIZES[code], quality, palette.copy()), end


def pack_predicted_header(quality: int) -> bytes:
    return bytes([quality])


def unpack_predicted_header(payload: bytes) -> tuple[int, int]:
    """Returns (quality, offset of the symbols)."""
    if len(payload) < 1:
        raise BitstreamError("empty predicted payload")
    _check_quality(payload[0])
    return payload[0], 1


def _check_quality(quality: int) -> None:
    if quality > 100:
        raise BitstreamError(f"quality {quality} outside 0..100")
