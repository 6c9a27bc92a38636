"""Vector kernels numba does not vectorise by itself: row SADs and small matrix products.

Sums of absolute differences: numba widens every uint8 to a 64-bit integer before it subtracts, so its compiled SAD loops
stay scalar: about 300 ns for a 16x16 block here. These kernels hand LLVM a whole row as one
vector (zero-extend, subtract, absolute value, add across), which it lowers to ``psadbw`` on
x86 and to the matching instructions elsewhere: about 60 ns a block. The result is the same
integer on every machine; only the time differs.

Small matrix products (the DCT's two passes): numba leaves the 8x8 products scalar. ``matmulN``
keeps each output row in one vector and adds the terms in the same order as the plain loops,
so the float results are identical, bit for bit, without fused multiply-adds on any machine.

Bilinear rows (motion compensation): the weighted sum of four neighbours in 16-bit lanes, the
same integers as the scalar formula (the largest sum, 16 x 255 + 8, fits 16 bits).

The caller guarantees that rows lie inside their arrays: nothing is bounds-checked.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["row_sad4", "row_sad8", "row_sad16", "block_sad", "matmul2", "matmul4", "matmul8",
           "bilinear_row2", "bilinear_row4", "bilinear_row8", "bilinear_row16", "block_abs_dev",
           "CENTRE_SCALE", "NO_LIMIT", "difference_row2", "difference_row4", "difference_row8",
           "split_pixels32", "SPLIT_PIXELS", "bgr_pixels16", "BGR_PIXELS", "YCRCB_TO_BGR"]

#: A block_sad limit no block reaches (the whole sum is wanted).
NO_LIMIT = 1 << 62


def _row_pointer(context, builder, array_type, array, y, x, lane_type):
    """Pointer to array[y, x] as a pointer to a vector."""
    view = context.make_array(array_type)(context, builder, array)
    pointer = cgutils.get_item_pointer2(
        context, builder, data=view.data, shape=cgutils.unpack_tuple(builder, view.shape),
        strides=cgutils.unpack_tuple(builder, view.strides), layout=array_type.layout,
        inds=[y, x], wraparound=False, boundscheck=False)
    return builder.bitcast(pointer, lane_type.as_pointer())


def _is_uint8_plane(array) -> bool:
    """A 2-D uint8 array whose rows are contiguous (C order: a row loads as one vector)."""
    return (isinstance(array, types.Array) and array.ndim == 2 and array.dtype == types.uint8
            and array.layout == "C")


def _row_sad_intrinsic(width: int):
    """An intrinsic row_sad(a, ya, xa, b, yb, xb): sum |a[ya, xa + j] - b[yb, xb + j]| for j in
    range(width), for C-ordered 2-D uint8 arrays."""
    i16 = ir.VectorType(ir.IntType(16), width)
    i32 = ir.VectorType(ir.IntType(32), width)
    reduce_name = f"llvm.vector.reduce.add.v{width}i32"

    bytes_ = ir.VectorType(ir.IntType(8), width)

    def load_row(context, builder, array_type, array, y, x):
        pointer = _row_pointer(context, builder, array_type, array, y, x, bytes_)
        return builder.zext(builder.load(pointer, align=1), i16)

    def row_sad(typingctx, a, ya, xa, b, yb, xb):
        if not (_is_uint8_plane(a) and _is_uint8_plane(b)):
            return None
        signature = types.int64(a, types.intp, types.intp, b, types.intp, types.intp)

        def codegen(context, builder, sig, args):
            ya_, xa_, yb_, xb_ = (context.cast(builder, args[k], sig.args[k], types.intp)
                                  for k in (1, 2, 4, 5))
            first = load_row(context, builder, sig.args[0], args[0], ya_, xa_)
            second = load_row(context, builder, sig.args[3], args[3], yb_, xb_)
            difference = builder.sub(first, second)
            negative = builder.icmp_signed("<", difference, ir.Constant(i16, None))
            magnitude = builder.select(negative, builder.neg(difference), difference)
            reduce_add = builder.module.globals.get(reduce_name)
            if reduce_add is None:
                reduce_add = ir.Function(builder.module,
                                         ir.FunctionType(ir.IntType(32), [i32]), reduce_name)
            total = builder.call(reduce_add, [builder.zext(magnitude, i32)])
            return builder.zext(total, ir.IntType(64))

        return signature, codegen

    row_sad.__name__ = f"row_sad{width}"
    return intrinsic(row_sad)


#: block_abs_dev measures against centres in 1/16 grey levels: far finer than any decision
#: made with them needs, and integer sums add up the same on every machine.
CENTRE_SCALE = 16


def _row_abs_dev_intrinsic(width: int):
    """An intrinsic row_abs_dev(a, y, x, centre): sum |16 a[y, x + j] - centre| for j in
    range(width), centre in 0..4080 (a grey level in 1/16)."""
    i16 = ir.VectorType(ir.IntType(16), width)
    i32 = ir.VectorType(ir.IntType(32), width)
    bytes_ = ir.VectorType(ir.IntType(8), width)
    reduce_name = f"llvm.vector.reduce.add.v{width}i32"

    def row_abs_dev(typingctx, a, y, x, centre):
        if not _is_uint8_plane(a):
            return None
        signature = types.int64(a, types.intp, types.intp, types.intp)

        def codegen(context, builder, sig, args):
            y_, x_, centre_ = (context.cast(builder, args[k], sig.args[k], types.intp)
                               for k in (1, 2, 3))
            pointer = _row_pointer(context, builder, sig.args[0], args[0], y_, x_, bytes_)
            scaled = builder.shl(builder.zext(builder.load(pointer, align=1), i16),
                                 ir.Constant(i16, [4] * width))
            difference = builder.sub(scaled, _splat(builder, builder.trunc(centre_, ir.IntType(16)),
                                                    width))
            negative = builder.icmp_signed("<", difference, ir.Constant(i16, None))
            magnitude = builder.select(negative, builder.neg(difference), difference)
            reduce_add = builder.module.globals.get(reduce_name)
            if reduce_add is None:
                reduce_add = ir.Function(builder.module,
                                         ir.FunctionType(ir.IntType(32), [i32]), reduce_name)
            total = builder.call(reduce_add, [builder.zext(magnitude, i32)])
            return builder.zext(total, ir.IntType(64))

        return signature, codegen

    row_abs_dev.__name__ = f"row_abs_dev{width}"
    return intrinsic(row_abs_dev)


row_abs_dev4 = _row_abs_dev_intrinsic(4)
row_abs_dev8 = _row_abs_dev_intrinsic(8)
row_abs_dev16 = _row_abs_dev_intrinsic(16)


@njit(cache=True, nogil=True, _nrt=False)
def block_abs_dev(a, y, x, size, centre):
    """Sum of |CENTRE_SCALE * pixel - centre| over the size x size block at (y, x) (size 4, 8,
    16 or 32; centre in 1/16 grey levels, 0..4080)."""
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


row_sad4 = _row_sad_intrinsic(4)
row_sad8 = _row_sad_intrinsic(8)
row_sad16 = _row_sad_intrinsic(16)


@njit(cache=True, nogil=True, _nrt=False, inline="always")
def block_sad(a, ya, xa, b, yb, xb, size, limit):
    """SAD of the size x size blocks at (ya, xa) of ``a`` and (yb, xb) of ``b`` (both inside
    their arrays; size 2 or a multiple of 4 up to 16, or of 16); stops after the first row at
    which it reaches ``limit`` (the caller's best cost so far) and returns the partial sum."""
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


def _matmul_intrinsic(n: int):
    """An intrinsic matmul(left, right, out): out = left @ right for n x n C-ordered float64
    arrays, each output row summed as ((0 + l[i,0] r[0]) + l[i,1] r[1]) + ... in that order."""
    vector = ir.VectorType(ir.DoubleType(), n)
    index = ir.IntType(64)

    def matmul(typingctx, left, right, out):
        for array in (left, right, out):
            if not (isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C"
                    and array.dtype == types.float64):
                return None

        def codegen(context, builder, sig, args):
            left_, right_, out_ = (context.make_array(t)(context, builder, a).data
                                   for t, a in zip(sig.args, args))

            def row_pointer(data, row):
                return builder.bitcast(builder.gep(data, [ir.Constant(index, n * row)]),
                                       vector.as_pointer())

            right_rows = [builder.load(row_pointer(right_, j), align=8) for j in range(n)]
            for i in range(n):
                total = ir.Constant(vector, [0.0] * n)
                for j in range(n):
                    scalar = builder.load(builder.gep(left_, [ir.Constant(index, n * i + j)]))
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


def _bilinear_row_intrinsic(width: int):
    """An intrinsic bilinear_row(ref, y, x, wa, wb, wc, wd, shift, out, oy, ox): for j in
    range(width), out[oy, ox + j] = (wa ref[y, x+j] + wb ref[y, x+j+1] + wc ref[y+1, x+j]
    + wd ref[y+1, x+j+1] + 2^(shift-1)) >> shift, for weights summing to at most 16."""
    bytes_ = ir.VectorType(ir.IntType(8), width)
    lanes = ir.VectorType(ir.IntType(16), width)

    def bilinear_row(typingctx, ref, y, x, wa, wb, wc, wd, shift, out, oy, ox):
        if not (_is_uint8_plane(ref) and _is_uint8_plane(out)):
            return None
        signature = types.none(ref, types.intp, types.intp, types.intp, types.intp, types.intp,
                               types.intp, types.intp, out, types.intp, types.intp)

        def codegen(context, builder, sig, args):
            def arg(k):
                return context.cast(builder, args[k], sig.args[k], types.intp)

            def spread(value):
                return _splat(builder, builder.trunc(value, ir.IntType(16)), width)

            y_, x_ = arg(1), arg(2)
            one = ir.Constant(ir.IntType(64), 1)
            total = None
            for (dy, dx), k in zip(((0, 0), (0, 1), (1, 0), (1, 1)), (3, 4, 5, 6)):
                row = builder.add(y_, one) if dy else y_
                col = builder.add(x_, one) if dx else x_
                pointer = _row_pointer(context, builder, sig.args[0], args[0], row, col, bytes_)
                term = builder.mul(builder.zext(builder.load(pointer, align=1), lanes),
                                   spread(arg(k)))
                total = term if total is None else builder.add(total, term)
            shift_ = arg(7)
            half = builder.lshr(builder.shl(one, shift_), one)
            total = builder.lshr(builder.add(total, spread(half)), spread(shift_))
            target = _row_pointer(context, builder, sig.args[8], args[8], arg(9), arg(10), bytes_)
            builder.store(builder.trunc(total, bytes_), target, align=1)
            return context.get_dummy_value()

        return signature, codegen

    bilinear_row.__name__ = f"bilinear_row{width}"
    return intrinsic(bilinear_row)


def _splat(builder, scalar, width: int):
    """A vector of ``width`` copies of ``scalar``."""
    vector_type = ir.VectorType(scalar.type, width)
    undefined = ir.Constant(vector_type, ir.Undefined)
    first = builder.insert_element(undefined, scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(first, undefined,
                                  ir.Constant(ir.VectorType(ir.IntType(32), width), [0] * width))


bilinear_row2 = _bilinear_row_intrinsic(2)
bilinear_row4 = _bilinear_row_intrinsic(4)
bilinear_row8 = _bilinear_row_intrinsic(8)
bilinear_row16 = _bilinear_row_intrinsic(16)


def _difference_row_intrinsic(width: int):
    """An intrinsic difference_row(a, y, x, b, out, i): out[i, j] = a[y, x + j] - b[y, x + j]
    as float64, for j in range(width) (out: C-ordered float64, width columns)."""
    bytes_ = ir.VectorType(ir.IntType(8), width)
    lanes = ir.VectorType(ir.IntType(32), width)
    doubles = ir.VectorType(ir.DoubleType(), width)

    def difference_row(typingctx, a, y, x, b, out, i):
        if not (_is_uint8_plane(a) and _is_uint8_plane(b) and isinstance(out, types.Array)
                and out.ndim == 2 and out.layout == "C" and out.dtype == types.float64):
            return None
        signature = types.none(a, types.intp, types.intp, b, out, types.intp)

        def codegen(context, builder, sig, args):
            y_, x_, i_ = (context.cast(builder, args[k], sig.args[k], types.intp)
                          for k in (1, 2, 5))
            first, second = (builder.zext(builder.load(
                _row_pointer(context, builder, sig.args[k], args[k], y_, x_, bytes_), align=1),
                lanes) for k in (0, 3))
            row = builder.sitofp(builder.sub(first, second), doubles)
            view = context.make_array(sig.args[4])(context, builder, args[4])
            start = builder.gep(view.data, [builder.mul(i_, ir.Constant(ir.IntType(64), width))])
            builder.store(row, builder.bitcast(start, doubles.as_pointer()), align=8)
            return context.get_dummy_value()

        return signature, codegen

    difference_row.__name__ = f"difference_row{width}"
    return intrinsic(difference_row)


difference_row2 = _difference_row_intrinsic(2)
difference_row4 = _difference_row_intrinsic(4)
difference_row8 = _difference_row_intrinsic(8)


#: Pixels split by one split_pixels32 call (a chroma row gets half as many samples).
SPLIT_PIXELS = 32


@intrinsic
def split_pixels32(typingctx, pixels, top, bottom, x, y, cr, cb, cy):
    """Split 32 interleaved 3-channel pixels of two rows into planes: channel 0 of row ``top``
    and ``bottom`` into y[2 cy, x:x + 32] and y[2 cy + 1, ...], and the rounded 2x2 means of
    channels 1 and 2 into cr[cy, x / 2:x / 2 + 16] and cb (``pixels``: C-ordered (H, W, 3)
    uint8; x even)."""
    if not (isinstance(pixels, types.Array) and pixels.ndim == 3 and pixels.layout == "C"
            and pixels.dtype == types.uint8 and all(_is_uint8_plane(p) for p in (y, cr, cb))):
        return None
    signature = types.none(pixels, types.intp, types.intp, types.intp, y, cr, cb, types.intp)
    n = SPLIT_PIXELS
    interleaved = ir.VectorType(ir.IntType(8), 3 * n)
    plane_row = ir.VectorType(ir.IntType(8), n)
    wide = ir.VectorType(ir.IntType(16), n)
    half = ir.VectorType(ir.IntType(16), n // 2)

    def indices(values):
        return ir.Constant(ir.VectorType(ir.IntType(32), len(values)), values)

    def codegen(context, builder, sig, args):
        top_, bottom_, x_, cy_ = (context.cast(builder, args[k], sig.args[k], types.intp)
                                  for k in (1, 2, 3, 7))
        view = context.make_array(sig.args[0])(context, builder, args[0])

        def load_row(row):
            pointer = cgutils.get_item_pointer2(
                context, builder, data=view.data, shape=cgutils.unpack_tuple(builder, view.shape),
                strides=cgutils.unpack_tuple(builder, view.strides), layout="C",
                inds=[row, x_, ir.Constant(ir.IntType(64), 0)], wraparound=False,
                boundscheck=False)
            return builder.load(builder.bitcast(pointer, interleaved.as_pointer()), align=1)

        def channel(row, k):
            return builder.shuffle_vector(row, row, indices([3 * j + k for j in range(n)]))

        rows = [load_row(top_), load_row(bottom_)]
        two = ir.Constant(ir.IntType(64), 2)
        luma_y = builder.mul(cy_, two)
        for offset, row in enumerate(rows):
            target = _row_pointer(context, builder, sig.args[4], args[4],
                                  builder.add(luma_y, ir.Constant(ir.IntType(64), offset)), x_,
                                  plane_row)
            builder.store(channel(row, 0), target, align=1)
        chroma_x = builder.lshr(x_, ir.Constant(ir.IntType(64), 1))
        for k, plane in ((1, 5), (2, 6)):
            column_sums = builder.add(builder.zext(channel(rows[0], k), wide),
                                      builder.zext(channel(rows[1], k), wide))
            even = builder.shuffle_vector(column_sums, column_sums,
                                          indices([2 * j for j in range(n // 2)]))
            odd = builder.shuffle_vector(column_sums, column_sums,
                                         indices([2 * j + 1 for j in range(n // 2)]))
            total = builder.add(builder.add(even, odd), ir.Constant(half, [2] * (n // 2)))
            mean = builder.trunc(builder.lshr(total, ir.Constant(half, [2] * (n // 2))),
                                 ir.VectorType(ir.IntType(8), n // 2))
            target = _row_pointer(context, builder, sig.args[plane], args[plane], cy_, chroma_x,
                                  ir.VectorType(ir.IntType(8), n // 2))
            builder.store(mean, target, align=1)
        return context.get_dummy_value()

    return signature, codegen


#: Pixels converted by one bgr_pixels16 call.
BGR_PIXELS = 16
#: YCrCb -> BGR (JPEG / OpenCV full range) in 1/16384: R = Y + 1.403 Cr', G = Y - 0.714 Cr'
#: - 0.344 Cb', B = Y + 1.773 Cb' (Cr' = Cr - 128): (Cr to R, Cr to G, Cb to G, Cb to B, shift).
YCRCB_TO_BGR = (22987, 11698, 5636, 29049, 14)


@intrinsic
def bgr_pixels16(typingctx, y, cr, cb, row, near, far, x, out):
    """Sixteen BGR pixels of picture row ``row`` from x (even) into out[row, x:x + 16] ((H, W, 3)
    uint8), exactly as codec.blocks' scalar formula: chroma upsampled from half-resolution rows
    ``near`` (weight 3) and ``far`` (1), then columns 3:1, then integer YCrCb -> BGR. Needs
    chroma columns x/2 - 1 .. x/2 + 8."""
    if not (all(_is_uint8_plane(p) for p in (y, cr, cb)) and isinstance(out, types.Array)
            and out.ndim == 3 and out.layout == "C" and out.dtype == types.uint8):
        return None
    signature = types.none(y, cr, cb, types.intp, types.intp, types.intp, types.intp, out)
    n = BGR_PIXELS
    half_n = n // 2
    i64 = ir.IntType(64)

    def vector(value, width=n):
        return ir.Constant(ir.VectorType(ir.IntType(32), width), [value] * width)

    def indices(values):
        return ir.Constant(ir.VectorType(ir.IntType(32), len(values)), values)

    def codegen(context, builder, sig, args):
        row_, near_, far_, x_ = (context.cast(builder, args[k], sig.args[k], types.intp)
                                 for k in (3, 4, 5, 6))
        column = builder.lshr(x_, ir.Constant(i64, 1))

        def load(k, plane_row, col, width):
            pointer = _row_pointer(context, builder, sig.args[k], args[k], plane_row, col,
                                   ir.VectorType(ir.IntType(8), width))
            return builder.zext(builder.load(pointer, align=1),
                                ir.VectorType(ir.IntType(32), width))

        def chroma(k):
            """The plane's 16x upsampled values of the sixteen pixels."""
            def blended(offset):
                col = builder.add(column, ir.Constant(i64, offset))
                return builder.add(builder.mul(load(k, near_, col, half_n), vector(3, half_n)),
                                   load(k, far_, col, half_n))
            left, centre, right = blended(-1), blended(0), blended(1)
            centre3 = builder.mul(centre, vector(3, half_n))
            even = builder.add(centre3, left)
            odd = builder.add(centre3, right)
            spread = builder.shuffle_vector(even, odd, indices(
                [j // 2 + (half_n if j % 2 else 0) for j in range(n)]))
            return builder.sub(builder.ashr(builder.add(spread, vector(8)), vector(4)),
                               vector(128))

        cr_r, cr_g, cb_g, cb_b, shift = YCRCB_TO_BGR
        crd, cbd = chroma(1), chroma(2)
        luma = load(0, row_, x_, n)
        rounding = vector(1 << (shift - 1))

        def channel(total):
            value = builder.add(luma, builder.ashr(builder.add(total, rounding), vector(shift)))
            low = builder.select(builder.icmp_signed("<", value, vector(0)), vector(0), value)
            high = builder.select(builder.icmp_signed(">", low, vector(255)), vector(255), low)
            return builder.trunc(high, ir.VectorType(ir.IntType(8), n))

        blue = channel(builder.mul(cbd, vector(cb_b)))
        green = channel(builder.sub(builder.mul(crd, vector(-cr_g)), builder.mul(cbd, vector(cb_g))))
        red = channel(builder.mul(crd, vector(cr_r)))
        blue_green = builder.shuffle_vector(blue, green, indices(list(range(2 * n))))
        red_wide = builder.shuffle_vector(red, red, indices(list(range(n)) * 2))
        pixels = builder.shuffle_vector(blue_green, red_wide, indices(
            [channel_base + j for j in range(n) for channel_base in (0, n, 2 * n)]))
        view = context.make_array(sig.args[7])(context, builder, args[7])
        pointer = cgutils.get_item_pointer2(
            context, builder, data=view.data, shape=cgutils.unpack_tuple(builder, view.shape),
            strides=cgutils.unpack_tuple(builder, view.strides), layout="C",
            inds=[row_, x_, ir.Constant(i64, 0)], wraparound=False, boundscheck=False)
        builder.store(pixels, builder.bitcast(pointer, ir.VectorType(ir.IntType(8), 3 * n)
                                              .as_pointer()), align=1)
        return context.get_dummy_value()

    return signature, codegen
