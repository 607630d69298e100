"""Consent per institution: pushing a need, the scope each institution receives, revocation,
the exchange flag (sync_consent_from_flag) and open_lead's idempotence."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from matchmaker.errors import ServiceError
from matchmaker.leads import claims, push, service
from matchmaker.leads import consent as consents
from matchmaker.leads import scope as scopes
from matchmaker.leads.models import Consent, Lead
from matchmaker.leads.permissions import visible_leads
from matchmaker.notifications.models import Notification
from tests.factories import (
    EnterpriseFactory,
    InstitutionFactory,
    MatchFactory,
    NeedFactory,
    ProductFactory,
    user_for_role,
)
from tests.helpers import assert_audited
from tests.test_leads_helpers import manager, matched, owner, pushed_lead


def _count(model, *where):
    from matchmaker.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_push_creates_one_consent_and_lead_per_chosen_institution(db):
    need = NeedFactory()
    a, _b, c = (matched(need)[1] for _ in range(3))
    leads = push.push_need(owner(need), need, [a.id, c.id], ["uscc"])
    assert {lead.institution_id for lead in leads} == {a.id, c.id}
    assert _count(Consent, Consent.need_id == need.id) == 2
    consent = consents.live_consent(need.id, a.id)
    assert consent.scope == list(scopes.REQUIRED) + ["uscc"]  # required fields always go
    assert consent.via == "push" and consent.granted_by_id is not None
    assert_audited("consent.granted", consent, institution_id=a.id)
    assert_audited("lead.opened", leads[0], source="consent")
    assert leads[0].matched[0]["reasons"]  # the matched products are frozen on the lead


def test_push_refuses_unmatched_institutions_and_empty_choice(db):
    need, _institution, _ = matched()
    stranger = InstitutionFactory()
    with pytest.raises(ServiceError, match="只能推送给与本需求匹配的金融机构"):
        push.push_need(owner(need), need, [stranger.id], [])
    with pytest.raises(ServiceError, match="请至少选择一家金融机构"):
        push.push_need(owner(need), need, [], [])


@pytest.mark.parametrize("status", ["draft", "withdrawn", "funded", "closed", "expired"])
def test_push_refuses_needs_not_on_the_market(db, status):
    need, institution, _ = matched(NeedFactory(status=status))
    with pytest.raises(ServiceError, match="不能推送"):
        push.push_need(owner(need), need, [institution.id], [])


def test_push_page_lists_distinct_institutions_and_ticks_none(db, client_as):
    need = NeedFactory()
    institutions = []
    for score in ("90", "85", "80", "70"):
        inst = InstitutionFactory()
        MatchFactory(need=need, product=ProductFactory(institution=inst), score=score)
        institutions.append(inst)
    # a second product of the best institution must not take a slot of its own
    MatchFactory(need=need, product=ProductFactory(institution=institutions[0]), score="88")
    candidates = push.push_candidates(need)
    assert [c.institution.id for c in candidates] == [i.id for i in institutions]
    page = client_as("enterprise", enterprise=need.enterprise).get(f"/leads/needs/{need.id}/push")
    assert page.status_code == 200
    for inst in institutions:  # nothing pre-ticked: each recipient is the enterprise's pick
        assert f'data-testid="institution-{inst.id}" >' in page.text
    for field in scopes.SCOPE_FIELDS:  # the enterprise sees exactly what each one receives
        assert field.label in page.text


def test_the_need_page_counts_the_institutions_a_push_could_reach(db, client_as):
    """The need page's "有 N 家机构" counts in SQL what the push page lists: each institution
    once however many of its products match, none whose only match is off the market."""
    need = NeedFactory()
    first, second, retired = InstitutionFactory(), InstitutionFactory(), InstitutionFactory()
    for inst, score in ((first, "90"), (first, "88"), (second, "80")):
        MatchFactory(need=need, product=ProductFactory(institution=inst), score=score)
    MatchFactory(need=need, product=ProductFactory(institution=retired, status="retired"),
                 score="95")
    assert len(push.push_candidates(need)) == 2
    page = client_as("enterprise", enterprise=need.enterprise).get(f"/needs/{need.id}")
    assert page.status_code == 200 and "有 2 家机构的产品与本需求匹配" in page.text


def test_push_through_the_page(db, client_as):
    need, institution, _ = matched()
    client = client_as("enterprise", enterprise=need.enterprise)
    refused = client.post(f"/leads/needs/{need.id}/push",
                          data={"institutions": [institution.id], "scope": ["uscc"]})
    assert refused.status_code == 400 and "请确认同意向所选机构提供上述信息" in refused.text
    response = client.post(f"/leads/needs/{need.id}/push", data={
        "institutions": [institution.id], "scope": ["uscc"], "agree": "y"})
    assert response.status_code == 302
    consent = consents.live_consent(need.id, institution.id)
    assert consent.scope == list(scopes.REQUIRED) + ["uscc"]
    page = client.get(f"/needs/{need.id}")
    assert "已授权查看：企业名称、所在区县、行业代码、企业规模、联系人及电话、统一社会信用代码" in page.text


def test_bank_sees_only_the_fields_in_scope(db, client_as):
    enterprise = EnterpriseFactory(contact_name="王会计", contact_phone="13800000000",
                                   revenue_wan=Decimal(8600))
    lead = pushed_lead(need=NeedFactory(enterprise=enterprise), scope=[])
    client = client_as("bank_manager", institution=lead.institution)
    page = client.get(f"/leads/{lead.id}").text
    assert enterprise.name in page and "接单后可见" in page  # required: who to call, once claimed
    assert enterprise.uscc not in page and "8,600" not in page  # withheld by the enterprise
    consents.grant_consent(owner(lead.need), lead.need, lead.institution, ["uscc", "revenue"],
                          "push")
    page = client.get(f"/leads/{lead.id}").text
    assert enterprise.uscc in page and "8,600" in page


def test_a_new_scope_supersedes_the_live_consent(db):
    lead = pushed_lead(scope=[])
    first = consents.live_consent(lead.need_id, lead.institution_id)
    consents.grant_consent(owner(lead.need), lead.need, lead.institution, ["tags"], "push")
    assert first.revoked_at is not None and first.revoke_reason == "superseded"
    assert consents.live_consent(lead.need_id, lead.institution_id).scope[-1] == "tags"
    same = consents.grant_consent(owner(lead.need), lead.need, lead.institution, ["tags"], "push")
    assert same.id == consents.live_consent(lead.need_id, lead.institution_id).id


def test_revocation_hides_the_lead_from_the_bank(db, client_as):
    lead = pushed_lead()
    bank = client_as("bank_manager", institution=lead.institution)
    assert bank.get(f"/leads/{lead.id}").status_code == 200
    enterprise = client_as("enterprise", enterprise=lead.need.enterprise)
    consent = consents.live_consent(lead.need_id, lead.institution_id)
    response = enterprise.post(f"/leads/consents/{consent.id}/revoke", follow_redirects=True)
    assert "已撤回对" in response.text
    assert consent.revoked_at is not None
    assert_audited("consent.revoked", consent, reason="withdrawn")
    assert bank.get(f"/leads/{lead.id}").status_code == 404
    assert f"#{lead.id}" not in bank.get("/leads/").text
    # the enterprise's pages say so
    assert "授权已撤回" in enterprise.get(f"/needs/{lead.need_id}").text
    progress = enterprise.get(f"/leads/{lead.id}/progress").text
    assert "您已撤回对该机构的授权" in progress and "已撤回对" in progress


def test_revocation_ends_a_live_claim_and_frees_the_need(db):
    lead = pushed_lead()
    holder = manager(lead.institution)
    claim = claims.claim_lead(holder, lead)
    assert lead.need.status == "in_progress"
    push.revoke_consent(owner(lead.need), consents.live_consent(lead.need_id,
                                                                 lead.institution_id))
    assert claim.status == "revoked" and lead.status == "open"
    assert lead.need.status == "published"  # nobody works it any more
    assert not db.session.scalars(visible_leads(holder).where(Lead.id == lead.id)).all()


def test_re_consent_after_revocation_shows_the_lead_again(db):
    lead = pushed_lead()
    push.revoke_consent(owner(lead.need), consents.live_consent(lead.need_id,
                                                                 lead.institution_id))
    again = push.push_need(owner(lead.need), lead.need, [lead.institution_id], [])
    assert again == [lead]
    assert db.session.scalars(visible_leads(manager(lead.institution))).all() == [lead]


def test_revoking_twice_is_refused(db, client_as):
    lead = pushed_lead()
    consent = consents.live_consent(lead.need_id, lead.institution_id)
    push.revoke_consent(owner(lead.need), consent)
    with pytest.raises(ServiceError, match="该授权已撤回"):
        push.revoke_consent(owner(lead.need), consent)
    client = client_as("enterprise", enterprise=lead.need.enterprise)
    response = client.post(f"/leads/consents/{consent.id}/revoke", follow_redirects=True)
    assert "该授权已撤回或不能撤回" in response.text


def test_another_enterprise_cannot_revoke(db, client_as):
    lead = pushed_lead()
    consent = consents.live_consent(lead.need_id, lead.institution_id)
    other = client_as("enterprise")
    assert other.post(f"/leads/consents/{consent.id}/revoke").status_code == 404
    assert consent.revoked_at is None


# --- the exchange flag -----------------------------------------------------------------------

def test_flag_consents_to_every_matched_institution(db):
    need = NeedFactory(consent_to_share=True)
    a, b = matched(need)[1], matched(need)[1]
    MatchFactory(need=need, product=ProductFactory(institution=a))  # two products, one lead
    leads = push.sync_consent_from_flag(need)
    assert sorted(lead.institution_id for lead in leads) == sorted([a.id, b.id])
    consent = consents.live_consent(need.id, a.id)
    # nothing optional is given on the flag's behalf: only what a bank cannot work without
    assert consent.via == "flag" and consent.scope == list(scopes.REQUIRED)
    assert consent.granted_by_id is None and consent.basis is None  # the firm's own flag
    assert push.sync_consent_from_flag(need) == leads  # idempotent
    assert _count(Lead, Lead.need_id == need.id) == 2
    assert _count(Consent, Consent.need_id == need.id) == 2


def test_flag_off_revokes_only_flag_consents(db):
    need = NeedFactory(consent_to_share=True)
    flagged, pushed = matched(need)[1], matched(need)[1]
    push.sync_consent_from_flag(need)
    consents.grant_consent(owner(need), need, pushed, [], "push")  # chosen by hand too
    need.consent_to_share = False
    push.sync_consent_from_flag(need)
    assert consents.live_consent(need.id, flagged.id) is None
    assert consents.live_consent(need.id, pushed.id).via == "push"
    assert_audited("consent.revoked", reason="flag_off")


def test_flag_on_a_draft_does_nothing_yet(db):
    need, institution, _ = matched(NeedFactory(consent_to_share=True, status="draft"))
    assert push.sync_consent_from_flag(need) == []
    assert consents.live_consent(need.id, institution.id) is None


def test_flag_does_not_hand_back_a_lapsed_lead(db):
    need = NeedFactory(consent_to_share=True)
    institution = matched(need)[1]
    lead = push.sync_consent_from_flag(need)[0]
    lead.status = "lapsed"
    push.sync_consent_from_flag(need)
    assert lead.status == "lapsed"
    push.push_need(owner(need), need, [institution.id], [])  # the enterprise's own choice
    assert lead.status == "open"
    assert_audited("lead.reopened", lead)


# --- open_lead (whitelists, events) ----------------------------------------------------------

def test_open_lead_is_idempotent_and_needs_a_consent_whatever_the_source(db):
    need, institution, product = matched()
    organizer = user_for_role("organizer")
    with pytest.raises(ServiceError, match="企业尚未授权该机构查看本需求"):
        service.open_lead(need, institution, source="whitelist", actor=organizer)
    consents.grant_consent(organizer, need, institution, scopes.REQUIRED, "whitelist",
                           basis="申报表YC-001", recorded_by_id=organizer.id)
    lead = service.open_lead(need, institution, source="whitelist", actor=organizer,
                             product=product)
    assert lead.source == "whitelist" and lead.product_id == product.id
    consent = consents.live_consent(need.id, institution.id)
    assert consent.via == "whitelist" and consent.scope == list(scopes.REQUIRED)
    assert (consent.basis, consent.recorded_by_id) == ("申报表YC-001", organizer.id)
    assert_audited("consent.granted", consent, basis="申报表YC-001",
                   recorded_by_id=organizer.id)
    again = service.open_lead(need, institution, source="event", actor=organizer)
    assert again.id == lead.id and again.source == "whitelist"
    assert _count(Lead, Lead.need_id == need.id) == 1


def test_open_lead_with_consent_source_needs_a_consent(db):
    need, institution, _ = matched()
    with pytest.raises(ServiceError, match="企业尚未授权该机构查看本需求"):
        service.open_lead(need, institution, source="consent", actor=None)


def test_open_lead_refuses_a_foreign_product_and_unknown_source(db):
    need, institution, _ = matched()
    with pytest.raises(ValueError):
        service.open_lead(need, institution, source="whitelist", actor=None,
                          product=ProductFactory())
    with pytest.raises(ValueError):
        service.open_lead(need, institution, source="spam", actor=None)


def test_new_lead_tells_the_institutions_managers(db):
    need, institution, _ = matched()
    mgr = manager(institution)
    lead = push.push_need(owner(need), need, [institution.id], [])[0]
    from matchmaker.notifications.models import Notification

    note = db.session.scalar(select(Notification).where(Notification.user_id == mgr.id))
    assert note.kind == "lead.opened" and f"#{lead.id}" in note.message
    assert need.enterprise.name not in note.message  # no enterprise data in notifications


def test_the_flag_never_overrides_a_revocation(db):
    need = NeedFactory(consent_to_share=True)
    institution = matched(need)[1]
    push.sync_consent_from_flag(need)
    push.revoke_consent(owner(need), consents.live_consent(need.id, institution.id))
    push.sync_consent_from_flag(need)  # e.g. after the need is edited and re-matched
    assert consents.live_consent(need.id, institution.id) is None
    push.push_need(owner(need), need, [institution.id], [])  # the enterprise changes its mind
    assert consents.live_consent(need.id, institution.id).via == "push"


def test_bulk_flag_sync_after_a_product_refresh(db):
    flagged, quiet, refused = (NeedFactory(consent_to_share=flag) for flag in (True, False, True))
    institution = InstitutionFactory()
    product = ProductFactory(institution=institution)
    for need in (flagged, quiet, refused):
        MatchFactory(need=need, product=product)
    consents.grant_consent(owner(refused), refused, institution, [], "push")
    push.revoke_consent(owner(refused), consents.live_consent(refused.id, institution.id))
    # the product's recompute job hands over the needs the product now serves
    served = {flagged.id, quiet.id, refused.id}
    staff = manager(institution)
    assert push.sync_flag_consents_for_product(product, served) == 1
    notes = db.session.scalars(select(Notification).where(Notification.user_id == staff.id)).all()
    assert [n.message for n in notes] == ["新线索 1 条：企业授权推送的匹配需求"]
    [lead] = db.session.scalars(select(Lead).where(Lead.institution_id == institution.id)).all()
    assert lead.need_id == flagged.id and lead.product_id == product.id
    assert lead.matched[0]["product_id"] == product.id and lead.matched[0]["reasons"]
    assert consents.live_consent(flagged.id, institution.id).via == "flag"
    assert_audited("lead.opened", lead) and assert_audited("consent.granted")
    assert push.sync_flag_consents_for_product(product, served) == 0  # nothing left to do
    product.status = "paused"
    assert push.sync_flag_consents_for_product(product, served) == 0


def test_whole_platform_flag_sync(db):
    on, off = NeedFactory(consent_to_share=True), NeedFactory(consent_to_share=True)
    institution = InstitutionFactory()
    best, second = ProductFactory(institution=institution), ProductFactory(institution=institution)
    MatchFactory(need=on, product=second, score=Decimal(60))
    MatchFactory(need=on, product=best, score=Decimal(90))
    MatchFactory(need=off, product=best)
    assert push.sync_all_flag_consents() == 2  # one per need × institution
    lead = service.need_leads(on)[0]
    assert lead.product_id == best.id
    off.consent_to_share = False
    assert push.sync_all_flag_consents() == 1
    assert consents.live_consent(off.id, institution.id) is None
    assert push.sync_all_flag_consents() == 0


def test_the_need_page_computes_its_leads_panel_once(db, client_as, monkeypatch):
    """Its next step, consent summary and leads card read one panel: three computations were
    two thirds of the page's time at 100,000 needs. The page still says what each shows."""
    from matchmaker.leads import queries

    lead = pushed_lead()
    computed = []
    real = queries.need_panel
    monkeypatch.setattr(queries, "need_panel",
                        lambda user, need: computed.append(need.id) or real(user, need))
    enterprise = client_as("enterprise", enterprise=lead.need.enterprise)
    page = enterprise.get(f"/needs/{lead.need_id}").text
    assert computed == [lead.need_id]
    assert "已授权1家" in page and lead.institution.name in page
    enterprise.get(f"/needs/{lead.need_id}")
    assert computed == [lead.need_id] * 2  # once per request, never kept across requests
