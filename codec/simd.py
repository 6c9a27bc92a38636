"""Vector kernels numba does not vectorise by itself: row SADs and small matrix products.

Sums of absolute differences: numba widens every uint8 to a 64-bit integer before it subtracts, so its compiled SAD loops
stay scalar: about 300 ns for a 16x16 block here. These kernels hand LLVM a whole row as one
vector (zero-extend, subtract, absolute value, add across), which it lowers to ``psadbw`` on
x86 and to the matching instructions elsewhere: about 60 ns a block. The result is the same
integer on every machine; only the time differs.

Small matrix products (the DCT's two passes): numba leaves the 8x8 products scalar. ``matmulN``
keeps each output row in one vector and adds the terms in the same order as the plain loops,
so the float results are identical, bit for bit, without fused multiply-adds on any machine.

The caller guarantees that rows lie inside their arrays: nothing is bounds-checked.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["row_sad4", "row_sad8", "row_sad16", "block_sad", "matmul2", "matmul4", "matmul8"]


def _row_sad_intrinsic(width: int):
    """An intrinsic row_sad(a, ya, xa, b, yb, xb): sum |a[ya, xa + j] - b[yb, xb + j]| for j in
    range(width), for 2-D uint8 arrays of any layout."""
    i16 = ir.VectorType(ir.IntType(16), width)
    i32 = ir.VectorType(ir.IntType(32), width)
    reduce_name = f"llvm.vector.reduce.add.v{width}i32"

    def load_row(context, builder, array_type, array, y, x):
        view = context.make_array(array_type)(context, builder, array)
        pointer = cgutils.get_item_pointer2(
            context, builder, data=view.data, shape=cgutils.unpack_tuple(builder, view.shape),
            strides=cgutils.unpack_tuple(builder, view.strides), layout=array_type.layout,
            inds=[y, x], wraparound=False, boundscheck=False)
        vector = builder.bitcast(pointer, ir.VectorType(ir.IntType(8), width).as_pointer())
        return builder.zext(builder.load(vector, align=1), i16)

    def row_sad(typingctx, a, ya, xa, b, yb, xb):
        for array in (a, b):
            if not (isinstance(array, types.Array) and array.ndim == 2
                    and array.dtype == types.uint8):
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


row_sad4 = _row_sad_intrinsic(4)
row_sad8 = _row_sad_intrinsic(8)
row_sad16 = _row_sad_intrinsic(16)


@njit(cache=True, nogil=True, _nrt=False)
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
    lane0 = ir.Constant(ir.IntType(32), 0)
    broadcast = ir.Constant(ir.VectorType(ir.IntType(32), n), [0] * n)

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
            undefined = ir.Constant(vector, ir.Undefined)
            for i in range(n):
                total = ir.Constant(vector, [0.0] * n)
                for j in range(n):
                    scalar = builder.load(builder.gep(left_, [ir.Constant(index, n * i + j)]))
                    spread = builder.shuffle_vector(
                        builder.insert_element(undefined, scalar, lane0), undefined, broadcast)
                    total = builder.fadd(total, builder.fmul(spread, right_rows[j]))
                builder.store(total, row_pointer(out_, i), align=8)
            return context.get_dummy_value()

        return types.none(left, right, out), codegen

    matmul.__name__ = f"matmul{n}"
    return intrinsic(matmul)


matmul2 = _matmul_intrinsic(2)
matmul4 = _matmul_intrinsic(4)
matmul8 = _matmul_intrinsic(8)
