"""Issue 17 findings 8 and 9 in the browser, CSRF on as in production.

8. An enterprise's needs form posted ten times at once from its page (one render, one token):
   one need; posting it again lands on that need with the notice. A manager's approval form
   posted eight times at once from the lead page: one decision, one audit entry, one
   notification to the enterprise, and the page says the decision is recorded.
9. A bank registers two managers for an event; before scheduling the organizer sees no
   "未能安排的请求"; after one click each meeting has a registered manager (never the admin),
   the admin reassigns one from its agenda, the enterprise's agenda names only the product the
   bank brought, and the organizer moves the event's date: the slots move with it.
Screenshots: test-artifacts/events-assign.png."""
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from matchmaker.accounts.models import User
from matchmaker.accounts.service import create_user
from matchmaker.audit.models import AuditEntry
from matchmaker.enterprises.models import Enterprise, Need
from matchmaker.events import service as events
from matchmaker.events.models import Event, EventSlot, EventTable, Meeting
from matchmaker.extensions import db
from matchmaker.institutions.models import Institution, Product
from matchmaker.leads import claims, push
from matchmaker.leads.models import Lead
from matchmaker.matching.models import Match
from matchmaker.notifications.models import Notification
from tests.factories import PASSWORD, valid_uscc

pytestmark = pytest.mark.browser
CHINA = ZoneInfo("Asia/Shanghai")
FIRM, ADMIN, STAFF = "once-cfo@example.com", "once-admin@example.com", "once-org@example.com"
MANAGERS = ("once-kh1@example.com", "once-kh2@example.com")


def _product(bank, ref, name):
    product = Product(ref=ref, institution_id=bank.id, name=name, status="published",
                      version=1, amount_min_wan=Decimal(50), amount_max_wan=Decimal(2000),
                      term_min_months=6, term_max_months=60, rate_min=Decimal("3.1"),
                      rate_max=Decimal("4.2"))
    product.purposes = ["tech_upgrade"]
    product.guarantee_modes = ["credit", "mortgage"]
    return product


@pytest.fixture(scope="module")
def scene(live_server):
    """An event in ten days; a bank (admin, two managers, two products: one brought, one the
    need matches better but left at home); a firm registered with an accepted request."""
    with live_server.app.app_context():
        today = datetime.now(CHINA).date()
        day = today + timedelta(days=10)
        bank = Institution(ref="B-ONCE", name="重庆江北农商银行", kind="bank")
        firm = Enterprise(
            ref="E-ONCE", name="重庆江北精工机械有限公司", uscc=valid_uscc(770001),
            district="江北区", industry="C3484", employees=60, revenue_wan=Decimal(2600),
            founded=date(2015, 3, 1), has_bank_loan=True, cluster="intelligent_equipment")
        db.session.add_all([bank, firm])
        db.session.flush()
        brought = _product(bank, "P-ONCE-1", "精工设备更新贷")
        home = _product(bank, "P-ONCE-2", "留在行里的产品")
        need = Need(ref="N-ONCE", enterprise_id=firm.id, purpose="tech_upgrade",
                    loan_kind="new", amount_wan=Decimal(600), term_months=36,
                    created=today, status="published")
        need.guarantee_modes = ["mortgage"]
        db.session.add_all([brought, home, need])
        db.session.flush()
        for product, score in ((brought, "80.0"), (home, "95.0")):
            db.session.add(Match(need_id=need.id, product_id=product.id, product_version=1,
                                 score=Decimal(score), components={}, reasons=["用途相符"],
                                 estimated_rate=Decimal("3.300")))
        firm_user = create_user(email=FIRM, name="周会计", password=PASSWORD, role="enterprise",
                                enterprise_id=firm.id, is_enterprise_admin=True)
        admin = create_user(email=ADMIN, name="冯行长", password=PASSWORD, role="bank_admin",
                            institution_id=bank.id)
        staff = [create_user(email=e, name=n, password=PASSWORD, role="bank_manager",
                             institution_id=bank.id) for e, n in zip(MANAGERS, ("陈经理", "褚经理"))]
        create_user(email=STAFF, name="卫科长", password=PASSWORD, role="organizer")
        event = Event(title="江北区智能装备银企对接会", day=day, venue="江北区金融服务中心",
                      status="published",
                      registration_deadline=datetime.combine(day - timedelta(days=2), time(18),
                                                             CHINA))
        db.session.add(event)
        db.session.flush()
        for n in range(2):
            start = datetime.combine(day, time(9), CHINA) + timedelta(minutes=25 * n)
            db.session.add(EventSlot(event_id=event.id, starts_at=start,
                                     ends_at=start + timedelta(minutes=20)))
        db.session.add_all([EventTable(event_id=event.id, number=n) for n in (1, 2)])
        db.session.flush()
        db.session.expire(event, ["slots", "tables"])
        ent = events.register_enterprise(firm_user, event, need, consent=True)
        inst = events.register_institution(admin, event, bank, [u.id for u in staff],
                                           [brought.id])
        request = events.request_meeting(firm_user, ent, inst, "想了解设备更新贷")
        events.respond_request(admin, request, True)
        db.session.commit()
        return {"event_id": event.id, "inst_id": inst.id, "ent_id": ent.id, "day": day,
                "firm_id": firm.id, "staff": [u.name for u in staff], "admin_id": admin.id}


def log_in(page, email: str) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/login")
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/home$"))


