"""Displacement (DESIGN process 8): dealers move toward demand and away from heavy policing."""

from numba import njit

from .decisions import location_score
from .grid import random_cell_near


@njit(cache=True)
def move_dealers(d_active, d_jail_until, d_cell, d_moved, cell_pull, cell_dealers, cell_police, step,
                 move_prob, move_radius, candidates, arrest_k, police_aversion, width, height, torus, rng):
    """Each street dealer, with probability ``move_prob``, compares its cell with ``candidates``
    random cells within ``move_radius`` by ``location_score`` and moves to the best one if it
    is at least 10% better. Returns the number of moves."""
    moves = 0
    for d in range(d_active.shape[0]):
        d_moved[d] = 0
        if d_active[d] == 0 or d_jail_until[d] > step:
            continue
        if rng.random() >= move_prob:
            continue
        c0 = d_cell[d]
        here = location_score(cell_pull[c0], cell_dealers[c0] - 1.0, cell_police[c0], arrest_k, police_aversion)
        best = c0
        best_score = here * 1.1
        for _ in range(candidates):
            c = random_cell_near(c0, move_radius, width, height, torus, rng)
            if c == c0:
                continue
            s = location_score(cell_pull[c], cell_dealers[c], cell_police[c], arrest_k, police_aversion)
            if s > best_score:
                best_score = s
                best = c
        if best != c0:
            cell_dealers[c0] -= 1
            cell_dealers[best] += 1
            d_cell[d] = best
            d_moved[d] = 1
            moves += 1
    return moves
