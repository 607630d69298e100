"""A whitelist entry's consent is the organizer's record of the firm's, on its behalf (issue 17,
finding 5): it names its basis and recorder, the push grants each bank only the required
profile fields and copies both onto the consent, the firm is told and withdraws each bank's
consent on its need page; a withdrawal after the record stands against a later push."""
from sqlalchemy import select

from matchmaker.leads import push as leads_push
from matchmaker.leads import scope as scopes
from matchmaker.leads.models import Consent, Lead
from matchmaker.notifications.models import Notification
from matchmaker.whitelists import rules
from matchmaker.whitelists.models import Push, WhitelistEntry
from tests.factories import user_for_role
from tests.helpers import assert_audited
from tests.test_whitelists_support import bank, batch, city, entry, match, need_in

BASIS = "白名单申报表 YC-2026-031（企业盖章）"


def _setup(n_banks=1):
    town = city()
    banks = [bank() for _ in range(n_banks)]
    whitelist = batch(town)
    need = need_in()
    for k, (_inst, product, _a, _m) in enumerate(banks):
        match(need, product, score=str(90 - k))
    firm = user_for_role("enterprise", enterprise=need.enterprise)
    return town, banks, whitelist, need, firm


def _push(app, town, whitelist):
    client = app.test_client(user=town)
    assert client.post(f"/whitelists/{whitelist.id}/propose").status_code == 302
    return client.post(f"/whitelists/{whitelist.id}/push")


def _live(need, institution):
    return select(Consent).where(Consent.need_id == need.id, Consent.revoked_at.is_(None),
                                 Consent.institution_id == institution.id)


def test_a_push_grants_the_required_fields_on_the_entrys_basis_and_the_firm_withdraws(app, db):
    town, [(inst, _p, _admin, manager)], whitelist, need, firm = _setup()
    item = entry(town, whitelist, need, consent_basis=BASIS)
    assert (item.consent_basis, item.consent_recorded_by_id) == (BASIS, town.id)
    db.session.commit()
    assert _push(app, town, whitelist).status_code == 302
    consent = db.session.scalar(_live(need, inst))
    assert (consent.via, consent.scope, consent.basis, consent.recorded_by_id) == (
        "whitelist", list(scopes.REQUIRED), BASIS, town.id)
    assert_audited("consent.granted", consent, via="whitelist", basis=BASIS,
                   recorded_by_id=town.id, scope=list(scopes.REQUIRED))
    # the firm is told who recorded it, on what basis, and which bank now sees the need
    note = db.session.scalar(select(Notification).where(
        Notification.user_id == firm.id, Notification.kind == "need.consent_recorded"))
    assert BASIS in note.message and inst.name in note.message and town.name in note.message
    assert note.link == f"/needs/{need.id}"
    # the bank sees the required fields only
    lead = db.session.scalar(select(Lead).where(Lead.need_id == need.id))
    bank_client = app.test_client(user=manager)
    page = bank_client.get(f"/leads/{lead.id}")
    assert page.status_code == 200 and need.enterprise.name in page.text
    assert need.enterprise.uscc not in page.text
    # the firm reads basis and recorder on its need page and withdraws that bank's consent
    firm_client = app.test_client(user=firm)
    need_page = firm_client.get(f"/needs/{need.id}")
    assert f"代为登记，依据：{BASIS}" in need_page.text
    assert firm_client.post(f"/leads/consents/{consent.id}/revoke").status_code == 302
    assert consent.revoke_reason == "withdrawn" and consent.revoked_by_id == firm.id
    assert_audited("consent.revoked", consent, reason="withdrawn")
    assert bank_client.get(f"/leads/{lead.id}").status_code == 404


