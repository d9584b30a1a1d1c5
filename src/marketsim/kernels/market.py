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
from .prefetch import prefetch_row, prefetch_row_w
from .rand import randint

# ----------------------------------------------------------------------------------------
# Sampling "a dealer within reach" must not cost a scan of every cell within reach. Dealers do not
# move during the market round. So, once per week and in cell order, each *home cell that has
# users* gets its candidate list: the bucket index of every street dealer within reach, in scan
# order (rows, then columns, then bucket order). A row of cells within reach is one contiguous
# range of the dealer bucket (cells are numbered row by row), so building the list takes 2r+1
# range look-ups per home cell. A search sample is then one uniform index into the user's
# home-cell list.
#
# Users are visited in random order, and at a million users each access to a user's data misses
# the cache. So each user's weekly data is packed into one 64-byte record (``MarketWork.ur``) placed
# at its position in the visiting order (a pass in user order), matched in sequence, and copied back
# in user order; each street dealer's book is one 64-byte record in bucket order
# (``MarketWork.bk``), so an option costs one cache line.
# ----------------------------------------------------------------------------------------

#: most contacts a user can keep (``users.contacts`` is bounded by it)
MAX_CONTACTS = 8
#: most dealers a search samples (``users.search_samples`` is bounded by it)
MAX_SAMPLES = 8

#: columns of a user's weekly record (``MarketWork.ur``: float64[users, 8] and its int32 view ``uri``,
#: one 64-byte cache line per user): float64 0 demand (then the units bought), 1 elasticity; int32 4
#: first candidate of the home cell, 5 how many, 6 supplier (bucket index; -1 none; -2 after the round:
#: no purchase), 7 home cell, 8.. contacts (bucket indices, -1 empty)
U_DEMAND, U_ELAST = 0, 1
U_LO, U_NR, U_SUP, U_CELL, U_CON = 4, 5, 6, 7, 8
#: columns of a street dealer's record (``MarketWork.bk``: float64[dealers, 8] and its int32 view
#: ``bki``, one cache line per dealer, bucket order): float64 0 price, 1 risk part of the full price,
#: 2 stock, 3 sales, 4 cash, 5 probability of selling to a stranger; int32 12 column, 13 row,
#: 14 organisation, 15 index of his cell among the cells with street dealers
B_PRICE, B_RISK, B_INV, B_SALES, B_CASH, B_OPEN = 0, 1, 2, 3, 4, 5
B_X, B_Y, B_ORG, B_CS = 12, 13, 14, 15

MarketWork = namedtuple("MarketWork", [
    "order",  # int32[users]: the random user order
    "pos",  # int32[users]: each user's place in that order
    "ur", "uri",  # the users' weekly records in visiting order (columns U_*): float64[users, 8], int32 view
    "bk", "bki",  # street dealers' records in bucket order (columns B_*): float64[dealers, 8], int32 view
    "b_pos",  # int32[max_dealers]: bucket index of a street dealer slot; -1 between rounds
    "b_out",  # int8[max_dealers]: stock-out flag in bucket order
    "cs_sales",  # float64[max_dealers]: sales of the cells with street dealers
    "lost",  # int8[max_dealers]: the slot's dealer was jailed, left or replaced since the last round
    "o_start",  # int64[max_orgs + 1]: street members of each organisation (CSR into o_list)
    "o_fill",  # int64[max_orgs]: cursor
    "o_list",  # int32[max_dealers]: bucket indices of street members, by organisation
])


def _lines(rows: int) -> np.ndarray:
    """float64[rows, 8] starting on a 64-byte boundary: each row is one cache line."""
    buf = np.zeros(rows * 8 + 8)
    off = (-buf.ctypes.data % 64) // 8
    return buf[off: off + rows * 8].reshape(rows, 8)


