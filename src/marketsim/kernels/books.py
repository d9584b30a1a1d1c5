"""Organisation bookkeeping of the weekly schedule as compiled loops.

These were a dozen numpy expressions each over the dealer and organisation slot pools;
at 10^4 users each expression costs a few microseconds of interpreter and allocation
overhead, at 10^6 users (200,000 slots) a few hundred microseconds of memory traffic. The
loops below compute the same values with the same floating-point operations in the same
order (element-wise arithmetic; sums that ``np.bincount`` accumulates in slot order), so
results are bit-identical.
"""

import numpy as np
from numba import njit

from .grid import wrap


@njit(cache=True)
def settle_sales(d_active, d_org, d_sales, d_price, d_cash, dealer_margin_share, transfer_price,
                 o_cash, o_sales, o_revenue, remit_by_org, revenue):
    """After the market: ``revenue = d_sales * d_price`` (every slot); member dealers remit
    ``(1 - dealer_margin_share) * max(price - transfer_price, 0) * sales`` to their organisation;
    ``o_sales`` and ``o_revenue`` are the week's totals by organisation. ``remit_by_org``
    (float64[max_orgs]) is scratch. Same as::

        revenue = d_sales * d_price
        remit = np.where(act, (1 - share) * np.maximum(d_price - transfer, 0) * d_sales, 0)
        d_cash -= remit
        org = np.where(act, d_org, 0)
        o_cash += np.bincount(org, weights=remit, minlength=max_orgs)
        o_sales[:] = np.bincount(org, weights=np.where(act, d_sales, 0), minlength=max_orgs)
        o_revenue[:] = np.bincount(org, weights=np.where(act, revenue, 0), minlength=max_orgs)
    """
    no = o_cash.shape[0]
    for o in range(no):
        remit_by_org[o] = 0.0
        o_sales[o] = 0.0
        o_revenue[o] = 0.0
    keep = 1.0 - dealer_margin_share
    for d in range(d_active.shape[0]):
        rev = d_sales[d] * d_price[d]
        revenue[d] = rev
        if d_active[d] == 1:
            o = d_org[d]
            remit = keep * max(d_price[d] - transfer_price, 0.0) * d_sales[d]
            d_cash[d] -= remit
            remit_by_org[o] += remit
            o_sales[o] += d_sales[d]
            o_revenue[o] += rev
        else:
            # an inactive slot adds 0.0 to organisation 0 in the numpy version: no change
            d_cash[d] -= 0.0
    for o in range(no):
        o_cash[o] += remit_by_org[o]


