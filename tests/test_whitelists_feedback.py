"""The banks' answers (read from the leads), the disbursement record, the deadline sweep and
the 白名单督办 list (with the leads clock frozen), the progress figures against hand-computed
ones, and the Excel report to 市经信委."""
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from matchmaker.errors import ServiceError
from matchmaker.leads import claims, outcomes
from matchmaker.notifications.models import Notification
from matchmaker.whitelists import answers, pushing, report
from matchmaker.whitelists.models import Push
from tests.factories import user_for_role
from tests.helpers import assert_audited
from tests.test_whitelists_support import (
    bank,
    batch,
    china,
    city,
    entry,
    freeze,
    need_in,
    pushed_batch,
)


def _contact(manager, lead):
    claims.claim_lead(manager, lead)
    claims.add_followup(manager, lead, "call")


def _approve(manager, lead, product, amount):
    _contact(manager, lead)
    outcomes.approve_lead(manager, lead, product=product, amount_wan=Decimal(amount),
                       rate=Decimal("3.85"), term_months=12, guarantee_mode="credit",
                       approved_on=date(2026, 11, 10))


# --- answers ---------------------------------------------------------------------------------

def test_answers_follow_the_lead(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 9))
    whitelist, entries, banks, _town = pushed_batch(n_banks=1, n_entries=1)
    (_inst, product, _admin, manager) = banks[0]
    push = entries[0].sent_pushes[0]
    lead = push.lead
    assert answers.answer_of(push).stage == "pending"
    claims.claim_lead(manager, lead)
    assert answers.answer_of(push).stage == "pending"  # claimed is not yet an answer
    claims.add_followup(manager, lead, "call")
    assert answers.answer_of(push).stage == "contacted"
    freeze(monkeypatch, china(2026, 11, 10, 15))
    outcomes.approve_lead(manager, lead, product=product, amount_wan=Decimal(250),
                       rate=Decimal("3.85"), term_months=12, guarantee_mode="credit",
                       approved_on=date(2026, 11, 10))
    answer = answers.answer_of(push)
    assert (answer.stage, answer.granted_wan, answer.rate) == ("granted", Decimal(250),
                                                               Decimal("3.85"))
    answers.record_disbursement(manager, push, amount_wan=Decimal(200), rate=Decimal("3.8"),
                                term_months=12, disbursed_on=date(2026, 11, 10))
    answer = answers.answer_of(push)
    assert (answer.stage, answer.granted_wan, answer.disbursed_wan, answer.rate) == (
        "disbursed", Decimal(250), Decimal(200), Decimal("3.8"))
    assert_audited("push.disbursed", push, amount_wan="200", whitelist_id=whitelist.id)


def test_a_decline_is_not_suitable_with_its_reason(db):
    _whitelist, entries, banks, _town = pushed_batch(n_banks=1, n_entries=1)
    manager = banks[0][3]
    push = entries[0].sent_pushes[0]
    claims.claim_lead(manager, push.lead)
    claims.add_followup(manager, push.lead, "call")
    outcomes.decline_lead(manager, push.lead, "insufficient_collateral")
    answer = answers.answer_of(push)
    assert (answer.stage, answer.reason, answer.answered, answer.contacted) == (
        "not_suitable", "insufficient_collateral", True, True)
    assert answer.reason_label == "抵押担保不足"


def test_the_enterprise_confirming_the_money_is_a_disbursement(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 10))
    _whitelist, entries, banks, _town = pushed_batch(n_banks=1, n_entries=1)
    (_inst, product, _admin, manager) = banks[0]
    push = entries[0].sent_pushes[0]
    _approve(manager, push.lead, product, "300")
    owner = user_for_role("enterprise", enterprise=entries[0].enterprise)
    outcomes.confirm_funding(owner, push.lead, 5)
    answer = answers.answer_of(push)
    assert (answer.stage, answer.disbursed_wan) == ("disbursed", Decimal(300))


