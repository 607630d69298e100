"""Domain events: a service says what happened; the domains that react subscribe.

A service never calls a domain above it. Enterprises do not know that leads close when a need
ends, institutions do not know that matches follow a product, and the matcher knows nothing of
leads: each of those reactions is a subscriber in the reacting domain (its `subscribers.py`,
imported by create_app through SUBSCRIBER_MODULES). Subscribers run synchronously, inside the
sender's transaction: what they write commits or rolls back with the change that caused it.

Who listens to what is listed by `tests/test_signals.py` and in README.md ("Layout").
Senders are model objects; keyword arguments carry what the subscriber needs besides.
"""
from blinker import Namespace

_events = Namespace()

# --- needs (enterprises) ----------------------------------------------------------------------
need_published = _events.signal("need-published")
"""sender: Need, now on the market (new, or republished after a draft, an expiry or ended talks)."""
need_changed = _events.signal("need-changed")
"""sender: Need whose terms changed (or a draft created); what it asks for is not what was matched."""
need_ended = _events.signal("need-ended")
"""sender: Need that left the market for good; `status`: withdrawn, closed, expired or funded."""

enterprise_changed = _events.signal("enterprise-changed")
"""sender: Enterprise whose facts its needs are ranked by changed (an organizer verified or
withdrew a tag, or the profile's size, industry, ownership … changed); its open needs are
matched again."""

# --- products (institutions) ------------------------------------------------------------------
product_published = _events.signal("product-published")
"""sender: Product published (first time, again after a pause, or a new version of its terms)."""
product_changed = _events.signal("product-changed")
"""sender: Product whose terms changed without a new public version (a draft edit)."""
product_paused = _events.signal("product-paused")
"""sender: Product taken off the market; `status`: paused or retired."""

# --- policy -----------------------------------------------------------------------------------
policy_changed = _events.signal("policy-changed")
"""sender: the changed row (ReferenceRate, SubsidyProgram or Setting); `kind`: lpr, programme or
setting (or confirmation: an organizer confirmed a product's programme, `product_id`, or many
products' at once, `product_ids`); `key`: the LPR kind, programme code or setting key;
`in_force`: whether it applies today."""

# --- matching ---------------------------------------------------------------------------------
matches_refreshed = _events.signal("matches-refreshed")
"""sender: the Need whose stored matches were recomputed; the Product whose recompute job ran
(`need_ids`: the needs it now matches); NEEDS for a batch of `match --all` (`need_ids`: the
batch, committed next); ALL once `match --all` finished."""
ALL = "all"
NEEDS = "needs"

snapshots_ahead = _events.signal("snapshots-ahead")
"""sender: the ids of needs about to be ranked whole (a part of `match --all`). Each receiver
returns the set of those whose institutions' rows it will freeze as soon as they are written
(leads: a flagged need without a lead yet opens one at every institution it matches), so that
the reasons of those rows are built beside the ranking rather than after it."""

match_inputs = _events.signal("match-inputs")
"""sender: the day (date). Asked by the matcher while it builds its context; each receiver
returns a dict of MatchContext fields it supplies (leads: the institutions' on-time record)."""

# --- accounts -------------------------------------------------------------------------------
user_deactivated = _events.signal("user-deactivated")
"""sender: User whose account was deactivated (a bank manager who left); `actor`: who did it.
Whatever the user was holding for others (a bank's claimed leads) goes back."""

user_erased = _events.signal("user-erased")
"""sender: User whose account was just erased (its personal data gone); `actor`: who did it;
`name`, `phone`: what the account said before, so that copies of them elsewhere (an
enterprise's contact person and mobile) can be found and erased in the same transaction."""

# --- leads ------------------------------------------------------------------------------------
lead_decided = _events.signal("lead-decided")
"""sender: Lead whose bank answered; `outcome`: approved, declined or withdrawn (funded follows
when the enterprise confirms: `outcome="funded"`)."""

SIGNALS = {
    "need_published": need_published, "need_changed": need_changed, "need_ended": need_ended,
    "enterprise_changed": enterprise_changed,
    "product_published": product_published, "product_changed": product_changed,
    "product_paused": product_paused, "policy_changed": policy_changed,
    "matches_refreshed": matches_refreshed, "snapshots_ahead": snapshots_ahead,
    "match_inputs": match_inputs,
    "lead_decided": lead_decided, "user_deactivated": user_deactivated,
    "user_erased": user_erased,
}
