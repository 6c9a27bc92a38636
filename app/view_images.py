"""Turns a decoded PipelineFrame into the arrays the four views draw (numpy and OpenCV, no Qt).

It runs in the decoder thread, so the GUI thread only hands finished RGBA arrays to
pyqtgraph's fast path (C-contiguous row-major uint8, no levels): Qt draws RGBA rows with
less conversion than RGB ones, and the GUI thread holds Python's lock while it paints, which
stalls the coding threads (a repaint of the four views of a 1280x720 source, offscreen: 4.9 ms
with RGB images, 4.0 ms with RGBA). Pictures larger than the views show them are scaled down
here to the size they are displayed at, so the GUI thread's work per frame stays the same for
a 1080p source as for a 480p one.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from livecodec.app.pipeline import FrameStats, PipelineFrame
from livecodec.codec import FRAME_REFRESH, MODE_INTER, MODE_PALETTE, MODE_SKIP, MODE_SPLIT

__all__ = ["ViewImages", "prepare_views", "draw_vectors", "draw_partitions", "vector_arrows",
           "split_crosses", "shrink", "ERROR_GAIN", "LENGTH_BINS", "LENGTH_COLOURS", "MODE_COLOURS",
           "PARTITION_COLOUR"]

#: |orig − recon| is multiplied by this before the colour map: errors of 2–8 grey levels, typical
#: of a good reconstruction, become visible, and anything from 64 up saturates.
ERROR_GAIN = 4
#: Vector lengths (px) where the colour changes, and the colour (RGB) of each bin: short vectors
#: cool, long ones hot.
LENGTH_BINS = (2.0, 4.0, 8.0, 16.0)
LENGTH_COLOURS = ((80, 220, 255), (90, 255, 140), (255, 235, 60), (255, 150, 40), (255, 60, 60))
#: RGBA tint per block mode in predicted frames: skip blocks blue-grey, intra (palette) blocks
#: magenta, motion-compensated blocks untinted (their vectors are drawn instead), split blocks
#: a faint white wash, so they show where their crosses are too small to draw.
MODE_COLOURS = {MODE_SKIP: (70, 110, 200, 110), MODE_INTER: (0, 0, 0, 0),
                MODE_SPLIT: (255, 255, 255, 45), MODE_PALETTE: (230, 60, 200, 120)}
#: RGB of the quadrant boundaries drawn across split blocks: white, unlike any length colour.
PARTITION_COLOUR = (255, 255, 255)
#: Brightness of the grey picture under the vectors: dim, so the coloured vectors stand out.
_BACKDROP_GAIN, _BACKDROP_OFFSET = 0.55, 25
#: Arrow heads: length as a share of the vector, clamped to these pixels, and their half-angle.
_HEAD_SHARE, _HEAD_MIN_PX, _HEAD_MAX_PX = 0.35, 2.0, 5.0
_HEAD_ANGLE = np.deg2rad(28.0)
#: Written over the original view when a stream plays without its reference video.
NO_REFERENCE_CAPTION = "no reference video: the decoded picture"


@dataclass(frozen=True)
class ViewImages:
    """Everything one refresh of the views needs; images are h×w×4 RGBA uint8 (opaque),
    C-contiguous, at display size: ``size`` is the picture's own (width, height), which the
    views map the images onto, so vectors and block tints stay in picture pixels."""

    size: tuple[int, int]
    original: np.ndarray
    reconstruction: np.ndarray
    motion: np.ndarray              #: the motion vectors drawn over a dimmed grey original
    error: np.ndarray               #: colour-mapped, amplified |orig − recon|
    modes: np.ndarray               #: (rows, cols, 4) RGBA tint per block
    block_size: int
    is_refresh: bool
    stats: FrameStats


def prepare_views(frame: PipelineFrame, scale: float = 1.0) -> ViewImages:
    """All four view images and the motion overlay of one frame.

    ``scale``: picture pixels per screen pixel in the views; above 1 the images are made
    that much smaller (area averaging), as the screen would show them anyway.
    """
    is_refresh = frame.stats.frame_type == FRAME_REFRESH
    height, width = frame.reconstruction.shape[:2]
    reconstruction = frame.reconstruction
    # A played stream without its reference: the picture stands in for the original, with no error.
    original = frame.original if frame.original is not None else reconstruction
    difference = cv2.absdiff(original, reconstruction)       # every pixel's, then shrunk
    if scale > 1.0:
        shown = (max(1, round(width / scale)), max(1, round(height / scale)))
        original, reconstruction, difference = (
            shrink(image, shown) for image in (original, reconstruction, difference))
    error = largest_channel(difference)
    grey = cv2.cvtColor(original, cv2.COLOR_BGR2GRAY)
    backdrop = cv2.convertScaleAbs(grey, alpha=_BACKDROP_GAIN, beta=_BACKDROP_OFFSET)
    motion = cv2.cvtColor(backdrop, cv2.COLOR_GRAY2RGBA)
    zoom = motion.shape[1] / width
    draw_partitions(motion, split_crosses(frame.block_modes, frame.block_size, zoom))
    draw_vectors(motion, vector_arrows(frame.motion_vectors, frame.block_modes,
                                       frame.block_size, zoom, frame.quadrant_vectors))
    if frame.original is None:
        original = _captioned(original, NO_REFERENCE_CAPTION)
    return ViewImages(
        size=(width, height),
        original=cv2.cvtColor(original, cv2.COLOR_BGR2RGBA),
        reconstruction=cv2.cvtColor(reconstruction, cv2.COLOR_BGR2RGBA),
        motion=motion,
        error=error_colours(error),
        modes=mode_tint(frame.block_modes, is_refresh),
        block_size=frame.block_size,
        is_refresh=is_refresh,
        stats=frame.stats,
    )


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """image scaled down to size (width, height) for display: halved by area averaging
    while it is at least twice as large, then bilinear for the rest (a factor under 2).

    OpenCV's area averaging has a fast path for halving only: 640×480 → 441×331 took 4.6 ms
    a picture in one step and 1920×1080 → 640×360 4.9 ms (three pictures a frame in the
    decoder thread), against 0.3 ms and 1.1 ms by halving. The last step, less than halving,
    can let a one-pixel detail flicker where exact area averaging would not; at display size
    that is what a screen's own scaler would show.
    """
    while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1]:
        height, width = image.shape[:2]
        image = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def _captioned(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of image with text in its top-left corner, legible on any picture."""
    out = image.copy()
    scale = max(0.4, image.shape[1] / 1000)
    origin = (8, 8 + int(22 * scale))
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


