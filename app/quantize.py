"""The still-image mode: KMeans colour quantisation stored as what it is, an indexed PNG.

One palette index per pixel plus a K-colour palette is the point of quantising, so the file
is a palette PNG (Pillow picks 1, 2, 4 or 8 bits per index from the palette size), not a
24-bit picture that merely has few colours.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image
from tqdm import tqdm

from livecodec.codec import fit_palette, nearest_labels

__all__ = ["QuantizedImage", "quantize_image"]

#: The palette is fitted to at most this many pixels (a fixed-seed random subset beyond it):
#: KMeans itself subsamples further, and finding the distinct colours of a 12-megapixel photo
#: would otherwise take most of the run.
FIT_PIXELS = 1 << 18
#: Pixels labelled per step (sets the progress bar's pace). Each colour is labelled once, the
#: first time it appears, and remembered in a table over all 2^24 colours: photos repeat
#: colours heavily, so a 12-megapixel picture needs the distance search for a few hundred
#: thousand colours, not twelve million pixels.
LABEL_CHUNK = 1 << 18
_UNLABELLED = np.uint16(0xFFFF)


@dataclass(frozen=True)
class QuantizedImage:
    """A picture as palette indices: ``labels`` (H, W) into ``palette`` (K, 3) BGR uint8."""

    palette: np.ndarray
    labels: np.ndarray

    @property
    def index_bits(self) -> int:
        """Bits per pixel of a plain fixed-length index."""
        return max(1, (len(self.palette) - 1).bit_length())

    @property
    def entropy(self) -> float:
        """Zeroth-order entropy of the label map in bits per pixel (what an ideal coder needs)."""
        counts = np.bincount(self.labels.ravel(), minlength=len(self.palette))
        p = counts[counts > 0] / self.labels.size
        return float(max(0.0, -(p * np.log2(p)).sum()))    # one colour: 0, never -0

    def picture(self) -> np.ndarray:
        """The quantised picture, H x W x 3 BGR uint8."""
        return self.palette[self.labels]

    def save_png(self, path: str | os.PathLike[str]) -> None:
        """Write an indexed (palette) PNG: one index per pixel plus the K colours."""
        indexed = Image.fromarray(self.labels.astype(np.uint8))            # mode "L" ...
        indexed.putpalette(self.palette[:, ::-1].ravel().tolist())     # ... becomes "P"; RGB
        indexed.save(path, format="PNG", optimize=True)


def quantize_image(image: np.ndarray, n_colours: int, *, progress: bool = True) -> QuantizedImage:
    """Fit a palette of at most ``n_colours`` (2-256) to a BGR picture and label every pixel.

    Shows a progress bar on a terminal when ``progress`` is true (labelling dominates the time
    on large photos).
    """
    if not 2 <= n_colours <= 256:
        raise ValueError(f"n_colours must be in 2..256, got {n_colours}")
    pixels = image.reshape(-1, 3)
    sample = pixels
    if len(pixels) > FIT_PIXELS:
        sample = pixels[np.random.default_rng(0).choice(len(pixels), FIT_PIXELS, replace=False)]
    palette = fit_palette(sample.astype(np.float32), n_colours)
    labels = np.empty(len(pixels), np.uint8)
    table = np.full(1 << 24, _UNLABELLED, np.uint16)      # colour key -> palette index
    with tqdm(total=len(pixels), desc="labelling pixels", unit="px", unit_scale=True,
              disable=None if progress else True, leave=False) as bar:
        for start in range(0, len(pixels), LABEL_CHUNK):
            chunk = pixels[start:start + LABEL_CHUNK].astype(np.int32)
            keys = (chunk[:, 0] << 16) | (chunk[:, 1] << 8) | chunk[:, 2]
            new = np.unique(keys[table[keys] == _UNLABELLED])
            if len(new):
                colours = np.stack([new >> 16, (new >> 8) & 255, new & 255], axis=1)
                table[new] = nearest_labels(colours.astype(np.float32), palette)
            labels[start:start + len(chunk)] = table[keys]
            bar.update(len(chunk))
    return QuantizedImage(palette, labels.reshape(image.shape[:2]))
