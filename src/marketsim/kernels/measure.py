"""Measurement kernels: district sales and local HHI without a districts x organisation-slots table.

The straightforward computation builds a dense ``districts x organisation slots`` table
(``np.bincount(..., minlength=nd * max_orgs)``) and sums its rows. Organisation slots
number ``max_dealers + organizations`` (every independent seller is a one-member
organisation), so at a million users that table is 1,600 x 200,060 doubles: 2.6 GB and
about 1.5 s a week, almost all of it zeros.

Here only the (district, organisation) pairs with sales are formed. To keep results
bit-identical with the dense computation, row sums reproduce numpy's pairwise summation
(``pairwise_sum`` in numpy's ``loops_utils.h``: blocks of 8 accumulators up to 128
elements, recursive halving above) over the *virtual* dense row of length ``max_orgs``:
zeros add nothing exactly, so only the positions of the non-zero entries matter.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def _leaf(cols, vals, lo, hi, start, n, acc):
    """numpy's pairwise sum of a segment of at most 128 elements (no recursion)."""
    if lo == hi:
        return 0.0
    if n < 8:
        res = 0.0
        for j in range(lo, hi):
            res += vals[j]
        return res
    for r in range(8):
        acc[r] = 0.0
    main_end = start + n - n % 8
    j = lo
    while j < hi and cols[j] < main_end:
        acc[(cols[j] - start) % 8] += vals[j]
        j += 1
    res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    while j < hi:
        res += vals[j]
        j += 1
    return res


@njit(cache=True)
def _pairwise(cols, vals, lo, hi, start, n, acc):
    """numpy's pairwise sum of a virtual row segment ``[start, start + n)`` whose non-zero
    entries are ``vals[lo:hi]`` at ascending positions ``cols[lo:hi]``.

    numpy recurses: ``sum(a[:n2]) + sum(a[n2:])`` with ``n2 = n // 2`` rounded down to a multiple
    of 8, down to blocks of at most 128. The recursion is unrolled here onto an explicit stack
    (numba's cache cannot reload recursive functions).
    """
    depth = 64
    s_lo = np.empty(depth, np.int64)
    s_hi = np.empty(depth, np.int64)
    s_start = np.empty(depth, np.int64)
    s_n = np.empty(depth, np.int64)
    s_mid = np.empty(depth, np.int64)
    s_stage = np.empty(depth, np.int64)
    s_left = np.empty(depth)
    s_lo[0], s_hi[0], s_start[0], s_n[0], s_stage[0] = lo, hi, start, n, 0
    sp = 1
    ret = 0.0
    while sp > 0:
        i = sp - 1
        if s_stage[i] == 0:
            if s_lo[i] == s_hi[i] or s_n[i] <= 128:
                ret = _leaf(cols, vals, s_lo[i], s_hi[i], s_start[i], s_n[i], acc)
                sp -= 1
                continue
            n2 = s_n[i] // 2
            n2 -= n2 % 8
            mid = s_lo[i]
            while mid < s_hi[i] and cols[mid] < s_start[i] + n2:
                mid += 1
            s_mid[i] = mid
            s_stage[i] = 1
            s_lo[sp], s_hi[sp], s_start[sp], s_n[sp], s_stage[sp] = s_lo[i], mid, s_start[i], n2, 0
            sp += 1
        elif s_stage[i] == 1:
            s_left[i] = ret
            s_stage[i] = 2
            n2 = s_n[i] // 2
            n2 -= n2 % 8
            s_lo[sp], s_hi[sp], s_start[sp], s_n[sp], s_stage[sp] = s_mid[i], s_hi[i], s_start[i] + n2, s_n[i] - n2, 0
            sp += 1
        else:
            ret = s_left[i] + ret
            sp -= 1
    return ret


@njit(cache=True)
def row_sum(cols, vals, length):
    """``row.sum()`` of a float64 row of ``length`` that is zero except ``row[cols] = vals``
    (``cols`` ascending, ``vals`` >= 0), bit-identical to numpy's."""
    acc = np.empty(8)
    return _pairwise(cols, vals, 0, cols.shape[0], 0, length, acc)