@njit(cache=True)
def learn(o_active, top_violent, wd, vic, response_threshold,
          o_arrests, o_street, o_trade_num, o_trade_den, o_exposure, o_exposure_base,
          o_vtop_num, o_vtop_den, o_voth_num, o_voth_den, o_violence_attr, o_attributed,
          o_sales_avg, o_sales, o_revenue_avg, o_revenue,
          announced, o_violence_prev, o_police_prev, o_pnum, o_pnum_den, o_loss_num, o_loss_den,
          o_threat_att, o_threat_ref, acted):
    """Organisations' learning step (:meth:`DrugMarketModel._learning`), from what each can observe.

    - trading risk: its own members' arrests per member-week;
    - whether violence is answered: its own case when it committed violence last week (true
      count, it knows what it did): answered when police attention around its members surged
      above its usual level by ``response_threshold`` or it was publicly named the target and
      enforcement acted on it (``acted``: the threat carried out); a publicly named target's case
      is seen by every organisation (weight 1): answered when acted on, unanswered when the name
      was not followed up (credibility is earned: Kennedy 2009); other
      organisations' cases are not observable (police records and their exposure are not
      public). ``top_violent`` (the top of the police record) only sorts the case into the
      'most violent' or 'other' belief, which the announced most-violent-first rule makes public;
    - whether attacks on police are answered: its own attacks on officers last week (answered as
      above); attacks on police are public news, and so is the answer, seen with weight ``vic``;
    - the loss a response inflicts: member arrests per member-week in weeks its own members were
      under a response, and in the named target's when it was acted on (public);
    - officers' threat beliefs (``o_threat_att``/``o_threat_ref``, police records of attacks on
      refusing officers) are discounted by ``wd``.
    """
    no = o_active.shape[0]
    n_pcase = 0.0
    n_pevent = 0.0
    for o in range(no):
        if o_active[o] == 1 and o_police_prev[o] > 0:
            n_pcase += 1.0
            surge = o_exposure[o] > (1.0 + response_threshold) * max(o_exposure_base[o], 1e-9)
            if surge or (o == announced and acted):
                n_pevent += 1.0
    t_ok = announced >= 0 and o_active[announced] == 1
    # a named target's case is answered only when enforcement acted on it (``acted``): a name
    # not followed up is public too, and lowers every observer's belief (credibility is earned)
    t_e = 1.0 if acted else 0.0
    t_top = 1 if (t_ok and announced == top_violent) else 0
    t_arrests = o_arrests[announced] if t_ok else 0
    t_weeks = o_street[announced] + o_arrests[announced] if t_ok else 0
    for o in range(no):
        o_trade_num[o] = wd * o_trade_num[o] + o_arrests[o]
        o_trade_den[o] = wd * o_trade_den[o] + o_street[o] + o_arrests[o]
        base = o_exposure_base[o]
        surge = o_exposure[o] > (1.0 + response_threshold) * max(base, 1e-9)
        responded = o_active[o] == 1 and (surge or (o == announced and acted))
        violent = o_active[o] == 1 and o_violence_prev[o] > 0
        is_top = o == top_violent
        for t in range(2):
            own_v = 1.0 if (violent and (is_top == (t == 0))) else 0.0
            own_e = own_v if responded else 0.0
            # the named target's case: public, seen by the others
            pub_v = 1.0 if (t_ok and o != announced and (t_top == 1) == (t == 0)) else 0.0
            pub_e = pub_v * t_e
            if t == 0:
                o_vtop_num[o] = wd * o_vtop_num[o] + own_e + pub_e
                o_vtop_den[o] = wd * o_vtop_den[o] + own_v + pub_v
            else:
                o_voth_num[o] = wd * o_voth_num[o] + own_e + pub_e
                o_voth_den[o] = wd * o_voth_den[o] + own_v + pub_v
        own_p = 1.0 if (o_active[o] == 1 and o_police_prev[o] > 0) else 0.0
        own_pe = own_p if responded else 0.0
        o_pnum[o] = wd * o_pnum[o] + own_pe + vic * (n_pevent - own_pe)
        o_pnum_den[o] = wd * o_pnum_den[o] + own_p + vic * (n_pcase - own_p)
        ln = 0.0
        ld = 0.0
        if responded:
            ln += o_arrests[o]
            ld += o_street[o] + o_arrests[o]
        if t_ok and acted and o != announced:
            ln += t_arrests
            ld += t_weeks
        o_loss_num[o] = wd * o_loss_num[o] + ln
        o_loss_den[o] = wd * o_loss_den[o] + ld
        o_threat_att[o] = wd * o_threat_att[o]
        o_threat_ref[o] = wd * o_threat_ref[o]
        o_exposure_base[o] = 0.8 * base + 0.2 * o_exposure[o] if base > 0 else o_exposure[o]
        o_violence_attr[o] = 0.75 * o_violence_attr[o] + 0.25 * o_attributed[o]
        o_sales_avg[o] = 0.7 * o_sales_avg[o] + 0.3 * o_sales[o]
        o_revenue_avg[o] = 0.7 * o_revenue_avg[o] + 0.3 * o_revenue[o]


