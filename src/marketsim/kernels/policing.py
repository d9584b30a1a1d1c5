"""Policing (DESIGN process 5): street arrests, seizures, investigations up the hierarchy."""

import math

import numpy as np
from numba import njit

from .grid import shuffled, wrap

# indices into the ``counts`` output array
ARRESTS, LIEUT_ARRESTS, LEADER_ARRESTS, SEIZED_UNITS, SEIZED_CASH, NEUTRALISED = 0, 1, 2, 3, 4, 5
PATROL_EFFORT, INVESTIGATION_EFFORT, ARREST_ATTEMPTS, TIPOFFS = 6, 7, 8, 9
N_COUNTS = 10


@njit(cache=True)
def _arrest(d, step, mean_sentence, cash_share, d_jail_until, d_inv, d_cash, d_org, o_arrests, counts, rng,
            d_cell, cell_arrests):
    cell_arrests[d_cell[d]] += 1
    d_jail_until[d] = step + 1 + int(rng.exponential(mean_sentence))
    counts[SEIZED_UNITS] += d_inv[d]
    d_inv[d] = 0.0
    if d_cash[d] > 0.0:
        taken = cash_share * d_cash[d]
        counts[SEIZED_CASH] += taken
        d_cash[d] -= taken
    o_arrests[d_org[d]] += 1


@njit(cache=True)
def investigation_leads(o_arrests, o_members, o_street, leads):
    """What investigators can work from, per organisation: this week's arrests of its members;
    in a week without any arrest, its members in prison (what they revealed when arrested).
    Returns the total."""
    total = 0.0
    for o in range(o_arrests.shape[0]):
        leads[o] = o_arrests[o]
        total += o_arrests[o]
    if total > 0.0:
        return total
    for o in range(o_arrests.shape[0]):
        leads[o] = max(o_members[o] - o_street[o], 0)
        total += leads[o]
    return total


@njit(cache=True)
def cell_focus_weight(cell_start, cell_list, d_active, d_jail_until, d_org, o_focus, focus_multiplier, step,
                      cell_w):
    """``cell_w[c]``: sum over the street dealers bucketed in cell ``c`` of their priority weight
    ``1 + (focus_multiplier - 1) * focus`` (equal to the number of street dealers without focus)."""
    f1 = focus_multiplier - 1.0
    for c in range(cell_w.shape[0]):
        w = 0.0
        for k in range(cell_start[c], cell_start[c + 1]):
            d = cell_list[k]
            if d_active[d] == 1 and d_jail_until[d] <= step:
                w += 1.0 + f1 * o_focus[d_org[d]]
        cell_w[c] = w


@njit(cache=True)
def investigation_split(o_invest_w, leads, o_split):
    """Where investigator time goes this week: the policy's split ``o_invest_w`` over the
    organisations that gave the agency leads (:func:`investigation_leads`). What the policy put
    on organisations without leads falls back to the default rule (in proportion to the leads),
    so investigator time is never idle while there is any lead. Without any lead in the whole
    city (nobody arrested this week and nobody in prison) the time goes to surveillance that
    builds no case this week (``o_split`` all 0). Returns the share of investigator time spent
    (always 1.0: the budget is spent either way)."""
    no = leads.shape[0]
    o_arrests = leads
    total_arrests = 0.0
    for o in range(no):
        total_arrests += leads[o]
    if total_arrests <= 0.0:
        for o in range(no):
            o_split[o] = 0.0
        return 1.0
    used = 0.0
    for o in range(no):
        if o_arrests[o] > 0 and o_invest_w[o] > 0.0:
            used += o_invest_w[o]
    spare = 1.0 - used if used < 1.0 else 0.0
    for o in range(no):
        x = 0.0
        if o_arrests[o] > 0:
            if o_invest_w[o] > 0.0:
                x = o_invest_w[o]
            x += spare * o_arrests[o] / total_arrests
            if used > 1.0:
                x /= used
        o_split[o] = x
    return 1.0


