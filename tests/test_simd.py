"""Tests of codec/common/simd.py: the vector kernels give exactly what the plain formulas give.

They replace scalar loops on the codec's hot paths, and the encoder's and decoder's pictures
must stay bit-identical on every machine, so every check here is an exact equality.
"""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from livecodec.codec.common.inter_prediction import (_compensate_plane, _sample,
                                                     whole_block_quadrants)
from livecodec.codec.common.modes import MODE_INTER, MODE_SPLIT
from livecodec.codec.common.simd import (CENTRE_SCALE, NO_LIMIT, YCRCB_TO_BGR, block_abs_dev,
                                         block_sad, copy_row, difference_row2, difference_row4,
                                         difference_row8, fill_block, fill_row)
from livecodec.codec.encoder.motion_search import half_pel_planes
from livecodec.codec.encoder.quantise import _matmul as tile_matmul

SIZES = (2, 4, 8, 16, 32)


@njit(cache=False)
def _block_sad(a, ya, xa, b, yb, xb, size, limit):
    return block_sad(a, ya, xa, b, yb, xb, size, limit)


@njit(cache=False)
def _block_abs_dev(a, y, x, size, centre):
    return block_abs_dev(a, y, x, size, centre)


@njit(cache=False)
def _differences(a, b, n):
    out = np.empty((n, n))
    for i in range(n):
        if n == 8:
            difference_row8(a, i, 1, b, out, i)
        elif n == 4:
            difference_row4(a, i, 1, b, out, i)
        else:
            difference_row2(a, i, 1, b, out, i)
    return out


@njit(cache=False)
def _copy_and_fill(ref, out, width, value):
    """Row 1 of ref from column 3 into row 2 of out at column 5, and value into row 4 at 1."""
    copy_row(ref, 1, 3, out, 2, 5, width)
    fill_row(out, 4, 1, value, width)


@njit(cache=False)
def _fill_block(out, oy, ox, side, value):
    fill_block(out, oy, ox, side, value)


@njit(cache=False)
def _matmul(left, right, out):
    tile_matmul(left, right, out, left.shape[0])


@pytest.mark.parametrize("size", SIZES)
def test_block_sad_is_the_sum_of_absolute_differences(size):
    rng = np.random.default_rng(size)
    a = rng.integers(0, 256, (70, 90), dtype=np.uint8)
    b = rng.integers(0, 256, (90, 70), dtype=np.uint8)
    for _ in range(50):
        ya, xa, yb, xb = (int(v) for v in rng.integers(0, 70 - size, 4))
        expected = np.abs(a[ya:ya + size, xa:xa + size].astype(int)
                          - b[yb:yb + size, xb:xb + size].astype(int)).sum()
        assert _block_sad(a, ya, xa, b, yb, xb, size, NO_LIMIT) == expected


@pytest.mark.parametrize("size", (4, 8, 16, 32))
def test_block_abs_dev_measures_against_a_centre_in_sixteenths(size):
    rng = np.random.default_rng(size)
    a = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    for centre in (0, 17, 2040, 4080):
        y, x = (int(v) for v in rng.integers(0, 40 - size, 2))
        expected = np.abs(a[y:y + size, x:x + size].astype(int) * CENTRE_SCALE - centre).sum()
        assert _block_abs_dev(a, y, x, size, centre) == expected


@pytest.mark.parametrize("n", (2, 4, 8))
def test_difference_rows_are_the_signed_residual_as_floats(n):
    rng = np.random.default_rng(n)
    a, b = rng.integers(0, 256, (2, 9, 9), dtype=np.uint8)
    expected = a[:n, 1:n + 1].astype(float) - b[:n, 1:n + 1]
    assert np.array_equal(_differences(a, b, n), expected)


def test_rows_that_are_not_contiguous_are_refused_when_compiled():
    a = np.zeros((16, 32), np.uint8)
    with pytest.raises(TypingError):
        _block_sad(a, 0, 0, a[:, ::2], 0, 0, 16, NO_LIMIT)


def test_block_sad_stops_at_the_limit_with_a_partial_sum():
    a = np.full((16, 16), 200, np.uint8)
    b = np.zeros((16, 16), np.uint8)
    partial = _block_sad(a, 0, 0, b, 0, 0, 16, 1000)
    assert 1000 <= partial < 200 * 256
    assert partial % (200 * 16) == 0          # whole rows only


@pytest.mark.parametrize("n", (2, 4, 8))
def test_matmul_is_bit_identical_to_the_ordered_scalar_sum(n):
    rng = np.random.default_rng(n)
    left = rng.normal(0, 50, (n, n))
    right = rng.normal(0, 1, (n, n))
    out = np.empty((n, n))
    _matmul(left, right, out)
    for i in range(n):
        for k in range(n):
            total = 0.0
            for j in range(n):
                total += left[i, j] * right[j, k]
            assert out[i, k] == total


@pytest.mark.parametrize("width", (*SIZES, 48, 3))
def test_row_copies_and_fills_touch_exactly_their_pixels(width):
    """Vector widths, a multiple of 16 and an odd width (the element loop)."""
    rng = np.random.default_rng(width)
    ref = rng.integers(0, 256, (6, width + 8), dtype=np.uint8)
    out = rng.integers(0, 256, (6, width + 8), dtype=np.uint8)
    expected = out.copy()
    expected[2, 5:5 + width] = ref[1, 3:3 + width]
    expected[4, 1:1 + width] = 201
    _copy_and_fill(ref, out, width, np.uint8(201))
    assert np.array_equal(out, expected)
    expected[4, 1:1 + width] = 17
    _copy_and_fill(ref, out, width, np.int64(17))       # intra DC passes its int64 mean
    assert np.array_equal(out, expected)
    block = rng.integers(0, 256, (width + 4, width + 4), dtype=np.uint8)
    expected = block.copy()
    expected[1:1 + width, 2:2 + width] = 99
    _fill_block(block, 1, 2, width, np.uint8(99))
    assert np.array_equal(block, expected)


