"""Policing (DESIGN process 5): street arrests, seizures, investigations up the hierarchy."""

import math

import numpy as np
from numba import njit

from .grid import shuffled, wrap

# indices into the ``counts`` output array
ARRESTS, LIEUT_ARRESTS, LEADER_ARRESTS, SEIZED_UNITS, SEIZED_CASH, NEUTRALISED = 0, 1, 2, 3, 4, 5
N_COUNTS = 6


@njit(cache=True)
def _arrest(d, step, mean_sentence, cash_share, d_jail_until, d_inv, d_cash, d_org, o_arrests, counts, rng):
    d_jail_until[d] = step + 1 + int(rng.exponential(mean_sentence))
    counts[SEIZED_UNITS] += d_inv[d]
    d_inv[d] = 0.0
    if d_cash[d] > 0.0:
        taken = cash_share * d_cash[d]
        counts[SEIZED_CASH] += taken
        d_cash[d] -= taken
    o_arrests[d_org[d]] += 1


@njit(cache=True)
def policing(f_cell, f_out, f_corrupt_by, f_arrests, radius, width, height, torus,
             d_active, d_jail_until, d_org, d_rank, d_inv, d_cash,
             o_focus, o_arrests, o_invest_w, o_street, o_members,
             cell_start, cell_list, cell_dealers,
             step, arrest_k, focus_multiplier, sentence_weeks, leader_sentence_weeks, cash_share,
             investigation_k, investigators, invest_by_arrests, counts, rng):
    """Officers (random order) try to arrest every street dealer in their patrol area.

    Each officer-dealer encounter arrests with probability ``1 - exp(-h)``,
    ``h = k * focus / dealers_in_cell``, so a cell's officers together give Epstein's
    ``1 - exp(-k * officers / dealers)``. ``focus`` is ``focus_multiplier`` for
    members of organisations the policy focuses on (group accountability), else 1.
    An officer corrupted by the dealer's organisation lets a successful encounter go
    (counted as neutralised). Arrests seize inventory and cash. Lieutenants and leaders of
    organisations of three or more get ``leader_sentence_weeks`` (and are counted as lieutenant
    and leader arrests). With ``invest_by_arrests`` the investigators are split in proportion
    to this week's arrests; otherwise ``o_invest_w`` (the policy's split) is used. Investigations then
    climb from each organisation's arrests to its lieutenants and leader.
    """
    counts[:] = 0.0
    nf = f_cell.shape[0]
    order = shuffled(nf, rng)
    for i in range(nf):
        f = order[i]
        if f_out[f] == 1:
            continue
        x0 = f_cell[f] % width
        y0 = f_cell[f] // width
        for dy in range(-radius, radius + 1):
            y = wrap(y0 + dy, height, torus)
            if y < 0:
                continue
            for dx in range(-radius, radius + 1):
                x = wrap(x0 + dx, width, torus)
                if x < 0:
                    continue
                c = y * width + x
                for k in range(cell_start[c], cell_start[c + 1]):
                    d = cell_list[k]
                    if d_active[d] == 0 or d_jail_until[d] > step:
                        continue
                    o = d_org[d]
                    focus = 1.0 + (focus_multiplier - 1.0) * o_focus[o]
                    p = 1.0 - math.exp(-arrest_k * focus / cell_dealers[c])
                    if rng.random() < p:
                        if f_corrupt_by[f] == o:
                            counts[NEUTRALISED] += 1.0
                            continue
                        boss = d_rank[d] > 0 and o_members[o] >= 3
                        mean = leader_sentence_weeks if boss else sentence_weeks
                        _arrest(d, step, mean, cash_share, d_jail_until, d_inv, d_cash, d_org, o_arrests, counts, rng)
                        f_arrests[f] += 1
                        counts[ARRESTS] += 1.0
                        if boss and d_rank[d] == 1:
                            counts[LIEUT_ARRESTS] += 1.0
                        elif boss and d_rank[d] == 2:
                            counts[LEADER_ARRESTS] += 1.0
    # investigations: lieutenants first, then leaders (easier once a lieutenant talks)
    no = o_arrests.shape[0]
    if invest_by_arrests:  # no policy preference: investigators follow up where the arrests were
        total = 0
        for o in range(no):
            total += o_arrests[o]
        for o in range(no):
            o_invest_w[o] = o_arrests[o] / total if total > 0 else 0.0
    p_climb = np.zeros(no)
    for o in range(no):
        if o_arrests[o] > 0 and o_invest_w[o] > 0.0:
            effort = investigators * o_invest_w[o]
            p_climb[o] = 1.0 - math.exp(-investigation_k * effort * o_arrests[o] / max(o_street[o], 1))
    lieut_taken = np.zeros(no, np.int32)
    for rank in (1, 2):
        for d in range(d_active.shape[0]):
            if d_active[d] == 0 or d_jail_until[d] > step or d_rank[d] != rank:
                continue
            o = d_org[d]
            p = p_climb[o]
            if p <= 0.0:
                continue
            if rank == 2 and lieut_taken[o] == 0:
                p *= 0.25
            if rng.random() < p:
                _arrest(d, step, leader_sentence_weeks, cash_share, d_jail_until, d_inv, d_cash, d_org,
                        o_arrests, counts, rng)
                counts[ARRESTS] += 1.0
                if rank == 1:
                    lieut_taken[o] += 1
                if o_members[o] >= 3:
                    counts[LIEUT_ARRESTS if rank == 1 else LEADER_ARRESTS] += 1.0