POST_TEN = """async () => {
  const form = document.querySelector('input[name="form_token"]').form;
  const data = new FormData(form);
  for (const [k, v] of [["purpose", "tech_upgrade"], ["loan_kind", "new"], ["amount_wan", "300"],
                        ["term_months", "12"], ["action", "publish"], ["contact_name", "周会计"],
                        ["contact_phone", "13983000077"],
                        ["description", "购置数控机床两台，总投资400万元，建设周期6个月"]]) data.set(k, v);
  data.delete("guarantee_modes"); data.append("guarantee_modes", "credit");
  const posts = Array.from({length: 10}, () => fetch(form.getAttribute("action") || location.href,
      {method: "POST", body: data, credentials: "same-origin"}).then(r => r.status));
  const statuses = await Promise.all(posts);
  const again = await fetch(form.getAttribute("action") || location.href, {method: "POST", body: data});
  return {statuses, url: again.url, text: await again.text()};
}"""


def test_ten_posts_of_one_needs_form_make_one_need(new_page, live_server, scene):
    page = new_page()
    log_in(page, FIRM)
    page.goto("/needs/new")
    result = page.evaluate(POST_TEN)
    assert result["statuses"] == [200] * 10, result["text"]      # each followed its redirect to a page
    assert re.search(r"/needs/\d+$", result["url"]) and "该表单已提交过" in result["text"]
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count(Need.id)).where(
            Need.enterprise_id == scene["firm_id"])) == 2      # the scene's need + one


APPROVE_EIGHT = """async () => {
  const form = document.querySelector('[data-testid="approve-form"]');
  const data = new FormData(form);
  data.set("amount_wan", "500"); data.set("rate", "3.45"); data.set("term_months", "36");
  data.set("guarantee_mode", "mortgage");
  const posts = Array.from({length: 8}, () => fetch(form.action,
      {method: "POST", body: data, credentials: "same-origin"}).then(r => r.status));
  return await Promise.all(posts);
}"""


def test_eight_posts_of_one_approval_make_one_decision(new_page, live_server, scene):
    with live_server.app.app_context():      # the firm pushes its need; a manager claims it
        need = db.session.scalar(select(Need).where(Need.ref == "N-ONCE"))
        firm_user = db.session.scalar(select(User).where(User.email == FIRM))
        manager = db.session.scalar(select(User).where(User.email == MANAGERS[0]))
        [lead] = push.push_need(firm_user, need, [manager.institution_id], ["uscc", "revenue"])
        claims.claim_lead(manager, lead)
        db.session.commit()
        lead_id, firm_users = lead.id, [firm_user.id]
    banker = new_page()
    log_in(banker, MANAGERS[0])
    banker.goto(f"/leads/{lead_id}")
    statuses = banker.evaluate(APPROVE_EIGHT)
    assert statuses == [200] * 8                 # each followed its redirect to the lead page
    banker.reload()
    assert "已批准" in banker.content()
    with live_server.app.app_context():
        assert db.session.get(Lead, lead_id).status == "approved"
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "lead.approved", AuditEntry.subject_id == lead_id)) == 1
        assert db.session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id.in_(firm_users), Notification.kind == "lead.approved")) == 1
    assert banker.console_errors == []


def test_meetings_go_to_registered_managers_and_the_date_moves(new_page, live_server,
                                                               artifacts, scene):
    event_id, inst_id = scene["event_id"], scene["inst_id"]
    organizer, banker, firm = new_page(), new_page(), new_page()
    log_in(organizer, STAFF)
    log_in(banker, ADMIN)
    log_in(firm, FIRM)

    organizer.goto(f"/events/{event_id}/schedule")
    assert "未能安排的请求" not in organizer.content()
    organizer.get_by_test_id("run-schedule").click()
    assert "排程完成" in organizer.locator(".alert").first.inner_text()

    # the meeting went to a registered manager; the admin gives it to the other one
    banker.goto(f"/events/{event_id}/registrations/{inst_id}/agenda")
    agenda = banker.get_by_test_id("agenda").inner_text()
    holder = next(name for name in scene["staff"] if f"我方：{name}" in agenda)
    other = next(name for name in scene["staff"] if name != holder)
    banker.locator('[data-testid^="assign-"] select').select_option(label=other)
    banker.get_by_role("button", name="指派").click()
    assert f"已指派{other}负责该洽谈" in banker.locator(".alert").first.inner_text()
    assert f"我方：{other}" in banker.get_by_test_id("agenda").inner_text()
    banker.screenshot(path=str(artifacts / "events-assign.png"), full_page=True)
    with live_server.app.app_context():
        holders = set(db.session.scalars(select(Meeting.manager_id)))
        assert scene["admin_id"] not in holders
        assert holders <= set(db.session.scalars(select(User.id).where(
            User.name.in_(scene["staff"]))))

    # the enterprise's agenda names the product the bank brought, not the one left at home
    firm.goto(f"/events/{event_id}/registrations/{scene['ent_id']}/agenda")
    text = firm.get_by_test_id("agenda").inner_text()
    assert "精工设备更新贷" in text and "留在行里的产品" not in text

    # the organizer moves the event two days later: the slots follow
    new_day = scene["day"] + timedelta(days=2)
    organizer.goto(f"/events/{event_id}/edit")
    organizer.get_by_label("活动日期").fill(new_day.isoformat())
    organizer.get_by_role("button", name="保存").click()
    organizer.wait_for_url(re.compile(rf"/events/{event_id}$"))
    with live_server.app.app_context():
        event = db.session.get(Event, event_id)
        assert event.day == new_day
        assert {s.starts_at.astimezone(CHINA).date() for s in event.slots} == {new_day}
    for page in (organizer, banker, firm):
        assert page.console_errors == []