@njit(cache=True)
def count_members(d_active, d_org, d_org_gen, o_gen, d_jail_until, step, o_members, o_street):
    """``o_members``: active dealers of each organisation (street and prison); ``o_street``: on the street.
    A prisoner whose organisation broke up while he was inside (its slot since reused: another
    generation) belongs to none until he is released."""
    o_members[:] = 0
    o_street[:] = 0
    for d in range(d_active.shape[0]):
        if d_active[d] == 1:
            o = d_org[d]
            if d_org_gen[d] != o_gen[o]:
                continue
            o_members[o] += 1
            if d_jail_until[d] <= step:
                o_street[o] += 1


@njit(cache=True)
def leaderless(o_active, o_leader, d_active, d_org, d_jail_until, step):
    """Active organisations (ascending) whose leader is gone: none named, dead, gone over to
    another organisation or in prison."""
    out = np.empty(o_active.shape[0], np.int64)
    n = 0
    for o in range(o_active.shape[0]):
        if o_active[o] != 1:
            continue
        L = o_leader[o]
        if L < 0 or d_active[L] == 0 or d_org[L] != o or d_jail_until[L] > step:
            out[n] = o
            n += 1
    return out[:n]


@njit(cache=True)
def recruitment_round(d_active, d_jail_until, d_org, d_stockout, d_rank, step, o_active, o_members,
                      recruit_rate, lieutenant_ratio, lieutenant_rank):
    """What :func:`marketsim.organizations.recruit` needs before its loop over organisations.

    Returns ``(stockouts, lieutenants, candidates, slots, bounds)``: per organisation the street
    dealers who ran out of stock (float, as ``np.bincount`` with weights gives) and the street
    lieutenants; the organisations that may draw or change something (those with
    stock-outs to hire for or lieutenants to promote, exactly); and the street dealers grouped by
    organisation, ascending slots within each (``slots[bounds[o]:bounds[o + 1]]``).
    """
    no = o_active.shape[0]
    stockouts = np.zeros(no)
    lieutenants = np.zeros(no, np.int64)
    bounds = np.zeros(no + 1, np.int64)
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            o = d_org[d]
            stockouts[o] += d_stockout[d]
            if d_rank[d] == lieutenant_rank:
                lieutenants[o] += 1
            bounds[o + 1] += 1
    for o in range(no):
        bounds[o + 1] += bounds[o]
    slots = np.empty(bounds[no], np.int64)
    fill = bounds[:no].copy()
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            o = d_org[d]
            slots[fill[o]] = d
            fill[o] += 1
    candidates = np.empty(no, np.int64)
    n = 0
    for o in range(no):
        if o_active[o] != 1 or bounds[o + 1] == bounds[o]:
            continue
        hires = recruit_rate > 0.0 and stockouts[o] > 0.0
        promote = round(lieutenant_ratio * o_members[o]) > lieutenants[o]  # round half to even, as Python's
        if hires or promote:
            candidates[n] = o
            n += 1
    return stockouts, lieutenants, candidates[:n], slots, bounds


@njit(cache=True)
def _np_max(a, b):
    """``np.maximum(a, b)`` for scalars (NaN in ``a`` propagates, as in numpy)."""
    return a if (a >= b or a != a) else b


@njit(cache=True)
def _np_min(a, b):
    """``np.minimum(a, b)`` for scalars."""
    return a if (a <= b or a != a) else b


