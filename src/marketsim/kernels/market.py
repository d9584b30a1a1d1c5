"""Retail market (DESIGN process 4): users buy from the dealers they know; dealers reprice.

Users know their dealers (Eck 1995; May & Hough 2004). Each user keeps a bounded list of
contacts (``u_contacts``, at most ``users.contacts`` dealer slots, -1 empty) and buys from
them first. A user with fewer usable contacts (on the street, within reach, with stock) than
that, or one who shops around this week (``users.explore_prob``), searches: it asks one of its
contacts for a referral to another street member of the contact's organisation, and samples
``users.search_samples`` dealers among those within reach. A dealer sells to a referred user as
to a contact; to a stranger only with probability ``exp(-market.stranger_caution x perceived
arrest risk)`` of his organisation (a closed market under enforcement pressure). Among the dealers
it can buy from, a user picks the lowest full price (price + travel + risk, minus
``users.loyalty_discount`` for a dealer it knows) with stock, up to three dealers a week; a new
dealer it bought from becomes a contact (replacing the worst one when the list is full), and the
other dealers it met who would have sold to it fill any free contact slots.
Contacts are lost when the dealer is jailed, leaves (his slot is freed or reused) or moves out
of reach. The cost per user is O(contacts + search samples), whatever the density of dealers.
"""

from collections import namedtuple

import numpy as np
from numba import njit

from .decisions import arrest_probability, purchase_quantity
from .grid import shuffle_into, wrap
from .rand import randint

# ----------------------------------------------------------------------------------------
# Sampling "a dealer within reach" must not cost a scan of every cell within reach. Prices and
# police do not change during the market round; only stocks do. So, once per week and in cell
# order, each *home cell that has users* gets its candidate list: every street dealer within
# reach, in scan order (rows, then columns, then bucket order), with its full price (price +
# travel + risk). A row of cells within reach is one contiguous range of the dealer bucket
# (cells are numbered row by row), so building the list takes 2r+1 range look-ups per home cell.
# A search sample is then one uniform index into the user's home-cell list.
#
# Users are visited in random order, so at a million users each access to a user's data misses
# the cache. The round runs in passes: gather what each user needs into arrays in visiting order
# (independent loads, which the CPU overlaps), match users to dealers reading those arrays
# sequentially and keeping the dealers' books in compact bucket-ordered copies (which stay in
# cache), then scatter the results back.
# ----------------------------------------------------------------------------------------

#: most contacts a user can keep (``users.contacts`` is bounded by it)
MAX_CONTACTS = 8
#: most dealers a search samples (``users.search_samples`` is bounded by it)
MAX_SAMPLES = 8

MarketWork = namedtuple("MarketWork", [
    "order",  # int32[users]: the random user order
    "g_home",  # int32[users]: home-cell index of each user, in visiting order
    "g_lo", "g_hi",  # int64[users]: each user's candidate range in ``cand``, in visiting order
    "g_supk",  # int32[users]: bucket index of the user's supplier (-1 none), then of the new one (-2 unchanged)
    "g_demand", "g_elast", "g_bought",  # float64[users]
    "g_con",  # int32[users, contacts]: the user's usable contacts as bucket indices (-1 empty), visiting order
    "b_pos",  # int32[max_dealers]: bucket index of a street dealer slot; -1 between rounds
    "b_inv", "b_price", "b_sales", "b_cash",  # float64[max_dealers]: dealers' books in bucket order
    "b_out",  # int8[max_dealers]: stock-out flag in bucket order
    "b_cs",  # int32[max_dealers]: index of the dealer's cell among the cells with street dealers
    "cs_sales",  # float64[max_dealers]: sales of those cells
    "b_open",  # float64[max_dealers]: probability the dealer sells to a stranger, bucket order
    "b_org",  # int32[max_dealers]: the dealer's organisation, bucket order
    "b_xy",  # int32[max_dealers, 2]: column and row of the dealer's cell, bucket order
    "lost",  # int8[max_dealers]: the slot's dealer was jailed, left or replaced since the last round
    "o_start",  # int64[max_orgs + 1]: street members of each organisation (CSR into o_list)
    "o_fill",  # int64[max_orgs]: cursor
    "o_list",  # int32[max_dealers]: bucket indices of street members, by organisation
])