#: Sub-pixel precision of the drawn vectors (OpenCV's fixed-point shift: 1/16 pixel).
_DRAW_SHIFT = 4
#: Smallest on-screen spacing of arrows (image pixels): where blocks are shown smaller, the
#: vectors of neighbouring blocks are averaged into one arrow, as the eye would see them anyway.
_ARROW_SPACING_PX = 12.0
#: Smallest on-screen block side (image pixels) that gets its split cross: smaller, the cross
#: would all but fill the block (its tint still marks it).
_CROSS_MIN_PX = 8.0


def draw_vectors(image: np.ndarray, arrows: tuple[np.ndarray, ...]) -> None:
    """Draw ``vector_arrows`` (image pixels) into ``image`` (RGB, or RGBA kept opaque),
    antialiased, in their length colours. OpenCV's drawing holds the GIL for as long as it
    draws, so it gets one polyline per arrow and no more arrows than the view can show apart."""
    for polylines, colour in zip(arrows, LENGTH_COLOURS):
        _draw_polylines(image, polylines, colour)


def draw_partitions(image: np.ndarray, crosses: np.ndarray) -> None:
    """Draw ``split_crosses`` (image pixels) into ``image`` like ``draw_vectors``, in
    PARTITION_COLOUR; drawn first, so the arrows stay on top."""
    _draw_polylines(image, crosses, PARTITION_COLOUR)


def _draw_polylines(image: np.ndarray, polylines: np.ndarray, colour: tuple[int, int, int]) -> None:
    """(N, points, 2) open polylines, 1 px antialiased, into an RGB or opaque RGBA image."""
    if len(polylines):
        opaque = (255,) * (image.shape[2] - 3)
        points = np.round(polylines * (1 << _DRAW_SHIFT)).astype(np.int32)
        cv2.polylines(image, list(points), False, colour + opaque, 1, cv2.LINE_AA, _DRAW_SHIFT)


