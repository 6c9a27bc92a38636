"""Payload headers: the few fixed fields in front of a packet's range-coded symbols.

    refresh payload   = width u16 | height u16 | slices << 2 | log2(block size) - 2 u8
                        | palette size - 1 u8 | quality u8 (| TOOLS_FOLLOW) | [tools u8]
                        | palette: (Y, Cr, Cb) u8 per entry | symbols

(slices 0: format version 1, which did not state them; see ``slices.legacy_slice_count``. No
tools byte: versions 1 and 2, which had no optional coding tools.)
    predicted payload = quality u8 | symbols

A refresh payload is self-contained: everything a decoder needs to start there.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .blocks import padded_size
from .errors import BitstreamError
from .limits import BLOCK_SIZES, MAX_DIMENSION
from .slices import MAX_SLICES, legacy_slice_count

__all__ = ["RefreshHeader", "pack_refresh_header", "unpack_refresh_header",
           "pack_predicted_header", "unpack_predicted_header", "TOOLS_FOLLOW", "TOOL_DEBLOCK",
           "TOOL_INTRA", "TOOL_QPEL", "TOOL_CARRY_CONTEXTS", "TOOL_SPLIT", "TOOL_CONTEXT_MODEL_2",
           "TOOL_TRANSFORM_SKIP", "MIN_SPLIT_BLOCK"]

_REFRESH_FIXED = struct.Struct("<HHBBB")
#: Bit 7 of a refresh header's quality byte: a tools byte follows it (format version 3).
TOOLS_FOLLOW = 0x80
#: Bits of the tools byte; any other bit set is a tool this decoder does not know.
TOOL_DEBLOCK = 0x01
TOOL_INTRA = 0x02
TOOL_QPEL = 0x04
TOOL_CARRY_CONTEXTS = 0x08
TOOL_SPLIT = 0x10
#: Context model 2 (format version 6): two-speed probabilities, significance and
#: greater-than-one contexts from the tile's earlier coefficients. Without it: model 1.
TOOL_CONTEXT_MODEL_2 = 0x20
#: Transform skip (format version 7): a coded tile may carry its samples' residual quantised
#: as it is, without the DCT (sharp graphics and text), a flag per coded tile.
TOOL_TRANSFORM_SKIP = 0x40
#: Smallest block the split tool may quarter: its chroma quadrants are 2 x 2 samples.
MIN_SPLIT_BLOCK = 8
_KNOWN_TOOLS = (TOOL_DEBLOCK | TOOL_INTRA | TOOL_QPEL | TOOL_CARRY_CONTEXTS | TOOL_SPLIT
                | TOOL_CONTEXT_MODEL_2 | TOOL_TRANSFORM_SKIP)


@dataclass(frozen=True)
class RefreshHeader:
    width: int
    height: int
    block_size: int
    quality: int
    palette: np.ndarray     # uint8 (K, 3) in (Y, Cr, Cb)
    slices: int             # slices of this and the following predicted pictures
    deblock: bool = False   # the deblocking filter on this and the following pictures
    intra: bool = False     # blocks of this picture may be intra-predicted
    qpel: bool = False      # vectors of the following pictures in quarter pels (else half)
    carry_contexts: bool = False    # predicted pictures' slices start from the last picture's
    split: bool = False     # blocks of the following pictures may have a vector per quadrant
    context_model: int = 1  # the range coder's context model (1 or 2) from this picture on
    tskip: bool = False     # coded tiles of this and the following pictures may skip the DCT


def pack_refresh_header(header: RefreshHeader) -> bytes:
    k = len(header.palette)
    if not 1 <= header.slices <= MAX_SLICES:
        raise ValueError(f"slices must be in 1..{MAX_SLICES}, got {header.slices}")
    layout = header.slices << 2 | BLOCK_SIZES.index(header.block_size)
    tools = ((TOOL_DEBLOCK if header.deblock else 0) | (TOOL_INTRA if header.intra else 0)
             | (TOOL_QPEL if header.qpel else 0)
             | (TOOL_CARRY_CONTEXTS if header.carry_contexts else 0)
             | (TOOL_SPLIT if header.split else 0)
             | (TOOL_CONTEXT_MODEL_2 if header.context_model == 2 else 0)
             | (TOOL_TRANSFORM_SKIP if header.tskip else 0))
    return (_REFRESH_FIXED.pack(header.width, header.height, layout, k - 1,
                                header.quality | TOOLS_FOLLOW)
            + bytes([tools]) + np.ascontiguousarray(header.palette, dtype=np.uint8).tobytes())


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
    tools, start = 0, _REFRESH_FIXED.size
    if quality & TOOLS_FOLLOW:
        quality &= ~TOOLS_FOLLOW
        if len(payload) <= start:
            raise BitstreamError("refresh payload too short for its tools byte")
        tools, start = payload[start], start + 1
        if tools & ~_KNOWN_TOOLS:
            raise BitstreamError(f"refresh header asks for coding tools this decoder does not "
                                 f"know (tools byte 0x{tools:02x}): a newer livecodec wrote it")
        if tools & TOOL_SPLIT and block_size < MIN_SPLIT_BLOCK:
            raise BitstreamError(f"refresh header splits {block_size}x{block_size} blocks "
                                 f"(quadrants need blocks of {MIN_SPLIT_BLOCK} or more)")
    _check_quality(quality)
    k = k1 + 1
    end = start + 3 * k
    if len(payload) < end:
        raise BitstreamError(f"refresh payload too short for a {k}-colour palette")
    palette = np.frombuffer(payload, np.uint8, 3 * k, start).reshape(k, 3)
    return RefreshHeader(width, height, block_size, quality, palette.copy(), slices,
                         bool(tools & TOOL_DEBLOCK), bool(tools & TOOL_INTRA),
                         bool(tools & TOOL_QPEL), bool(tools & TOOL_CARRY_CONTEXTS),
                         bool(tools & TOOL_SPLIT),
                         2 if tools & TOOL_CONTEXT_MODEL_2 else 1,
                         bool(tools & TOOL_TRANSFORM_SKIP)), end


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
