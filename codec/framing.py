"""Payload headers: the few fixed fields in front of a packet's range-coded symbols.

    refresh payload   = width u16 | height u16 | slices << 2 | log2(block size) - 2 u8
                        | palette size - 1 u8 | quality u8 | palette: (Y, Cr, Cb) u8 per entry
                        | symbols

(slices 0: format version 1, which did not state them; see ``slices.legacy_slice_count``.)
    predicted payload = quality u8 | symbols

A refresh payload is self-contained: everything a decoder needs to start there.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .blocks import MAX_DIMENSION, padded_size
from .errors import BitstreamError
from .params import BLOCK_SIZES
from .slices import MAX_SLICES, legacy_slice_count

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
    slices: int             # slices of this and the following predicted pictures


def pack_refresh_header(header: RefreshHeader) -> bytes:
    k = len(header.palette)
    if not 1 <= header.slices <= MAX_SLICES:
        raise ValueError(f"slices must be in 1..{MAX_SLICES}, got {header.slices}")
    layout = header.slices << 2 | BLOCK_SIZES.index(header.block_size)
    return (_REFRESH_FIXED.pack(header.width, header.height, layout, k - 1, header.quality)
            + np.ascontiguousarray(header.palette, dtype=np.uint8).tobytes())


def unpack_refresh_header(payload: bytes) -> tuple[RefreshHeader, int]:
    """Parse and validate; returns the header and the offset of the symbols."""
    if len(payload) < _REFRESH_FIXED.size:
        raise BitstreamError("refresh payload too short for its header")
    width, height, layout, k1, quality = _REFRESH_FIXED.unpack_from(payload)
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise BitstreamError(f"frame size {width}x{height} outside 1..{MAX_DIMENSION}")
    block_size = BLOCK_SIZES[layout & 3]
    wp, hp = padded_size(width, height, block_size)
    rows, cols = hp // block_size, wp // block_size
    slices = layout >> 2 or legacy_slice_count(rows, cols, block_size)
    if slices > rows:
        raise BitstreamError(f"{slices} slices in a picture {rows} block rows high")
    _check_quality(quality)
    k = k1 + 1
    end = _REFRESH_FIXED.size + 3 * k
    if len(payload) < end:
        raise BitstreamError(f"refresh payload too short for a {k}-colour palette")
    palette = np.frombuffer(payload, np.uint8, 3 * k, _REFRESH_FIXED.size).reshape(k, 3)
    return RefreshHeader(width, height, block_size, quality, palette.copy(), slices), end


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