@njit(cache=True)
def order_volume(d_active, d_org, d_inv, o_active, o_sales_avg, o_stock, o_cash, street_members,
                 stock_weeks, unit_cost, stockout_share, held, order):
    """:func:`marketsim.supply.order_volume` (see there) into ``order``; ``held`` is scratch. Same as::

        act = d_active == 1
        held = np.bincount(d_org[act], weights=d_inv[act], minlength=max_orgs)
        expected = np.maximum(o_sales_avg * (1.0 + 0.5 * stockout_share), 10.0 * street_members)
        want = np.maximum(0.0, 2.0 * stock_weeks * expected - o_stock - held)
        afford = np.maximum(0.0, o_cash) / unit_cost
        order = np.floor(np.minimum(want, afford))
        order[o_active == 0] = 0.0
    """
    no = o_active.shape[0]
    for o in range(no):
        held[o] = 0.0
    for d in range(d_active.shape[0]):
        if d_active[d] == 1:
            held[d_org[d]] += d_inv[d]
    k = 2.0 * stock_weeks
    for o in range(no):
        expected = _np_max(o_sales_avg[o] * (1.0 + 0.5 * stockout_share[o]), 10.0 * street_members[o])
        want = _np_max(0.0, k * expected - o_stock[o] - held[o])
        afford = _np_max(0.0, o_cash[o]) / unit_cost[o]
        order[o] = np.floor(_np_min(want, afford)) if o_active[o] != 0 else 0.0


@njit(cache=True)
def distribute(d_active, d_jail_until, d_org, d_sales_avg, d_inv, d_cash, step, o_stock, o_cash,
               stock_weeks, transfer_price, need, need_by_org, given):
    """:func:`marketsim.supply.distribute` (see there); ``need`` (float64[max_dealers]) and
    ``need_by_org`` are scratch, ``given`` (float64[max_orgs]) receives the units each
    organisation handed out. Returns the number of street dealers. Same as::

        idx = np.flatnonzero((d_active == 1) & (d_jail_until <= step))  # none: nothing changes
        need = np.maximum(0.0, stock_weeks * np.maximum(d_sales_avg[idx], 5.0) - d_inv[idx])
        org = d_org[idx]
        need_by_org = np.bincount(org, weights=need, minlength=max_orgs)
        frac = np.minimum(np.divide(o_stock, need_by_org, out=np.zeros(max_orgs), where=need_by_org > 0), 1.0)
        give = need * frac[org]
        d_inv[idx] += give
        d_cash[idx] -= give * transfer_price
        given = np.bincount(org, weights=give, minlength=max_orgs)
        o_stock -= given
        np.maximum(o_stock, 0.0, out=o_stock)
        o_cash += given * transfer_price
    """
    no = o_stock.shape[0]
    for o in range(no):
        need_by_org[o] = 0.0
        given[o] = 0.0
    n = 0
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            x = _np_max(0.0, stock_weeks * _np_max(d_sales_avg[d], 5.0) - d_inv[d])
            need[d] = x
            need_by_org[d_org[d]] += x
            n += 1
    if n == 0:
        return 0
    for o in range(no):  # the share of its street dealers' needs each organisation can meet
        f = o_stock[o] / need_by_org[o] if need_by_org[o] > 0 else 0.0
        need_by_org[o] = _np_min(f, 1.0)
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            o = d_org[d]
            give = need[d] * need_by_org[o]
            d_inv[d] += give
            d_cash[d] -= give * transfer_price
            given[o] += give
    for o in range(no):
        o_stock[o] = _np_max(o_stock[o] - given[o], 0.0)
        o_cash[o] += given[o] * transfer_price
    return n


@njit(cache=True)
def agent_changes(active, uids, held):
    """Slots whose Mesa agent must go (``held`` names an agent, and the slot is free or now holds
    another uid) and slots that need a new agent (occupied, and not by the held uid), ascending."""
    n = active.shape[0]
    gone = np.empty(n, np.int64)
    new = np.empty(n, np.int64)
    ng = 0
    nn = 0
    for i in range(n):
        if held[i] >= 0 and (active[i] != 1 or held[i] != uids[i]):
            gone[ng] = i
            ng += 1
        if active[i] == 1 and held[i] != uids[i]:
            new[nn] = i
            nn += 1
    return gone[:ng], new[:nn]


