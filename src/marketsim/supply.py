"""Import, interdiction and distribution to dealers (DESIGN process 1).

Organisation-level bookkeeping over a few dozen organisations: vectorised numpy,
not a hot loop. Randomness comes from the ``enforcement`` generator (inspections).
"""

from __future__ import annotations

import numpy as np

from .state import State


def order_volume(s: State, street_members: np.ndarray, stock_weeks: float, unit_cost: np.ndarray,
                 stockout_share: np.ndarray) -> np.ndarray:
    """Whole units each organisation orders at the border this week.

    It aims at ``2 * stock_weeks`` of its expected weekly sales held across its
    warehouse and its dealers, scaled up by half the share of its dealers who ran out of
    stock last week (sales understate demand then); a new organisation expects 10 units per
    street dealer.
    It pays cash up front, so the order is capped by cash / unit cost.
    """
    nd = s.max_dealers
    on_street = (s.d_active == 1)
    held = np.bincount(s.d_org[on_street], weights=s.d_inv[on_street], minlength=s.max_orgs)[: s.max_orgs] if nd else 0.0
    expected = np.maximum(s.o_sales_avg * (1.0 + 0.5 * stockout_share), 10.0 * street_members)
    want = np.maximum(0.0, 2.0 * stock_weeks * expected - s.o_stock - held)
    afford = np.maximum(0.0, s.o_cash) / unit_cost
    order = np.floor(np.minimum(want, afford))
    order[s.o_active == 0] = 0.0
    return order


def import_and_interdict(s: State, order: np.ndarray, import_volume: float, capacity: float, hit_rate: float,
                         weights: np.ndarray | None, unit_cost: np.ndarray, rng: np.random.Generator):
    """Ship the orders (scaled down to ``import_volume`` when they exceed it) and seize a share.

    Inspections (``capacity`` units) are split across shipments by ``weights``; with
    ``weights=None`` they fall at random, i.e. in proportion to shipment size. Each
    inspected unit is found with probability ``hit_rate``. Organisations pay for the
    whole shipment. Returns (units shipped, units seized, dollars paid).
    """
    total = order.sum()
    ship = order.copy()
    if total > import_volume > 0:
        ship = np.floor(order * (import_volume / total))
    elif import_volume <= 0:
        ship[:] = 0.0
    if weights is None:
        w = ship.copy()
    else:
        w = np.where(ship > 0, np.maximum(weights, 0.0), 0.0)
    seized = np.zeros_like(ship)
    if w.sum() > 0 and capacity > 0:
        inspected = np.minimum(capacity * w / w.sum(), ship)
        p = np.where(ship > 0, hit_rate * inspected / np.maximum(ship, 1.0), 0.0)
        seized = rng.binomial(ship.astype(np.int64), np.clip(p, 0.0, 1.0)).astype(float)
    paid = ship * unit_cost
    s.o_cash -= paid
    s.o_stock += ship - seized
    return float(ship.sum()), float(seized.sum()), float(paid.sum())


def distribute(s: State, step: int, stock_weeks: float, transfer_price: float) -> float:
    """Organisations restock their street dealers toward ``stock_weeks`` of each dealer's
    recent sales (at least 5 units/week), pro rata when the warehouse is short. Dealers pay
    the transfer price. Returns units distributed."""
    street = (s.d_active == 1) & (s.d_jail_until <= step)
    idx = np.flatnonzero(street)
    if idx.size == 0:
        return 0.0
    need = np.maximum(0.0, stock_weeks * np.maximum(s.d_sales_avg[idx], 5.0) - s.d_inv[idx])
    org = s.d_org[idx]
    need_by_org = np.bincount(org, weights=need, minlength=s.max_orgs)
    frac = np.divide(s.o_stock, need_by_org, out=np.zeros(s.max_orgs), where=need_by_org > 0)
    frac = np.minimum(frac, 1.0)
    give = need * frac[org]
    s.d_inv[idx] += give
    s.d_cash[idx] -= give * transfer_price
    given = np.bincount(org, weights=give, minlength=s.max_orgs)
    s.o_stock -= given
    np.maximum(s.o_stock, 0.0, out=s.o_stock)  # guard -0.0 from rounding
    s.o_cash += given * transfer_price
    return float(given.sum())
