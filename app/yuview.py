"""Per-block statistics of a stream as a YUView statistics file, to see the codec's decisions
drawn over the decoded video (YUView opens the file beside the video from `livecodec decode`).

The format is YUView's "Statistics Extension Syntax" (the IENT/YUView wiki page of that name),
written to what YUView's own reader (YUViewLib/src/statistics/StatisticsFileCSV.cpp) accepts:

- header lines start with `%`; `% ;type;ID;NAME;KIND` opens a statistic, KIND `vector` for
  arrows or `map` / `range` for values coloured per value or along a min..max ramp (the wiki's
  vector and value types); the type's `mapColor`, `range`, `vectorColor` and `scaleFactor`
  lines follow it; `% ;seq-specs;NAME;LAYER;WIDTH;HEIGHT;FPS` gives the picture size (the
  first one of the stream, as `livecodec decode` writes the first);
- data rows are `POC;X;Y;W;H;TYPE;VALUE` or `POC;X;Y;W;H;TYPE;VX;VY`, all integers;
- the reader deletes every space of a line, so names use underscores;
- an arrow starts at the block's centre and is VX/scaleFactor, VY/scaleFactor pixels long. The
  decoder reports vectors in whole pixels (rounded from its sub-pel vectors), so they are
  written as they are with scaleFactor 1, always written rather than left to the reader's
  default. A split block's four quadrant vectors are written as four half-size blocks;
- a POC's rows are kept together, so YUView reads the file as sorted by POC.

POC is the output frame number, counting concealed frames as `livecodec decode` writes them,
so the statistics line up with its video. A concealed frame gets only its frame type
(concealed) over the whole picture: it has no blocks or bits of its own. The stream holds bits
per packet, not per block, so bits are a value over the whole frame. Blocks on the padded grid
are clipped to the picture (YUView warns about blocks outside it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TextIO

from livecodec.codec import (FRAME_PREDICTED, FRAME_REFRESH, MODE_INTER, MODE_INTRA_DC,
                             MODE_INTRA_H, MODE_INTRA_V, MODE_PALETTE, MODE_SKIP, MODE_SPLIT,
                             BitstreamError, ConcealingDecoder, DecodedFrame, FileHeader,
                             PacketReader, RecoveredFrame, read_stream_info)

__all__ = ["write_yuview_stats", "YuviewSummary", "SYNTAX_VERSION", "VECTOR_SCALE",
           "TYPE_VECTOR", "TYPE_MODE", "TYPE_FRAME", "TYPE_BITS", "FRAME_CONCEALED",
           "FRAME_TYPE_VALUES"]

#: The syntax version the wiki page describes (YUView's reader skips the line).
SYNTAX_VERSION = "v1.22"
#: Written vector components per pixel of arrow length.
VECTOR_SCALE = 1
#: Statistic type IDs.
TYPE_VECTOR, TYPE_MODE, TYPE_FRAME, TYPE_BITS = 1, 2, 3, 4
FRAME_CONCEALED = "concealed"
#: Value of the frame-type statistic.
FRAME_TYPE_VALUES = {FRAME_REFRESH: 0, FRAME_PREDICTED: 1, FRAME_CONCEALED: 2}

#: Name and RGBA of each block mode: the window's tints (skip blue-grey, palette magenta,
#: split white), motion green, the spatial intra modes of refresh frames in oranges.
_MODES = {MODE_SKIP: ("skip", (70, 110, 200, 255)), MODE_INTER: ("motion", (60, 190, 90, 255)),
          MODE_SPLIT: ("split", (240, 240, 240, 255)),
          MODE_PALETTE: ("palette", (230, 60, 200, 255)),
          MODE_INTRA_DC: ("intra_DC", (250, 170, 60, 255)),
          MODE_INTRA_V: ("intra_V", (250, 120, 40, 255)),
          MODE_INTRA_H: ("intra_H", (220, 90, 20, 255))}
_FRAME_COLOURS = {FRAME_REFRESH: (255, 170, 0, 255), FRAME_PREDICTED: (128, 128, 128, 255),
                  FRAME_CONCEALED: (230, 30, 30, 255)}
_VECTOR_COLOUR = (255, 255, 0, 255)
#: Frame bits run from blue (0) to red (the largest packet of the stream).
_BITS_LOW, _BITS_HIGH = (0, 0, 255, 255), (255, 0, 0, 255)


@dataclass(frozen=True)
class YuviewSummary:
    """What was written: output frames (POCs) and how many of them were concealed."""

    frames: int
    concealed: int


def _field(text: str) -> str:
    """``text`` as one field: no separator, line break or space (which the reader deletes)."""
    return "".join("_" if ch in " ;\r\n" else ch for ch in text)


def _header(name: str, size: tuple[int, int], fps: float, max_bits: int) -> list[str]:
    def line(*fields: object) -> str:
        return "% ;" + ";".join(str(f) for f in fields)

    def rgba(colour: tuple[int, int, int, int]) -> str:
        return ";".join(map(str, colour))

    low, high = _BITS_LOW, _BITS_HIGH
    return [
        line("syntax-version", SYNTAX_VERSION),
        line("seq-specs", _field(name), 0, size[0], size[1], f"{fps:g}"),
        line("type", TYPE_VECTOR, "Motion_vector_(pixels)", "vector"),
        line("vectorColor", rgba(_VECTOR_COLOUR)),
        line("scaleFactor", VECTOR_SCALE),
        line("type", TYPE_MODE, "Block_mode_(" + ",".join(
            f"{mode}_{name}" for mode, (name, _) in sorted(_MODES.items())) + ")", "map"),
        *(line("mapColor", mode, rgba(c)) for mode, (_, c) in _MODES.items()),
        line("type", TYPE_FRAME, "Frame_type_(0_refresh,1_predicted,2_concealed)", "map"),
        *(line("mapColor", FRAME_TYPE_VALUES[kind], rgba(c)) for kind, c in _FRAME_COLOURS.items()),
        line("type", TYPE_BITS, "Frame_bits_(whole_packet,_not_per_block)", "range"),
        # range;MIN;MAX, then each of r, g, b, a at MIN and at MAX
        line("range", 0, max(max_bits, 1), *(v for pair in zip(low, high) for v in pair)),
    ]


def _frame_rows(poc: int, frame: RecoveredFrame, bits: int | None) -> list[str]:
    height, width = frame.image.shape[:2]
    whole = f"{poc};0;0;{width};{height}"
    decoded = frame.decoded
    if decoded is None:
        return [f"{whole};{TYPE_FRAME};{FRAME_TYPE_VALUES[FRAME_CONCEALED]}"]
    bs = decoded.block_size
    modes = decoded.block_modes

    def rect(x: int, y: int, side: int) -> str:
        return f"{poc};{x};{y};{min(side, width - x)};{min(side, height - y)}"

    blocks = [(r, c) for r in range(modes.shape[0]) for c in range(modes.shape[1])]
    rows = []
    if decoded.motion_vectors is not None:
        rows += [f"{rect(x, y, side)};{TYPE_VECTOR};{vx};{vy}"
                 for r, c in blocks if modes[r, c] != MODE_PALETTE
                 for x, y, side, (vx, vy) in _vector_parts(decoded, r, c)
                 if x < width and y < height]
    rows += [f"{rect(c * bs, r * bs, bs)};{TYPE_MODE};{modes[r, c]}" for r, c in blocks]
    rows.append(f"{whole};{TYPE_FRAME};{FRAME_TYPE_VALUES[decoded.frame_type]}")
    rows.append(f"{whole};{TYPE_BITS};{bits}")
    return rows


def _vector_parts(decoded: DecodedFrame, r: int, c: int
                  ) -> list[tuple[int, int, int, tuple[int, int]]]:
    """(x, y, side, (dx, dy)) of block (r, c)'s vectors: the whole block's, or a split block's
    four quadrants' (raster order) as half-size blocks."""
    bs = decoded.block_size
    x, y = c * bs, r * bs
    if decoded.block_modes[r, c] != MODE_SPLIT:
        return [(x, y, bs, tuple(decoded.motion_vectors[r, c]))]
    half = bs // 2
    return [(x + q % 2 * half, y + q // 2 * half, half, tuple(decoded.quadrant_vectors[r, c, q]))
            for q in range(4)]


def write_yuview_stats(reader: PacketReader, out: TextIO, *, name: str,
                       on_frame: Callable[[], object] | None = None) -> YuviewSummary:
    """Decode the whole stream and write its statistics to ``out`` (see the module docstring).

    ``reader`` is read three times (it keeps the file in memory): the first frame size and the
    largest packet go into the header before any frame is decoded. ``name`` is the stream's
    file name for the header; ``on_frame`` is called after each frame (a progress bar, a stop
    check).
    """
    sizes = read_stream_info(reader).frame_sizes
    max_bits = max((8 * item.size for item in reader
                    if not isinstance(item, (BitstreamError, FileHeader))), default=0)
    out.write("\n".join(_header(name, sizes[0] if sizes else (0, 0), reader.header.fps,
                                max_bits)) + "\n")
    decoder = ConcealingDecoder()
    poc = concealed = 0
    for item in reader:
        frames = decoder.feed(item)
        decoder.problems.clear()        # `info` reports damage itself
        for frame in frames:
            # Only the packet's own frame is decoded; the frames before it conceal a gap.
            bits = 8 * item.size if frame.decoded is not None else None
            out.write("\n".join(_frame_rows(poc, frame, bits)) + "\n")
            concealed += frame.decoded is None
            poc += 1
            if on_frame is not None:
                on_frame()
    return YuviewSummary(poc, concealed)