@njit(cache=True)
def week_counts(o_active, o_members, d_active, d_jail_until, step, f_corrupt_by, cell_control, cell_control_since):
    """Integer tallies of the week's row: organisations (2+ members), independents (1 member),
    dealers in prison, dealers on the street, active dealer slots, corrupted officers,
    controlled cells and the sum of their tenures (``step - cell_control_since``)."""
    n_org = 0
    n_ind = 0
    for o in range(o_active.shape[0]):
        if o_active[o] == 1:
            if o_members[o] >= 2:
                n_org += 1
            elif o_members[o] == 1:
                n_ind += 1
    jailed = 0
    street = 0
    for d in range(d_active.shape[0]):
        if d_active[d] == 1:
            if d_jail_until[d] > step:
                jailed += 1
            else:
                street += 1
    corrupt = 0
    for f in range(f_corrupt_by.shape[0]):
        if f_corrupt_by[f] >= 0:
            corrupt += 1
    controlled = 0
    tenure = 0
    for c in range(cell_control.shape[0]):
        if cell_control[c] >= 0:
            controlled += 1
            tenure += step - cell_control_since[c]
    return n_org, n_ind, jailed, street, jailed + street, corrupt, controlled, tenure


@njit(cache=True)
def exposure(d_active, d_jail_until, d_org, d_cell, step, cell_police, cell_dealers, cell_w, o_focus,
             focus_multiplier, o_street, total, o_exposure):
    """Police attention each organisation feels around its street dealers: ``o_exposure`` = mean
    over its street dealers of ``police * w * n / W`` in the dealer's cell, where ``w = 1 +
    (focus_multiplier - 1) * focus`` is the dealer's priority weight, ``n`` the cell's street
    dealers and ``W`` (``cell_w``) the sum of their weights: the share of the officers' fixed
    effort that falls on the dealer (see :func:`marketsim.kernels.policing.policing`), scaled so
    that it equals the police presence when nobody is focused. 0 without street dealers.
    ``total`` (float64[max_orgs]) is scratch."""
    total[:] = 0.0
    f1 = focus_multiplier - 1.0
    for d in range(d_active.shape[0]):
        if d_active[d] == 1 and d_jail_until[d] <= step:
            o = d_org[d]
            c = d_cell[d]
            share = (1.0 + f1 * o_focus[o]) * cell_dealers[c] / cell_w[c] if cell_w[c] > 0.0 else 1.0
            total[o] += cell_police[c] * share
    for o in range(o_exposure.shape[0]):
        o_exposure[o] = total[o] / o_street[o] if o_street[o] > 0 else 0.0


@njit(cache=True)
def reset_week(cell_incidents, cell_sales, cell_unmet, d_active, d_org, d_sales, d_stockout, o_street,
               o_violence, o_violence_prev, o_attributed, o_arrests, o_bribes, stockout_share):
    """Start-of-week counters: this week's cell and dealer tallies to zero, last week's
    violence kept as ``o_violence_prev``, and ``stockout_share``: the share of each
    organisation's street dealers (``o_street``, last count) that ran out of stock last week."""
    cell_incidents[:] = 0
    cell_sales[:] = 0.0
    cell_unmet[:] = 0.0
    stockout_share[:] = 0.0
    for d in range(d_active.shape[0]):
        d_sales[d] = 0.0
        if d_active[d] == 1:
            stockout_share[d_org[d]] += d_stockout[d]
        d_stockout[d] = 0
    for o in range(o_street.shape[0]):
        stockout_share[o] = stockout_share[o] / o_street[o] if o_street[o] > 0 else 0.0
        o_violence_prev[o] = o_violence[o]
        o_violence[o] = 0
        o_attributed[o] = 0
        o_arrests[o] = 0
        o_bribes[o] = 0.0


@njit(cache=True)
def shipments(order, total, import_volume, weights, use_weights, ship, w):
    """``ship``: the orders, scaled down to ``import_volume`` when they exceed it (``total`` =
    ``order.sum()``); ``w``: inspection weights (the shipments, or ``max(weights, 0)`` on
    shipments). Same as ``supply.import_and_interdict``'s numpy expressions."""
    scale = total > import_volume > 0
    none = import_volume <= 0
    f = import_volume / total if scale else 0.0
    for o in range(order.shape[0]):
        x = np.floor(order[o] * f) if scale else (0.0 if none else order[o])
        ship[o] = x
        if use_weights:
            w[o] = _np_max(weights[o], 0.0) if x > 0 else 0.0
        else:
            w[o] = x