@njit(cache=True)
def district_sales_hhi(dealers, d_cell, d_org, d_sales, cell_district, n_districts, n_org_slots,
                       dist_sales, local_hhi):
    """Per district: units sold (``dist_sales``) and the HHI of organisations' sales shares
    (``local_hhi``, NaN where nothing was sold), from the sales of ``dealers`` (ascending slots).

    Equals, up to the order of summation (here: each district's organisations in ascending slot
    order, summed left to right, so that the result does not depend on the pool size)::

        key = cell_district[d_cell[dealers]] * n_org_slots + d_org[dealers]
        table = np.bincount(key, weights=d_sales[dealers],
                            minlength=n_districts * n_org_slots).reshape(n_districts, n_org_slots)
        dist_sales = table.sum(axis=1)
        local_hhi = ((table / dist_sales[:, None]) ** 2).sum(axis=1) * 10000.0
    """
    n = dealers.shape[0]
    key = np.empty(n, np.int64)
    for i in range(n):
        d = dealers[i]
        key[i] = np.int64(cell_district[d_cell[d]]) * n_org_slots + d_org[d]
    order = np.argsort(key, kind="mergesort")  # stable: each pair's sales add up in slot order, as in bincount
    cols = np.empty(n, np.int64)
    vals = np.empty(n)
    dist_sales[:] = 0.0
    local_hhi[:] = np.nan
    i = 0
    while i < n:
        dist = key[order[i]] // n_org_slots
        m = 0
        while i < n and key[order[i]] // n_org_slots == dist:
            k = key[order[i]]
            v = 0.0
            while i < n and key[order[i]] == k:
                v += d_sales[dealers[order[i]]]
                i += 1
            cols[m] = k - dist * n_org_slots
            vals[m] = v
            m += 1
        # sums in ascending organisation slot order, left to right: the result does not depend on
        # how many slots the pool has (a pairwise sum over the dense row of n_org_slots did)
        total = 0.0
        for j in range(m):
            total += vals[j]
        dist_sales[dist] = total
        h = 0.0
        for j in range(m):
            q = vals[j] / total
            h += q * q
        local_hhi[dist] = h * 10000.0
    return n_districts


@njit(cache=True)
def turf_control(d_active, d_jail_until, d_cell, d_org, step, n_org_slots, cell_control, cell_control_since,
                 key_buf):
    """Each cell's controller: the organisation with most street dealers there (ties: lowest slot),
    -1 where there are none; ``cell_control_since`` is set to ``step`` where the controller changed.
    ``key_buf`` (int64[max_dealers]) is scratch. Equals, bit for bit, ``np.unique`` of the
    (cell, organisation) keys with counts and a lexsort by (cell, -count, organisation)."""
    n = 0
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            key_buf[n] = np.int64(d_cell[d]) * n_org_slots + d_org[d]
            n += 1
    keys = np.sort(key_buf[:n])
    j = 0
    for c in range(cell_control.shape[0]):
        new = -1
        if j < n and keys[j] // n_org_slots == c:
            best_cnt = 0
            while j < n and keys[j] // n_org_slots == c:
                k = keys[j]
                cnt = 0
                while j < n and keys[j] == k:
                    cnt += 1
                    j += 1
                if cnt > best_cnt:  # organisations come in ascending order: ties keep the lowest
                    best_cnt = cnt
                    new = k - c * n_org_slots
        if new != cell_control[c]:
            cell_control_since[c] = step
            cell_control[c] = new


@njit(cache=True)
def decay_add(values, weight, added):
    """``values[:] = weight * values + added`` in place (no temporaries)."""
    for i in range(values.shape[0]):
        values[i] = weight * values[i] + added[i]


@njit(cache=True)
def seqsum(values):
    """Sum of ``values`` left to right. Used instead of ``values.sum()`` for arrays over the agent
    pools: numpy's pairwise summation splits the array at points that depend on its length, so the
    same values in a larger pool (trailing empty slots) could round differently. Adding the
    empty slots' zeros left to right changes nothing, whatever the pool size."""
    s = 0.0
    for i in range(values.shape[0]):
        s += values[i]
    return s


@njit(cache=True)
def district_sums(cell_district, a, b, c, out):
    """``out[:, 0..2]``: the sums of the per-cell counts ``a``, ``b``, ``c`` by district, in cell
    order (as ``np.bincount(cell_district, weights=...)``, in one pass over the cells)."""
    out[:, :3] = 0.0
    for i in range(cell_district.shape[0]):
        if a[i] != 0 or b[i] != 0 or c[i] != 0:
            d = cell_district[i]
            out[d, 0] += a[i]
            out[d, 1] += b[i]
            out[d, 2] += c[i]
