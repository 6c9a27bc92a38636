"""Slices: a frame's symbols coded as independent horizontal bands of block rows.

Each slice is range-coded on its own, with no neighbour from another slice, so encoder and
decoder code all slices at once on as many cores as they have; the same slices bound the
motion search and the vector prediction. A slice's coder starts from fresh contexts in a
refresh picture and, when the stream says so (format version 4), from where the same slice of
the previous picture left them in a predicted one (``SliceContexts``). How many slices a
picture has is a property of the stream (stated in the refresh header), never of the machine:
the encoder picks it from the frame size (``codec.encoder.analysis.choose_slice_count``), so a
given input gives the same bytes on one core or eight. The symbols of a payload are

    LEB128 byte length of slice 0 | slice 0 | ... | last slice (runs to the end)
"""
from __future__ import annotations

import numpy as np

from .bitstream import read_leb128, write_leb128
from .entropy import new_contexts
from .errors import BitstreamError
from .parallel import run_parallel
from .syntax import DECODE_ERRORS, N_CONTEXTS, decode_symbols, encode_symbols
from .transform import LEVEL_DTYPE, transform_size

__all__ = ["encode_slices", "decode_slices", "slice_rows", "legacy_slice_count", "MAX_SLICES",
           "MIN_SLICED_SAMPLES", "SliceContexts"]

#: Most slices a refresh header can signal (6 bits).
MAX_SLICES = 63
#: Frames with fewer luma samples than this are one slice: each extra slice resets the entropy
#: contexts and the neighbours of its first row, which cost carphone (176x144) 3 % of its
#: bits, bikes (640x272) under 1 %; a small frame is fast enough on one core.
MIN_SLICED_SAMPLES = 100_000

#: Stand-in level array and tile map for frames without residual (quality 0).
_NO_LEVELS = np.zeros((1, 1, 1), LEVEL_DTYPE)
_NO_TILES = np.zeros((1, 1), np.uint8)


def legacy_slice_count(rows: int, cols: int, block_size: int) -> int:
    """Slices of a refresh header that does not state them (format version 1): two for
    pictures of at least ``MIN_SLICED_SAMPLES`` luma samples, else one."""
    samples = rows * cols * block_size * block_size
    return min(2 if samples >= MIN_SLICED_SAMPLES else 1, rows)


