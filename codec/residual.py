"""Residual transform and quantisation: tile DCT, dead-zone quantiser, exact inverse.

The forward path (encoder only) is plain floating point. The inverse path is what both the
encoder and the decoder run to rebuild a frame, so it must give the same bits everywhere: it
uses an integer-scaled DCT basis and integer coefficients held in float64, where every product
and partial sum is an integer below 2^53 and therefore exact in any summation order (BLAS,
SIMD or FMA), then rounds with exact power-of-two shifts.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "quality_to_step", "step_fixed_point", "transform_size", "forward_quantise",
    "dequantise_inverse", "add_residual", "zigzag_order", "MAX_LEVEL",
    "ROUNDING_INTRA", "ROUNDING_INTER",
]

#: Fixed-point precision of the integer DCT basis (2^12: error < 1e-4 per basis value).
BASIS_SHIFT = 12
#: Fixed-point precision of the quantiser step (1/64 of a grey level).
STEP_SHIFT = 6
#: Largest quantised level the stream may carry: an 8x8 orthonormal DCT of a +-255 residual
#: has coefficients up to 8*255 = 2040; at the finest step (0.5) that is 4080 < 4095.
MAX_LEVEL = 4095
#: Dead-zone rounding offsets (fraction of a step added before truncation), the values H.264's
#: reference encoder uses: refresh (intra) residuals 1/3, motion-compensated ones 1/6.
ROUNDING_INTRA = 1.0 / 3.0
ROUNDING_INTER = 1.0 / 6.0


def quality_to_step(quality: int) -> float:
    """Quantiser step for a quality 1..100: halves every 12 quality points, 0.5 at 100.

    The exponential map gives each quality point the same relative change in bitrate
    (about 6 %), which is also what the rate controller needs.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1..100 for a quantiser step, got {quality}")
    return step_fixed_point(quality) / (1 << STEP_SHIFT)


def step_fixed_point(quality: int) -> int:
    """The step in 1/64 units, as the decoder uses it."""
    return int(round(0.5 * 2.0 ** ((100 - quality) / 12.0) * (1 << STEP_SHIFT)))


def transform_size(block: int) -> int:
    """Transform tile side for a plane block of side ``block``: 8x8 where it fits."""
    return min(8, block)


@lru_cache(maxsize=None)
def _dct_basis(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    basis = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return basis


@lru_cache(maxsize=None)
def _int_dct_basis(n: int) -> np.ndarray:
    return np.round(_dct_basis(n) * (1 << BASIS_SHIFT))


@lru_cache(maxsize=None)
def zigzag_order(n: int) -> np.ndarray:
    """Raster indices of an n x n tile in zigzag order (low frequencies first)."""
    coords = sorted(((y, x) for y in range(n) for x in range(n)),
                    key=lambda p: (p[0] + p[1], p[1] if (p[0] + p[1]) % 2 == 0 else p[0]))
    return np.array([y * n + x for y, x in coords], dtype=np.intp)


@lru_cache(maxsize=None)
def _inverse_zigzag(n: int) -> np.ndarray:
    return np.argsort(zigzag_order(n))


def _to_tiles(plane: np.ndarray, n: int) -> np.ndarray:
    h, w = plane.shape
    return plane.reshape(h // n, n, w // n, n).swapaxes(1, 2)


def _from_tiles(tiles: np.ndarray) -> np.ndarray:
    tr, tc, n, _ = tiles.shape
    return tiles.swapaxes(1, 2).reshape(tr * n, tc * n)


def _right_multiply(tiles: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``tile @ matrix`` for every tile, as one large matrix product (BLAS)."""
    n = tiles.shape[-1]
    return (tiles.reshape(-1, n) @ matrix).reshape(tiles.shape)


def _left_multiply(matrix: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """``matrix @ tile`` for every tile."""
    return np.swapaxes(_right_multiply(np.swapaxes(tiles, -1, -2), matrix.T), -1, -2)


def forward_quantise(residual: np.ndarray, n: int, step: float, rounding: float) -> np.ndarray:
    """DCT the residual plane in n x n tiles and quantise with a dead zone.

    Args:
        residual: (H, W) signed residual, H and W multiples of ``n``.
        n: tile side.
        step: quantiser step (from ``quality_to_step``).
        rounding: dead-zone offset in steps (``ROUNDING_INTRA`` / ``ROUNDING_INTER``).

    Returns:
        int32 levels, shape (H/n, W/n, n*n), each tile in zigzag order.
    """
    basis = _dct_basis(n)
    coeffs = _left_multiply(basis, _right_multiply(_to_tiles(residual.astype(np.float64), n), basis.T))
    mags = np.floor(np.abs(coeffs) / step + rounding)
    np.minimum(mags, MAX_LEVEL, out=mags)
    levels = (np.sign(coeffs) * mags).astype(np.int32)
    tr, tc = levels.shape[:2]
    return levels.reshape(tr, tc, n * n)[:, :, zigzag_order(n)]


def dequantise_inverse(levels: np.ndarray, step_fp: int) -> np.ndarray:
    """Exact integer reconstruction of the residual plane from zigzag-ordered levels.

    Args:
        levels: int32 (TR, TC, n*n) with |level| <= MAX_LEVEL.
        step_fp: quantiser step in 1/64 units (``step_fixed_point``).

    Returns:
        int32 residual plane of shape (TR*n, TC*n).
    """
    tr, tc, nn = levels.shape
    n = int(round(np.sqrt(nn)))
    raster = levels[:, :, _inverse_zigzag(n)].astype(np.float64) * float(step_fp)
    coeffs = raster.reshape(tr, tc, n, n)
    basis = _int_dct_basis(n)
    # basis.T @ C: scale 2^(12+6); drop 12 bits (exact: division by a power of two).
    stage1 = np.floor((_left_multiply(basis.T, coeffs) + (1 << (BASIS_SHIFT - 1)))
                      / (1 << BASIS_SHIFT))
    total_shift = BASIS_SHIFT + STEP_SHIFT
    stage2 = np.floor((_right_multiply(stage1, basis) + (1 << (total_shift - 1)))
                      / (1 << total_shift))
    return _from_tiles(stage2).astype(np.int32)


def add_residual(prediction: np.ndarray, levels: np.ndarray, step_fp: int) -> np.ndarray:
    """Prediction plus the decoded residual, clipped to 8 bits: the reconstructed plane."""
    if not levels.any():
        return prediction.copy()
    out = prediction.astype(np.int32) + dequantise_inverse(levels, step_fp)
    return np.clip(out, 0, 255).astype(np.uint8)