def test_a_consent_the_firm_gave_itself_is_kept_and_a_later_withdrawal_stands(app, db):
    town, banks, whitelist, need, firm = _setup(n_banks=4)
    (own, *_), (gone, *_), (earlier, *_), (fresh, *_) = banks
    # withdrawn before the organizer recorded the signed form: the form is the newer word
    leads_push.push_need(firm, need, [earlier.id], [])
    leads_push.revoke_consent(firm, db.session.scalar(_live(need, earlier)))
    item = entry(town, whitelist, need, consent_basis=BASIS)
    leads_push.push_need(firm, need, [own.id, gone.id], ["uscc", "revenue"])
    # withdrawn after it: the firm's later word stands against the push
    leads_push.revoke_consent(firm, db.session.scalar(_live(need, gone)))
    whitelist.per_entry = 4
    db.session.commit()
    client = app.test_client(user=town)
    assert client.post(f"/whitelists/{whitelist.id}/propose").status_code == 302
    response = client.post(f"/whitelists/{whitelist.id}/push", follow_redirects=True)
    assert "本次推送 3 条（3 家机构），1 条因企业已撤回对该机构的授权未推送" in response.text
    pushes = {p.institution_id: p.status for p in db.session.scalars(
        select(Push).where(Push.entry_id == item.id))}
    assert pushes == {own.id: "sent", gone.id: "proposed", earlier.id: "sent",
                      fresh.id: "sent"}
    assert db.session.scalar(_live(need, gone)) is None
    kept = db.session.scalar(_live(need, own))
    assert (kept.via, kept.basis, kept.scope[-2:]) == ("push", None, ["uscc", "revenue"])
    for institution in (earlier, fresh):
        assert db.session.scalar(_live(need, institution)).basis == BASIS
    note = db.session.scalar(select(Notification).where(
        Notification.user_id == firm.id, Notification.kind == "need.consent_recorded"))
    assert f"推送给{earlier.name}、{fresh.name}，" in note.message or \
        f"推送给{fresh.name}、{earlier.name}，" in note.message
    assert own.name not in note.message and gone.name not in note.message


def test_a_consent_without_a_basis_is_refused_beside_the_field(app, db):
    town, _banks, whitelist, need, _firm = _setup()
    db.session.commit()
    client = app.test_client(user=town)
    response = client.post(f"/whitelists/{whitelist.id}/entries", data={
        "need_id": need.id, "recommender": "永川区经信委", "consent": "y"},
        follow_redirects=True)
    assert "代企业登记授权须注明依据（如企业签署的书面授权书编号）" in response.text
    assert db.session.scalar(select(WhitelistEntry)) is None
    item = entry(town, whitelist, need, consent=False)
    db.session.commit()
    edit = f"/whitelists/{whitelist.id}/entries/{item.id}/edit"
    refused = client.post(edit, data={"recommender": "永川区经信委", "consent": "y",
                                      "consent_basis": "  "})
    assert refused.status_code == 400
    assert "代企业登记授权须注明依据" in refused.text and "is-invalid" in refused.text
    assert db.session.get(WhitelistEntry, item.id).consent is False


def test_an_entry_listed_before_the_basis_was_asked_waits_for_one(app, db):
    town, [(inst, _p, _a, _m)], whitelist, need, _firm = _setup()
    item = entry(town, whitelist, need, consent=False)
    # as the migration leaves an entry ticked before this change: no basis, no recorder
    item.consent, item.consent_basis = True, "申报表"
    db.session.commit()
    assert {p.code for p in rules.entry_problems(whitelist)[item.id]} == {"no_basis"}
    client = app.test_client(user=town)
    assert client.post(f"/whitelists/{whitelist.id}/propose").status_code == 302
    refused = client.post(f"/whitelists/{whitelist.id}/push", follow_redirects=True)
    assert "没有可推送的内容" in refused.text
    assert db.session.scalar(select(Consent)) is None
    other = city()
    edit = f"/whitelists/{whitelist.id}/entries/{item.id}/edit"
    assert app.test_client(user=other).post(edit, data={
        "recommender": item.recommender, "consent": "y", "consent_basis": "申报表"}
    ).status_code == 302
    assert (item.consent_recorded_by_id, rules.entry_problems(whitelist)[item.id]) == (
        other.id, [])
    audited = assert_audited("whitelist_entry.updated", item)
    assert audited.details["changes"]["consent_recorded_by_id"] == other.id
    assert _push(app, town, whitelist).status_code == 302
    assert db.session.scalar(_live(need, inst)).recorded_by_id == other.id
