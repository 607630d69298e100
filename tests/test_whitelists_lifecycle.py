"""Whitelist batches: draft → submitted → pushed → closed, versions and history, consent
gating, the entry and exit rules, the push (one transaction, leads marked 白名单, a notice to
each bank admin) and its idempotence."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from matchmaker.errors import ServiceError
from matchmaker.leads.models import Consent, Lead
from matchmaker.notifications.models import Notification
from matchmaker.whitelists import pushing, rules, service
from matchmaker.whitelists.models import Push, Whitelist, WhitelistEntry
from tests.helpers import assert_audited
from tests.test_whitelists_support import (
    OTHER_DISTRICT,
    bank,
    batch,
    city,
    district,
    entry,
    match,
    need_in,
    pushed_batch,
)


def _count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- lifecycle -----------------------------------------------------------------------------

def test_a_district_batch_goes_from_draft_to_closed(db):
    yongchuan, town = district(), city()
    whitelist = batch(yongchuan)
    assert (whitelist.status, whitelist.owner_district, whitelist.version) == ("draft", "永川区", 1)
    assert_audited("whitelist.created", whitelist, owner_district="永川区")
    _inst, product, _admin, _m = bank()
    need = need_in()
    match(need, product)
    first = entry(yongchuan, whitelist, need)
    assert (first.amount_wan, first.purpose, first.cluster) == (
        Decimal(300), "working_capital", "intelligent_equipment")
    assert_audited("whitelist_entry.added", first, need_id=need.id)

    service.submit_whitelist(yongchuan, whitelist)
    assert whitelist.status == "submitted"
    assert_audited("whitelist.submitted", whitelist, **{"from": "draft", "to": "submitted"})
    with pytest.raises(ServiceError, match="当前状态下您不能修改"):
        entry(yongchuan, whitelist, need_in())  # the district hands over to the city

    pushing.propose(town, whitelist)
    report = pushing.push_whitelist(town, whitelist)
    assert whitelist.status == "pushed" and len(report.sent) == 1
    assert_audited("whitelist.pushed", whitelist, sent=1)
    service.close_whitelist(town, whitelist)
    assert whitelist.status == "closed" and whitelist.closed_at is not None
    assert_audited("whitelist.closed", whitelist)
    for action in (lambda: service.update_whitelist(town, whitelist, title="改"),
                   lambda: entry(town, whitelist, need_in()),
                   lambda: pushing.propose(town, whitelist),
                   lambda: service.remove_entry(town, first)):
        with pytest.raises(ServiceError):
            action()


def test_the_city_returns_a_batch_with_a_reason(db):
    yongchuan, town = district(), city()
    whitelist = batch(yongchuan)
    entry(yongchuan, whitelist, need_in())
    service.submit_whitelist(yongchuan, whitelist)
    with pytest.raises(ServiceError, match="请填写退回原因"):
        service.return_whitelist(town, whitelist, " ")
    with pytest.raises(ServiceError):
        service.return_whitelist(yongchuan, whitelist, "自己退回")
    service.return_whitelist(town, whitelist, "第2户金额有误")
    assert (whitelist.status, whitelist.return_reason) == ("draft", "第2户金额有误")
    assert_audited("whitelist.returned", whitelist, reason="第2户金额有误")
    entry(yongchuan, whitelist, need_in())  # the district edits again


def test_an_empty_batch_cannot_be_submitted_and_the_city_has_no_submit_step(db):
    yongchuan, town = district(), city()
    with pytest.raises(ServiceError, match="还没有企业"):
        service.submit_whitelist(yongchuan, batch(yongchuan))
    with pytest.raises(ServiceError):
        service.submit_whitelist(town, batch(town))  # a city batch is pushed from its draft


def test_header_rules(db):
    town = city()
    with pytest.raises(ServiceError, match="反馈截止日期不能早于印发日期") as err:
        batch(town, answer_deadline=date(2026, 11, 1))
    assert err.value.field == "answer_deadline"
    with pytest.raises(ServiceError, match="每户推送机构数"):
        batch(town, per_entry=11)
    whitelist = batch(town)
    service.update_whitelist(town, whitelist, title="2026年第5批")
    assert_audited("whitelist.updated", whitelist)
    assert whitelist.per_entry == 3 and whitelist.share == Decimal("0.25")  # the settings


def test_district_entries_must_be_in_the_district(db):
    yongchuan = district()
    whitelist = batch(yongchuan)
    with pytest.raises(ServiceError, match="只能列入该区县的企业"):
        entry(yongchuan, whitelist, need_in(OTHER_DISTRICT))


def test_a_key_project_needs_a_name(db):
    town = city()
    whitelist = batch(town, kind="key_projects", title="2026年制造业重点项目白名单")
    need = need_in(purpose="project", description="年产20万台电驱系统智能化产线建设项目")
    with pytest.raises(ServiceError, match="请填写项目名称") as err:
        entry(town, whitelist, need)
    assert err.value.field == "project_name"
    assert entry(town, whitelist, need, project_name="电驱系统产线").project_name == "电驱系统产线"


# --- versions and history --------------------------------------------------------------------

def test_a_closed_batch_is_corrected_in_a_new_version(db):
    whitelist, entries, _banks, town = pushed_batch(n_entries=2)
    service.close_whitelist(town, whitelist)
    copy = service.new_version(town, whitelist)
    assert (copy.version, copy.previous_id, copy.status) == (2, whitelist.id, "draft")
    assert [e.need_id for e in copy.entries] == [e.need_id for e in entries]
    assert all(e.source == "copied" and e.copied_from_id for e in copy.entries)
    assert all(not e.pushes for e in copy.entries)
    assert whitelist.next_version is copy
    assert_audited("whitelist.versioned", copy, previous_id=whitelist.id, version=2)
    with pytest.raises(ServiceError, match="已有新版本|尚无新版本"):
        service.new_version(town, whitelist)
    # the correction: one entry removed, then the new version is pushed; the needs already
    # reached those banks, so the same leads come back and nothing is announced twice
    service.remove_entry(town, copy.entries[1])
    pushing.propose(town, copy)
    before = _count(db, Lead)
    report = pushing.push_whitelist(town, copy)
    assert _count(db, Lead) == before and len(report.sent) == 2
    assert {p.lead_id for p in report.sent} == {p.lead_id for p in entries[0].sent_pushes}


def test_history_shows_who_changed_what(db, client_as):
    yongchuan = district()
    whitelist = batch(yongchuan)
    first = entry(yongchuan, whitelist, need_in())
    service.update_entry(yongchuan, first, recommender="永川区金融办")
    second = entry(yongchuan, whitelist, need_in())
    service.remove_entry(yongchuan, second)
    actions = [e.action for e in db.session.scalars(service.history(whitelist))]
    assert actions == ["whitelist_entry.removed", "whitelist_entry.added",
                       "whitelist_entry.updated", "whitelist_entry.added", "whitelist.created"]
    updated = assert_audited("whitelist_entry.updated", first)
    assert updated.details["changes"]["recommender"][1] == "永川区金融办"
    assert updated.actor_id == yongchuan.id
    db.session.commit()
    page = client_as("organizer", district="永川区").get(f"/whitelists/{whitelist.id}/history")
    assert page.status_code == 200 and "移出白名单" in page.text and "修改白名单条目" in page.text


# --- entry and exit rules ----------------------------------------------------------------------

def _codes(whitelist, item):
    return {p.code for p in rules.entry_problems(whitelist)[item.id]}


def test_an_entry_without_consent_is_listed_but_never_pushed(db, client_as):
    town = city()
    inst, product, _a, _m = bank()
    whitelist = batch(town)
    need = need_in()
    match(need, product)
    silent = entry(town, whitelist, need, consent=False)
    assert _codes(whitelist, silent) == {"no_consent"}
    pushing.propose(town, whitelist)
    assert silent.pushes == []
    with pytest.raises(ServiceError, match="没有可推送的内容"):
        pushing.push_whitelist(town, whitelist)
    with pytest.raises(ServiceError, match="不符合推送条件"):
        pushing.add_push(town, silent, inst)
    assert _count(db, Lead) == 0 and _count(db, Consent) == 0
    db.session.commit()
    page = client_as("organizer").get(f"/whitelists/{whitelist.id}")
    assert "企业未同意推送：不会推送给任何金融机构" in page.text


def test_consent_given_later_makes_the_entry_pushable(db):
    town = city()
    _inst, product, _a, _m = bank()
    whitelist = batch(town)
    need = need_in()
    match(need, product)
    item = entry(town, whitelist, need, consent=False)
    service.update_entry(town, item, consent=True, consent_basis="申报表企业盖章同意")
    assert_audited("whitelist_entry.updated", item)
    pushing.propose(town, whitelist)
    sent = pushing.push_whitelist(town, whitelist).sent
    consent = db.session.scalar(select(Consent).where(Consent.need_id == need.id))
    assert len(sent) == 1 and consent.via == "whitelist"


def test_the_same_need_twice_in_one_batch_is_refused(db):
    town = city()
    whitelist = batch(town)
    need = need_in()
    entry(town, whitelist, need)
    with pytest.raises(ServiceError, match="已在本批白名单中"):
        entry(town, whitelist, need)
    assert _count(db, WhitelistEntry) == 1


def test_the_same_need_on_an_earlier_open_batch_is_a_duplicate(db):
    town, yongchuan = city(), district()
    earlier = batch(yongchuan, title="2026年第3批")
    need = need_in()
    entry(yongchuan, earlier, need)
    later = batch(town, title="2026年第4批")
    item = entry(town, later, need)
    problems = rules.entry_problems(later)[item.id]
    assert [p.code for p in problems] == ["duplicate_batch"]
    assert "2026年第3批" in problems[0].message and problems[0].blocking
    assert rules.entry_problems(earlier)[earlier.entries[0].id] == []  # the first one keeps it
    earlier.status = "closed"
    db.session.flush()
    assert rules.entry_problems(later)[item.id] == []  # closed batches no longer count


def test_two_needs_of_one_enterprise_are_a_warning(db):
    town = city()
    whitelist = batch(town)
    first = need_in()
    second = need_in()
    second.enterprise = first.enterprise
    db.session.flush()
    a, b = entry(town, whitelist, first), entry(town, whitelist, second)
    for item in (a, b):
        problems = rules.entry_problems(whitelist)[item.id]
        assert [(p.code, p.blocking) for p in problems] == [("duplicate_enterprise", False)]


def test_an_enterprise_in_difficulty_is_not_pushed_until_the_flag_is_cleared(db):
    town = city()
    _inst, product, _a, _m = bank()
    whitelist = batch(town)
    need = need_in()
    match(need, product)
    item = entry(town, whitelist, need)
    with pytest.raises(ServiceError, match="请填写标记原因"):
        rules.set_flag(town, need.enterprise, "")
    flag = rules.set_flag(town, need.enterprise, "债委会已启动，制定脱困方案")
    assert_audited("enterprise_flag.set", flag, enterprise_id=need.enterprise_id)
    with pytest.raises(ServiceError, match="已被标记"):
        rules.set_flag(town, need.enterprise, "again")
    problems = rules.entry_problems(whitelist)[item.id]
    assert problems[0].code == "difficulty" and "脱困方案" in problems[0].message
    pushing.propose(town, whitelist)
    assert item.pushes == []
    rules.clear_flag(town, flag, "脱困完成")
    assert_audited("enterprise_flag.cleared", flag)
    pushing.propose(town, whitelist)
    assert [p.institution_id for p in item.pushes] == [product.institution_id]


@pytest.mark.parametrize("status", ["funded", "closed", "withdrawn", "expired"])
def test_a_need_that_left_the_market_is_not_pushed(db, status):
    town = city()
    whitelist = batch(town)
    need = need_in()
    item = entry(town, whitelist, need)
    need.status = status
    db.session.flush()
    problems = rules.entry_problems(whitelist)[item.id]
    assert [p.code for p in problems] == ["need_ended"] and problems[0].blocking


def test_a_district_organizer_cannot_flag_another_districts_enterprise(db):
    with pytest.raises(ServiceError):
        rules.set_flag(district(), need_in(OTHER_DISTRICT).enterprise, "x")


# --- proposals, overrides, the push -------------------------------------------------------------

def test_proposals_follow_the_matches_and_the_cap(db):
    town = city()
    banks = [bank() for _ in range(3)]
    whitelist = batch(town, per_entry=2, share=Decimal("0.5"))
    items = []
    for _ in range(4):
        need = need_in()
        for k, (_i, product, _a, _m) in enumerate(banks):
            match(need, product, score=str(90 - k))
        items.append(entry(town, whitelist, need))
    result = pushing.propose(town, whitelist)
    assert result.cap == 4  # ceil(4 entries × 2 × 0.5)
    assert all(len(i.pushes) == 2 for i in items)
    assert max(result.loads.values()) <= 4 and not result.over_cap
    push = items[0].pushes[0]
    assert push.source == "matcher" and push.rank in (1, 2, 3) and push.product_id
    assert_audited("whitelist.proposed", whitelist, proposals=8, cap=4)


def test_the_organizer_overrides_a_proposal(db):
    town = city()
    (inst_a, product_a, _a, _m), (inst_b, _pb, _b, _n) = bank(), bank()
    whitelist = batch(town, per_entry=1)
    need = need_in()
    match(need, product_a)
    item = entry(town, whitelist, need)
    pushing.propose(town, whitelist)
    proposed = item.pushes[0]
    assert proposed.institution_id == inst_a.id
    pushing.remove_push(town, proposed)
    assert_audited("push.removed", whitelist, institution_id=inst_a.id)
    added = pushing.add_push(town, item, inst_b)  # no match: the organizer knows better
    assert (added.source, added.product_id, added.rank) == ("organizer", None, None)
    assert_audited("push.added", added, matched=False)
    with pytest.raises(ServiceError, match="已在推送给"):
        pushing.add_push(town, item, inst_b)
    report = pushing.push_whitelist(town, whitelist)
    assert [p.institution_id for p in report.sent] == [inst_b.id]
    lead = db.session.get(Lead, added.lead_id)
    assert (lead.source, lead.institution_id, lead.status) == ("whitelist", inst_b.id, "open")
    with pytest.raises(ServiceError, match="已推送的机构不能撤回"):
        pushing.remove_push(town, added)


def test_push_opens_whitelist_leads_and_tells_each_bank_admin_once(db):
    _whitelist, entries, banks, _town = pushed_batch(n_banks=2, n_entries=3)
    leads = db.session.scalars(select(Lead).order_by(Lead.id)).all()
    assert len(leads) == 6 and {lead.source for lead in leads} == {"whitelist"}
    assert all(p.status == "sent" and p.lead_id and p.sent_at for e in entries for p in e.pushes)
    for inst, _product, admin, manager in banks:
        notices = db.session.scalars(select(Notification).where(
            Notification.user_id == admin.id, Notification.kind == "whitelist.pushed")).all()
        assert len(notices) == 1 and "推送3户企业" in notices[0].message
        assert _count(db, Notification, Notification.user_id == manager.id,
                      Notification.kind == "lead.opened") == 3


def test_pushing_twice_sends_nothing_twice(db):
    whitelist, entries, _banks, town = pushed_batch(n_banks=2, n_entries=2)
    counts = (_count(db, Lead), _count(db, Notification), _count(db, Consent))
    again = pushing.push_whitelist(town, whitelist)
    assert again.sent == [] and (_count(db, Lead), _count(db, Notification),
                                 _count(db, Consent)) == counts
    # proposing again keeps what was sent, and a new proposal has nothing left to add
    pushing.propose(town, whitelist)
    assert all(p.status == "sent" for e in entries for p in e.pushes)
    assert pushing.push_whitelist(town, whitelist).sent == []
    assert _count(db, Lead) == counts[0]


def test_a_later_supplement_sends_only_the_new_institution(db):
    whitelist, entries, banks, town = pushed_batch(n_banks=1, n_entries=1)
    extra, _p, _extra_admin, _m = bank()
    pushing.add_push(town, entries[0], extra)
    report = pushing.push_whitelist(town, whitelist)
    assert [p.institution_id for p in report.sent] == [extra.id]
    assert_audited("whitelist.pushed", whitelist, supplement=True, sent=1)
    assert _count(db, Notification, Notification.user_id == banks[0][2].id,
                  Notification.kind == "whitelist.pushed") == 1


def test_the_push_is_one_transaction(db, monkeypatch, client_as):
    """A failure on the second institution leaves nothing of the first behind."""
    town = city()
    (_ia, pa, _a, _m), (_ib, pb, _b, _n) = bank(), bank()
    whitelist = batch(town)
    need = need_in()
    match(need, pa, "90")
    match(need, pb, "80")
    entry(town, whitelist, need)
    pushing.propose(town, whitelist)
    db.session.commit()  # the view's request begins here
    real = pushing.leads.open_lead
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ServiceError("模拟失败")
        return real(*args, **kwargs)

    monkeypatch.setattr(pushing.leads, "open_lead", flaky)
    page = client_as("organizer").post(f"/whitelists/{whitelist.id}/push", follow_redirects=True)
    assert "模拟失败" in page.text
    db.session.expire_all()
    assert _count(db, Lead) == 0 and _count(db, Consent) == 0
    assert db.session.get(Whitelist, whitelist.id).status == "draft"
    assert _count(db, Push, Push.status == "sent") == 0


def test_a_self_registered_firm_is_not_pushed_until_an_organizer_confirms_it(db):
    from matchmaker.enterprises import verification
    town = city()
    _inst, product, _a, _m = bank()
    whitelist = batch(town)
    need = need_in()
    match(need, product)
    need.enterprise.verification = "pending"
    item = entry(town, whitelist, need)
    problems = rules.entry_problems(whitelist)[item.id]
    assert [(p.code, p.blocking) for p in problems] == [("unverified", True)]
    pushing.propose(town, whitelist)
    assert item.pushes == []
    verification.confirm_registration(town, need.enterprise)
    assert rules.entry_problems(whitelist)[item.id] == []