def slice_rows(rows: int, count: int) -> list[tuple[int, int]]:
    """Block-row ranges [r0, r1) of ``count`` slices of a picture ``rows`` blocks high."""
    edges = [rows * i // count for i in range(count + 1)]
    return [(edges[i], edges[i + 1]) for i in range(count)]


class SliceContexts:
    """The range coder's probabilities at the end of each slice of the last picture, kept by
    encoder and decoder alike so that a predicted picture's slices start where they left off:
    the coder does not learn its statistics again at every picture (1-6 % of the bytes, most
    at low rates and on small pictures). Refresh pictures start fresh, as does everything
    after a picture whose header does not carry them."""

    def __init__(self) -> None:
        self._kept: list[np.ndarray] | None = None

    def start(self, slices: int, carry: bool, model: int = 2) -> list[np.ndarray]:
        """Starting probabilities for a picture of ``slices`` slices: the kept ones (copies)
        when ``carry`` and there are as many, else fresh ones of context ``model``."""
        if carry and self._kept is not None and len(self._kept) == slices:
            return [kept.copy() for kept in self._kept]
        return [new_contexts(N_CONTEXTS, model) for _ in range(slices)]

    @property
    def kept(self) -> list[np.ndarray] | None:
        """What the last picture's slices ended with, if anything."""
        return self._kept

    def keep(self, contexts: list[np.ndarray] | None) -> None:
        """What a picture's slices ended with (None: forget, e.g. after an error)."""
        self._kept = contexts


def _tiles_per_block(block_size: int) -> tuple[int, int]:
    """Transform tiles per block side in luma and in chroma."""
    return (block_size // transform_size(block_size),
            (block_size // 2) // transform_size(block_size // 2))


def _band(planes, r0: int, r1: int, ky: int, kc: int, stand_in: np.ndarray):
    """The tile rows of block rows r0..r1 of each plane's levels or tile map (``stand_in``
    when the frame has no residual: the kernels never touch them then)."""
    if planes is None:
        return (stand_in,) * 3
    return tuple(plane[r0 * k:r1 * k] for plane, k in zip(planes, (ky, kc, kc)))


def encode_slices(is_refresh: bool, modes: np.ndarray, mvd: np.ndarray, labels: np.ndarray,
                  label_bits: int, levels, block_size: int, bands: list[tuple[int, int]],
                  contexts: list[np.ndarray], intra: bool = False, split: bool = False,
                  quadrant_mvd: np.ndarray | None = None, tiles=None, tskip: bool = False
                  ) -> tuple[bytes, np.ndarray]:
    """Range-code a frame's symbols slice by slice (see ``syntax.encode_symbols`` for the
    arguments; ``levels`` None for a frame without residual; ``bands`` from ``slice_rows``;
    ``contexts`` from ``SliceContexts.start``, one per slice, updated in place;
    ``quadrant_mvd`` None when no block is split; ``tiles``: the planes' tile maps, needed
    with ``tskip``).
    Returns the symbol bytes and the estimated bits per part."""
    if tskip and levels is not None and tiles is None:
        raise ValueError("transform skip needs the tile maps that say which tiles skip it")
    ky, kc = _tiles_per_block(block_size)
    if quadrant_mvd is None:
        quadrant_mvd = np.zeros((*mvd.shape[:2], 4, 2), np.int32)

    def code_band(i: int):
        r0, r1 = bands[i]
        return encode_symbols(is_refresh, intra, split, tskip, levels is not None, modes[r0:r1],
                              mvd[r0:r1], quadrant_mvd[r0:r1], labels[r0:r1], label_bits,
                              *_band(levels, r0, r1, ky, kc, _NO_LEVELS),
                              *_band(tiles if tskip else None, r0, r1, ky, kc, _NO_TILES),
                              ky, kc, contexts[i])

    results = run_parallel([lambda i=i: code_band(i) for i in range(len(bands))])
    parts = [chunk.tobytes() for chunk, _ in results]
    data = b"".join(write_leb128(len(part)) + part for part in parts[:-1]) + parts[-1]
    return data, sum(costs for _, costs in results)


def decode_slices(data: np.ndarray, is_refresh: bool, cols: int, n_labels: int,
                  label_bits: int, levels, block_size: int, bands: list[tuple[int, int]],
                  contexts: list[np.ndarray], intra: bool = False, split: bool = False,
                  context_model: int = 2, tiles=None, tskip: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode every slice (filling the zeroed ``levels`` and their zeroed uint8 tile maps
    ``tiles`` in place; both None: no residual; ``contexts``: one per slice, as
    ``encode_slices`` started from, updated in place; ``intra``: refresh blocks carry intra
    modes; ``split``: predicted blocks may be split; ``context_model``: the refresh header's;
    ``tskip``: coded tiles carry a transform-skip flag).

    Returns:
        (modes, mvs, quadrant vectors, labels) of the whole frame. Raises BitstreamError for
        a slice that is malformed or runs past its bytes.
    """
    if (levels is None) != (tiles is None):
        raise ValueError("levels and tile maps go together (both None: no residual)")
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
        modes, mvs, quadrants, labels, error, consumed = decode_symbols(
            chunk, is_refresh, intra, split, tskip, levels is not None, r1 - r0, cols, n_labels,
            label_bits, *_band(levels, r0, r1, ky, kc, _NO_LEVELS),
            *_band(tiles, r0, r1, ky, kc, _NO_TILES), ky, kc, contexts[i], context_model == 2)
        if error:
            raise BitstreamError(f"slice {i}: {DECODE_ERRORS[error]}")
        if consumed > len(chunk):
            raise BitstreamError(f"slice {i} ends {consumed - len(chunk)} bytes early")
        return modes, mvs, quadrants, labels

    results = run_parallel([lambda i=i: decode_band(i) for i in range(len(bands))])
    return tuple(np.concatenate([r[k] for r in results]) for k in range(4))
