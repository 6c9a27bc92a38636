"""Tests of codec/encoder/palette.py: KMeans palettes of block colours and nearest-colour labels."""
from __future__ import annotations

import numpy as np
import pytest

from livecodec.codec.encoder.palette import MAX_SAMPLES, fit_palette, nearest_labels


def clustered_colours(n: int, centres: np.ndarray, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(centres), n)
    return np.clip(centres[pick] + rng.normal(0, spread, (n, 3)), 0, 255).astype(np.float32)


class TestFitPalette:
    @pytest.mark.parametrize("k", [2, 5, 16, 64])
    def test_at_most_k_distinct_uint8_colours(self, k):
        means = np.random.default_rng(k).uniform(0, 255, (3000, 3)).astype(np.float32)
        palette = fit_palette(means, k)
        assert palette.dtype == np.uint8 and palette.ndim == 2 and palette.shape[1] == 3
        assert 1 <= len(palette) <= k
        assert len(np.unique(palette, axis=0)) == len(palette)

    def test_fewer_distinct_colours_than_k_is_exact(self):
        colours = np.array([[10, 200, 30], [255, 0, 128], [0, 0, 0]], np.float32)
        means = np.repeat(colours, [50, 7, 1], axis=0)
        np.random.default_rng(0).shuffle(means)
        palette = fit_palette(means, 16)
        assert sorted(map(tuple, palette.tolist())) == sorted(map(tuple, colours.astype(int).tolist()))
        labels = nearest_labels(means, palette)
        assert np.array_equal(palette[labels].astype(np.float32), means)

    def test_exactly_k_distinct_colours_is_exact(self):
        colours = np.random.default_rng(1).choice(256, (8, 3)).astype(np.float32)
        palette = fit_palette(np.repeat(colours, 3, axis=0), 8)
        assert len(palette) == len(np.unique(colours, axis=0))

    def test_single_colour(self):
        palette = fit_palette(np.full((10, 3), 77.0, np.float32), 4)
        assert palette.tolist() == [[77, 77, 77]]

    def test_finds_well_separated_clusters(self):
        centres = np.array([[20, 128, 128], [200, 100, 150], [120, 60, 200], [60, 180, 90]], float)
        means = clustered_colours(4000, centres, 3.0, seed=2)
        palette = fit_palette(means, 4).astype(float)
        assert len(palette) == 4
        for centre in centres:
            assert np.abs(palette - centre).max(axis=1).min() <= 2.0

    def test_lower_error_with_more_colours(self):
        means = np.random.default_rng(3).uniform(0, 255, (2000, 3)).astype(np.float32)
        errors = []
        for k in (2, 8, 32):
            palette = fit_palette(means, k)
            errors.append(((palette[nearest_labels(means, palette)] - means) ** 2).sum())
        assert errors[0] > errors[1] > errors[2]

    def test_deterministic(self):
        means = clustered_colours(3000, np.random.default_rng(4).uniform(0, 255, (12, 3)), 10, 5)
        assert np.array_equal(fit_palette(means, 12), fit_palette(means.copy(), 12))

    def test_warm_start_keeps_the_palette_stable(self):
        means = clustered_colours(3000, np.random.default_rng(6).uniform(0, 255, (10, 3)), 8, 7)
        first = fit_palette(means, 10)
        assert len(first) == 10
        second = fit_palette(means, 10, previous=first)
        # Started from its own optimum, Lloyd's iterations stay there (to rounding).
        assert np.abs(second.astype(int) - first.astype(int)).max() <= 1

    def test_warm_start_follows_a_small_change(self):
        centres = np.random.default_rng(8).uniform(20, 235, (6, 3))
        first = fit_palette(clustered_colours(2000, centres, 5, 9), 6)
        second = fit_palette(clustered_colours(2000, centres + 3, 5, 10), 6, previous=first)
        moved = np.abs(second.astype(float)[:, None] - first.astype(float)[None]).max(axis=2).min(axis=1)
        assert moved.max() <= 6          # each colour moved a little: no re-shuffled palette

    def test_previous_of_the_wrong_size_is_ignored(self):
        means = np.random.default_rng(11).uniform(0, 255, (500, 3)).astype(np.float32)
        palette = fit_palette(means, 8, previous=np.zeros((3, 3), np.uint8))
        assert 1 <= len(palette) <= 8
        degenerate = np.zeros((8, 3), np.uint8)      # right size, but not 8 distinct colours
        assert 1 <= len(fit_palette(means, 8, previous=degenerate)) <= 8

    def test_many_samples_are_subsampled(self):
        means = clustered_colours(MAX_SAMPLES * 2, np.array([[0, 0, 0], [250, 250, 250.0]]), 2, 12)
        palette = fit_palette(means, 2).astype(float)
        assert len(palette) == 2
        assert np.abs(palette.min(axis=0)).max() <= 3 and np.abs(palette.max(axis=0) - 250).max() <= 3


class TestNearestLabels:
    @pytest.mark.parametrize("k", [1, 2, 7, 256])
    def test_matches_brute_force(self, k):
        rng = np.random.default_rng(k)
        palette = rng.integers(0, 256, (k, 3)).astype(np.uint8)
        means = rng.uniform(0, 255, (2000, 3)).astype(np.float32)
        labels = nearest_labels(means, palette)
        assert labels.dtype == np.int32 and labels.shape == (2000,)
        d = ((means[:, None, :].astype(np.float64) - palette[None].astype(np.float64)) ** 2).sum(axis=2)
        best = d.min(axis=1)
        # Ties may go either way; the chosen colour must be (within float32 rounding) a nearest.
        assert np.allclose(d[np.arange(len(means)), labels], best, rtol=1e-4, atol=1e-2)

    def test_palette_colours_map_to_themselves(self):
        palette = np.random.default_rng(13).choice(256, (40, 3), replace=True).astype(np.uint8)
        palette = np.unique(palette, axis=0)
        assert np.array_equal(nearest_labels(palette.astype(np.float32), palette),
                              np.arange(len(palette)))


def test_unique_colours_are_numpys_unique_rows() -> None:
    from livecodec.codec.encoder.palette import _unique_colours

    colours = np.random.default_rng(5).integers(0, 4, (500, 3)).astype(np.uint8) * 85
    assert np.array_equal(_unique_colours(colours), np.unique(colours, axis=0))
