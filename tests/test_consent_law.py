"""Consent as the law asks (issue 17, finding 5): nothing pre-ticked on the push page, the
need page shows the consents as they are, and consent ends with the need."""
from matchmaker import clock
from matchmaker.enterprises.service import change_status
from matchmaker.extensions import db as _db
from matchmaker.leads import claims, consent, outcomes, queries
from tests.factories import NeedFactory
from tests.test_leads_helpers import (
    china,
    claimed_lead,
    freeze,
    manager,
    matched,
    owner,
    pushed_lead,
)


def test_the_push_page_ticks_nothing(db, client_as):
    need, institution, _product = matched(NeedFactory(status="published"))
    client = client_as("enterprise", enterprise=need.enterprise)
    page = client.get(f"/leads/needs/{need.id}/push").text
    assert f'value="{institution.id}" id="inst-{institution.id}"' in page
    assert 'checked' not in page.split('data-testid="scope"')[1].split("</ul>")[0].replace(
        "checked disabled", "")  # only the required items, which cannot be unticked
    assert f'data-testid="institution-{institution.id}" checked' not in page


def test_the_need_page_shows_the_consents_as_they_are(db, client_as):
    lead = pushed_lead(need=NeedFactory(status="published", consent_to_share=False))
    other = pushed_lead(need=lead.need)
    page = client_as("enterprise", enterprise=lead.need.enterprise).get(
        f"/needs/{lead.need_id}").text
    assert "未授权（金融机构看不到本需求）" not in page
    assert "已授权2家：" in page
    assert lead.institution.name in page.split("已授权2家：")[1].split("<")[0]
    assert other.institution.name in page.split("已授权2家：")[1].split("<")[0]


def test_consent_ends_with_a_withdrawn_need(db, client_as):
    lead = pushed_lead()
    change_status(owner(lead.need), lead.need, "withdrawn", "已通过其他渠道解决")
    assert consent.live_consents(lead.need) == []
    gone = consent.need_consents(lead.need)[0]
    assert gone.revoke_reason == "need_ended"
    titles = [i.title for i in queries.public_timeline(lead)]
    assert f"对{lead.institution.name}的授权随需求结束而终止" in titles


def test_a_funded_need_keeps_only_the_lenders_consent(db, monkeypatch):
    from decimal import Decimal

    freeze(monkeypatch, china(2026, 11, 2))
    lead, mgr = claimed_lead()
    other = pushed_lead(need=lead.need)
    other_mgr = manager(other.institution)
    claims.claim_lead(other_mgr, other)
    for item, who in ((lead, mgr), (other, other_mgr)):
        claims.add_followup(who, item, "call")
        outcomes.approve_lead(who, item, product=item.product, amount_wan=Decimal(100),
                              rate=Decimal("3.5"), term_months=12, guarantee_mode="credit",
                              approved_on=clock.china_today())
    outcomes.confirm_funding(owner(lead.need), lead, 5)
    _db.session.flush()
    live = consent.live_consents(lead.need)
    assert [c.institution_id for c in live] == [lead.institution_id]
