"""The agents' decision rules as small scalar functions.

Kernels call them in their loops; the Mesa agents in :mod:`marketsim.agents`
call the same functions, so a researcher reads each rule in one place.
"""

import math

from numba import njit


@njit(cache=True)
def purchase_quantity(base_demand, elasticity, full_price, reference_price):
    """Units a user wants at ``full_price`` (price + travel + risk): constant-elasticity demand."""
    if full_price <= 0.0:
        return base_demand
    return base_demand * (full_price / reference_price) ** elasticity


@njit(cache=True)
def arrest_probability(k, officers, dealers):
    """Weekly arrest probability of one dealer: ``1 - exp(-k * officers / dealers)`` (Epstein 2002)."""
    if officers <= 0.0:
        return 0.0
    return 1.0 - math.exp(-k * officers / max(dealers, 1.0))


@njit(cache=True)
def perceived_risk(num, den, prior_a, prior_b):
    """Time-discounted Beta-prior event frequency (Magliocca et al. 2019, NarcoLogic)."""
    return (num + prior_a) / (den + prior_a + prior_b)


@njit(cache=True)
def chance_to_lead(own_record, rival_record, bump):
    """Probability that one more attack makes an organisation the most violent in police
    records: 1 when its record plus ``bump`` reaches the highest rival record, falling
    exponentially (scale: one week's smoothed incident) with the gap otherwise."""
    gap = rival_record - (own_record + bump)
    if gap <= 0.0:
        return 1.0
    return math.exp(-gap / max(bump, 1e-9))


@njit(cache=True)
def observed_lead_chance(own_violence, griev_row, griev_rate, attribution_rate):
    """An organisation's chance that one more attack makes it the most violent group on the police's
    record, from what it can observe (issue 7 item 4): its own incidents (``own_violence``, smoothed
    like the police record) and the attacks it suffered from each rival (its grievances
    ``griev_row``, decaying sums; ``griev_rate`` = 1 - their weekly decay turns a sum into a weekly
    rate). Each is scaled by ``attribution_rate`` into what the police would have on record. It
    cannot see the police's own records of rivals' violence, nor violence among others."""
    rival = 0.0
    for j in range(griev_row.shape[0]):
        if griev_row[j] > rival:
            rival = griev_row[j]
    return chance_to_lead(attribution_rate * own_violence, attribution_rate * griev_rate * rival,
                          0.25 * attribution_rate)


@njit(cache=True)
def violence_response_risk(q_lead, top_num, top_den, other_num, other_den, prior_a, prior_b):
    """Perceived probability that an attack is answered by concentrated enforcement.

    The organisation has learned, from cases it observed, how often the most violent group's
    violence was answered (``top``) and how often other violent groups' was (``other``); it
    weighs them by its chance ``q_lead`` of becoming the most violent. Under an announced
    most-violent-first rule the two rates diverge, which is what makes the threat bite
    (Kleiman 2009, dynamic concentration); under rules blind to violence they do not.
    """
    top = perceived_risk(top_num, top_den, prior_a, prior_b)
    other = perceived_risk(other_num, other_den, prior_a, prior_b)
    return q_lead * top + (1.0 - q_lead) * other


@njit(cache=True)
def win_probability(own_strength, rival_strength):
    """Tullock contest success function."""
    return own_strength / (own_strength + rival_strength)


@njit(cache=True)
def attack_value(rival_revenue, own_revenue, p_win, violence_risk, expected_response_loss, grievance,
                 grievance_value, ruthlessness, horizon, attack_cost, retaliation_weeks):
    """Expected net value (dollars) of attacking a rival dealer.

    gain  = horizon * rival's local weekly revenue * P(win)
            + grievance against the rival * grievance_value (retaliation: an attack suffered and not
              answered costs reputation; Papachristos 2009, Decker 1996)
    cost  = attack cost + P(lose) * retaliation_weeks * own local revenue
            + P(violence is answered by enforcement) * the loss such a response inflicts on the
              organisation's members (:func:`response_loss`, learned)
    A ruthless organisation discounts the costs: value = gain - cost / ruthlessness.
    """
    gain = horizon * rival_revenue * p_win + grievance * grievance_value
    cost = attack_cost + (1.0 - p_win) * retaliation_weeks * own_revenue
    cost += violence_risk * expected_response_loss
    return gain - cost / ruthlessness


@njit(cache=True)
def logistic_choice(value, noise):
    """Probability of acting on an expected value ``value`` with logistic noise of scale ``noise``."""
    z = value / noise
    if z > 50.0:
        return 1.0
    if z < -50.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


@njit(cache=True)
def bribe_offer(members_exposed, trade_risk, value_per_arrest, bribe_share):
    """Weekly bribe an organisation is willing to pay an officer: a share of the expected loss avoided.

    Rises with the enforcement pressure the organisation perceives (``trade_risk``) and with how
    many of its members the officer can reach.
    """
    return bribe_share * members_exposed * trade_risk * value_per_arrest


