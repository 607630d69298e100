"""One order for a need's matches by institution (matching.queries.matches_by_institution):
a lead's snapshot, a whitelist's proposal and an event's suggested product name the same best
product for a need × institution, whatever the products' ids and the database's NULL order."""
from decimal import Decimal

from matchmaker.events import service as events
from matchmaker.leads import push
from matchmaker.matching.queries import matches_by_institution
from matchmaker.whitelists import pushing
from tests.factories import InstitutionFactory, MatchFactory, NeedFactory, ProductFactory
from tests.test_events_helpers import institution_side, make_event
from tests.test_leads_helpers import owner
from tests.test_whitelists_support import batch, city, entry


def _tied(need, institution):
    """Three products of one institution with the same score: created in the order that an
    id or a NULL-first tie-break would get wrong. The matcher's order: the known (lower)
    estimated rate first, then the product ref."""
    products = {}
    for ref, rate in (("P-ZETA", Decimal("3.500")), ("P-NORATE", None),
                      ("P-ALPHA", Decimal("3.500"))):
        product = ProductFactory(institution=institution, ref=ref)
        MatchFactory(need=need, product=product, score=Decimal("80.0"), estimated_rate=rate)
        products[ref] = product
    return products


def test_the_order_is_score_then_known_rate_then_ref(db):
    need, bank = NeedFactory(), InstitutionFactory()
    products = _tied(need, bank)
    other = InstitutionFactory()
    better = ProductFactory(institution=other, ref="P-OTHER")
    MatchFactory(need=need, product=better, score=Decimal("90.0"))
    ProductFactory(institution=other, ref="P-PAUSED", status="paused")
    found = matches_by_institution(need)
    assert list(found) == [other.id, bank.id]  # institutions by their best match
    assert [m.product.ref for m in found[bank.id]] == ["P-ALPHA", "P-ZETA", "P-NORATE"]
    assert list(matches_by_institution(need, [bank.id])) == [bank.id]
    assert products["P-ALPHA"].id > products["P-ZETA"].id  # the id would have said ZETA


def test_lead_whitelist_and_event_name_the_same_best_product(db, monkeypatch):
    need, bank = NeedFactory(), InstitutionFactory()
    tied = _tied(need, bank)
    best = tied["P-ALPHA"]

    lead = push.push_need(owner(need), need, [bank.id], ["uscc"])[0]
    assert lead.product_id == best.id
    assert lead.matched[0]["product_id"] == best.id

    town = city()
    whitelist = batch(town)
    listed = entry(town, whitelist, need)
    assert pushing.eligible_institutions(need)[0].product.id == best.id
    pushing.propose(town, whitelist)
    assert [p.product_id for p in listed.pushes] == [best.id]

    from tests.test_events_helpers import BEFORE, freeze
    freeze(monkeypatch, BEFORE)
    event = make_event()
    registration, *_ = institution_side(event, institution=bank)
    from matchmaker.events.models import RegistrationProduct
    # it brings all three, created in the order an id tie-break would get wrong
    registration.product_rows = [RegistrationProduct(product_id=p.id) for p in tied.values()]
    assert events.best_match(need.id, registration).product_id == best.id


def test_an_event_prefers_the_products_the_institution_brings(db, monkeypatch):
    need, bank = NeedFactory(), InstitutionFactory()
    products = _tied(need, bank)
    from tests.test_events_helpers import BEFORE, freeze
    freeze(monkeypatch, BEFORE)
    event = make_event()
    registration, *_ = institution_side(event, institution=bank)
    from matchmaker.events.models import RegistrationProduct
    registration.product_rows = [RegistrationProduct(product_id=products[ref].id)
                                 for ref in ("P-NORATE", "P-ZETA")]
    assert events.best_match(need.id, registration).product_id == products["P-ZETA"].id
