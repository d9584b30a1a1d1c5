"""Import, interdiction and distribution to dealers (DESIGN process 1).

Organisation-level bookkeeping: the per-slot arithmetic of ordering and restocking runs in
compiled loops (:mod:`marketsim.kernels.books`, same operations in the same order as the
numpy expressions in the docstrings); inspections are numpy draws from the ``enforcement``
generator.
"""

from __future__ import annotations

import numpy as np

from .kernels.books import distribute as _distribute
from .kernels.books import inspection_odds as _inspection_odds
from .kernels.books import order_volume as _order_volume
from .kernels.books import pay_and_stock as _pay_and_stock
from .kernels.books import shipments as _shipments
from .kernels.measure import seqsum
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
    order = np.empty(s.max_orgs)
    _order_volume(s.d_active, s.d_org, s.d_inv, s.o_active, s.o_sales_avg, s.o_stock, s.o_cash,
                  _per_org(street_members, s.max_orgs), float(stock_weeks), _per_org(unit_cost, s.max_orgs),
                  _per_org(stockout_share, s.max_orgs), np.empty(s.max_orgs), order)
    return order


def _per_org(x, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (n,)))


def import_and_interdict(s: State, order: np.ndarray, import_volume: float, capacity: float, hit_rate: float,
                         weights: np.ndarray | None, unit_cost: np.ndarray, rng: np.random.Generator):
    """Ship the orders (scaled down to ``import_volume`` when they exceed it) and seize a share.

    Inspections (``capacity`` units) are split across shipments by ``weights``; with
    ``weights=None`` they fall at random, i.e. in proportion to shipment size. Each
    inspected unit is found with probability ``hit_rate``. Organisations pay for the
    whole shipment. Returns (units shipped, units seized, dollars paid, units inspected).
    """
    n = order.shape[0]
    total = seqsum(order)
    ship, w, p, paid = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    use_weights = weights is not None
    _shipments(order, total, float(import_volume), _per_org(weights if use_weights else 0.0, n), use_weights,
               ship, w)
    seized = np.zeros_like(ship)
    wsum = seqsum(w)
    inspected = 0.0
    if wsum > 0 and capacity > 0:
        inspected = _inspection_odds(ship, w, wsum, float(capacity), float(hit_rate), p)
        # draw only for shipments: numpy's binomial returns 0 for n == 0 without drawing, so the
        # stream and the values are those of drawing for every organisation slot (200,000 at 10^6 users)
        shipping = np.flatnonzero(ship > 0)
        seized[shipping] = rng.binomial(ship[shipping].astype(np.int64), p[shipping])
    _pay_and_stock(ship, seized, _per_org(unit_cost, n), s.o_cash, s.o_stock, paid)
    return float(seqsum(ship)), float(seqsum(seized)), float(seqsum(paid)), float(inspected)


def distribute(s: State, step: int, stock_weeks: float, transfer_price: float) -> float:
    """Organisations restock their street dealers toward ``stock_weeks`` of each dealer's
    recent sales (at least 5 units/week), pro rata when the warehouse is short. Dealers pay
    the transfer price. Returns units distributed."""
    given = np.empty(s.max_orgs)
    n = _distribute(s.d_active, s.d_jail_until, s.d_org, s.d_sales_avg, s.d_inv, s.d_cash, step, s.o_stock,
                    s.o_cash, float(stock_weeks), float(transfer_price), np.empty(s.max_dealers), np.empty(s.max_orgs),
                    given)
    return float(seqsum(given)) if n else 0.0