def market_work(n_users: int, max_dealers: int, max_orgs: int = 1, contacts: int = 4) -> MarketWork:
    """Scratch arrays for :func:`market_round` (``contacts`` at most ``MAX_CONTACTS``)."""
    if not 1 <= contacts <= MAX_CONTACTS:
        raise ValueError(f"contacts must be 1..{MAX_CONTACTS}")
    e = np.empty
    it = np.int32 if n_users < 2**31 else np.int64
    ur = _lines(n_users)
    bk = _lines(max_dealers)
    return MarketWork(
        order=e(n_users, it), pos=e(n_users, it), ur=ur, uri=ur.view(np.int32), bk=bk, bki=bk.view(np.int32),
        b_pos=np.full(max_dealers, -1, np.int32), b_out=e(max_dealers, np.int8), cs_sales=e(max_dealers),
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
def bucket_books(cell_start, ncell, cell_police, risk_cost, b_cell, b_risk):
    """Per bucket entry ``k``: its cell and the risk part of its dealer's full price
    (``risk_cost * police`` in that cell), in bucket order."""
    for c in range(ncell):
        s0 = cell_start[c]
        s1 = cell_start[c + 1]
        if s0 == s1:
            continue
        risk = risk_cost * cell_police[c]
        for k in range(s0, s1):
            b_cell[k] = c
            b_risk[k] = risk


@njit(cache=True)
def build_candidates(cells, cell_start, width, height, torus, radius, cand_start, cand):
    """Candidate lists of every home cell in ``cells``, as CSR: entries ``cand_start[h]`` to
    ``cand_start[h + 1]`` of ``cand`` (int32: bucket indices of the street dealers within reach),
    in the reference's scan order (rows, then columns, then bucket order within a cell).
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
            row = y * width
            for j in range(nseg):
                k0 = cell_start[row + seg[j, 0]]
                k1 = cell_start[row + seg[j, 1] + 1]
                for k in range(k0, k1):
                    if n < cap:
                        cand[n] = k
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
    (:func:`build_candidates`, same ``radius``; fewer than 2**31 entries). ``work``: a
    :class:`MarketWork`.
    Returns (units sold, unmet units, users served, units sold to strangers, users who know no
    dealer after the round, strangers approached, strangers refused).
    """
    order, pos, ur, uri, bk, bki = work.order, work.pos, work.ur, work.uri, work.bk, work.bki
    b_pos, b_out, cs_sales, lost, o_start, o_fill, o_list = (
        work.b_pos, work.b_out, work.cs_sales, work.lost, work.o_start, work.o_fill, work.o_list)
    n_contacts = u_contacts.shape[1]
    # dealers jailed, gone or replaced since the last round lose every contact
    for d in range(d_active.shape[0]):
        on = d_active[d] == 1 and d_jail_until[d] <= t
        same = d_uid[d] == d_known_uid[d] and d_jail_until[d] == d_known_jail[d]
        lost[d] = 0 if (on and same) else 1
        d_known_uid[d] = d_uid[d]
        d_known_jail[d] = d_jail_until[d]
    # dealers' records in bucket order; the cells they sell in, numbered in bucket order
    no = o_start.shape[0] - 1
    o_start[:] = 0
    ncs = -1
    for k in range(n_street):
        d = cell_list[k]
        b_pos[d] = k
        bk[k, B_PRICE] = d_price[d]
        bk[k, B_RISK] = b_risk[k]
        bk[k, B_INV] = d_inv[d]
        bk[k, B_SALES] = d_sales[d]
        bk[k, B_CASH] = d_cash[d]
        b_out[k] = d_stockout[d]
        o = d_org[d]
        bki[k, B_ORG] = o
        bki[k, B_X] = b_cell[k] % width
        bki[k, B_Y] = b_cell[k] // width
        bk[k, B_OPEN] = o_open[o] if 0 <= o < no else 1.0
        if 0 <= o < no:
            o_start[o + 1] += 1
        if k == 0 or b_cell[k] != b_cell[k - 1]:
            ncs += 1
            cs_sales[ncs] = cell_sales[d_cell[d]]
        bki[k, B_CS] = ncs
    # street members by organisation (referrals)
    for o in range(no):
        o_start[o + 1] += o_start[o]
        o_fill[o] = o_start[o]
    for k in range(n_street):
        o = bki[k, B_ORG]
        if 0 <= o < no:
            o_list[o_fill[o]] = k
            o_fill[o] += 1
    n = u_cell.shape[0]
    shuffle_into(order, n, rng)
    for i in range(n):
        if i + 16 < n:
            prefetch_row_w(pos, order[i + 16])
        pos[order[i]] = i
    # Users are visited in random order; at a million users each visit to a user's data would miss
    # the cache once per array. So each user's weekly data is packed into one cache line, written
    # straight to its place in the visiting order (reads in user order, independent stores); the
    # matching then reads the records in sequence, and the results go back in user order.
    for u in range(n):
        if u + 16 < n:
            prefetch_row_w(ur, pos[u + 16])
        i = pos[u]
        h = u_home[u]
        lo = cand_start[h]
        ur[i, U_DEMAND] = u_demand[u]
        ur[i, U_ELAST] = u_elast[u]
        uri[i, U_LO] = lo
        uri[i, U_NR] = cand_start[h + 1] - lo
        sup = u_supplier[u]
        uri[i, U_SUP] = b_pos[sup] if sup >= 0 else -1
        uri[i, U_CELL] = home[h]
        m = 0
        for j in range(n_contacts):
            d = u_contacts[u, j]
            if d >= 0 and lost[d] == 0 and b_pos[d] >= 0:
                uri[i, U_CON + m] = b_pos[d]
                m += 1
        for j in range(m, n_contacts):
            uri[i, U_CON + j] = -1
    cap = n_contacts + 1 + search_samples
    opt_k = np.empty(cap, np.int64)
    opt_full = np.empty(cap)
    opt_kind = np.empty(cap, np.int8)  # 1: a contact, 2: referred by one, 0: a stranger
    opt_slot = np.empty(cap, np.int64)  # the contact list slot holding it, -1 none
    opt_score = np.empty(cap)  # what keeping it as a contact is worth: -full price (-inf when unusable)
    met = np.empty(max(search_samples, 1), np.int32)  # the dealers a search samples
    sold = 0.0
    unmet = 0.0
    served = 0
    strangers = 0.0
    no_contact = 0
    approached = 0
    refused = 0
    for i in range(n):  # match, in visiting order
        if i + 2 < n:  # the dealers the user after next knows: their books are needed soon
            for j in range(n_contacts):
                k = uri[i + 2, U_CON + j]
                if k >= 0:
                    prefetch_row(bk, k)
            prefetch_row(cand, uri[i + 2, U_LO])  # and where its search would start
        c0 = uri[i, U_CELL]
        x0 = c0 % width
        y0 = c0 // width
        sup_k = uri[i, U_SUP]
        nopt = 0
        usable = 0
        ncon = 0
        for j in range(n_contacts):
            k = uri[i, U_CON + j]
            if k < 0:
                break
            dist = _dist(x0, y0, bki[k, B_X], bki[k, B_Y], width, height, torus)
            if dist > radius:
                continue  # moved out of reach: forgotten
            uri[i, U_CON + ncon] = k
            opt_k[nopt] = k
            opt_full[nopt] = bk[k, B_PRICE] + (travel_cost * dist + bk[k, B_RISK])
            opt_kind[nopt] = 1
            opt_slot[nopt] = ncon
            opt_score[nopt] = -opt_full[nopt] if bk[k, B_INV] > 0.0 else -np.inf
            if bk[k, B_INV] > 0.0:
                usable += 1
            ncon += 1
            nopt += 1
        for j in range(ncon, n_contacts):
            uri[i, U_CON + j] = -1
        s0 = uri[i, U_LO]
        nr = uri[i, U_NR]  # street dealers within reach
        # search when too few contacts can sell, or to shop around; never when the user already
        # knows every street dealer within reach (contacts are distinct and within reach)
        search = ncon < nr and usable < n_contacts
        if not search and ncon < nr and explore_prob > 0.0:
            search = rng.random() < explore_prob
        if search:
            if ncon > 0:  # ask a contact to introduce another street member of his organisation
                kc = uri[i, U_CON + randint(rng, 0, ncon)]
                o = bki[kc, B_ORG]
                if 0 <= o < no and o_start[o + 1] - o_start[o] >= 2:
                    m0 = o_start[o]
                    m = o_start[o + 1] - m0
                    k2 = np.int64(o_list[m0 + randint(rng, 0, m - 1)])
                    if k2 == kc:
                        k2 = np.int64(o_list[m0 + m - 1])
                    dist = _dist(x0, y0, bki[k2, B_X], bki[k2, B_Y], width, height, torus)
                    if dist <= radius and not _has(opt_k, nopt, k2):
                        opt_k[nopt] = k2
                        opt_full[nopt] = bk[k2, B_PRICE] + (travel_cost * dist + bk[k2, B_RISK])
                        opt_kind[nopt] = 2
                        opt_slot[nopt] = -1
                        nopt += 1
            if nr > 0:  # dealers met by asking around: uniform among the street dealers within reach
                for j in range(search_samples):  # drawn first: the look-ups then overlap
                    met[j] = cand[s0 + randint(rng, 0, nr)]
                for _s in range(search_samples):
                    k = np.int64(met[_s])
                    if _has(opt_k, nopt, k):
                        continue
                    p = bk[k, B_OPEN]
                    approached += 1
                    if p < 1.0 and not (rng.random() < p):
                        refused += 1
                        continue  # he does not sell to someone he does not know
                    dist = _dist(x0, y0, bki[k, B_X], bki[k, B_Y], width, height, torus)
                    opt_k[nopt] = k
                    opt_full[nopt] = bk[k, B_PRICE] + (travel_cost * dist + bk[k, B_RISK])
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
                if bk[k, B_INV] > 0.0 and full < best_full:
                    best_full = full
                    best = j
            if best < 0:
                break
            k = opt_k[best]
            if want < 0.0:
                want = purchase_quantity(ur[i, U_DEMAND], ur[i, U_ELAST], opt_full[best], reference_price)
            q = min(want - bought, bk[k, B_INV])
            inv = bk[k, B_INV] - q
            if inv <= 1e-12:
                inv = 0.0
                b_out[k] = 1
            bk[k, B_INV] = inv
            bk[k, B_SALES] += q
            bk[k, B_CASH] += q * bk[k, B_PRICE]
            cs_sales[bki[k, B_CS]] += q
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
                    uri[i, U_CON + slot] = k
                    opt_slot[best] = slot
            opt_kind[best] = 1
            opt_score[best] = np.inf  # bought from this week: kept
            if bought >= want - 1e-12:
                break
        for j in range(nopt):  # dealers met this week who would sell to it fill free contact slots
            if ncon >= n_contacts:
                break
            if opt_slot[j] < 0 and opt_kind[j] != 1:
                uri[i, U_CON + ncon] = opt_k[j]
                opt_slot[j] = ncon
                ncon += 1
        if want < 0.0:
            want = ur[i, U_DEMAND]  # nobody to buy from: the whole base demand goes unmet
        short = want - bought
        if short > 0.0:
            unmet += short
        ur[i, U_DEMAND] = bought
        ur[i, U_ELAST] = short
        uri[i, U_SUP] = sup_k if bought > 0.0 else -2  # -2: no purchase, supplier unchanged
        if bought > 0.0:
            served += 1
            sold += bought
        if ncon == 0:
            no_contact += 1
    for k in range(n_street):
        d = cell_list[k]
        b_pos[d] = -1
        d_inv[d] = bk[k, B_INV]
        d_sales[d] = bk[k, B_SALES]
        d_cash[d] = bk[k, B_CASH]
        d_stockout[d] = b_out[k]
        cell_sales[d_cell[d]] = cs_sales[bki[k, B_CS]]
    # results back in user order: one load that misses per user, and no branch on what it
    # brings (a mispredicted branch waiting on a miss would serialise the misses)
    for u in range(n):
        if u + 16 < n:
            prefetch_row(ur, pos[u + 16])
        i = pos[u]
        u_bought[u] = ur[i, U_DEMAND]
        cell_unmet[u_cell[u]] += max(ur[i, U_ELAST], 0.0)  # unmet demand at the user's home cell
        k = uri[i, U_SUP]
        d = cell_list[max(k, 0)]
        u_supplier[u] = d if k != -2 else u_supplier[u]
        for j in range(n_contacts):
            k = uri[i, U_CON + j]
            d = cell_list[max(k, 0)]
            u_contacts[u, j] = d if k >= 0 else -1
    return sold, unmet, served, strangers, no_contact, approached, refused



def reach_radius(width: int, height: int, torus: bool, radius: int) -> int:
    """The search radius the market uses: on a torus narrower than the reach (2r + 1 cells), the
    reach is clamped so that it covers the city once (every cell counted once)."""
    if torus:
        return min(radius, (min(width, height) - 1) // 2)
    return radius


def run_market(s, ws, t, users, o_open, rng, max_tries=3, py=False):
    """The week's market on state ``s`` with workspace ``ws`` (:class:`marketsim.state.Workspace`):
    the risk part of each street dealer's price, candidate lists of every home cell, then
    :func:`market_round`. ``users``: the scenario's ``Users`` section; ``py``: run the kernels as
    plain Python (their ``py_func``). Returns what :func:`market_round` returns."""
    k = (lambda f: f.py_func) if py else (lambda f: f)
    r = reach_radius(s.width, s.height, s.torus, users.search_radius)
    k(bucket_books)(s.cell_start, s.ncell, s.cell_police, users.risk_cost, ws.b_cell, ws.b_risk)
    while True:
        need = k(build_candidates)(ws.home_cells, s.cell_start, s.width, s.height, s.torus, r, ws.cand_start,
                                   ws.cand)
        if need <= ws.cand.shape[0]:
            break
        ws.grow_candidates(need)
    if need >= 2**31:  # the users' records hold candidate offsets as int32
        raise MemoryError(f"{need} market candidates (dealers within reach of each home cell): at most 2**31 - 1")
    return k(market_round)(
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
