"""Spatial helpers: bucketing dealers by cell, officer coverage, neighbourhoods."""

import numpy as np
from numba import njit

from .prefetch import prefetch_row_w
from .rand import randint

#: how many swaps ahead :func:`shuffle_into` draws
AHEAD = 16


@njit(cache=True)
def wrap(v, n, torus):
    """Coordinate ``v`` on an axis of length ``n``; -1 when off a bounded grid."""
    if torus:
        return v % n
    if v < 0 or v >= n:
        return -1
    return v


@njit(cache=True)
def chebyshev(c1, c2, width, height, torus):
    """Chebyshev (king-move) distance between two cells."""
    x1 = c1 % width
    y1 = c1 // width
    x2 = c2 % width
    y2 = c2 // width
    dx = abs(x1 - x2)
    dy = abs(y1 - y2)
    if torus:
        dx = min(dx, width - dx)
        dy = min(dy, height - dy)
    return max(dx, dy)


@njit(cache=True)
def first_zero(flags):
    """Index of the first zero in ``flags`` (the lowest free slot of a pool), -1 if none."""
    for i in range(flags.shape[0]):
        if flags[i] == 0:
            return i
    return -1


@njit(cache=True)
def bucket_street_dealers(d_active, d_jail_until, d_cell, step, ncell, cell_start, cell_list, cell_dealers):
    """Counting sort of street dealers (active, not in prison) by cell.

    Fills ``cell_start`` (offsets, length ncell+1), ``cell_list`` (dealer slots,
    ordered by cell then slot) and ``cell_dealers`` (counts). Returns the number
    of street dealers.
    """
    cell_dealers[:] = 0
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            cell_dealers[d_cell[d]] += 1
    cell_start[0] = 0
    for c in range(ncell):
        cell_start[c + 1] = cell_start[c] + cell_dealers[c]
    n = cell_start[ncell]
    # fill using cell_dealers as a running cursor, then restore it
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            c = d_cell[d]
            cell_list[cell_start[c + 1] - cell_dealers[c]] = d
            cell_dealers[c] -= 1
    for c in range(ncell):
        cell_dealers[c] = cell_start[c + 1] - cell_start[c]
    return n


@njit(cache=True)
def officer_coverage(f_cell, f_out, radius, width, height, torus, cell_police):
    """Count, for every cell, the officers on duty whose patrol area covers it."""
    cell_police[:] = 0
    for i in range(f_cell.shape[0]):
        if f_out[i] == 1:
            continue
        x0 = f_cell[i] % width
        y0 = f_cell[i] // width
        for dy in range(-radius, radius + 1):
            y = wrap(y0 + dy, height, torus)
            if y < 0:
                continue
            for dx in range(-radius, radius + 1):
                x = wrap(x0 + dx, width, torus)
                if x < 0:
                    continue
                cell_police[y * width + x] += 1


@njit(cache=True)
def random_cell_near(c, radius, width, height, torus, rng):
    """A uniformly drawn cell within Chebyshev ``radius`` of ``c`` (clamped to a bounded grid)."""
    x = c % width + randint(rng, -radius, radius + 1)
    y = c // width + randint(rng, -radius, radius + 1)
    if torus:
        x = x % width
        y = y % height
    else:
        x = min(max(x, 0), width - 1)
        y = min(max(y, 0), height - 1)
    return y * width + x


@njit(cache=True)
def shuffled(n, rng):
    """A random permutation of 0..n-1 (Fisher-Yates, drawn from ``rng``)."""
    order = np.empty(n, np.int64)
    shuffle_into(order, n, rng)
    return order


@njit(cache=True)
def shuffle_into(order, n, rng):
    """Write the permutation :func:`shuffled` would return into ``order[:n]`` (no allocation).

    ``order`` may have any integer dtype wide enough for ``n``.
    """
    for i in range(n):
        order[i] = i
    # Fisher-Yates. The draws do not depend on the array, so each is made AHEAD swaps early and
    # the slot it names is prefetched: at a million entries every swap would otherwise wait for a
    # cache miss. Same draws, in the same order, as drawing each just before its swap.
    ahead = np.empty(AHEAD, np.int64)
    m = min(AHEAD, n - 1) if n > 1 else 0
    for a in range(m):
        ahead[a] = randint(rng, 0, n - a)
    for i in range(n - 1, 0, -1):
        slot = (n - 1 - i) % AHEAD
        j = ahead[slot]
        nxt = i - AHEAD
        if nxt >= 1:
            ahead[slot] = randint(rng, 0, nxt + 1)
            prefetch_row_w(order, ahead[slot])
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
