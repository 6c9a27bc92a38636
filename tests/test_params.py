"""Tests of codec/encoder/params.py: every field's allowed range, and every validation branch."""
from __future__ import annotations

import dataclasses

import pytest

from livecodec.codec import BLOCK_SIZES, CodecParams

#: Field -> (lowest, highest) allowed integer, as DESIGN.md states them.
INTEGER_RANGES = {
    "n_clusters": (2, 256),
    "refresh_interval": (1, 1000),
    "quality": (0, 100),
    "search_range": (1, 64),
}


class TestDefaults:
    def test_defaults_are_the_documented_ones(self):
        p = CodecParams()
        assert (p.block_size, p.n_clusters, p.refresh_interval, p.quality, p.search_range) == \
            (16, 16, 30, 50, 64)
        assert p.target_kbps is None

    def test_immutable(self):
        p = CodecParams()
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.quality = 10  # type: ignore[misc]

    def test_block_sizes_constant(self):
        assert BLOCK_SIZES == (4, 8, 16, 32)


class TestRanges:
    @pytest.mark.parametrize("field", sorted(INTEGER_RANGES))
    def test_limits_accepted(self, field):
        lo, hi = INTEGER_RANGES[field]
        assert getattr(CodecParams(**{field: lo}), field) == lo
        assert getattr(CodecParams(**{field: hi}), field) == hi

    @pytest.mark.parametrize("field", sorted(INTEGER_RANGES))
    def test_just_outside_rejected_naming_field_and_range(self, field):
        lo, hi = INTEGER_RANGES[field]
        for bad in (lo - 1, hi + 1, -10_000, 10_000):
            with pytest.raises(ValueError, match=rf"{field}.*{lo}\.\.{hi}.*{bad}"):
                CodecParams(**{field: bad})

    @pytest.mark.parametrize("size", BLOCK_SIZES)
    def test_block_sizes_accepted(self, size):
        assert CodecParams(block_size=size).block_size == size

    @pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 12, 24, 64, -16])
    def test_other_block_sizes_rejected(self, size):
        with pytest.raises(ValueError, match=r"block_size.*\(4, 8, 16, 32\)"):
            CodecParams(block_size=size)

    @pytest.mark.parametrize("field", ["block_size", *sorted(INTEGER_RANGES)])
    @pytest.mark.parametrize("bad", [16.0, "16", None, True, False])
    def test_non_integers_rejected(self, field, bad):
        with pytest.raises(ValueError, match=rf"{field} must be an integer"):
            CodecParams(**{field: bad})

    @pytest.mark.parametrize("value", [1, 1.5, 500, 100_000])
    def test_target_kbps_accepted(self, value):
        assert CodecParams(target_kbps=value).target_kbps == value

    @pytest.mark.parametrize("bad", [0, 0.5, 100_001, -5, True, "100", float("nan")])
    def test_target_kbps_rejected(self, bad):
        with pytest.raises(ValueError, match=r"target_kbps.*1\.\.100000"):
            CodecParams(target_kbps=bad)


class TestWithChanges:
    def test_changes_only_named_fields(self):
        p = CodecParams(block_size=8, n_clusters=4)
        q = p.with_changes(quality=90)
        assert q.quality == 90 and q.block_size == 8 and q.n_clusters == 4
        assert p.quality == 50          # the original is untouched

    def test_validates(self):
        with pytest.raises(ValueError, match=r"quality.*0\.\.100"):
            CodecParams().with_changes(quality=101)
        with pytest.raises(ValueError, match=r"block_size"):
            CodecParams().with_changes(block_size=7)

    def test_unknown_field_rejected(self):
        with pytest.raises(TypeError):
            CodecParams().with_changes(colour="red")

    def test_equality_and_hash(self):
        assert CodecParams(quality=30) == CodecParams().with_changes(quality=30)
        assert hash(CodecParams(quality=30)) == hash(CodecParams().with_changes(quality=30))
