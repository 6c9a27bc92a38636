"""Rebuild a picture from decoded symbols: the path the encoder and decoder share for
predicted frames and for refresh frames without intra prediction
(``codec.common.intra_prediction`` rebuilds those with it, also shared by both sides).

Keeping this in one place is what makes the loop closed: the encoder's reference is produced
by exactly the code that produces the decoder's output.
"""
from __future__ import annotations

import numpy as np

from .blocks import Planes
from .inter_prediction import predict_planes
from .parallel import per_plane_in_bands
from .transform import add_residual

__all__ = ["flat_planes", "predict", "reconstruct"]


def flat_planes(colours: np.ndarray, block_size: int) -> Planes:
    """Mosaic prediction: each block filled with its (Y, Cr, Cb) colour; colours (rows, cols, 3)."""
    half = block_size // 2
    y = np.repeat(np.repeat(colours[:, :, 0], block_size, axis=0), block_size, axis=1)
    cr = np.repeat(np.repeat(colours[:, :, 1], half, axis=0), half, axis=1)
    cb = np.repeat(np.repeat(colours[:, :, 2], half, axis=0), half, axis=1)
    return Planes(y, cr, cb)


def predict(reference: Planes | None, modes: np.ndarray, quadrants: np.ndarray | None,
            labels: np.ndarray, palette: np.ndarray, block_size: int, pel_shift: int = 1) -> Planes:
    """Prediction planes: palette mosaic or motion compensation, block by block.

    Args:
        reference: previous reconstruction; None for a refresh frame without intra
            prediction (all blocks palette).
        modes, labels: per-block decisions as coded; labels -1 where not a palette block.
        quadrants: int32 (rows, cols, 4, 2) vectors per block quadrant
            (``codec.common.inter_prediction.predict_planes``); None for a refresh frame.
        palette: uint8 (K, 3).
        block_size: luma block side.
        pel_shift: vectors in 1/2^pel_shift pixels (1 half-pel, 2 quarter-pel).
    """
    colours = palette[np.maximum(labels, 0)]
    if reference is None:
        return flat_planes(colours, block_size)
    return Planes(*predict_planes(reference, quadrants, modes, colours, block_size, pel_shift))


def reconstruct(prediction: Planes, levels: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
                steps: tuple[int, int, int] | None,
                coded: tuple[np.ndarray, ...] | None = None) -> Planes:
    """Prediction plus decoded residual; ``levels`` None when the frame carries no residual.
    ``coded``: per plane, the tile maps (``transform.TILE_*``); None finds them from the
    levels, every coded tile a DCT tile (so never for a frame with transform-skipped tiles)."""
    if levels is None:
        return prediction
    recon = Planes(*(np.empty_like(plane) for plane in prediction))
    tile_sides = [plane.shape[0] // len(lev) for plane, lev in zip(prediction, levels)]

    def add(k: int, t0: int, t1: int) -> None:
        n = tile_sides[k]
        add_residual(prediction[k][t0 * n:t1 * n], levels[k][t0:t1], steps[k],
                     out=recon[k][t0 * n:t1 * n], coded=None if coded is None else coded[k][t0:t1])

    per_plane_in_bands(add, [len(lev) for lev in levels])
    return recon