@pytest.mark.parametrize("shift", (1, 2, 3))   # half- and quarter-pel luma, eighth-pel chroma
@pytest.mark.parametrize("bs", SIZES)
def test_compensation_equals_the_bilinear_sample_everywhere(bs, shift):
    """Vectors inside, across and far outside the picture, every fraction and whole pels;
    split blocks (where quadrants are at least 2 samples wide) sample each quadrant with its
    own vector."""
    rng = np.random.default_rng(bs * 10 + shift)
    rows, cols = 4, 5
    ref = rng.integers(0, 256, (rows * bs, cols * bs), dtype=np.uint8)
    scale = 1 << shift
    mvs = rng.integers(-3 * bs * scale, 3 * bs * scale, (rows, cols, 2)).astype(np.int32)
    mvs[0, 0] = (1, 1)                       # a fraction inside the picture, for sure
    mvs[1, 1] = (2 * scale, -scale)          # whole pels inside: rows copied
    mvs[rows - 1, cols - 1] = (0, 0)         # whole pels flush with the bottom-right edge
    mvs[rows - 1, 0] = (0, scale)            # whole pels one row over the bottom edge
    mvs[0, cols - 1] = (scale, 0)            # whole pels one column over the right edge
    modes = np.full((rows, cols), MODE_INTER, np.int8)
    quadrants = whole_block_quadrants(mvs)
    if bs >= 4:
        modes[::2, 1::2] = MODE_SPLIT
        quadrants[modes == MODE_SPLIT] = rng.integers(-3 * bs * scale, 3 * bs * scale,
                                                      (int((modes == MODE_SPLIT).sum()), 4, 2))
    out = np.zeros_like(ref)
    _compensate_plane(ref, out, quadrants, modes, np.zeros((rows, cols), np.uint8), bs, shift, 0)
    mask = scale - 1
    half = bs // 2
    for r in range(rows):
        for c in range(cols):
            for i in range(bs):
                for j in range(bs):
                    q = 2 * (i // half) + j // half if modes[r, c] == MODE_SPLIT else 0
                    mx, my = int(quadrants[r, c, q, 0]), int(quadrants[r, c, q, 1])
                    expected = _sample(ref, r * bs + i + (my >> shift), c * bs + j + (mx >> shift),
                                       my & mask, mx & mask, shift)
                    assert out[r * bs + i, c * bs + j] == expected


@pytest.mark.parametrize("height,width", [(37, 53), (16, 16), (5, 40), (2, 17)])
def test_half_pel_planes_are_the_bilinear_samples_up_to_the_edges(height, width):
    rng = np.random.default_rng(height * width)
    ref = rng.integers(0, 256, (height, width), dtype=np.uint8)
    planes = half_pel_planes(ref)
    for k, (fy, fx) in enumerate(((0, 1), (1, 0), (1, 1))):
        expected = [[_sample(ref, y, x, fy, fx, 1) for x in range(width)] for y in range(height)]
        assert np.array_equal(planes[k], expected)


def _bgr_reference(y, cr, cb, width, height):
    """planes_to_frame's formula in numpy: chroma rows 3:1 with the next-nearest row, then
    columns 3:1 (edges replicated), x16; YCrCb -> BGR in 1/16384."""
    def upsample(plane):
        p = plane.astype(np.int64)
        rows = np.arange(height)
        near = rows >> 1
        far = np.where(rows & 1, np.minimum(near + 1, p.shape[0] - 1), np.maximum(near - 1, 0))
        blended = 3 * p[near] + p[far]
        cols = np.arange(width)
        i = cols >> 1
        other = np.where(cols & 1, np.minimum(i + 1, p.shape[1] - 1), np.maximum(i - 1, 0))
        return ((3 * blended[:, i] + blended[:, other] + 8) >> 4) - 128
    crd, cbd = upsample(cr), upsample(cb)
    lum = y[:height, :width].astype(np.int64)
    cr_r, cr_g, cb_g, cb_b, shift = YCRCB_TO_BGR
    half = 1 << (shift - 1)
    channels = [lum + ((cb_b * cbd + half) >> shift),
                lum + ((-cr_g * crd - cb_g * cbd + half) >> shift),
                lum + ((cr_r * crd + half) >> shift)]
    return np.clip(np.stack(channels, axis=2), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("width,height",
                         [(84, 52), (101, 77), (640, 48), (2, 2), (36, 4), (50, 31)])
def test_planes_to_bgr_vector_rows_follow_the_formula(width, height):
    from livecodec.codec.common.blocks import Planes, planes_to_frame

    rng = np.random.default_rng(width + height)
    hp, wp = height + height % 2 + 4, width + width % 2 + 4
    y = rng.integers(0, 256, (hp, wp), dtype=np.uint8)
    cr, cb = rng.integers(0, 256, (2, hp // 2, wp // 2), dtype=np.uint8)
    assert np.array_equal(planes_to_frame(Planes(y, cr, cb), width, height),
                          _bgr_reference(y, cr, cb, width, height))
