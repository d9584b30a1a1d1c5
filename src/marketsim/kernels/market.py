"""Retail market (DESIGN process 4): users buy from dealers within reach; dealers reprice."""

from collections import namedtuple

import numpy as np
from numba import njit

from .decisions import arrest_probability, purchase_quantity
from .grid import shuffle_into, shuffled, wrap
from .memory import prefetch


@njit(cache=True)
def _best_dealer(c0, supplier, radius, width, height, torus, cell_start, cell_list, d_inv, d_price,
                 cell_police, travel_cost, risk_cost, loyalty):
    """The dealer with stock and the lowest full price within reach of cell ``c0``; -1 if none."""
    best = -1
    best_full = np.inf
    x0 = c0 % width
    y0 = c0 // width
    for dy in range(-radius, radius + 1):
        y = wrap(y0 + dy, height, torus)
        if y < 0:
            continue
        for dx in range(-radius, radius + 1):
            x = wrap(x0 + dx, width, torus)
            if x < 0:
                continue
            c = y * width + x
            s = cell_start[c]
            e = cell_start[c + 1]
            if s == e:
                continue
            dist = max(abs(dx), abs(dy))
            extra = travel_cost * dist + risk_cost * cell_police[c]
            for k in range(s, e):
                d = cell_list[k]
                if d_inv[d] <= 0.0:
                    continue
                full = d_price[d] + extra
                if d == supplier:
                    full -= loyalty
                if full < best_full:
                    best_full = full
                    best = d
    return best, best_full


@njit(cache=True)
def retail_market(u_cell, u_demand, u_elast, u_supplier, u_bought,
                  d_cell, d_inv, d_price, d_cash, d_sales, d_stockout,
                  cell_start, cell_list, cell_police, cell_sales, cell_unmet,
                  width, height, torus, radius, travel_cost, risk_cost, loyalty, reference_price,
                  max_tries, rng):
    """Match every user, in random order, to the cheapest dealer (full price) within reach.

    A user wants ``purchase_quantity`` at the full price of the best dealer; if that
    dealer runs out, the user tries the next best, up to ``max_tries`` dealers.
    Sales are recorded at the dealer's cell; what is not bought is unmet demand, recorded
    at the user's home cell.
    Returns (units sold, unmet units, users served).

    This is the reference formulation (a scan of every cell within reach, per user). The
    model runs :func:`market_round`, which gives the same result from a candidate list
    built once per home cell; both are kept so each can be checked against the other.
    """
    sold = 0.0
    unmet = 0.0
    served = 0
    n = u_cell.shape[0]
    order = shuffled(n, rng)
    for i in range(n):
        u = order[i]
        c0 = u_cell[u]
        u_bought[u] = 0.0
        want = -1.0
        for _t in range(max_tries):
            d, full = _best_dealer(c0, u_supplier[u], radius, width, height, torus, cell_start, cell_list,
                                   d_inv, d_price, cell_police, travel_cost, risk_cost, loyalty)
            if d < 0:
                break
            if want < 0.0:
                want = purchase_quantity(u_demand[u], u_elast[u], full + (loyalty if d == u_supplier[u] else 0.0),
                                         reference_price)
            q = min(want - u_bought[u], d_inv[d])
            d_inv[d] -= q
            if d_inv[d] <= 1e-12:
                d_inv[d] = 0.0
                d_stockout[d] = 1
            d_sales[d] += q
            d_cash[d] += q * d_price[d]
            cell_sales[d_cell[d]] += q
            u_bought[u] += q
            u_supplier[u] = d
            if u_bought[u] >= want - 1e-12:
                break
        if want < 0.0:
            want = u_demand[u]  # nobody within reach: the whole base demand goes unmet
        short = want - u_bought[u]
        if short > 0.0:
            unmet += short
            cell_unmet[c0] += short
        if u_bought[u] > 0.0:
            served += 1
            sold += u_bought[u]
    return sold, unmet, served


# ----------------------------------------------------------------------------------------
# The fast formulation used by the model.
#
# Per user, the reference scans (2r+1)^2 cells (81 at the default radius 4), most of them
# empty, in random user order: at a million users that is ~80 random memory touches per user.
# Prices and police do not change during the market round; only stocks do. So, once per
# week and in cell order, each *home cell that has users* gets its candidate list: every
# street dealer within reach, in the reference's scan order, with its full price (price +
# travel + risk; loyalty is per user and applied at query time). A row of cells within
# reach is one contiguous range of the dealer bucket (cells are numbered row by row), so
# building the list takes 2r+1 range look-ups per home cell instead of (2r+1)^2 cell visits.
# Users then pick, in the same random order, the first in-stock candidate with the lowest
# full price, with the reference's tie-breaking (first in scan order).
# ----------------------------------------------------------------------------------------


