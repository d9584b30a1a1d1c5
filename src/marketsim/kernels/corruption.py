"""Corruption (DESIGN process 3): bribes offered by payoff, accepted by integrity; plata o plomo."""

import numpy as np
from numba import njit

from .decisions import (
    accepts_bribe_under_threat,
    bribe_offer,
    logistic_choice,
    perceived_risk,
    police_attack_value,
    response_loss,
)
from .grid import shuffled, wrap

# indices into the ``counts`` output array
BRIBES_PAID, NEW_CORRUPT, REFUSED, ATTACKS_ON_POLICE, OFFICERS_KILLED, DETECTED, SPENT = 0, 1, 2, 3, 4, 5, 6
N_COUNTS = 7


@njit(cache=True)
def corruption(f_cell, f_out, f_integrity, f_corrupt_by, f_corrupt_gen, f_bribe, f_refused_by, f_refused_until,
               step, refusal_memory, radius, width, height, torus,
               d_org, o_active, o_gen, o_cash, o_bribes, o_trade_num, o_trade_den, o_revenue_avg, o_members,
               o_ruth, o_violence, o_attributed, o_police_attacks, o_pnum, o_pnum_den, o_loss_num, o_loss_den,
               o_threat_att, o_threat_ref,
               cell_start, cell_list, cell_incidents, cell_deaths,
               wage, detection_prob, penalty_weeks, sentence_weeks, bribe_share, bribe_cash_share,
               prior_a, prior_b, attack_cost, noise, loss_prior_rate, response_weeks, harm_weeks,
               police_lethality, attribution_rate, counts, rng):
    """Each officer on duty, in random order:

    1. if corrupted, may be caught by internal affairs (removed, replaced next week);
    2. the organisation with most street dealers in the officer's patrol area weighs a weekly
       bribe: ``bribe_offer`` (a share of the expected loss avoided, rising with its perceived
       arrest risk), capped by the cash it will spend on bribes this week;
    3. a corrupted officer stays on the payroll (a retainer, Lessing 2017) while the payer can
       pay and, when the officer covers its dealers, while the bribe is still worth it to the payer;
    4. a clean officer accepts when ``accepts_bribe_under_threat``: the bribe plus the harm
       avoided by not refusing an organisation known (police records: attacks on officers who
       refused it, over its refusals) to attack refusers (plata o plomo, Dal Bó, Dal Bó & Di Tella
       2006); the organisation does not ask the same officer again for ``refusal_memory`` weeks;
    5. after a refusal the organisation decides whether to attack the officer
       (``police_attack_value``: the arrests of its members the officer's removal would spare,
       against the attack cost and the response it has learned to expect after attacks on
       police), with logistic noise ``noise``.
    """
    counts[:] = 0.0
    nf = f_cell.shape[0]
    no = o_active.shape[0]
    exposed = np.zeros(no, np.int32)
    touched = np.empty(no, np.int64)
    order = shuffled(nf, rng)
    for i in range(nf):
        f = order[i]
        if f_out[f] == 1:
            continue
        if f_corrupt_by[f] >= 0 and rng.random() < detection_prob:
            counts[DETECTED] += 1.0
            f_corrupt_by[f] = -1
            f_bribe[f] = 0.0
            f_out[f] = 1
            continue
        # street dealers of each organisation in the patrol area
        nt = 0
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
                    o = d_org[cell_list[k]]
                    if exposed[o] == 0:
                        touched[nt] = o
                        nt += 1
                    exposed[o] += 1
        best = -1
        for j in range(nt):
            o = touched[j]
            if best < 0 or exposed[o] > exposed[best] or (exposed[o] == exposed[best] and o < best):
                best = o
        payer = f_corrupt_by[f]
        if payer >= 0 and (o_active[payer] == 0 or o_gen[payer] != f_corrupt_gen[f]):
            payer = -1
            f_corrupt_by[f] = -1
            f_bribe[f] = 0.0
        o = payer if payer >= 0 else best
        if o >= 0:
            risk = perceived_risk(o_trade_num[o], o_trade_den[o], prior_a, prior_b)
            value_per_arrest = sentence_weeks * o_revenue_avg[o] / max(o_members[o], 1)
            wtp = bribe_offer(exposed[o], risk, value_per_arrest, bribe_share)
            budget = bribe_cash_share * o_cash[o] - o_bribes[o]
            if payer >= 0:
                # a retainer: posted away from the payer's dealers, the officer stays on the payroll
                # while the payer can pay (future postings, tip-offs about investigations); posted
                # among them, while the protection is still worth the bribe
                if budget >= f_bribe[f] and (exposed[o] == 0 or wtp >= f_bribe[f]):
                    o_cash[o] -= f_bribe[f]
                    o_bribes[o] += f_bribe[f]
                    counts[BRIBES_PAID] += f_bribe[f]
                else:
                    f_corrupt_by[f] = -1
                    f_bribe[f] = 0.0
            else:
                offer = min(wtp, budget)
                if f_refused_by[f] == o and f_refused_until[f] > step:
                    offer = 0.0  # refused recently: not asked again yet
                if offer > 0.0:
                    threat = (o_threat_att[o] + 0.0) / (o_threat_ref[o] + prior_a + prior_b)
                    if accepts_bribe_under_threat(offer, threat, f_integrity[f], wage, detection_prob, penalty_weeks,
                                                  police_lethality, harm_weeks):
                        f_corrupt_by[f] = o
                        f_corrupt_gen[f] = o_gen[o]
                        f_bribe[f] = offer
                        o_cash[o] -= offer
                        o_bribes[o] += offer
                        counts[BRIBES_PAID] += offer
                        counts[NEW_CORRUPT] += 1.0
                    else:
                        counts[REFUSED] += 1.0
                        f_refused_by[f] = o
                        f_refused_until[f] = step + refusal_memory
                        o_threat_ref[o] += 1.0
                        m = max(o_members[o], 1)
                        loss = response_loss(m, o_loss_num[o], o_loss_den[o], loss_prior_rate, prior_a + prior_b,
                                             response_weeks, value_per_arrest)
                        p_resp = perceived_risk(o_pnum[o], o_pnum_den[o], prior_a, prior_b)
                        value = police_attack_value(exposed[o], risk, value_per_arrest, police_lethality, p_resp,
                                                    loss, attack_cost, o_ruth[o])
                        if rng.random() < logistic_choice(value, noise):
                            counts[ATTACKS_ON_POLICE] += 1.0
                            o_threat_att[o] += 1.0
                            o_police_attacks[o] += 1
                            o_cash[o] -= attack_cost
                            counts[SPENT] += attack_cost
                            o_violence[o] += 1
                            cell_incidents[f_cell[f]] += 1
                            if rng.random() < attribution_rate:
                                o_attributed[o] += 1
                            if rng.random() < police_lethality:
                                counts[OFFICERS_KILLED] += 1.0
                                cell_deaths[f_cell[f]] += 1
                                f_out[f] = 1
        for j in range(nt):
            exposed[touched[j]] = 0
