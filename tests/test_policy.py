"""Administrators keep LPR quotes, subsidy programs and settings; every change audited."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from matchmaker.audit.models import AuditEntry
from matchmaker.policy import service
from matchmaker.policy.models import ReferenceRate, Setting, SubsidyProgram
from tests.conftest import ROLES
from tests.helpers import assert_audited


def _program(db, code):
    return db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))


@pytest.fixture
def admin(db, client_as):
    client = client_as("admin")
    db.session.commit()   # a refused change rolls back the request, not the fixtures
    return client


def test_lpr_on_picks_the_latest_quote_in_force(db):
    db.session.add(ReferenceRate(kind="lpr_1y", rate=Decimal("2.9"),
                                 effective_from=date(2026, 3, 20)))
    db.session.flush()
    assert service.lpr_on(date(2025, 5, 19), "lpr_1y") is None
    assert service.lpr_on(date(2025, 5, 20), "lpr_1y") == Decimal("3.0")
    assert service.lpr_on(date(2026, 3, 19), "lpr_1y") == Decimal("3.0")
    assert service.lpr_on(date(2026, 3, 20), "lpr_1y") == Decimal("2.9")
    assert service.lpr_on(date(2026, 3, 20), "lpr_5y") == Decimal("3.5")


def test_programs_in_force_respects_effective_dates(db):
    program = _program(db, "guarantee_fee_subsidy")
    program.effective_to = date(2026, 6, 30)
    db.session.flush()
    codes = lambda day: {p.code for p in service.programs_in_force(day)}
    assert "guarantee_fee_subsidy" in codes(date(2026, 6, 30))
    assert "guarantee_fee_subsidy" not in codes(date(2026, 7, 1))
    assert "tech_upgrade_interest" not in codes(date(2024, 2, 20))


def test_setting_reads_the_stored_value(db):
    assert service.setting("guarantee_fee_rate") == 1.0
    assert service.setting("no_such_key", 7) == 7


def test_admin_adds_a_dated_lpr_quote(db, admin):
    response = admin.post("/admin/policy/rates/new", data={
        "kind": "lpr_5y", "rate": "3.45", "effective_from": "2030-01-20"})
    assert response.status_code == 302
    quote = db.session.scalar(select(ReferenceRate).where(
        ReferenceRate.effective_from == date(2030, 1, 20)))
    assert quote.rate == Decimal("3.45") and quote.kind == "lpr_5y"
    assert_audited("reference_rate.created", quote, kind="lpr_5y", rate="3.45")
    assert "2030-01-20" in admin.get("/admin/policy/").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"kind": "lpr_1y", "rate": "-0.1", "effective_from": "2030-01-01"}, "报价应在0到100之间"),
    ({"kind": "lpr_1y", "rate": "3", "effective_from": ""}, "请填写生效日期"),
    ({"kind": "lpr_1y", "rate": "3", "effective_from": "2025-05-20"}, "该期限品种在这一天已有报价"),
    ({"kind": "lpr_10y", "rate": "3", "effective_from": "2030-01-01"}, "请选择LPR期限品种"),
])
def test_bad_lpr_quotes_are_refused(db, admin, data, message):
    before = db.session.scalar(select(func.count(ReferenceRate.id)))
    response = admin.post("/admin/policy/rates/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ReferenceRate.id))) == before


def test_program_form_has_one_field_per_setting(db, admin):
    program = _program(db, "guarantee_fee_subsidy")
    html = admin.get(f"/admin/policy/programs/{program.id}").get_data(as_text=True)
    for name in ("max_fee_rate", "share_of_fee", "cap_wan", "effective_from"):
        assert f'name="{name}"' in html
    assert "单笔（单个项目/单次转贷）上限（万元）" in html


def test_admin_edits_a_program(db, admin):
    program = _program(db, "tech_upgrade_interest")
    response = admin.post(f"/admin/policy/programs/{program.id}", data={
        "share_of_rate": "0.4", "cap_wan_per_year": "800",
        "effective_from": "2024-03-22", "effective_to": "2027-12-31"})
    assert response.status_code == 302
    assert program.settings == {"share_of_rate": 0.4, "cap_wan_per_year": 800}
    assert program.effective_to == date(2027, 12, 31)
    entry = assert_audited("subsidy_program.updated", program, code="tech_upgrade_interest")
    assert entry.details["before"]["settings"]["share_of_rate"] == 0.5


@pytest.mark.parametrize("data, message", [
    ({"share_of_rate": "1.5"}, "取值应在0到1之间"),
    ({"cap_wan_per_year": "-1"}, "不能为负数"),
    ({"share_of_rate": ""}, "请填写该参数"),
    ({"effective_to": "2020-01-01"}, "失效日期不能早于生效日期"),
])
def test_bad_program_settings_are_refused(db, admin, data, message):
    program = _program(db, "tech_upgrade_interest")
    form = {"share_of_rate": "0.5", "cap_wan_per_year": "1000", "effective_from": "2024-03-22",
            "effective_to": ""}
    form.update(data)
    response = admin.post(f"/admin/policy/programs/{program.id}", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert program.settings["share_of_rate"] == 0.5
    assert not db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "subsidy_program.updated"))


def test_admin_edits_a_setting(db, admin):
    response = admin.post("/admin/policy/settings/guarantee_fee_rate", data={"value": "0.8"})
    assert response.status_code == 302
    assert db.session.get(Setting, "guarantee_fee_rate").value == 0.8
    assert_audited("setting.updated", key="guarantee_fee_rate", before=1.0, after=0.8)


@pytest.mark.parametrize("key, value, message", [
    ("guarantee_fee_rate", "-1", "取值应在"), ("claim_limit_per_need", "0", "取值应在"),
    ("guarantee_fee_rate", "abc", "不是有效的小数"),
])
def test_bad_settings_are_refused(db, admin, key, value, message):
    before = db.session.get(Setting, key).value
    response = admin.post(f"/admin/policy/settings/{key}", data={"value": value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.get(Setting, key).value == before


def test_unknown_setting_is_404(db, admin):
    assert admin.get("/admin/policy/settings/secret_sauce").status_code == 404


def test_index_lists_quotes_programs_and_settings(db, admin):
    html = admin.get("/admin/policy/").get_data(as_text=True)
    for text in ("1年期LPR", "3.00%", "技改专项贷款贴息", "渝经信规范〔2024〕7号", "典型年担保费率"):
        assert text in html


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/admin/policy/", "/admin/policy/rates/new",
                                  "/admin/policy/programs/{id}",
                                  "/admin/policy/settings/guarantee_fee_rate"])
def test_get_access(db, client_as, role, path):
    program = _program(db, "bridge_fee_waiver")
    response = client_as(role).get(path.format(id=program.id))
    if role == "admin":
        assert response.status_code == 200
    elif role == "anonymous":
        assert response.status_code in (302, 303)
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
@pytest.mark.parametrize("path, data", [
    ("/admin/policy/rates/new", {"kind": "lpr_1y", "rate": "1", "effective_from": "2031-01-01"}),
    ("/admin/policy/programs/{id}", {"cap_wan": "1", "effective_from": "2024-01-01"}),
    ("/admin/policy/settings/guarantee_fee_rate", {"value": "5"}),
])
def test_post_refused_for_other_roles(db, client_as, role, path, data):
    program = _program(db, "bridge_fee_waiver")
    response = client_as(role).post(path.format(id=program.id), data=MultiDict(data))
    assert response.status_code in ((302, 303) if role == "anonymous" else (403,))
    assert program.settings["cap_wan"] == 8000
    assert db.session.get(Setting, "guarantee_fee_rate").value == 1.0
    assert not db.session.scalar(select(ReferenceRate).where(
        ReferenceRate.effective_from == date(2031, 1, 1)))


def test_missing_program_is_404(db, admin):
    assert admin.get("/admin/policy/programs/999").status_code == 404