@njit(cache=True)
def inspection_odds(ship, w, wsum, capacity, hit_rate, p):
    """Per shipment, the probability that a unit is seized.

    Inspections are split ``capacity * w / wsum``; a shipment cannot be inspected beyond its
    size, and what it cannot absorb goes to the other shipments in proportion to their weights
    (water-filling), so the whole budget is used while there is anything left to inspect.
    Probability = ``hit_rate`` x inspected / shipped, clipped to [0, 1]. Returns the units
    inspected (the inspection effort spent: ``min(capacity, units shipped)``)."""
    n = ship.shape[0]
    inspected = np.zeros(n)
    full = np.zeros(n, np.bool_)
    remaining = capacity
    wleft = wsum
    for _ in range(n):
        if remaining <= 1e-12 or wleft <= 0.0:
            break
        spent = 0.0
        wcap = 0.0
        for o in range(n):
            if full[o] or w[o] <= 0.0:
                continue
            if inspected[o] + remaining * w[o] / wleft >= ship[o]:
                full[o] = True
                spent += ship[o] - inspected[o]
                inspected[o] = ship[o]
                wcap += w[o]
        if wcap == 0.0:
            for o in range(n):
                if not full[o] and w[o] > 0.0:
                    inspected[o] += remaining * w[o] / wleft
            break
        remaining -= spent
        wleft -= wcap
    done = 0.0
    for o in range(n):
        x = hit_rate * inspected[o] / _np_max(ship[o], 1.0) if ship[o] > 0 else 0.0
        p[o] = min(max(x, 0.0), 1.0) if x == x else x
        done += inspected[o]
    return done


@njit(cache=True)
def pay_and_stock(ship, seized, unit_cost, o_cash, o_stock, paid):
    """Organisations pay for whole shipments and stock what was not seized."""
    for o in range(ship.shape[0]):
        paid[o] = ship[o] * unit_cost[o]
        o_cash[o] -= paid[o]
        o_stock[o] += ship[o] - seized[o]


@njit(cache=True)
def consolidation_candidates(cand, o_leader, d_active, d_org, d_jail_until, d_cell, cell_control, width, height,
                             torus, radius, step, out):
    """For each organisation ``cand[i]`` whose leader is on the street: the organisation holding
    most of the corners within ``radius`` of its leader (``cell_control``; itself excluded; ties:
    the lowest slot) in ``out[i]``; -1 when its leader is not on the street or no other holds any.
    On a torus narrower than the window a cell is counted once per time it falls in it."""
    side = 2 * radius + 1
    buf = np.empty(side * side, np.int64)
    for i in range(cand.shape[0]):
        o = cand[i]
        out[i] = -1
        L = o_leader[o]
        if L < 0 or d_active[L] == 0 or d_org[L] != o or d_jail_until[L] > step:
            continue
        c = d_cell[L]
        x0 = c % width
        y0 = c // width
        m = 0
        for y in range(y0 - radius, y0 + radius + 1):
            yy = wrap(y, height, torus)
            if yy < 0:
                continue
            for x in range(x0 - radius, x0 + radius + 1):
                xx = wrap(x, width, torus)
                if xx < 0:
                    continue
                v = cell_control[yy * width + xx]
                if v >= 0 and v != o:
                    buf[m] = v
                    m += 1
        best = -1
        best_n = 0
        for a in range(m):
            v = buf[a]
            k = 0
            for b in range(m):
                if buf[b] == v:
                    k += 1
            if k > best_n or (k == best_n and v < best):
                best = v
                best_n = k
        out[i] = best