def test_disbursement_rules(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 10))
    _whitelist, entries, banks, _town = pushed_batch(n_banks=1, n_entries=1)
    (_inst, product, admin, manager) = banks[0]
    push = entries[0].sent_pushes[0]
    other_manager = user_for_role("bank_manager", institution=banks[0][0])
    with pytest.raises(ServiceError, match="只有已授信"):
        answers.record_disbursement(manager, push, amount_wan=Decimal(1), rate=Decimal(3),
                                    term_months=12, disbursed_on=date(2026, 11, 10))
    _approve(manager, push.lead, product, "300")

    def record(actor, **values):
        args = {"amount_wan": Decimal(300), "rate": Decimal("3.8"), "term_months": 12,
                "disbursed_on": date(2026, 11, 10)}
        args.update(values)
        return answers.record_disbursement(actor, push, **args)

    for values, message in (({"amount_wan": Decimal(301)}, "不能超过授信金额"),
                            ({"rate": Decimal(-1)}, "年利率"),
                            ({"term_months": 0}, "期限"),
                            ({"disbursed_on": date(2026, 11, 11)}, "不能晚于今天"),
                            ({"disbursed_on": date(2026, 11, 9)}, "不能早于批准日期")):
        with pytest.raises(ServiceError, match=message):
            record(manager, **values)
    with pytest.raises(ServiceError):
        record(other_manager)  # not the manager who held the lead
    record(admin)  # the institution's admin may
    assert push.disbursed_by_id == admin.id


def test_answered_in_sql_and_in_python_agree(db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 10))
    _whitelist, entries, banks, _town = pushed_batch(n_banks=2, n_entries=3)
    (_i, product_a, _a, manager_a), (_j, _pb, _b, manager_b) = banks
    by_bank = {p.institution_id: p for e in entries for p in e.pushes if e is entries[0]}
    _approve(manager_a, by_bank[banks[0][0].id].lead, product_a, "100")
    claims.claim_lead(manager_b, by_bank[banks[1][0].id].lead)  # claimed only
    _contact(manager_a, next(p for p in entries[1].pushes if p.institution_id == banks[0][0].id).lead)
    from matchmaker.leads.models import Lead

    rows = db.session.execute(select(Push.id, answers.answered_clause())
                              .join(Lead, Lead.id == Push.lead_id)).all()
    sql = {push_id: bool(answered) for push_id, answered in rows}
    python = {p.id: answers.answer_of(p).answered for e in entries for p in e.pushes}
    assert sql == python and sum(python.values()) == 2


# --- the deadline ---------------------------------------------------------------------------------

def test_unanswered_entries_go_on_the_supervision_list_after_the_deadline(db, monkeypatch,
                                                                           client_as):
    freeze(monkeypatch, china(2026, 11, 10))
    whitelist, entries, banks, town = pushed_batch(n_banks=2, n_entries=2)  # deadline 11-20
    (_ia, _pa, admin_a, manager_a), (_ib, _pb, admin_b, _mb) = banks
    answered = next(p for p in entries[0].pushes if p.institution_id == banks[0][0].id)
    _contact(manager_a, answered.lead)

    assert answers.sweep(date(2026, 11, 20)).escalated == []  # the deadline day is still in time
    freeze(monkeypatch, china(2026, 11, 23))
    swept = answers.sweep()
    assert len(swept.escalated) == 3 and answered not in swept.escalated
    assert_audited("push.escalated", swept.escalated[0], whitelist_id=whitelist.id)
    for admin, count in ((admin_a, 1), (admin_b, 2)):
        notices = db.session.scalars(select(Notification).where(
            Notification.user_id == admin.id, Notification.kind == "whitelist.escalated")).all()
        assert len(notices) == 1 and f"{count}户企业超过反馈截止日期" in notices[0].message
    assert answers.sweep().escalated == []  # idempotent: told once

    town_view = answers.overdue_by_institution(town)
    assert [(inst.id, n) for inst, n, _d in town_view] == [(banks[1][0].id, 2),
                                                            (banks[0][0].id, 1)]
    db.session.commit()
    client = client_as("organizer")
    page = client.get("/whitelists/supervision")
    assert page.status_code == 200
    assert all(f'data-testid="overdue-{p.id}"' in page.text for p in swept.escalated)
    assert f'data-testid="overdue-{answered.id}"' not in page.text

    late = swept.escalated[0]
    response = client.post(f"/whitelists/pushes/{late.id}/supervise",
                           data={"note": "已电话督促"}, follow_redirects=True)
    assert "督办情况已记录" in response.text
    assert_audited("push.supervised", late)
    # once the bank answers, the entry leaves the list
    manager = user_for_role("bank_manager", institution=late.institution)
    _contact(manager, late.lead)
    assert late.id not in {p.id for p in db.session.scalars(answers.supervised_pushes(town))}