@njit(cache=True)
def bribe_reservation(integrity, wage, detection_prob, penalty_weeks):
    """Smallest weekly bribe an officer takes: integrity (in wages) plus the expected penalty."""
    return integrity * wage + detection_prob * penalty_weeks * wage


@njit(cache=True)
def accepts_bribe(bribe, integrity, wage, detection_prob, penalty_weeks):
    """An officer accepts when the bribe beats their integrity and expected penalty."""
    return bribe > bribe_reservation(integrity, wage, detection_prob, penalty_weeks)


@njit(cache=True)
def location_score(pull, dealers_here, police_here, arrest_k, police_aversion):
    """How attractive a cell is to a dealer: demand per seller, discounted by arrest risk."""
    risk = arrest_probability(arrest_k, police_here, dealers_here + 1.0)
    return pull / (dealers_here + 1.0) * math.exp(-police_aversion * risk)


@njit(cache=True)
def grievance_of(o_griev_org, o_griev, o, r):
    """Grievance organisation ``o`` holds against ``r`` (0 if none remembered)."""
    for k in range(o_griev_org.shape[1]):
        if o_griev_org[o, k] == r:
            return o_griev[o, k]
    return 0.0


@njit(cache=True)
def add_grievance(o_griev_org, o_griev, o, r, amount):
    """``o`` was attacked by ``r``: its grievance against ``r`` grows by ``amount``. When every slot
    holds another grudge, the weakest is forgotten if it is weaker than the new one."""
    weakest = 0
    for k in range(o_griev_org.shape[1]):
        if o_griev_org[o, k] == r:
            o_griev[o, k] += amount
            return
        if o_griev_org[o, k] < 0:
            o_griev_org[o, k] = r
            o_griev[o, k] = amount
            return
        if o_griev[o, k] < o_griev[o, weakest]:
            weakest = k
    if o_griev[o, weakest] < amount:
        o_griev_org[o, weakest] = r
        o_griev[o, weakest] = amount


@njit(cache=True)
def decay_grievances(o_griev_org, o_griev, decay):
    """Grievances fade: multiplied by ``decay`` each week; below 0.05 they are forgotten."""
    for o in range(o_griev_org.shape[0]):
        for k in range(o_griev_org.shape[1]):
            if o_griev_org[o, k] >= 0:
                o_griev[o, k] *= decay
                if o_griev[o, k] < 0.05:
                    o_griev[o, k] = 0.0
                    o_griev_org[o, k] = -1


@njit(cache=True)
def response_loss(members, loss_num, loss_den, prior_rate, prior_weight, response_weeks, value_per_arrest):
    """Expected loss (dollars) an organisation fears from a concentrated enforcement response:
    ``members x (learned weekly arrest rate per member under a response) x response_weeks x value
    of one member's arrest``. The rate is learned from responses the organisation suffered or saw
    (``loss_num`` member arrests over ``loss_den`` member-weeks, discounted), starting from a prior
    of ``prior_rate`` worth ``prior_weight`` member-weeks. Sanctions fall on members, so a crew of
    5 fears five members' losses, an organisation of 50 fifty."""
    rate = (loss_num + prior_rate * prior_weight) / (loss_den + prior_weight)
    return members * rate * response_weeks * value_per_arrest


@njit(cache=True)
def police_attack_value(members_exposed, trade_risk, value_per_arrest, lethality, response_risk,
                        expected_response_loss, attack_cost, ruthlessness):
    """Expected net value (dollars) of attacking an officer who refused a bribe.

    gain = the losses the officer is expected to inflict this week if not removed (officers are
    reposted every week and the killed are replaced): with probability ``lethality`` the attack
    removes the officer, sparing ``members_exposed x trade_risk`` arrests, each worth
    ``value_per_arrest`` (the intimidation value is left out here: it works through the
    officers' threat beliefs, :func:`accepts_bribe_under_threat`);
    cost = attack cost + P(the police answer an attack on one of theirs, learned) x the loss such
    a response inflicts (:func:`response_loss`). A ruthless organisation discounts the costs.
    A force that answers attacks on its officers with a concentrated response raises the learned
    probability and deters them (Lessing 2017, conditional repression)."""
    gain = lethality * members_exposed * trade_risk * value_per_arrest
    cost = attack_cost + response_risk * expected_response_loss
    return gain - cost / ruthlessness


@njit(cache=True)
def accepts_bribe_under_threat(bribe, threat, integrity, wage, detection_prob, penalty_weeks, lethality, harm_weeks):
    """Plata o plomo (Dal Bó, Dal Bó & Di Tella 2006): an officer accepts when the bribe plus the
    expected harm avoided by accepting (``threat`` = perceived probability that the organisation
    attacks an officer who refuses, x ``lethality`` x ``harm_weeks`` wages) beats integrity and
    the expected penalty. A credible threat lowers the bribe an officer accepts."""
    avoided = threat * lethality * harm_weeks * wage
    return bribe + avoided > bribe_reservation(integrity, wage, detection_prob, penalty_weeks)