@njit(cache=True)
def policing(f_cell, f_out, f_corrupt_by, f_arrests, radius, width, height, torus,
             d_active, d_jail_until, d_org, d_rank, d_inv, d_cash,
             o_focus, o_arrests, o_invest_w, o_street, o_members,
             cell_start, cell_list, d_cell, cell_arrests,
             step, arrest_k, focus_multiplier, sentence_weeks, leader_sentence_weeks, cash_share,
             investigation_k, investigators, o_paid, n_officers, tipoff_team, cell_w, o_split, counts, rng):
    """Officers (random order) try to arrest the street dealers in their patrol area.

    **One budget.** Each on-duty officer spends the same arrest effort on every occupied cell it
    covers: hazard ``arrest_k`` in total per cell, shared among the cell's street dealers, so a
    cell's officers together give Epstein's ``1 - exp(-k * officers / dealers)`` per dealer.
    Focus only *redistributes* that fixed effort: a member of a focused organisation gets the
    priority weight ``w = 1 + (focus_multiplier - 1) * focus`` and hazard ``k * w / W_c``, where
    ``W_c`` (``cell_w``) is the sum of the weights of the cell's street dealers; what focused
    members get is taken from the others in the cell. ``counts[ARREST_ATTEMPTS]`` sums the hazard
    spent (``k`` per officer and occupied cell covered, whatever the focus);
    ``counts[PATROL_EFFORT]`` counts the officers still on duty when policing starts.

    An officer corrupted by the dealer's organisation lets a successful encounter go
    (counted as neutralised). Arrests seize inventory and cash. Lieutenants and leaders of
    organisations of three or more get ``leader_sentence_weeks`` (and are counted as lieutenant
    and leader arrests).

    **Investigations.** ``investigators`` investigator-weeks are split by
    :func:`investigation_split` (the policy's ``o_invest_w`` over organisations with leads, the
    rest by arrests: never idle while there is a lead), written to ``o_split``. They climb from
    each organisation's leads (this week's arrests; in a week without arrests, its members in
    prison) to its lieutenants and leader. An officer on the organisation's
    payroll may tip it off: a successful climb is neutralised with probability
    ``1 - (1 - o_paid[o] / n_officers) ** tipoff_team`` (the chance that one of the
    ``tipoff_team`` officers who learn of the investigation is on its payroll), counted in
    ``NEUTRALISED`` and ``TIPOFFS``.
    """
    counts[:] = 0.0
    nf = f_cell.shape[0]
    cell_focus_weight(cell_start, cell_list, d_active, d_jail_until, d_org, o_focus, focus_multiplier, step, cell_w)
    f1 = focus_multiplier - 1.0
    order = shuffled(nf, rng)
    for i in range(nf):
        f = order[i]
        if f_out[f] == 1:
            continue
        counts[PATROL_EFFORT] += 1.0
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
                if cell_w[c] > 0.0:
                    counts[ARREST_ATTEMPTS] += arrest_k
                for k in range(cell_start[c], cell_start[c + 1]):
                    d = cell_list[k]
                    if d_active[d] == 0 or d_jail_until[d] > step:
                        continue
                    o = d_org[d]
                    w = 1.0 + f1 * o_focus[o]
                    p = 1.0 - math.exp(-arrest_k * w / cell_w[c])
                    if rng.random() < p:
                        if f_corrupt_by[f] == o:
                            counts[NEUTRALISED] += 1.0
                            continue
                        boss = d_rank[d] > 0 and o_members[o] >= 3
                        mean = leader_sentence_weeks if boss else sentence_weeks
                        _arrest(d, step, mean, cash_share, d_jail_until, d_inv, d_cash, d_org, o_arrests, counts, rng,
                        d_cell, cell_arrests)
                        f_arrests[f] += 1
                        counts[ARRESTS] += 1.0
                        if boss and d_rank[d] == 1:
                            counts[LIEUT_ARRESTS] += 1.0
                        elif boss and d_rank[d] == 2:
                            counts[LEADER_ARRESTS] += 1.0
    # investigations: lieutenants first, then leaders (easier once a lieutenant talks)
    no = o_arrests.shape[0]
    leads = np.zeros(no)
    investigation_leads(o_arrests, o_members, o_street, leads)
    spent = investigation_split(o_invest_w, leads, o_split)
    counts[INVESTIGATION_EFFORT] = investigators * spent
    p_climb = np.zeros(no)
    p_tip = np.zeros(no)
    for o in range(no):
        if leads[o] > 0 and o_split[o] > 0.0:
            effort = investigators * o_split[o]
            p_climb[o] = 1.0 - math.exp(-investigation_k * effort * leads[o] / max(o_street[o], 1))
            if o_paid[o] > 0 and n_officers > 0:
                p_tip[o] = 1.0 - (1.0 - min(o_paid[o] / n_officers, 1.0)) ** tipoff_team
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
                if p_tip[o] > 0.0 and rng.random() < p_tip[o]:
                    counts[NEUTRALISED] += 1.0
                    counts[TIPOFFS] += 1.0
                    continue
                _arrest(d, step, leader_sentence_weeks, cash_share, d_jail_until, d_inv, d_cash, d_org,
                        o_arrests, counts, rng, d_cell, cell_arrests)
                counts[ARRESTS] += 1.0
                if rank == 1:
                    lieut_taken[o] += 1
                if o_members[o] >= 3:
                    counts[LIEUT_ARRESTS if rank == 1 else LEADER_ARRESTS] += 1.0
