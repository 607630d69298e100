"""A need's lifecycle: the transition table (each allowed move, and forbidden ones), edits
recorded in the timeline, withdrawal with a reason, and `matchmaker needs expire`."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from matchmaker.audit.models import AuditEntry
from matchmaker.clock import china_today
from matchmaker.enterprises import service
from matchmaker.enterprises.models import NEED_STATUSES, Need
from matchmaker.enterprises.service import TRANSITIONS, change_status
from matchmaker.errors import ServiceError
from tests.factories import EnterpriseFactory, InstitutionFactory, NeedFactory, user_for_role
from tests.helpers import assert_audited

ACTORS = {"enterprise": "enterprise", "organizer": "organizer", "bank": "bank_manager"}


def actor_for(kind, need):
    if kind == "system":
        return None
    if kind == "enterprise":
        return user_for_role("enterprise", enterprise=need.enterprise)
    return user_for_role(ACTORS[kind])


ALLOWED = [(frm, to, kind) for (frm, to), kinds in TRANSITIONS.items() for kind in sorted(kinds)]


@pytest.mark.parametrize("frm,to,kind", ALLOWED, ids=[f"{f}->{t}-{k}" for f, t, k in ALLOWED])
def test_each_allowed_transition(db, frm, to, kind):
    need = NeedFactory(status=frm, enterprise=EnterpriseFactory(has_bank_loan=True))
    change_status(actor_for(kind, need), need, to, reason="测试原因")
    assert need.status == to
    entry = assert_audited("need.status_changed", need)
    assert entry.details["from"] == frm and entry.details["to"] == to
    assert "→" in entry.details["summary"]


FORBIDDEN_PAIRS = [(frm, to) for frm in NEED_STATUSES for to in NEED_STATUSES
                   if frm != to and (frm, to) not in TRANSITIONS]


@pytest.mark.parametrize("frm,to", FORBIDDEN_PAIRS, ids=[f"{f}->{t}" for f, t in FORBIDDEN_PAIRS])
def test_moves_outside_the_table_are_refused(db, frm, to):
    need = NeedFactory(status=frm)
    with pytest.raises(ServiceError, match="不能从"):
        change_status(None if to == "expired" else actor_for("organizer", need), need, to, "x")
    assert need.status == frm


@pytest.mark.parametrize("frm,to,kind", [
    ("published", "expired", "enterprise"),     # only the expiry job
    ("published", "closed", "enterprise"),      # the enterprise withdraws instead
    ("draft", "published", "bank"),
    ("in_progress", "withdrawn", "organizer"),  # only the enterprise withdraws its need
    ("expired", "published", "organizer"),
])
def test_wrong_actor_is_refused(db, frm, to, kind):
    need = NeedFactory(status=frm)
    with pytest.raises(ServiceError, match="您不能进行此操作"):
        change_status(actor_for(kind, need), need, to, "x")


def test_terminal_statuses_have_no_way_out():
    for terminal in ("funded", "closed", "withdrawn"):
        assert not [pair for pair in TRANSITIONS if pair[0] == terminal]


def test_withdraw_needs_a_reason(db):
    need = NeedFactory(status="published")
    with pytest.raises(ServiceError, match="请填写撤回原因"):
        change_status(actor_for("enterprise", need), need, "withdrawn", "  ")


def test_funded_need_makes_enterprise_a_borrower(db):
    need = NeedFactory(status="in_progress", enterprise=EnterpriseFactory(has_bank_loan=False),
                       loan_kind="first_loan")
    change_status(actor_for("organizer", need), need, "funded")
    assert need.enterprise.has_bank_loan is True
    assert_audited("enterprise.updated", need.enterprise)


def test_withdraw_through_page_with_reason(db, client_as):
    need = NeedFactory(status="published")
    client = client_as("enterprise", enterprise=need.enterprise)
    db.session.commit()  # the view rolls back on the refused attempt: keep the fixtures
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert 'data-confirm="确定撤回这条需求吗？' in page and 'data-testid="to-withdrawn"' in page
    response = client.post(f"/needs/{need.id}/status", data={"to": "withdrawn", "reason": ""})
    assert response.status_code == 302 and need.status == "published"
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "请填写撤回原因" in follow
    client.post(f"/needs/{need.id}/status", data={"to": "withdrawn", "reason": "已从其他渠道解决"})
    assert need.status == "withdrawn" and need.status_reason == "已从其他渠道解决"
    timeline = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "已发布 → 已撤回（原因：已从其他渠道解决）" in timeline


def test_enterprise_cannot_make_organizer_moves_through_page(db, client_as):
    need = NeedFactory(status="published")
    client = client_as("enterprise", enterprise=need.enterprise)
    assert client.post(f"/needs/{need.id}/status", data={"to": "in_progress"}).status_code == 403
    assert client.post(f"/needs/{need.id}/status", data={"to": "nonsense"}).status_code == 403
    assert need.status == "published"


def test_organizer_moves_need_along(db, client_as):
    need = NeedFactory(status="published")
    client = client_as("organizer")
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert 'data-testid="to-in_progress"' in page and 'data-testid="to-withdrawn"' not in page
    client.post(f"/needs/{need.id}/status", data={"to": "in_progress"})
    client.post(f"/needs/{need.id}/status", data={"to": "funded"})
    assert need.status == "funded"


def test_publish_a_draft(db, client_as):
    need = NeedFactory(status="draft")
    client = client_as("enterprise", enterprise=need.enterprise)
    client.post(f"/needs/{need.id}/status", data={"to": "published"})
    assert need.status == "published"


def test_edit_published_need_records_old_and_new(db, client_as):
    need = NeedFactory(status="published", amount_wan=300, term_months=12)
    client = client_as("enterprise", enterprise=need.enterprise)
    form = client.get(f"/needs/{need.id}/edit").get_data(as_text=True)
    assert 'value="300' in form
    response = client.post(f"/needs/{need.id}/edit", data={
        "loan_kind": "new", "purpose": "working_capital", "amount_wan": "500", "contact_name": "王会计", "contact_phone": "13800001234",
        "term_months": "24", "guarantee_modes": ["credit", "guarantee"], "max_rate": "",
        "description": "急需", "consent_to_share": "y"})
    assert response.status_code == 302
    assert need.amount_wan == 500 and need.term_months == 24 and need.status == "published"
    entry = assert_audited("need.updated", need)
    assert entry.details["changes"]["amount_wan"] == ["300万元", "500万元"]
    assert entry.details["changes"]["description"] == "已修改"  # free text is not copied
    assert "急需" not in str(entry.details)
    timeline = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "融资金额：300万元 → 500万元" in timeline and "期限：12个月 → 24个月" in timeline
    assert "担保方式：信用（无抵押无担保） → 信用（无抵押无担保）、保证（含融资担保公司担保）" in timeline


def test_edit_with_no_change_writes_no_entry(db, client_as):
    need = NeedFactory(status="published")
    client = client_as("enterprise", enterprise=need.enterprise)
    client.post(f"/needs/{need.id}/edit", data={
        "loan_kind": need.loan_kind, "purpose": need.purpose, "amount_wan": "300", "contact_name": "王会计", "contact_phone": "13800001234",
        "term_months": "12", "guarantee_modes": ["credit"], "consent_to_share": "y"})
    assert not db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "need.updated", AuditEntry.subject_id == need.id)).all()


def test_need_in_progress_cannot_be_edited(db, client_as):
    need = NeedFactory(status="in_progress")
    client = client_as("enterprise", enterprise=need.enterprise)
    response = client.post(f"/needs/{need.id}/edit", data={"amount_wan": "1"})
    assert response.status_code == 302
    assert need.amount_wan == 300
    with pytest.raises(ServiceError, match="不能修改"):  # the owner too, called directly
        service.update_need(user_for_role("enterprise", enterprise=need.enterprise), need,
                            purpose="working_capital", loan_kind="new",
                            amount_wan=1, term_months=12, guarantee_modes=["credit"])


def test_timeline_lists_everything_in_order(db, client_as):
    enterprise = EnterpriseFactory(has_bank_loan=True)
    client = client_as("enterprise", enterprise=enterprise)
    client.post("/needs/new", data={"loan_kind": "new", "purpose": "working_capital", "contact_name": "王会计", "contact_phone": "13800001234",
                                    "amount_wan": "100", "term_months": "6",
                                    "guarantee_modes": ["credit"], "action": "draft"})
    need = db.session.scalar(select(Need).where(Need.enterprise_id == enterprise.id))
    client.post(f"/needs/{need.id}/status", data={"to": "published"})
    actions = [e.action for e in service.need_timeline(need)]
    assert actions == ["need.created", "need.status_changed"]
    html = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert html.index("创建融资需求") < html.index("草稿 → 已发布")


# --- expiry ------------------------------------------------------------------------------------

def test_expire_command_applies_the_rule(app, db):
    today = china_today()
    lender = InstitutionFactory()
    overdue = NeedFactory(status="published", loan_kind="renewal", current_lender=lender,
                          renewal_due=today - timedelta(days=1))
    due_today = NeedFactory(status="published", loan_kind="renewal", current_lender=lender,
                            renewal_due=today)
    stale = NeedFactory(status="published")
    stale.updated_at = datetime.now(UTC) - timedelta(days=181)
    fresh = NeedFactory(status="published")
    busy = NeedFactory(status="in_progress")
    busy.updated_at = datetime.now(UTC) - timedelta(days=400)
    db.session.flush()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["needs", "expire", "--dry-run"])
    assert dry.exit_code == 0 and overdue.ref in dry.output
    assert overdue.status == "published"
    result = runner.invoke(args=["needs", "expire"])
    assert result.exit_code == 0, result.output
    assert "2 need(s) expired" in result.output
    assert (overdue.status, stale.status) == ("expired", "expired")
    assert (due_today.status, fresh.status, busy.status) == ("published", "published",
                                                             "in_progress")
    assert overdue.status_reason == "现贷款已到期，续贷需求失效"
    entry = assert_audited("need.status_changed", stale, to="expired")
    assert entry.actor_id is None


def test_expired_need_can_be_republished_by_enterprise(db, client_as):
    need = NeedFactory(status="expired")
    client = client_as("enterprise", enterprise=need.enterprise)
    client.post(f"/needs/{need.id}/status", data={"to": "published"})
    assert need.status == "published"
