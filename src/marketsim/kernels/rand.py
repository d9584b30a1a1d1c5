"""Scalar random integers for kernels, the same draws as ``rng.integers(low, high)``.

numba's ``Generator.integers(low, high)`` with scalar arguments allocates a one-element
array on every call (it fills an array of size 1 and returns element 0): about 25 ns a
call, which dominated the Fisher-Yates shuffles of a million users. :func:`randint` makes
exactly the same bit-generator calls (Lemire's bounded method on 32-bit draws for ranges
below 2**32, on 64-bit draws above), without the allocation.

Called from plain Python (``kernel.py_func``, ``NUMBA_DISABLE_JIT=1``) it *is*
``rng.integers(low, high)``, which numba's implementation reproduces draw for draw.
"""

import numpy as np
from numba import types
from numba.core.extending import overload
from numba.np.random.generator_core import next_uint32, next_uint64
from numba.np.random.random_methods import bounded_lemire_uint64, buffered_bounded_lemire_uint32


def randint(rng, low, high):
    """A random int64 in ``[low, high)``: identical to ``rng.integers(low, high)``."""
    return rng.integers(low, high)


@overload(randint, jit_options={"cache": True})
def _randint_overload(rng, low, high):
    if not isinstance(rng, types.NumPyRandomGeneratorType):
        return None

    def impl(rng, low, high):
        lo = np.int64(low)
        hi = np.int64(high) - np.int64(1)
        if lo > hi:
            raise ValueError("low is greater than high in given interval")
        span = hi - lo
        bitgen = rng.bit_generator
        if span == 0:
            return lo
        if span <= 0xFFFFFFFF:
            if span == 0xFFFFFFFF:
                return np.int64(lo + np.int64(next_uint32(bitgen)))
            return np.int64(lo + np.int64(buffered_bounded_lemire_uint32(bitgen, span)))
        if span == -1:  # pragma: no cover - full 64-bit range cannot occur for int64 low < high
            return np.int64(lo + np.int64(next_uint64(bitgen)))
        return np.int64(lo + np.int64(bounded_lemire_uint64(bitgen, span)))

    return impl