MarketWork = namedtuple("MarketWork", [
    "order",  # int32[users]: the random user order
    "g_home",  # int32[users]: home-cell index of each user, in visiting order
    "g_lo", "g_hi",  # int64[users]: each user's candidate range in ``cand``, in visiting order
    "g_supk",  # int32[users]: bucket index of the user's supplier (-1 none), then of the new one (-2 unchanged)
    "g_demand", "g_elast", "g_bought",  # float64[users]
    "b_pos",  # int32[max_dealers]: bucket index of a street dealer slot; -1 between rounds
    "b_inv", "b_price", "b_sales", "b_cash",  # float64[max_dealers]: dealers' books in bucket order
    "b_out",  # int8[max_dealers]: stock-out flag in bucket order
    "b_cs",  # int32[max_dealers]: index of the dealer's cell among the cells with street dealers
    "cs_sales",  # float64[max_dealers]: sales of those cells
])


def market_work(n_users: int, max_dealers: int) -> MarketWork:
    """Scratch arrays for :func:`market_round`."""
    e = np.empty
    return MarketWork(
        order=e(n_users, np.int32 if n_users < 2**31 else np.int64),
        g_home=e(n_users, np.int32), g_lo=e(n_users, np.int64), g_hi=e(n_users, np.int64),
        g_supk=e(n_users, np.int32),
        g_demand=e(n_users), g_elast=e(n_users), g_bought=e(n_users),
        b_pos=np.full(max_dealers, -1, np.int32),
        b_inv=e(max_dealers), b_price=e(max_dealers), b_sales=e(max_dealers), b_cash=e(max_dealers),
        b_out=e(max_dealers, np.int8), b_cs=e(max_dealers, np.int32), cs_sales=e(max_dealers),
    )


@njit(cache=True)
def home_cells(u_cell, ncell, cell_index):
    """The distinct home cells of users (ascending) and, per user, the index of its home cell
    in that list. ``cell_index`` (int32[ncell]) is scratch. Static: call once per model."""
    cell_index[:] = -1
    m = 0
    for u in range(u_cell.shape[0]):
        if cell_index[u_cell[u]] < 0:
            cell_index[u_cell[u]] = 0
            m += 1
    cells = np.empty(m, np.int32)
    m = 0
    for c in range(ncell):
        if cell_index[c] == 0:
            cells[m] = c
            cell_index[c] = m
            m += 1
    u_home = np.empty(u_cell.shape[0], np.int32)
    for u in range(u_cell.shape[0]):
        u_home[u] = cell_index[u_cell[u]]
    return cells, u_home


@njit(cache=True)
def bucket_cells(cell_start, ncell, b_cell):
    """``b_cell[k]``: the cell of bucket entry ``k`` (the cell whose range holds it)."""
    for c in range(ncell):
        for k in range(cell_start[c], cell_start[c + 1]):
            b_cell[k] = c


@njit(cache=True)
def _row_segment(x0, radius, width, torus, seg):
    """The cells of a row within ``radius`` of column ``x0``, in scan order (dx ascending), as at
    most two segments ``(x_first, x_last, shift)``: ``dx = x + shift - x0``. Returns how many."""
    lo = x0 - radius
    hi = x0 + radius
    if not torus:
        seg[0, 0] = max(lo, 0)
        seg[0, 1] = min(hi, width - 1)
        seg[0, 2] = 0
        return 1
    if lo < 0:
        seg[0, 0] = lo + width
        seg[0, 1] = width - 1
        seg[0, 2] = -width
        seg[1, 0] = 0
        seg[1, 1] = hi
        seg[1, 2] = 0
        return 2
    if hi >= width:
        seg[0, 0] = lo
        seg[0, 1] = width - 1
        seg[0, 2] = 0
        seg[1, 0] = 0
        seg[1, 1] = hi - width
        seg[1, 2] = width
        return 2
    seg[0, 0] = lo
    seg[0, 1] = hi
    seg[0, 2] = 0
    return 1


