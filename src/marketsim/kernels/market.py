"""Retail market (DESIGN process 4): users buy from dealers within reach; dealers reprice."""

import numpy as np
from numba import njit

from .decisions import arrest_probability, purchase_quantity
from .grid import shuffled, wrap


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