def largest_channel(difference: np.ndarray) -> np.ndarray:
    """Each pixel's worst channel of an |original - reconstruction| image (uint8); taken at
    display size, after the differences were averaged down to it (at 1080p a third of the
    time of taking it first)."""
    blue, green, red = cv2.split(difference)
    return cv2.max(cv2.max(blue, green), red)  # 40× faster than ndarray.max(axis=2)


def error_colours(error: np.ndarray) -> np.ndarray:
    """An error image amplified by ERROR_GAIN, in the inferno colour map (opaque RGBA): one
    table look-up per pixel (applyColorMap took five times as long)."""
    return cv2.LUT(cv2.cvtColor(error, cv2.COLOR_GRAY2RGBA), _ERROR_TABLE)


def _error_table() -> np.ndarray:
    """(256, 1, 4) RGBA colour of each error value: amplified, then the inferno map, opaque."""
    amplified = np.minimum(np.arange(256) * ERROR_GAIN, 255).astype(np.uint8)[:, None]
    return cv2.cvtColor(cv2.applyColorMap(amplified, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGBA)


_ERROR_TABLE = _error_table()


def mode_tint(block_modes: np.ndarray, is_refresh: bool) -> np.ndarray:
    """(rows, cols, 4) RGBA: the block mode as a translucent tint (none on refresh frames)."""
    tint = np.zeros(block_modes.shape + (4,), np.uint8)
    if not is_refresh:
        for mode, colour in MODE_COLOURS.items():
            tint[block_modes == mode] = colour
    return tint


def split_crosses(block_modes: np.ndarray, block_size: int, zoom: float = 1.0) -> np.ndarray:
    """(N, 2, 2) line segments in image pixels: the quadrant boundaries of every split block,
    across then down, none where blocks are shown under _CROSS_MIN_PX. Each stops a pixel
    short of the block's edges, antialiasing included, so neighbouring crosses stay apart."""
    if block_size * zoom < _CROSS_MIN_PX:
        return np.zeros((0, 2, 2), np.float64)
    r, c = np.nonzero(block_modes == MODE_SPLIT)
    x0, y0 = c * block_size * zoom + 1, r * block_size * zoom + 1
    x1, y1 = (c + 1) * block_size * zoom - 2, (r + 1) * block_size * zoom - 2
    mid_x, mid_y = (c + 0.5) * block_size * zoom, (r + 0.5) * block_size * zoom
    across = np.stack([np.stack([x0, mid_y], axis=1), np.stack([x1, mid_y], axis=1)], axis=1)
    down = np.stack([np.stack([mid_x, y0], axis=1), np.stack([mid_x, y1], axis=1)], axis=1)
    return np.concatenate([across, down])


def vector_arrows(motion_vectors: np.ndarray | None, block_modes: np.ndarray,
                  block_size: int, zoom: float = 1.0,
                  quadrant_vectors: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Arrows for the motion-compensated blocks in an image shown at ``zoom`` image pixels
    per picture pixel, grouped by length bin.

    The block at (x, y) is predicted from the reference at (x+dx, y+dy), so the arrow runs from
    there to the block centre: it points the way the content moved. A split block (with
    ``quadrant_vectors``, (rows, cols, 4, 2)) gets one arrow per quadrant from the quadrant's
    centre. Where arrows would be drawn closer than _ARROW_SPACING_PX, square groups of blocks
    get one arrow, the mean vector of their moving blocks (quadrants, where a block is split),
    from the group's centre. Each bin is an (N, 5, 2) array of polylines in image pixels: tail,
    tip, left barb, tip, right barb.
    """
    empty = np.zeros((0, 5, 2), np.float64)
    if motion_vectors is None:
        return tuple(empty for _ in LENGTH_COLOURS)
    rows, cols = block_modes.shape
    extent = (cols * block_size, rows * block_size)
    group = _group(block_size, zoom)
    split = block_modes == MODE_SPLIT
    whole = motion_vectors[:rows, :cols]
    if quadrant_vectors is None or not split.any():
        cells = [_mean_vectors(whole, block_modes == MODE_INTER, block_size, group, extent)]
    else:
        # The quadrant grid: (2 rows, 2 cols) cells of half a block.
        quarters = quadrant_vectors[:rows, :cols].reshape(rows, cols, 2, 2, 2)
        quarters = quarters.transpose(0, 2, 1, 3, 4).reshape(2 * rows, 2 * cols, 2)
        half = block_size / 2
        if _group(half, zoom) == 1:     # quadrants shown apart: whole blocks keep one arrow
            cells = [_mean_vectors(whole, block_modes == MODE_INTER, block_size, 1, extent),
                     _mean_vectors(quarters, _per_quadrant(split), half, 1, extent)]
        else:   # the same groups of blocks, a split block's quadrants each a quarter of it
            motion = _per_quadrant(split | (block_modes == MODE_INTER))
            cells = [_mean_vectors(quarters, motion, half, 2 * group, extent)]
    centre = np.concatenate([centre for centre, _ in cells])
    d = np.concatenate([d for _, d in cells])
    tip = centre * zoom
    length = np.hypot(d[:, 0], d[:, 1]) * zoom                 # on screen
    keep = length > 0
    tip, d, length = tip[keep], d[keep] * zoom, length[keep]
    back = -d / length[:, None]                                # unit vector from tip to tail
    head = np.clip(length * _HEAD_SHARE, _HEAD_MIN_PX, _HEAD_MAX_PX)[:, None]
    cos, sin = np.cos(_HEAD_ANGLE), np.sin(_HEAD_ANGLE)
    left = tip + head * np.stack([back[:, 0] * cos - back[:, 1] * sin,
                                  back[:, 0] * sin + back[:, 1] * cos], axis=1)
    right = tip + head * np.stack([back[:, 0] * cos + back[:, 1] * sin,
                                   -back[:, 0] * sin + back[:, 1] * cos], axis=1)
    arrows = np.stack([tip + d, tip, left, tip, right], axis=1)
    bins = np.digitize(length / zoom, LENGTH_BINS)             # colours by picture pixels
    return tuple(arrows[bins == b] for b in range(len(LENGTH_COLOURS)))


def _group(cell: float, zoom: float) -> int:
    """Cells (blocks or quadrants of ``cell`` picture pixels) per side of an arrow's group."""
    return max(1, int(np.ceil(_ARROW_SPACING_PX / (cell * zoom))))


def _per_quadrant(mask: np.ndarray) -> np.ndarray:
    """A (rows, cols) block mask on the quadrant grid (2 rows, 2 cols)."""
    return np.repeat(np.repeat(mask, 2, axis=0), 2, axis=1)


def _mean_vectors(vectors: np.ndarray, mask: np.ndarray, cell: float, group: int,
                  extent: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(centres, mean vectors), (N, 2) picture pixels each, of the group x group tiles of
    ``cell``-pixel cells holding a moving cell of ``mask`` (a non-zero vector); tiles at the
    grid's edge are centred on their part within ``extent`` (width, height)."""
    vectors = vectors.astype(np.float64)
    moving = mask & np.any(vectors != 0, axis=2)
    counts = _group_sums(moving.astype(np.float64), group)
    sums = np.stack([_group_sums(vectors[:, :, k] * moving, group) for k in range(2)], axis=2)
    r, c = np.nonzero(counts)
    span = group * cell                                        # picture pixels per group
    centre = np.stack([c * span + np.minimum((c + 1) * span, extent[0]),
                       r * span + np.minimum((r + 1) * span, extent[1])], axis=1) / 2
    return centre, sums[r, c] / counts[r, c][:, None]


def _group_sums(values: np.ndarray, group: int) -> np.ndarray:
    """Sums over group x group tiles of a (rows, cols) array; edge tiles may be partial."""
    if group == 1:
        return values
    rows, cols = values.shape
    padded = np.zeros((-(-rows // group) * group, -(-cols // group) * group), values.dtype)
    padded[:rows, :cols] = values
    return padded.reshape(padded.shape[0] // group, group, -1, group).sum(axis=(1, 3))