def test_a_district_sees_only_its_own_overdue_entries(db, monkeypatch):
    from tests.test_whitelists_support import district

    freeze(monkeypatch, china(2026, 11, 10))
    pushed_batch(n_banks=1, n_entries=1)  # a city batch
    freeze(monkeypatch, china(2026, 11, 30))
    assert db.session.scalars(answers.supervised_pushes(city())).all()
    assert db.session.scalars(answers.supervised_pushes(district())).all() == []


def test_sweep_command(app, db, monkeypatch):
    freeze(monkeypatch, china(2026, 11, 10))
    pushed_batch(n_banks=1, n_entries=2)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["whitelists", "sweep", "--today", "2026-11-21"])
    assert result.exit_code == 0 and "escalated 2 whitelist push(es)" in result.output


# --- progress figures --------------------------------------------------------------------------

@pytest.fixture
def scenario(db, monkeypatch):
    """Four entries, three banks (A, B, C), answered as in the docstring of each line."""
    freeze(monkeypatch, china(2026, 11, 10))
    town = city()
    (a, pa, _admin_a, ma), (b, pb, _ab, mb), (c, _pc, _ac, _mc) = bank("A银行"), bank("B银行"), \
        bank("C银行")
    whitelist = batch(town, per_entry=3, share=Decimal(1))
    e1 = entry(town, whitelist, need_in("永川区", amount="300"))
    e2 = entry(town, whitelist, need_in("江津区", amount="500", cluster="advanced_materials"))
    e3 = entry(town, whitelist, need_in("永川区", amount="100", cluster=None), consent=False)
    e4 = entry(town, whitelist, need_in("江津区", amount="800", cluster="advanced_materials"))
    for item, institutions in ((e1, (a, b)), (e2, (a, c)), (e4, (b,))):
        for inst in institutions:
            pushing.add_push(town, item, inst)
    pushing.push_whitelist(town, whitelist)
    push = {(e.id, p.institution_id): p for e in (e1, e2, e4) for p in e.pushes}
    _approve(ma, push[e1.id, a.id].lead, pa, "200")                # e1 × A: granted 200,
    answers.record_disbursement(ma, push[e1.id, a.id], amount_wan=Decimal(150),  # lent 150
                                rate=Decimal("3.8"), term_months=12,
                                disbursed_on=date(2026, 11, 10))
    claims.claim_lead(mb, push[e1.id, b.id].lead)                      # e1 × B: not suitable
    claims.add_followup(mb, push[e1.id, b.id].lead, "call")
    outcomes.decline_lead(mb, push[e1.id, b.id].lead, "weak_financials")
    _contact(ma, push[e2.id, a.id].lead)                              # e2 × A: contacted
    #                                                                   e2 × C: nothing yet
    _approve(mb, push[e4.id, b.id].lead, pb, "800")                  # e4 × B: granted 800 and
    outcomes.confirm_funding(user_for_role("enterprise", enterprise=e4.enterprise),
                          push[e4.id, b.id].lead, 4)                  # confirmed by the firm
    return whitelist, (a, b, c), (e1, e2, e3, e4), town


def _row(rows, key):
    return next(r for r in rows if r.key == key)


def test_progress_figures_match_the_hand_count(scenario):
    whitelist, (a, b, c), _entries, _town = scenario
    figures = report.progress(whitelist)
    t = figures.total
    assert (t.entries, t.asked_wan, t.pushed, t.contacted, t.granted, t.granted_wan,
            t.disbursed, t.disbursed_wan) == (4, Decimal(1700), 3, 3, 2, Decimal(1000), 2,
                                              Decimal(950))
    ra, rb, rc = (_row(figures.by_institution, str(i.id)) for i in (a, b, c))
    assert (ra.pushed, ra.contacted, ra.granted, ra.granted_wan, ra.disbursed,
            ra.disbursed_wan) == (2, 2, 1, Decimal(200), 1, Decimal(150))
    assert (rb.pushed, rb.contacted, rb.granted, rb.granted_wan, rb.disbursed,
            rb.disbursed_wan) == (2, 2, 1, Decimal(800), 1, Decimal(800))
    assert (rc.pushed, rc.contacted, rc.granted, rc.disbursed) == (1, 0, 0, 0)
    yongchuan, jiangjin = _row(figures.by_district, "永川区"), _row(figures.by_district, "江津区")
    assert (yongchuan.entries, yongchuan.asked_wan, yongchuan.pushed, yongchuan.contacted,
            yongchuan.granted_wan, yongchuan.disbursed_wan) == (2, Decimal(400), 1, 1,
                                                                Decimal(200), Decimal(150))
    assert (jiangjin.entries, jiangjin.pushed, jiangjin.contacted, jiangjin.granted,
            jiangjin.disbursed_wan) == (2, 2, 2, 1, Decimal(800))
    materials = _row(figures.by_cluster, "advanced_materials")
    blank = _row(figures.by_cluster, "")
    assert (materials.entries, materials.granted_wan) == (2, Decimal(800))
    assert (blank.label, blank.entries, blank.pushed) == ("未填写产业集群", 1, 0)
    chart = figures.chart()
    assert chart["institution"]["categories"][:2] == ["A银行", "B银行"] or \
        set(chart["institution"]["categories"]) == {"A银行", "B银行", "C银行"}
    assert [s["name"] for s in chart["district"]["series"]] == ["已推送", "已对接", "已授信",
                                                                "已放款"]


