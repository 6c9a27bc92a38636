"""KMeans palette of block colours: the heart of a refresh frame.

Each block's mean colour (Y, Cr, Cb) is clustered into at most K colours; a refresh frame
sends the palette plus one label per block. KMeans is warm-started from the previous palette
and its iterations are bounded, so a refresh stays within a live frame budget.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

__all__ = ["fit_palette", "nearest_labels"]

#: Lloyd iterations per refresh by default: warm-started palettes converge in a handful.
DEFAULT_ITERATIONS = 20
#: Cluster at most this many block means (a random, fixed-seed subsample beyond it):
#: 1280x720 at block 4 has 57,600 blocks; a few thousand samples fix a 256-colour palette.
MAX_SAMPLES = 8192


def fit_palette(means: np.ndarray, n_clusters: int, previous: np.ndarray | None = None, *,
                iterations: int = DEFAULT_ITERATIONS) -> np.ndarray:
    """Fit a palette to block mean colours.

    Args:
        means: float32 (N, 3) block means (Y, Cr, Cb).
        n_clusters: requested palette size K; fewer distinct colours give a smaller palette.
        previous: the last palette (uint8 (K', 3)), used as the starting point when its size fits.
        iterations: at most this many Lloyd iterations (the presets' palette effort).

    Returns:
        uint8 (K', 3) palette with 1 <= K' <= K distinct entries.
    """
    distinct = _unique_colours(np.round(means).astype(np.uint8))
    if len(distinct) <= n_clusters:
        return distinct
    samples = means
    if len(samples) > MAX_SAMPLES:
        pick = np.random.default_rng(0).choice(len(samples), MAX_SAMPLES, replace=False)
        samples = samples[pick]
    if (previous is not None and len(previous) == n_clusters
            and len(_unique_colours(previous)) == n_clusters):
        init, n_init = previous.astype(np.float32), 1
    else:
        init, n_init = "k-means++", 1
    # One thread: the palette is small, and the live pipeline's other stages own the other core.
    with warnings.catch_warnings(), _thread_pools().limit(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=n_clusters, init=init, n_init=n_init, max_iter=iterations,
                    random_state=0).fit(samples)
    palette = np.clip(np.round(km.cluster_centers_), 0, 255).astype(np.uint8)
    return _unique_colours(palette)


def _unique_colours(colours: np.ndarray) -> np.ndarray:
    """np.unique(colours, axis=0) for uint8 (N, 3), in the same (lexicographic) order: one
    24-bit key per colour sorts 50x faster than rows."""
    keys = np.unique((colours[:, 0].astype(np.int32) << 16) | (colours[:, 1].astype(np.int32) << 8)
                     | colours[:, 2])
    return np.stack([keys >> 16, (keys >> 8) & 0xFF, keys & 0xFF], axis=1).astype(np.uint8)


@lru_cache(maxsize=1)
def _thread_pools() -> ThreadpoolController:
    """The process's BLAS/OpenMP pools, found once (finding them takes ~3 ms a refresh)."""
    return ThreadpoolController()


def nearest_labels(means: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour (squared distance) for each mean; int32 (N,)."""
    colours = palette.astype(np.float32)
    # |m - p|^2 without the |m|^2 term (same for every p): an (N, K) matrix, not (N, K, 3).
    d = (colours ** 2).sum(axis=1)[None, :] - 2.0 * (means @ colours.T)
    return d.argmin(axis=1).astype(np.int32)