@njit(cache=True)
def bucket_books(cell_start, ncell, cell_list, d_price, cell_police, width, risk_cost, b_cell, b_x, b_price, b_risk):
    """Per bucket entry ``k`` (dealer ``cell_list[k]``): its cell, column, price and the risk part
    of its full price (``risk_cost * police``), in bucket order for :func:`build_candidates`."""
    for c in range(ncell):
        s0 = cell_start[c]
        s1 = cell_start[c + 1]
        if s0 == s1:
            continue
        x = c % width
        risk = risk_cost * cell_police[c]
        for k in range(s0, s1):
            b_cell[k] = c
            b_x[k] = x
            b_price[k] = d_price[cell_list[k]]
            b_risk[k] = risk


@njit(cache=True)
def build_candidates(cells, cell_start, b_x, b_price, b_risk, width, height, torus, radius, travel_cost,
                     cand_start, cand):
    """Candidate lists of every home cell in ``cells``, as CSR: entries ``cand_start[h]`` to
    ``cand_start[h + 1]`` of ``cand`` (float64[:, 2]: full price = price + travel + risk, and
    the dealer's bucket index), in the reference's scan order (rows, then columns, then bucket
    order within a cell). ``b_x``, ``b_price``, ``b_risk``: from :func:`bucket_books`.
    Returns the number of entries needed; if that exceeds ``len(cand)`` nothing past the end
    is written and the caller must grow ``cand`` and call again. Requires
    ``2 * radius + 1 <= width`` on a torus (each cell within reach is then visited once per row)."""
    cap = cand.shape[0]
    seg = np.empty((2, 3), np.int64)
    n = 0
    for h in range(cells.shape[0]):
        cand_start[h] = min(n, cap)
        c0 = cells[h]
        x0 = c0 % width
        y0 = c0 // width
        nseg = _row_segment(x0, radius, width, torus, seg)
        for dy in range(-radius, radius + 1):
            y = wrap(y0 + dy, height, torus)
            if y < 0:
                continue
            ady = abs(dy)
            row = y * width
            for j in range(nseg):
                k0 = cell_start[row + seg[j, 0]]
                k1 = cell_start[row + seg[j, 1] + 1]
                shift = seg[j, 2] - x0
                for k in range(k0, k1):
                    dist = max(abs(b_x[k] + shift), ady)
                    if n < cap:
                        cand[n, 0] = b_price[k] + (travel_cost * dist + b_risk[k])
                        cand[n, 1] = k
                    n += 1
    cand_start[cells.shape[0]] = min(n, cap)
    return n