def test_progress_page_shows_the_figures_and_the_chart_data(scenario, client_as, db):
    whitelist, *_ = scenario
    db.session.commit()
    page = client_as("organizer").get(f"/whitelists/{whitelist.id}/progress")
    assert page.status_code == 200
    assert 'id="whitelist-chart"' in page.text and "data-chart=" in page.text
    assert "vendor/echarts/echarts.min.js" in page.text and "js/whitelists.js" in page.text
    assert "<script>" not in page.text  # no inline script (CSP)
    assert "950 万元" in page.text and "1,000 万元" in page.text


# --- the Excel report ---------------------------------------------------------------------------

def test_excel_report_layout_and_figures(scenario, client_as, db):
    whitelist, (_a, _b, _c), (e1, e2, e3, _e4), _town = scenario
    e2.enterprise.name = '=HYPERLINK("http://evil.example","点我")'
    e3.note = "+cmd|' /C calc'!A0"
    db.session.commit()
    response = client_as("organizer", organization="重庆市经济和信息化委员会") \
        .get(f"/whitelists/{whitelist.id}/report.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert_audited("whitelist.exported", whitelist)
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws["A1"].value.startswith(whitelist.title) and "对接情况表" in ws["A1"].value
    assert ws["A2"].value == "填报单位：重庆市经济和信息化委员会"
    assert ws["H2"].value.startswith("填报日期：")
    assert [c.value for c in ws[4]] == ["序号", "企业名称", "统一社会信用代码", "所在区县", "产业集群",
                                        "融资需求（万元）", "推送机构", "对接情况", "授信金额", "放款金额",
                                        "利率", "期限", "备注"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5)]
    # e1 × A, e1 × B, e2 × A, e2 × C, e3 (not pushed), e4 × B, totals
    assert len(rows) == 7
    assert rows[0][:3] == [1, e1.enterprise.name, e1.enterprise.uscc]
    by_bank = {r[6]: r for r in rows[:2]}
    assert by_bank["A银行"][7:12] == ["已放款", 200, 150, 3.8, 12]
    assert by_bank["B银行"][7] == "不符合条件：经营或财务状况不足以支撑该额度"
    assert rows[4][0] == 3 and rows[4][7] == "未推送：企业未同意推送：不会推送给任何金融机构（取得企业书面同意后在条目中勾选）"
    assert rows[5][7:10] == ["已放款", 800, 800]
    totals = rows[6]
    assert totals[0] == "合计" and totals[5] == 1700 and totals[8] == 1000 and totals[9] == 950
    assert "共4户，推送3户，对接3户，授信2户，放款2户" == totals[1]
    # text cells stay text: the formula-looking name is a string, and no formula is stored
    assert rows[2][1] == '=HYPERLINK("http://evil.example","点我")'
    assert ws.cell(row=7, column=2).data_type == "s"
    assert "+cmd" in rows[4][12]
    assert isinstance(rows[0][2], str) and len(rows[0][2]) == 18  # the USCC is text
    with zipfile.ZipFile(io.BytesIO(response.data)) as xlsx:
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    assert "A5:A6" in [str(r) for r in ws.merged_cells.ranges]  # one entry, two banks


def test_export_with_nothing_pushed(db, client_as):
    town = city()
    whitelist = batch(town)
    entry(town, whitelist, need_in())
    db.session.commit()
    response = client_as("organizer").get(f"/whitelists/{whitelist.id}/report.xlsx")
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws.cell(row=5, column=8).value == "未推送"
    assert ws.cell(row=6, column=1).value == "合计"
    assert db.session.scalar(select(func.count(Push.id))) == 0
