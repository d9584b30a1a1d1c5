"""Corruption (DESIGN process 3): bribes offered by payoff, accepted by integrity; plata o plomo."""

import numpy as np
from numba import njit

from .decisions import accepts_bribe, bribe_offer, perceived_risk
from .grid import shuffled, wrap

# indices into the ``counts`` output array
BRIBES_PAID, NEW_CORRUPT, REFUSED, ATTACKS_ON_POLICE, OFFICERS_KILLED, DETECTED = 0, 1, 2, 3, 4, 5
N_COUNTS = 6


@njit(cache=True)
def corruption(f_cell, f_out, f_integrity, f_corrupt_by, f_corrupt_gen, f_bribe, f_refused_by, f_refused_until,
               step, refusal_memory, radius, width, height, torus,
               d_org, o_active, o_gen, o_cash, o_bribes, o_trade_num, o_trade_den, o_revenue_avg, o_members,
               o_ruth, o_violence, o_attributed,
               cell_start, cell_list, cell_incidents, cell_deaths,
               wage, detection_prob, penalty_weeks, sentence_weeks, bribe_share, bribe_cash_share,
               prior_a, prior_b, plomo_threshold, plomo_prob, police_lethality, attribution_rate,
               counts, rng):
    """Each officer on duty, in random order:

    1. if corrupted, may be caught by internal affairs (removed, replaced next week);
    2. the organisation with most street dealers in the officer's patrol area weighs a weekly
       bribe: ``bribe_offer`` (a share of the expected loss avoided, rising with its perceived
       arrest risk), capped by the cash it will spend on bribes this week;
    3. a corrupted officer stays on the payroll (a retainer, Lessing 2017) while the payer can
       pay and, when the officer covers its dealers, while the bribe is still worth it to the payer;
    4. a clean officer accepts when ``accepts_bribe``; a refusal, when the organisation feels
       pressed (perceived risk above ``plomo_threshold``), may be answered with violence; the
       organisation does not ask the same officer again for ``refusal_memory`` weeks.
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
                    if accepts_bribe(offer, f_integrity[f], wage, detection_prob, penalty_weeks):
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
                        if risk > plomo_threshold and rng.random() < min(1.0, plomo_prob * o_ruth[o]):
                            counts[ATTACKS_ON_POLICE] += 1.0
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
