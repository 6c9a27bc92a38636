"""Slices: a frame's symbols coded as independent horizontal bands, on both cores.

The block rows of a frame of at least ``MIN_BAND_SAMPLES`` luma samples are split into the
two bands of ``codec.parallel.row_bands``; smaller frames are one band. Each band is range-coded on its own, with fresh contexts and no neighbour from
another band, so the encoder and the decoder work on both bands at once; the same bands bound
the motion search and the vector prediction. The symbols of a payload are

    LEB128 byte length of slice 0 | slice 0 | ... | last slice (runs to the end)
"""
from __future__ import annotations

import numpy as np

from .bitstream import read_leb128, write_leb128
from .errors import BitstreamError
from .parallel import row_bands, run_parallel
from .residual import LEVEL_DTYPE, transform_size
from .syntax import DECODE_ERRORS, decode_symbols, encode_symbols

__all__ = ["encode_slices", "decode_slices"]

#: Stand-in level array for frames without residual (quality 0).
_NO_LEVELS = np.zeros((1, 1, 1), LEVEL_DTYPE)


def _tiles_per_block(block_size: int) -> tuple[int, int]:
    """Transform tiles per block side in luma and in chroma."""
    return (block_size // transform_size(block_size),
            (block_size // 2) // transform_size(block_size // 2))


def _band_levels(levels, r0: int, r1: int, ky: int, kc: int):
    if levels is None:      # no residual: the kernels never touch the level arrays
        return (_NO_LEVELS,) * 3
    return tuple(lev[r0 * k:r1 * k] for lev, k in zip(levels, (ky, kc, kc)))


def encode_slices(is_refresh: bool, modes: np.ndarray, mvd: np.ndarray, labels: np.ndarray,
                  label_bits: int, levels, block_size: int) -> tuple[bytes, np.ndarray]:
    """Range-code a frame's symbols slice by slice (see ``syntax.encode_symbols`` for the
    arguments; ``levels`` None for a frame without residual). Returns the symbol bytes and the
    estimated bits per part."""
    ky, kc = _tiles_per_block(block_size)

    def code_band(r0: int, r1: int):
        return encode_symbols(is_refresh, levels is not None, modes[r0:r1], mvd[r0:r1],
                              labels[r0:r1], label_bits, *_band_levels(levels, r0, r1, ky, kc),
                              ky, kc)

    results = run_parallel([lambda r0=r0, r1=r1: code_band(r0, r1)
                            for r0, r1 in row_bands(*modes.shape, block_size)])
    parts = [chunk.tobytes() for chunk, _ in results]
    data = b"".join(write_leb128(len(part)) + part for part in parts[:-1]) + parts[-1]
    return data, sum(costs for _, costs in results)


def decode_slices(data: np.ndarray, is_refresh: bool, rows: int, cols: int, n_labels: int,
                  label_bits: int, levels, block_size: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode every slice (filling the zeroed ``levels`` in place; None: no residual).

    Returns:
        (modes, mvs, labels) of the whole frame. Raises BitstreamError for a slice that is
        malformed or runs past its bytes.
    """
    bands = row_bands(rows, cols, block_size)
    ky, kc = _tiles_per_block(block_size)
    chunks = []
    pos = 0
    for i in range(len(bands) - 1):
        length, pos = read_leb128(data, pos, f"slice {i} length")
        if pos + length > len(data):
            raise BitstreamError(f"slice {i} claims {length} bytes, {len(data) - pos} present")
        chunks.append(data[pos:pos + length])
        pos += length
    chunks.append(data[pos:])

    def decode_band(i: int):
        r0, r1 = bands[i]
        chunk = chunks[i]
        modes, mvs, labels, error, consumed = decode_symbols(
            chunk, is_refresh, levels is not None, r1 - r0, cols, n_labels, label_bits,
            *_band_levels(levels, r0, r1, ky, kc), ky, kc)
        if error:
            raise BitstreamError(f"slice {i}: {DECODE_ERRORS[error]}")
        if consumed > len(chunk):
            raise BitstreamError(f"slice {i} ends {consumed - len(chunk)} bytes early")
        return modes, mvs, labels

    results = run_parallel([lambda i=i: decode_band(i) for i in range(len(bands))])
    return tuple(np.concatenate([r[k] for r in results]) for k in range(3))
