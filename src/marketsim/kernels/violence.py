"""Violence (DESIGN process 6): organisations decide, dealer by dealer, whether to attack rivals nearby."""

import numpy as np
from numba import njit

from .decisions import (
    add_grievance,
    attack_value,
    grievance_of,
    logistic_choice,
    observed_lead_chance,
    response_loss,
    violence_response_risk,
    win_probability,
)
from .grid import random_cell_near, shuffled, wrap

# indices into the ``counts`` output array
INCIDENTS, DEATHS, DISPLACED, SPENT = 0, 1, 2, 3
N_COUNTS = 4


@njit(cache=True)
def _local_strength(c0, org, radius, width, height, torus, cell_start, cell_list, d_org, d_active, d_jail_until,
                    step, members):
    """Own street dealers within ``radius`` plus a small weight on the organisation's size."""
    s = 0.0
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
            for k in range(cell_start[c], cell_start[c + 1]):
                d = cell_list[k]
                if d_active[d] == 1 and d_org[d] == org and d_jail_until[d] <= step:
                    s += 1.0
    return s + 0.1 * np.sqrt(members)


@njit(cache=True)
def _kill(d, heir, d_active, d_inv, d_cash, d_cell, cell_deaths, counts):
    """Remove dealer ``d``; the winner takes its stock and cash (drugs and money are conserved)."""
    cell_deaths[d_cell[d]] += 1
    d_active[d] = 0
    d_inv[heir] += d_inv[d]
    d_inv[d] = 0.0
    d_cash[heir] += d_cash[d]
    d_cash[d] = 0.0
    counts[DEATHS] += 1.0


@njit(cache=True)
def violence(d_active, d_jail_until, d_cell, d_org, d_price, d_sales_avg, d_inv, d_cash,
             o_cash, o_ruth, o_revenue_avg, o_members, o_vtop_num, o_vtop_den, o_voth_num, o_voth_den,
             o_violence_own, o_active, o_violence, o_attributed, o_griev_org, o_griev, o_loss_num, o_loss_den,
             cell_start, cell_list, cell_incidents, cell_deaths, width, height, torus, step,
             contact_radius, horizon, attack_cost, retaliation_weeks, loss_prior_rate, response_weeks,
             sentence_weeks, grievance_value, griev_rate, noise,
             lethality, displacement_radius, attribution_rate, prior_a, prior_b, o_lead, counts, rng,
             o_suffered, o_homicides, o_attr_homicides):
    """Street dealers, in random order, each meet their most lucrative rival within ``contact_radius``.

    Their organisation attacks with probability ``logistic_choice(attack_value(...))``, where the
    expected cost includes the enforcement response the organisation has learned to expect
    (``violence_response_risk``: what it learned of how violence is answered, weighted by its
    chance of becoming the most violent group on record, judged from what it observes:
    ``observed_lead_chance`` of its own smoothed violence ``o_violence_own`` and the attacks it
    suffered, never the police's records) times the loss it has learned such a
    response inflicts on its members (``response_loss``), and the gain includes its grievance
    against the rival (retaliation). ``o_lead`` (0..1 per organisation) is a floor on that chance
    from an announced queue: under a public one-at-a-time rule, a group at the head of the queue,
    or any group when the queue is empty, knows its next violent act makes it the target
    (Kleiman 2009: groups know where they stand and anticipate); 0 without a public rule. The winner of the Tullock contest kills (probability
    ``lethality``) or displaces the loser and takes the cell; the attacked organisation's grievance
    against the attacker grows by one. Each dealer acts or is attacked at most once a week.
    ``o_suffered`` (incidents in which a member of the organisation was attacked) and
    ``o_homicides`` (deaths in incidents the organisation was party to, either side) are added to
    for the per-organisation record, ``o_attr_homicides`` (attributed incidents of the organisation
    that killed someone: what a homicide trigger counts) for the agency; they draw nothing.
    """
    counts[:] = 0.0
    n = cell_start[cell_start.shape[0] - 1]
    acted = np.zeros(d_active.shape[0], np.int8)
    order = shuffled(n, rng)
    for i in range(n):
        d = cell_list[order[i]]
        if acted[d] == 1 or d_active[d] == 0 or d_jail_until[d] > step:
            continue
        o = d_org[d]
        c0 = d_cell[d]
        # most lucrative rival in contact
        r = -1
        best_rev = -1.0
        x0 = c0 % width
        y0 = c0 // width
        for dy in range(-contact_radius, contact_radius + 1):
            y = wrap(y0 + dy, height, torus)
            if y < 0:
                continue
            for dx in range(-contact_radius, contact_radius + 1):
                x = wrap(x0 + dx, width, torus)
                if x < 0:
                    continue
                c = y * width + x
                for k in range(cell_start[c], cell_start[c + 1]):
                    e = cell_list[k]
                    if acted[e] == 1 or d_active[e] == 0 or d_org[e] == o or d_cell[e] != c or d_jail_until[e] > step:
                        continue
                    rev = d_sales_avg[e] * d_price[e]
                    if rev > best_rev:
                        best_rev = rev
                        r = e
        if r < 0:
            continue
        ro = d_org[r]
        s_own = _local_strength(c0, o, 2, width, height, torus, cell_start, cell_list, d_org, d_active, d_jail_until,
                               step, o_members[o])
        s_riv = _local_strength(d_cell[r], ro, 2, width, height, torus, cell_start, cell_list, d_org, d_active,
                                d_jail_until, step, o_members[ro])
        p_win = win_probability(s_own, s_riv)
        q = max(observed_lead_chance(o_violence_own[o], o_griev[o], griev_rate, attribution_rate), o_lead[o])
        risk = violence_response_risk(q, o_vtop_num[o], o_vtop_den[o], o_voth_num[o], o_voth_den[o], prior_a, prior_b)
        m = max(o_members[o], 1)
        loss = response_loss(m, o_loss_num[o], o_loss_den[o], loss_prior_rate, prior_a + prior_b, response_weeks,
                             sentence_weeks * o_revenue_avg[o] / m)
        value = attack_value(best_rev, d_sales_avg[d] * d_price[d], p_win, risk, loss,
                             grievance_of(o_griev_org, o_griev, o, ro), grievance_value, o_ruth[o],
                             horizon, attack_cost, retaliation_weeks)
        if rng.random() >= logistic_choice(value, noise):
            continue
        # the attack
        acted[d] = 1
        acted[r] = 1
        counts[INCIDENTS] += 1.0
        counts[SPENT] += attack_cost
        o_cash[o] -= attack_cost
        o_violence[o] += 1
        o_suffered[ro] += 1
        add_grievance(o_griev_org, o_griev, ro, o, 1.0)
        cell_incidents[d_cell[r]] += 1
        attributed = rng.random() < attribution_rate
        if attributed:
            o_attributed[o] += 1
        if rng.random() < p_win:
            winner, loser = d, r
        else:
            winner, loser = r, d
        if rng.random() < lethality:
            _kill(loser, winner, d_active, d_inv, d_cash, d_cell, cell_deaths, counts)
            o_homicides[o] += 1
            o_homicides[ro] += 1
            if attributed:
                o_attr_homicides[o] += 1
            if winner == d:
                d_cell[d] = d_cell[r]  # the attacker takes the corner
        else:
            d_cell[loser] = random_cell_near(d_cell[loser], displacement_radius, width, height, torus, rng)
            counts[DISPLACED] += 1.0
