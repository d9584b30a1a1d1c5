"""A software prefetch for kernels whose loops visit memory in random order.

``prefetch(arr, i)`` asks the CPU to start loading the cache line holding ``arr[i]`` (the
first element of row ``i`` of a 2-D array) and returns at once; it changes no value and
never faults. A loop over users in random order, each reading a small list somewhere in a
large array, stalls on every list; prefetching the list of the user a few iterations ahead
overlaps those waits. Called from plain Python (``.py_func``) it does nothing.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import overload
from numba.extending import intrinsic


def prefetch(arr, i):
    """Hint that ``arr[i]`` will be read soon (no effect on results)."""


@intrinsic
def _prefetch(typingctx, arr, idx):
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        i = context.cast(builder, args[1], idxty, types.intp)
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer2(context, builder, data=ary.data,
                                        shape=cgutils.unpack_tuple(builder, ary.shape),
                                        strides=cgutils.unpack_tuple(builder, ary.strides), layout=aryty.layout,
                                        inds=[i] + [zero] * (aryty.ndim - 1), wraparound=False, boundscheck=False)
        i8p = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read access, high temporal locality, data cache
        builder.call(fn, [i8p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@overload(prefetch, jit_options={"cache": True})
def _prefetch_overload(arr, i):
    if isinstance(arr, types.Array) and isinstance(i, types.Integer):
        def impl(arr, i):
            _prefetch(arr, i)
        return impl
    return None
