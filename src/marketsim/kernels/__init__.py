"""Numba kernels, one module per process. Each is a pure ``@njit(cache=True)``
function over the arrays of :mod:`marketsim.state`; every random number comes
from a ``numpy.random.Generator`` argument. ``kernel.py_func`` is the same code
run by the Python interpreter, used by the tests as the reference."""