def market_work(n_users: int, max_dealers: int, max_orgs: int = 1, contacts: int = 4) -> MarketWork:
    """Scratch arrays for :func:`market_round`."""
    e = np.empty
    return MarketWork(
        order=e(n_users, np.int32 if n_users < 2**31 else np.int64),
        g_home=e(n_users, np.int32), g_lo=e(n_users, np.int64), g_hi=e(n_users, np.int64),
        g_supk=e(n_users, np.int32),
        g_demand=e(n_users), g_elast=e(n_users), g_bought=e(n_users),
        g_con=e((n_users, contacts), np.int32),
        b_pos=np.full(max_dealers, -1, np.int32),
        b_inv=e(max_dealers), b_price=e(max_dealers), b_sales=e(max_dealers), b_cash=e(max_dealers),
        b_out=e(max_dealers, np.int8), b_cs=e(max_dealers, np.int32), cs_sales=e(max_dealers),
        b_open=e(max_dealers), b_org=e(max_dealers, np.int32), b_xy=e((max_dealers, 2), np.int32),
        lost=e(max_dealers, np.int8),
        o_start=e(max_orgs + 1, np.int64), o_fill=e(max_orgs, np.int64), o_list=e(max_dealers, np.int32),
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


@njit(cache=True, inline="always")
def _dist(x0, y0, x1, y1, width, height, torus):
    """Chebyshev distance between cells given by column and row (no integer division)."""
    dx = abs(x1 - x0)
    dy = abs(y1 - y0)
    if torus:
        dx = min(dx, width - dx)
        dy = min(dy, height - dy)
    return max(dx, dy)


@njit(cache=True)
def _has(opt_k, nopt, k):
    for j in range(nopt):
        if opt_k[j] == k:
            return True
    return False


@njit(cache=True)
def market_round(t, u_home, u_cell, u_demand, u_elast, u_supplier, u_bought, u_contacts,
                 d_active, d_uid, d_jail_until, d_known_uid, d_known_jail, d_cell, d_org,
                 d_inv, d_price, d_cash, d_sales, d_stockout, o_open,
                 n_street, cell_list, b_cell, b_risk, home, cand_start, cand, cell_sales, cell_unmet,
                 width, height, torus, radius, travel_cost, loyalty, reference_price, max_tries,
                 search_samples, explore_prob, rng, work):
    """One week's retail market: every user, in random order, buys from the dealers it knows or
    finds (module docstring). Sales are recorded at the dealer's cell; what is not bought is unmet
    demand, recorded at the user's home cell.

    ``t``: this week; ``u_contacts`` (int32[users, contacts]): each user's contacts (dealer slots,
    -1 empty, kept compacted); ``d_known_uid``/``d_known_jail``: each dealer slot's uid and release
    week at the last round (a change, or a dealer off the street, drops his contacts);
    ``o_open``: each organisation's probability of selling to a stranger this week; ``b_risk``:
    the risk part of the full price in bucket order (:func:`bucket_books`); ``home``: the home
    cells of :func:`home_cells`; ``cand_start``/``cand``: their candidate lists
    (:func:`build_candidates`, same ``radius``). ``work``: a :class:`MarketWork`.
    Returns (units sold, unmet units, users served, units sold to strangers, users who know no
    dealer after the round, strangers approached, strangers refused).
    """
    order, g_home, g_lo, g_hi, g_supk, g_demand, g_elast, g_bought, g_con = (
        work.order, work.g_home, work.g_lo, work.g_hi, work.g_supk, work.g_demand, work.g_elast, work.g_bought,
        work.g_con)
    b_pos, b_inv, b_price, b_sales, b_cash, b_out, b_cs, cs_sales = (
        work.b_pos, work.b_inv, work.b_price, work.b_sales, work.b_cash, work.b_out, work.b_cs, work.cs_sales)
    b_open, b_org, b_xy, lost, o_start, o_fill, o_list = (
        work.b_open, work.b_org, work.b_xy, work.lost, work.o_start, work.o_fill, work.o_list)
    n_contacts = u_contacts.shape[1]
    # dealers jailed, gone or replaced since the last round lose every contact
    for d in range(d_active.shape[0]):
        on = d_active[d] == 1 and d_jail_until[d] <= t
        same = d_uid[d] == d_known_uid[d] and d_jail_until[d] == d_known_jail[d]
        lost[d] = 0 if (on and same) else 1
        d_known_uid[d] = d_uid[d]
        d_known_jail[d] = d_jail_until[d]
    # dealers' books in bucket order; the cells they sell in, numbered in bucket order
    no = o_start.shape[0] - 1
    o_start[:] = 0
    ncs = -1
    for k in range(n_street):
        d = cell_list[k]
        b_pos[d] = k
        b_inv[k] = d_inv[d]
        b_price[k] = d_price[d]
        b_sales[k] = d_sales[d]
        b_cash[k] = d_cash[d]
        b_out[k] = d_stockout[d]
        o = d_org[d]
        b_org[k] = o
        b_xy[k, 0] = b_cell[k] % width
        b_xy[k, 1] = b_cell[k] // width
        b_open[k] = o_open[o] if 0 <= o < no else 1.0
        if 0 <= o < no:
            o_start[o + 1] += 1
        if k == 0 or b_cell[k] != b_cell[k - 1]:
            ncs += 1
            cs_sales[ncs] = cell_sales[d_cell[d]]
        b_cs[k] = ncs
    # street members by organisation (referrals)
    for o in range(no):
        o_start[o + 1] += o_start[o]
        o_fill[o] = o_start[o]
    for k in range(n_street):
        o = b_org[k]
        if 0 <= o < no:
            o_list[o_fill[o]] = k
            o_fill[o] += 1
    n = u_cell.shape[0]
    shuffle_into(order, n, rng)
    for i in range(n):  # gather (loads independent of each other: the CPU overlaps their misses)
        u = order[i]
        g_home[i] = u_home[u]
        sup = u_supplier[u]
        g_supk[i] = b_pos[sup] if sup >= 0 else -1
        g_demand[i] = u_demand[u]
        g_elast[i] = u_elast[u]
        m = 0
        for j in range(n_contacts):
            d = u_contacts[u, j]
            if d >= 0 and lost[d] == 0 and b_pos[d] >= 0:
                g_con[i, m] = b_pos[d]
                m += 1
        for j in range(m, n_contacts):
            g_con[i, j] = -1
    for i in range(n):
        h = g_home[i]
        g_lo[i] = cand_start[h]
        g_hi[i] = cand_start[h + 1]
    cap = n_contacts + 1 + search_samples
    opt_k = np.empty(cap, np.int64)
    opt_full = np.empty(cap)
    opt_kind = np.empty(cap, np.int8)  # 1: a contact, 2: referred by one, 0: a stranger
    opt_slot = np.empty(cap, np.int64)  # the contact list slot holding it, -1 none
    opt_score = np.empty(cap)  # what keeping it as a contact is worth: -full price (-inf when unusable)
    sold = 0.0
    unmet = 0.0
    served = 0
    strangers = 0.0
    no_contact = 0
    approached = 0
    refused = 0
    for i in range(n):  # match
        c0 = home[g_home[i]]
        x0 = c0 % width
        y0 = c0 // width
        sup_k = g_supk[i]
        nopt = 0
        usable = 0
        ncon = 0
        for j in range(n_contacts):
            k = g_con[i, j]
            if k < 0:
                break
            dist = _dist(x0, y0, b_xy[k, 0], b_xy[k, 1], width, height, torus)
            if dist > radius:
                continue  # moved out of reach: forgotten
            g_con[i, ncon] = k
            opt_k[nopt] = k
            opt_full[nopt] = b_price[k] + (travel_cost * dist + b_risk[k])
            opt_kind[nopt] = 1
            opt_slot[nopt] = ncon
            opt_score[nopt] = -opt_full[nopt] if b_inv[k] > 0.0 else -np.inf
            if b_inv[k] > 0.0:
                usable += 1
            ncon += 1
            nopt += 1
        for j in range(ncon, n_contacts):
            g_con[i, j] = -1
        s0 = g_lo[i]
        nr = g_hi[i] - s0  # street dealers within reach
        # search when too few contacts can sell, or to shop around; never when the user already
        # knows every street dealer within reach (contacts are distinct and within reach)
        search = ncon < nr and usable < n_contacts
        if not search and ncon < nr and explore_prob > 0.0:
            search = rng.random() < explore_prob
        if search:
            if ncon > 0:  # ask a contact to introduce another street member of his organisation
                kc = g_con[i, randint(rng, 0, ncon)]
                o = b_org[kc]
                if 0 <= o < no and o_start[o + 1] - o_start[o] >= 2:
                    m0 = o_start[o]
                    m = o_start[o + 1] - m0
                    k2 = np.int64(o_list[m0 + randint(rng, 0, m - 1)])
                    if k2 == kc:
                        k2 = np.int64(o_list[m0 + m - 1])
                    dist = _dist(x0, y0, b_xy[k2, 0], b_xy[k2, 1], width, height, torus)
                    if dist <= radius and not _has(opt_k, nopt, k2):
                        opt_k[nopt] = k2
                        opt_full[nopt] = b_price[k2] + (travel_cost * dist + b_risk[k2])
                        opt_kind[nopt] = 2
                        opt_slot[nopt] = -1
                        nopt += 1
            if nr > 0:  # dealers met by asking around: uniform among the street dealers within reach
                for _s in range(search_samples):
                    j = s0 + randint(rng, 0, nr)
                    k = np.int64(cand[j, 1])
                    if _has(opt_k, nopt, k):
                        continue
                    p = b_open[k]
                    approached += 1
                    if p < 1.0 and not (rng.random() < p):
                        refused += 1
                        continue  # he does not sell to someone he does not know
                    opt_k[nopt] = k
                    opt_full[nopt] = cand[j, 0]
                    opt_kind[nopt] = 0
                    opt_slot[nopt] = -1
                    nopt += 1
        bought = 0.0
        want = -1.0
        for _t in range(max_tries):
            best = -1
            best_full = np.inf
            for j in range(nopt):
                k = opt_k[j]
                full = opt_full[j] - (loyalty if opt_kind[j] == 1 else 0.0)
                if b_inv[k] > 0.0 and full < best_full:
                    best_full = full
                    best = j
            if best < 0:
                break
            k = opt_k[best]
            if want < 0.0:
                want = purchase_quantity(g_demand[i], g_elast[i], opt_full[best], reference_price)
            q = min(want - bought, b_inv[k])
            b_inv[k] -= q
            if b_inv[k] <= 1e-12:
                b_inv[k] = 0.0
                b_out[k] = 1
            b_sales[k] += q
            b_cash[k] += q * b_price[k]
            cs_sales[b_cs[k]] += q
            bought += q
            sup_k = k
            if opt_kind[best] == 0:
                strangers += q
            if opt_slot[best] < 0:  # a new contact: a free slot, else in place of the least useful one
                slot = -1
                if ncon < n_contacts:
                    slot = ncon
                    ncon += 1
                else:
                    worst = -1
                    for j in range(nopt):
                        if opt_slot[j] >= 0 and opt_score[j] < np.inf and (worst < 0 or opt_score[j] < opt_score[worst]):
                            worst = j
                    if worst >= 0:
                        slot = opt_slot[worst]
                        opt_slot[worst] = -1
                if slot >= 0:
                    g_con[i, slot] = k
                    opt_slot[best] = slot
            opt_kind[best] = 1
            opt_score[best] = np.inf  # bought from this week: kept
            if bought >= want - 1e-12:
                break
        for j in range(nopt):  # dealers met this week who would sell to it fill free contact slots
            if ncon >= n_contacts:
                break
            if opt_slot[j] < 0 and opt_kind[j] != 1:
                g_con[i, ncon] = opt_k[j]
                opt_slot[j] = ncon
                ncon += 1
        g_bought[i] = bought
        g_supk[i] = sup_k if bought > 0.0 else -2  # -2: no purchase, supplier unchanged
        if want < 0.0:
            want = g_demand[i]  # nobody to buy from: the whole base demand goes unmet
        short = want - bought
        g_demand[i] = short  # reused: the user's shortfall, added to its home cell below
        if short > 0.0:
            unmet += short
        if bought > 0.0:
            served += 1
            sold += bought
        if ncon == 0:
            no_contact += 1
    for k in range(n_street):
        d = cell_list[k]
        b_pos[d] = -1
        d_inv[d] = b_inv[k]
        d_sales[d] = b_sales[k]
        d_cash[d] = b_cash[k]
        d_stockout[d] = b_out[k]
        cell_sales[d_cell[d]] = cs_sales[b_cs[k]]
    for i in range(n):  # scatter, in visiting order (cell sums add up in visiting order)
        u = order[i]
        u_bought[u] = g_bought[i]
        if g_supk[i] != -2:
            u_supplier[u] = cell_list[g_supk[i]]
        for j in range(n_contacts):
            k = g_con[i, j]
            u_contacts[u, j] = cell_list[k] if k >= 0 else -1
        if g_demand[i] > 0.0:
            cell_unmet[u_cell[u]] += g_demand[i]
    return sold, unmet, served, strangers, no_contact, approached, refused


def reach_radius(width: int, height: int, torus: bool, radius: int) -> int:
    """The search radius the market uses: on a torus narrower than the reach (2r + 1 cells), the
    reach is clamped so that it covers the city once (every cell counted once)."""
    if torus:
        return min(radius, (min(width, height) - 1) // 2)
    return radius


def run_market(s, ws, t, users, o_open, rng, max_tries=3):
    """The week's market on state ``s`` with workspace ``ws`` (:class:`marketsim.state.Workspace`):
    dealers' books in bucket order, candidate lists of every home cell, then :func:`market_round`.
    ``users``: the scenario's ``Users`` section. Returns what :func:`market_round` returns."""
    r = reach_radius(s.width, s.height, s.torus, users.search_radius)
    bucket_books(s.cell_start, s.ncell, s.cell_list, s.d_price, s.cell_police, s.width, users.risk_cost,
                 ws.b_cell, ws.b_x, ws.b_price, ws.b_risk)
    while True:
        need = build_candidates(ws.home_cells, s.cell_start, ws.b_x, ws.b_price, ws.b_risk, s.width, s.height,
                                s.torus, r, users.travel_cost, ws.cand_start, ws.cand)
        if need <= ws.cand.shape[0]:
            break
        ws.grow_candidates(need)
    return market_round(
        t, ws.u_home, s.u_cell, s.u_demand, s.u_elast, s.u_supplier, s.u_bought, s.u_contacts,
        s.d_active, s.d_uid, s.d_jail_until, s.d_known_uid, s.d_known_jail, s.d_cell, s.d_org,
        s.d_inv, s.d_price, s.d_cash, s.d_sales, s.d_stockout, o_open,
        int(s.cell_start[s.ncell]), s.cell_list, ws.b_cell, ws.b_risk, ws.home_cells, ws.cand_start, ws.cand,
        s.cell_sales, s.cell_unmet, s.width, s.height, s.torus, r, users.travel_cost, users.loyalty_discount,
        users.reference_price, max_tries, users.search_samples, users.explore_prob, rng, ws.market)


def stranger_openness(o_trade_num, o_trade_den, prior_a, prior_b, caution):
    """Each organisation's probability of selling to a stranger: ``exp(-caution x perceived arrest
    risk)``, the risk its own arrests taught it (Beta prior; :func:`decisions.perceived_risk`)."""
    risk = (o_trade_num + prior_a) / (o_trade_den + prior_a + prior_b)
    return np.exp(-caution * risk)


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