@njit(cache=True)
def market_round(u_home, u_cell, u_demand, u_elast, u_supplier, u_bought,
                 d_cell, d_inv, d_price, d_cash, d_sales, d_stockout,
                 n_street, cell_list, b_cell, cand_start, cand,
                 cell_sales, cell_unmet, loyalty, reference_price, max_tries, rng, work):
    """:func:`retail_market` on prebuilt candidate lists (:func:`build_candidates`): the same
    purchases, in the same random order, with the same draws from ``rng``, the same sums.

    Users are visited in random order, so at a million users each access to a user's data
    misses the cache. The round therefore runs in passes: gather what each user needs into
    arrays in visiting order (independent loads, which the CPU overlaps), match users to
    dealers reading those arrays sequentially and keeping the dealers' books in compact
    bucket-ordered copies (which stay in cache), then scatter the results back. Every float
    sum is accumulated in the reference's order, so results are bit-identical.

    ``work`` is a :class:`MarketWork` of scratch arrays sized for the users and dealer slots.
    """
    order, g_home, g_lo, g_hi, g_supk, g_demand, g_elast, g_bought = (
        work.order, work.g_home, work.g_lo, work.g_hi, work.g_supk, work.g_demand, work.g_elast, work.g_bought)
    b_pos, b_inv, b_price, b_sales, b_cash, b_out, b_cs, cs_sales = (
        work.b_pos, work.b_inv, work.b_price, work.b_sales, work.b_cash, work.b_out, work.b_cs, work.cs_sales)
    # dealers' books in bucket order; the cells they sell in, numbered in bucket order
    ncs = -1
    for k in range(n_street):
        d = cell_list[k]
        b_pos[d] = k
        b_inv[k] = d_inv[d]
        b_price[k] = d_price[d]
        b_sales[k] = d_sales[d]
        b_cash[k] = d_cash[d]
        b_out[k] = d_stockout[d]
        if k == 0 or b_cell[k] != b_cell[k - 1]:
            ncs += 1
            cs_sales[ncs] = cell_sales[d_cell[d]]
        b_cs[k] = ncs
    n = u_cell.shape[0]
    shuffle_into(order, n, rng)
    for i in range(n):  # gather (loads independent of each other: the CPU overlaps their misses)
        u = order[i]
        g_home[i] = u_home[u]
        sup = u_supplier[u]
        g_supk[i] = b_pos[sup] if sup >= 0 else -1
        g_demand[i] = u_demand[u]
        g_elast[i] = u_elast[u]
    for i in range(n):
        h = g_home[i]
        g_lo[i] = cand_start[h]
        g_hi[i] = cand_start[h + 1]
    sold = 0.0
    unmet = 0.0
    served = 0
    ahead = 8  # users
    for i in range(n):  # match
        if i + ahead < n:  # the candidate list of a user a few visits ahead: first and last line
            prefetch(cand, g_lo[i + ahead])
            prefetch(cand, max(g_hi[i + ahead] - 1, 0))
        s0 = g_lo[i]
        s1 = g_hi[i]
        sup_k = g_supk[i]
        bought = 0.0
        want = -1.0
        for _t in range(max_tries):
            best = -1
            best_full = np.inf
            for j in range(s0, s1):
                # the reference's scan without branches (its `continue`/`if` mispredict on most
                # candidates): skip dealers out of stock, loyalty discount for the last supplier,
                # strictly lower full price wins (ties: first in scan order)
                k = np.int64(cand[j, 1])
                full = cand[j, 0] - (loyalty if k == sup_k else 0.0)
                better = (not (b_inv[k] <= 0.0)) & (full < best_full)
                best_full = full if better else best_full
                best = k if better else best
            if best < 0:
                break
            if want < 0.0:
                want = purchase_quantity(g_demand[i], g_elast[i], best_full + (loyalty if best == sup_k else 0.0),
                                         reference_price)
            q = min(want - bought, b_inv[best])
            b_inv[best] -= q
            if b_inv[best] <= 1e-12:
                b_inv[best] = 0.0
                b_out[best] = 1
            b_sales[best] += q
            b_cash[best] += q * b_price[best]
            cs_sales[b_cs[best]] += q
            bought += q
            sup_k = best
            if bought >= want - 1e-12:
                break
        g_bought[i] = bought
        g_supk[i] = sup_k if bought > 0.0 else -2  # -2: no purchase, supplier unchanged
        if want < 0.0:
            want = g_demand[i]  # nobody within reach: the whole base demand goes unmet
        short = want - bought
        g_demand[i] = short  # reused: the user's shortfall, added to its home cell below
        if short > 0.0:
            unmet += short
        if bought > 0.0:
            served += 1
            sold += bought
    for k in range(n_street):
        d = cell_list[k]
        b_pos[d] = -1
        d_inv[d] = b_inv[k]
        d_sales[d] = b_sales[k]
        d_cash[d] = b_cash[k]
        d_stockout[d] = b_out[k]
        cell_sales[d_cell[d]] = cs_sales[b_cs[k]]
    for i in range(n):  # scatter, in visiting order (cell sums add up in the reference's order)
        u = order[i]
        u_bought[u] = g_bought[i]
        if g_supk[i] != -2:
            u_supplier[u] = cell_list[g_supk[i]]
        if g_demand[i] > 0.0:
            cell_unmet[u_cell[u]] += g_demand[i]
    return sold, unmet, served


@njit(cache=True)
def update_prices(d_active, d_jail_until, step, d_cell, d_org, d_price, d_sales, d_sales_avg, d_inv, d_stockout,
                  o_unit_cost, cell_police, cell_dealers, risk_premium, arrest_k, adjustment, smoothing):
    """Adaptive pricing with a risk premium (Reuter & Kleiman 1986).

    Up after a stock-out, down when more stock is left than was sold; never below the
    dealer's unit cost plus ``risk_premium`` times its weekly arrest probability.
    """
    for d in range(d_active.shape[0]):
        if d_active[d] == 0 or d_jail_until[d] > step:
            continue
        if d_stockout[d] == 1:
            d_price[d] *= 1.0 + adjustment
        elif d_inv[d] > d_sales[d]:
            d_price[d] *= 1.0 - adjustment
        c = d_cell[d]
        risk = arrest_probability(arrest_k, cell_police[c], cell_dealers[c])
        floor = o_unit_cost[d_org[d]] + risk_premium * risk
        if d_price[d] < floor:
            d_price[d] = floor
        d_sales_avg[d] = (1.0 - smoothing) * d_sales_avg[d] + smoothing * d_sales[d]
