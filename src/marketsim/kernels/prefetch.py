"""Hints to the CPU to start loading memory a kernel will need soon (``llvm.prefetch``).

A kernel that visits records in an order it knows ahead (the next user's contacts, the next
user's place in the visiting order) can ask for their cache lines before it needs them, so that
the misses overlap with the work on the current record instead of stalling it. Called from plain
Python (``kernel.py_func``) they do nothing; compiled, they change no result, only when memory
is read.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic, overload


def prefetch_row(a, i):
    """Prefetch element ``i`` of a 1-D array, or row ``i`` of a 2-D one, for reading."""
    return None


def prefetch_row_w(a, i):
    """As :func:`prefetch_row`, for writing."""
    return None


def _make(rw):
    @intrinsic
    def _pf(typingctx, a, i):
        if not (isinstance(a, types.Array) and a.ndim in (1, 2) and isinstance(i, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            aty = signature.args[0]
            ary = context.make_array(aty)(context, builder, args[0])
            idx = [context.cast(builder, args[1], signature.args[1], types.intp)]
            if aty.ndim == 2:
                idx.append(context.get_constant(types.intp, 0))
            ptr = cgutils.get_item_pointer(context, builder, aty, ary, idx)
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, rw), ir.Constant(i32, 3),
                              ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(a, i), codegen

    return _pf


_prefetch_read = _make(0)
_prefetch_write = _make(1)


@overload(prefetch_row, jit_options={"cache": True})
def _prefetch_row_overload(a, i):
    if isinstance(a, types.Array) and a.ndim in (1, 2):
        def impl(a, i):
            _prefetch_read(a, i)
        return impl
    return None


@overload(prefetch_row_w, jit_options={"cache": True})
def _prefetch_row_w_overload(a, i):
    if isinstance(a, types.Array) and a.ndim in (1, 2):
        def impl(a, i):
            _prefetch_write(a, i)
        return impl
    return None
