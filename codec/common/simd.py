"""Vector kernels for the loops numba leaves scalar: SADs, deviations, DCT products, bilinear
rows and the colour conversions.

numba widens every uint8 to a 64-bit integer before it computes, so its compiled pixel loops
stay scalar (a 16x16 SAD took about 300 ns here). These kernels are numba intrinsics that hand
LLVM whole rows as vectors, which it lowers to SIMD instructions on any machine (``psadbw`` for
the SADs on x86: about 60 ns a block):

- ``row_sadN`` / ``block_sad``: sums of absolute differences (motion search, tile checks,
  block sums against a block of zeros);
- ``row_abs_devN`` / ``block_abs_dev``: sums of |16 pixel - centre| (flatness, palette fit);
- ``matmulN``: the DCT's small matrix products, each output row one vector, its terms added in
  the order of the plain loops, so the floats are identical without fused multiply-adds;
- ``copy_rowN`` / ``fill_rowN`` / ``bilinear_rowN``: motion compensation and intra prediction
  (whole-pel rows copied, flat rows filled, sub-pel rows bilinear in 16-bit lanes) and half-pel
  planes; ``copy_row`` and ``fill_row`` pick the width, ``fill_block`` fills a block;
- ``difference_rowN``: a residual row as floats for the DCT;
- ``split_pixels32`` / ``bgr_pixels16``: BGR frames to planes and back.

Each gives exactly the integers (or floats) of the scalar formula it replaces, which
tests/test_simd.py checks, so streams and pictures never depend on the machine. The caller
guarantees that every row lies inside its array, whose rows must be contiguous (C order, else
the kernel is refused when compiled): nothing is bounds-checked.

numba's cache does not see a change here in the kernels that inline these intrinsics: after
editing this file, delete the cached kernels (``find codec -name '*.nb[ic]' -delete``; every
``make`` target does when a codec source is newer than its last run).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["row_sad4", "row_sad8", "row_sad16", "block_sad", "NO_LIMIT",
           "row_abs_dev4", "row_abs_dev8", "row_abs_dev16", "block_abs_dev", "CENTRE_SCALE",
           "matmul2", "matmul4", "matmul8",
           "copy_row2", "copy_row4", "copy_row8", "copy_row16", "copy_row",
           "fill_row2", "fill_row4", "fill_row8", "fill_row16", "fill_row", "fill_block",
           "bilinear_row2", "bilinear_row4", "bilinear_row8", "bilinear_row16",
           "difference_row2", "difference_row4", "difference_row8",
           "split_pixels32", "SPLIT_PIXELS", "bgr_pixels16", "BGR_PIXELS", "YCRCB_TO_BGR"]

#: A block_sad limit no block reaches (the whole sum is wanted).
NO_LIMIT = 1 << 62
#: block_abs_dev measures against centres in 1/16 grey levels: far finer than any decision
#: made with them needs, and integer sums add up the same on every machine.
CENTRE_SCALE = 16
#: Pixels split by one split_pixels32 call (a chroma row gets half as many samples).
SPLIT_PIXELS = 32
#: Pixels converted by one bgr_pixels16 call.
BGR_PIXELS = 16
#: YCrCb -> BGR (JPEG / OpenCV full range) in 1/16384: R = Y + 1.403 Cr', G = Y - 0.714 Cr'
#: - 0.344 Cb', B = Y + 1.773 Cb' (Cr' = Cr - 128): (Cr to R, Cr to G, Cb to G, Cb to B, shift).
YCRCB_TO_BGR = (22987, 11698, 5636, 29049, 14)

_INT64 = ir.IntType(64)


# -- LLVM IR helpers ---------------------------------------------------------------------------
def _lanes(bits: int, width: int) -> ir.VectorType:
    return ir.VectorType(ir.IntType(bits), width)


def _indices(values) -> ir.Constant:
    """A shuffle mask."""
    return ir.Constant(_lanes(32, len(values)), list(values))


def _splat(builder, scalar, width: int):
    """A vector of ``width`` copies of ``scalar``."""
    undefined = ir.Constant(ir.VectorType(scalar.type, width), ir.Undefined)
    first = builder.insert_element(undefined, scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(first, undefined, _indices([0] * width))


def _item_pointer(context, builder, array_type, array, indices, vector_type):
    """Pointer to array[indices] (a C-ordered array), typed as a pointer to ``vector_type``."""
    view = context.make_array(array_type)(context, builder, array)
    pointer = cgutils.get_item_pointer2(
        context, builder, data=view.data, shape=cgutils.unpack_tuple(builder, view.shape),
        strides=cgutils.unpack_tuple(builder, view.strides), layout=array_type.layout,
        inds=indices, wraparound=False, boundscheck=False)
    return builder.bitcast(pointer, vector_type.as_pointer())


def _load_row(context, builder, array_type, array, y, x, width: int, bits: int):
    """array[y, x:x + width] (uint8) zero-extended to ``bits``-bit lanes."""
    pointer = _item_pointer(context, builder, array_type, array, [y, x], _lanes(8, width))
    return builder.zext(builder.load(pointer, align=1), _lanes(bits, width))


def _sum_of_magnitudes(builder, difference, width: int):
    """sum |lane| of a vector of 16-bit differences, as an int64."""
    negative = builder.icmp_signed("<", difference, ir.Constant(_lanes(16, width), None))
    magnitude = builder.select(negative, builder.neg(difference), difference)
    name = f"llvm.vector.reduce.add.v{width}i32"
    reduce_add = builder.module.globals.get(name) or ir.Function(
        builder.module, ir.FunctionType(ir.IntType(32), [_lanes(32, width)]), name)
    return builder.zext(builder.call(reduce_add, [builder.zext(magnitude, _lanes(32, width))]),
                        _INT64)


def _intp(context, builder, sig, args, positions):
    """The arguments at ``positions`` as intp values."""
    return [context.cast(builder, args[k], sig.args[k], types.intp) for k in positions]


def _is_uint8_plane(array) -> bool:
    """A 2-D uint8 array whose rows are contiguous (C order: a row loads as one vector)."""
    return (isinstance(array, types.Array) and array.ndim == 2 and array.dtype == types.uint8
            and array.layout == "C")


def _is_pixels(array) -> bool:
    """A C-ordered (H, W, 3) uint8 array of interleaved pixels."""
    return (isinstance(array, types.Array) and array.ndim == 3 and array.dtype == types.uint8
            and array.layout == "C")


# -- sums of absolute differences and deviations ----------------------------------------------
def _row_sad_intrinsic(width: int):
    """row_sad(a, ya, xa, b, yb, xb): sum |a[ya, xa + j] - b[yb, xb + j]| for j < width."""
    def row_sad(typingctx, a, ya, xa, b, yb, xb):
        if not (_is_uint8_plane(a) and _is_uint8_plane(b)):
            return None

        def codegen(context, builder, sig, args):
            ya_, xa_, yb_, xb_ = _intp(context, builder, sig, args, (1, 2, 4, 5))
            first = _load_row(context, builder, sig.args[0], args[0], ya_, xa_, width, 16)
            second = _load_row(context, builder, sig.args[3], args[3], yb_, xb_, width, 16)
            return _sum_of_magnitudes(builder, builder.sub(first, second), width)

        return types.int64(a, types.intp, types.intp, b, types.intp, types.intp), codegen

    row_sad.__name__ = f"row_sad{width}"
    return intrinsic(row_sad)


row_sad4 = _row_sad_intrinsic(4)
row_sad8 = _row_sad_intrinsic(8)
row_sad16 = _row_sad_intrinsic(16)


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def block_sad(a, ya, xa, b, yb, xb, size, limit):
    """SAD of the size x size blocks at (ya, xa) of ``a`` and (yb, xb) of ``b`` (size 2, 4, 8
    or a multiple of 16); stops after the first row at which it reaches ``limit`` (the
    caller's best cost so far) and returns the partial sum."""
    total = 0
    for i in range(size):
        if size == 2:       # chroma tiles of 4x4 blocks: too short for a vector
            total += (abs(np.int64(a[ya + i, xa]) - np.int64(b[yb + i, xb]))
                      + abs(np.int64(a[ya + i, xa + 1]) - np.int64(b[yb + i, xb + 1])))
        elif size == 4:
            total += row_sad4(a, ya + i, xa, b, yb + i, xb)
        elif size == 8:
            total += row_sad8(a, ya + i, xa, b, yb + i, xb)
        else:
            for j in range(0, size, 16):
                total += row_sad16(a, ya + i, xa + j, b, yb + i, xb + j)
        if total >= limit:
            return total
    return total


def _row_abs_dev_intrinsic(width: int):
    """row_abs_dev(a, y, x, centre): sum |16 a[y, x + j] - centre| for j < width, centre in
    1/16 grey levels (0..4080: every difference fits 16 bits)."""
    def row_abs_dev(typingctx, a, y, x, centre):
        if not _is_uint8_plane(a):
            return None

        def codegen(context, builder, sig, args):
            y_, x_, centre_ = _intp(context, builder, sig, args, (1, 2, 3))
            pixels = _load_row(context, builder, sig.args[0], args[0], y_, x_, width, 16)
            scaled = builder.shl(pixels, ir.Constant(_lanes(16, width), [4] * width))
            centres = _splat(builder, builder.trunc(centre_, ir.IntType(16)), width)
            return _sum_of_magnitudes(builder, builder.sub(scaled, centres), width)

        return types.int64(a, types.intp, types.intp, types.intp), codegen

    row_abs_dev.__name__ = f"row_abs_dev{width}"
    return intrinsic(row_abs_dev)


row_abs_dev4 = _row_abs_dev_intrinsic(4)
row_abs_dev8 = _row_abs_dev_intrinsic(8)
row_abs_dev16 = _row_abs_dev_intrinsic(16)


@njit(cache=True, nogil=True, _nrt=False)
def block_abs_dev(a, y, x, size, centre):
    """Sum of |CENTRE_SCALE * pixel - centre| over the size x size block at (y, x) (size 4, 8
    or a multiple of 16; centre in 1/16 grey levels, 0..4080)."""
    total = 0
    for i in range(size):
        if size == 4:
            total += row_abs_dev4(a, y + i, x, centre)
        elif size == 8:
            total += row_abs_dev8(a, y + i, x, centre)
        else:
            for j in range(0, size, 16):
                total += row_abs_dev16(a, y + i, x + j, centre)
    return total


# -- the DCT's matrix products and its input rows ------------------------------------------------
def _matmul_intrinsic(n: int):
    """matmul(left, right, out): out = left @ right for n x n C-ordered float64 arrays (``out``
    not sharing memory with the others), each output row summed as
    ((0 + l[i,0] r[0]) + l[i,1] r[1]) + ... in that order."""
    vector = ir.VectorType(ir.DoubleType(), n)

    def matmul(typingctx, left, right, out):
        for array in (left, right, out):
            if not (isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C"
                    and array.dtype == types.float64):
                return None

        def codegen(context, builder, sig, args):
            left_, right_, out_ = (context.make_array(t)(context, builder, a).data
                                   for t, a in zip(sig.args, args))

            def row_pointer(data, row):
                return builder.bitcast(builder.gep(data, [ir.Constant(_INT64, n * row)]),
                                       vector.as_pointer())

            right_rows = [builder.load(row_pointer(right_, j), align=8) for j in range(n)]
            for i in range(n):
                total = ir.Constant(vector, [0.0] * n)
                for j in range(n):
                    scalar = builder.load(builder.gep(left_, [ir.Constant(_INT64, n * i + j)]))
                    total = builder.fadd(total, builder.fmul(_splat(builder, scalar, n),
                                                             right_rows[j]))
                builder.store(total, row_pointer(out_, i), align=8)
            return context.get_dummy_value()

        return types.none(left, right, out), codegen

    matmul.__name__ = f"matmul{n}"
    return intrinsic(matmul)


matmul2 = _matmul_intrinsic(2)
matmul4 = _matmul_intrinsic(4)
matmul8 = _matmul_intrinsic(8)


def _difference_row_intrinsic(width: int):
    """difference_row(a, y, x, b, out, i): out[i, j] = a[y, x + j] - b[y, x + j] as float64,
    for j < width (out: C-ordered float64 with width columns)."""
    doubles = ir.VectorType(ir.DoubleType(), width)

    def difference_row(typingctx, a, y, x, b, out, i):
        if not (_is_uint8_plane(a) and _is_uint8_plane(b) and isinstance(out, types.Array)
                and out.ndim == 2 and out.layout == "C" and out.dtype == types.float64):
            return None

        def codegen(context, builder, sig, args):
            y_, x_, i_ = _intp(context, builder, sig, args, (1, 2, 5))
            first = _load_row(context, builder, sig.args[0], args[0], y_, x_, width, 32)
            second = _load_row(context, builder, sig.args[3], args[3], y_, x_, width, 32)
            row = builder.sitofp(builder.sub(first, second), doubles)
            view = context.make_array(sig.args[4])(context, builder, args[4])
            start = builder.gep(view.data, [builder.mul(i_, ir.Constant(_INT64, width))])
            builder.store(row, builder.bitcast(start, doubles.as_pointer()), align=8)
            return context.get_dummy_value()

        return types.none(a, types.intp, types.intp, b, out, types.intp), codegen

    difference_row.__name__ = f"difference_row{width}"
    return intrinsic(difference_row)


difference_row2 = _difference_row_intrinsic(2)
difference_row4 = _difference_row_intrinsic(4)
difference_row8 = _difference_row_intrinsic(8)


# -- motion compensation ---------------------------------------------------------------------------
def _copy_row_intrinsic(width: int):
    """copy_row(ref, y, x, out, oy, ox): out[oy, ox:ox + width] = ref[y, x:x + width], one
    vector load and store (numba's element loop for a whole-pel block stayed scalar: slower
    than the bilinear rows)."""
    def copy_row(typingctx, ref, y, x, out, oy, ox):
        if not (_is_uint8_plane(ref) and _is_uint8_plane(out)):
            return None

        def codegen(context, builder, sig, args):
            y_, x_, oy_, ox_ = _intp(context, builder, sig, args, (1, 2, 4, 5))
            source = _item_pointer(context, builder, sig.args[0], args[0], [y_, x_],
                                   _lanes(8, width))
            target = _item_pointer(context, builder, sig.args[3], args[3], [oy_, ox_],
                                   _lanes(8, width))
            builder.store(builder.load(source, align=1), target, align=1)
            return context.get_dummy_value()

        return types.none(ref, types.intp, types.intp, out, types.intp, types.intp), codegen

    copy_row.__name__ = f"copy_row{width}"
    return intrinsic(copy_row)


copy_row2 = _copy_row_intrinsic(2)
copy_row4 = _copy_row_intrinsic(4)
copy_row8 = _copy_row_intrinsic(8)
copy_row16 = _copy_row_intrinsic(16)


def _fill_row_intrinsic(width: int):
    """fill_row(out, oy, ox, value): out[oy, ox:ox + width] = value (uint8), one vector store."""
    def fill_row(typingctx, out, oy, ox, value):
        if not (_is_uint8_plane(out) and isinstance(value, types.Integer)):
            return None

        def codegen(context, builder, sig, args):
            oy_, ox_ = _intp(context, builder, sig, args, (1, 2))
            byte = builder.trunc(context.cast(builder, args[3], sig.args[3], types.intp),
                                 ir.IntType(8))
            target = _item_pointer(context, builder, sig.args[0], args[0], [oy_, ox_],
                                   _lanes(8, width))
            builder.store(_splat(builder, byte, width), target, align=1)
            return context.get_dummy_value()

        return types.none(out, types.intp, types.intp, value), codegen

    fill_row.__name__ = f"fill_row{width}"
    return intrinsic(fill_row)


fill_row2 = _fill_row_intrinsic(2)
fill_row4 = _fill_row_intrinsic(4)
fill_row8 = _fill_row_intrinsic(8)
fill_row16 = _fill_row_intrinsic(16)


@njit(cache=True, nogil=True, inline="always")
def copy_row(ref, y, x, out, oy, ox, width):
    """out[oy, ox:ox + width] = ref[y, x:x + width] for a block or tile side (2, 4, 8 or a
    multiple of 16) as vector copies; element by element for any other width (a fallback:
    block sides are 4-32 and tiles 2-8)."""
    if width == 8:
        copy_row8(ref, y, x, out, oy, ox)
    elif width == 4:
        copy_row4(ref, y, x, out, oy, ox)
    elif width == 2:
        copy_row2(ref, y, x, out, oy, ox)
    elif width % 16 == 0:
        for j in range(0, width, 16):
            copy_row16(ref, y, x + j, out, oy, ox + j)
    else:
        for j in range(width):
            out[oy, ox + j] = ref[y, x + j]


@njit(cache=True, nogil=True, inline="always")
def fill_row(out, oy, ox, value, width):
    """out[oy, ox:ox + width] = value, as copy_row does it."""
    if width == 8:
        fill_row8(out, oy, ox, value)
    elif width == 4:
        fill_row4(out, oy, ox, value)
    elif width == 2:
        fill_row2(out, oy, ox, value)
    elif width % 16 == 0:
        for j in range(0, width, 16):
            fill_row16(out, oy, ox + j, value)
    else:
        for j in range(width):
            out[oy, ox + j] = value


@njit(cache=True, nogil=True, inline="always")
def fill_block(out, oy, ox, side, value):
    """The side x side block of ``out`` at (oy, ox) set to value, a row at a time (flat
    palette blocks, DC intra prediction)."""
    for i in range(side):
        fill_row(out, oy + i, ox, value, side)


def _bilinear_row_intrinsic(width: int):
    """bilinear_row(ref, y, x, wa, wb, wc, wd, shift, out, oy, ox): for j < width,
    out[oy, ox + j] = (wa ref[y, x+j] + wb ref[y, x+j+1] + wc ref[y+1, x+j]
    + wd ref[y+1, x+j+1] + 2^(shift-1)) >> shift, for weights summing to at most 64 (eighth-pel
    chroma; the largest sum, 64 x 255 + 32, fits 16 bits)."""
    def bilinear_row(typingctx, ref, y, x, wa, wb, wc, wd, shift, out, oy, ox):
        if not (_is_uint8_plane(ref) and _is_uint8_plane(out)):
            return None
        signature = types.none(ref, types.intp, types.intp, types.intp, types.intp, types.intp,
                               types.intp, types.intp, out, types.intp, types.intp)

        def codegen(context, builder, sig, args):
            y_, x_, wa_, wb_, wc_, wd_, shift_, oy_, ox_ = _intp(
                context, builder, sig, args, (1, 2, 3, 4, 5, 6, 7, 9, 10))

            def spread(value):
                return _splat(builder, builder.trunc(value, ir.IntType(16)), width)

            one = ir.Constant(_INT64, 1)
            total = None
            for (dy, dx), weight in zip(((0, 0), (0, 1), (1, 0), (1, 1)), (wa_, wb_, wc_, wd_)):
                row = builder.add(y_, one) if dy else y_
                col = builder.add(x_, one) if dx else x_
                term = builder.mul(
                    _load_row(context, builder, sig.args[0], args[0], row, col, width, 16),
                    spread(weight))
                total = term if total is None else builder.add(total, term)
            half = builder.lshr(builder.shl(one, shift_), one)
            total = builder.lshr(builder.add(total, spread(half)), spread(shift_))
            target = _item_pointer(context, builder, sig.args[8], args[8], [oy_, ox_],
                                   _lanes(8, width))
            builder.store(builder.trunc(total, _lanes(8, width)), target, align=1)
            return context.get_dummy_value()

        return signature, codegen

    bilinear_row.__name__ = f"bilinear_row{width}"
    return intrinsic(bilinear_row)


bilinear_row2 = _bilinear_row_intrinsic(2)
bilinear_row4 = _bilinear_row_intrinsic(4)
bilinear_row8 = _bilinear_row_intrinsic(8)
bilinear_row16 = _bilinear_row_intrinsic(16)


# -- colour conversions -------------------------------------------------------------------------
@intrinsic
def split_pixels32(typingctx, pixels, top, bottom, x, y, cr, cb, cy):
    """Split 32 interleaved 3-channel pixels of two rows into planes: channel 0 of row ``top``
    and ``bottom`` into y[2 cy, x:x + 32] and y[2 cy + 1, ...], and the rounded 2x2 means of
    channels 1 and 2 into cr[cy, x / 2:x / 2 + 16] and cb (``pixels``: (H, W, 3); x even)."""
    if not (_is_pixels(pixels) and all(_is_uint8_plane(p) for p in (y, cr, cb))):
        return None
    signature = types.none(pixels, types.intp, types.intp, types.intp, y, cr, cb, types.intp)
    n = SPLIT_PIXELS
    half = n // 2

    def codegen(context, builder, sig, args):
        top_, bottom_, x_, cy_ = _intp(context, builder, sig, args, (1, 2, 3, 7))

        def load_pixels(row):
            pointer = _item_pointer(context, builder, sig.args[0], args[0],
                                    [row, x_, ir.Constant(_INT64, 0)], _lanes(8, 3 * n))
            return builder.load(pointer, align=1)

        def channel(row, k):
            return builder.shuffle_vector(row, row, _indices([3 * j + k for j in range(n)]))

        rows = [load_pixels(top_), load_pixels(bottom_)]
        luma_y = builder.mul(cy_, ir.Constant(_INT64, 2))
        for offset, row in enumerate(rows):
            target = _item_pointer(context, builder, sig.args[4], args[4],
                                   [builder.add(luma_y, ir.Constant(_INT64, offset)), x_],
                                   _lanes(8, n))
            builder.store(channel(row, 0), target, align=1)
        chroma_x = builder.lshr(x_, ir.Constant(_INT64, 1))
        two = ir.Constant(_lanes(16, half), [2] * half)
        for k, plane in ((1, 5), (2, 6)):
            column_sums = builder.add(builder.zext(channel(rows[0], k), _lanes(16, n)),
                                      builder.zext(channel(rows[1], k), _lanes(16, n)))
            even = builder.shuffle_vector(column_sums, column_sums,
                                          _indices([2 * j for j in range(half)]))
            odd = builder.shuffle_vector(column_sums, column_sums,
                                         _indices([2 * j + 1 for j in range(half)]))
            mean = builder.lshr(builder.add(builder.add(even, odd), two), two)
            target = _item_pointer(context, builder, sig.args[plane], args[plane],
                                   [cy_, chroma_x], _lanes(8, half))
            builder.store(builder.trunc(mean, _lanes(8, half)), target, align=1)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def bgr_pixels16(typingctx, y, cr, cb, row, near, far, x, out):
    """Sixteen BGR pixels of picture row ``row`` from x (even) into out[row, x:x + 16] ((H, W, 3)),
    exactly as codec.common.blocks' scalar formula: chroma upsampled from half-resolution rows
    ``near`` (weight 3) and ``far`` (1), then columns 3:1, then integer YCrCb -> BGR. Needs
    chroma columns x/2 - 1 .. x/2 + 8."""
    if not (all(_is_uint8_plane(p) for p in (y, cr, cb)) and _is_pixels(out)):
        return None
    signature = types.none(y, cr, cb, types.intp, types.intp, types.intp, types.intp, out)
    n = BGR_PIXELS
    half = n // 2

    def constant(value, width=n):
        return ir.Constant(_lanes(32, width), [value] * width)

    def codegen(context, builder, sig, args):
        row_, near_, far_, x_ = _intp(context, builder, sig, args, (3, 4, 5, 6))
        column = builder.lshr(x_, ir.Constant(_INT64, 1))

        def small(value, width=n):
            return ir.Constant(_lanes(16, width), [value] * width)

        def chroma(k):
            """The plane's 16x upsampled values of the sixteen pixels, minus 128. The blend
            stays in 16-bit lanes (at most 16 x 255), twice as many per instruction."""
            def blended(offset):
                col = builder.add(column, ir.Constant(_INT64, offset))
                nearer = _load_row(context, builder, sig.args[k], args[k], near_, col, half, 16)
                farther = _load_row(context, builder, sig.args[k], args[k], far_, col, half, 16)
                return builder.add(builder.mul(nearer, small(3, half)), farther)
            left, centre, right = blended(-1), blended(0), blended(1)
            centre3 = builder.mul(centre, small(3, half))
            even = builder.add(centre3, left)
            odd = builder.add(centre3, right)
            spread = builder.shuffle_vector(even, odd, _indices(
                [j // 2 + (half if j % 2 else 0) for j in range(n)]))
            upsampled = builder.lshr(builder.add(spread, small(8)), small(4))
            return builder.sub(builder.zext(upsampled, _lanes(32, n)), constant(128))

        cr_r, cr_g, cb_g, cb_b, shift = YCRCB_TO_BGR
        crd, cbd = chroma(1), chroma(2)
        luma = _load_row(context, builder, sig.args[0], args[0], row_, x_, n, 32)
        rounding = constant(1 << (shift - 1))

        def channel(total):
            value = builder.add(luma, builder.ashr(builder.add(total, rounding), constant(shift)))
            low = builder.select(builder.icmp_signed("<", value, constant(0)), constant(0), value)
            high = builder.select(builder.icmp_signed(">", low, constant(255)), constant(255), low)
            return builder.trunc(high, _lanes(8, n))

        blue = channel(builder.mul(cbd, constant(cb_b)))
        green = channel(builder.sub(builder.mul(crd, constant(-cr_g)),
                                    builder.mul(cbd, constant(cb_g))))
        red = channel(builder.mul(crd, constant(cr_r)))
        blue_green = builder.shuffle_vector(blue, green, _indices(range(2 * n)))
        red_twice = builder.shuffle_vector(red, red, _indices(list(range(n)) * 2))
        pixels = builder.shuffle_vector(blue_green, red_twice, _indices(
            [base + j for j in range(n) for base in (0, n, 2 * n)]))
        target = _item_pointer(context, builder, sig.args[7], args[7],
                               [row_, x_, ir.Constant(_INT64, 0)], _lanes(8, 3 * n))
        builder.store(pixels, target, align=1)
        return context.get_dummy_value()

    return signature, codegen
