"""Administrators keep LPR quotes, subsidy programs and settings; every change audited."""
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from matchmaker import jobs
from matchmaker.audit.models import AuditEntry
from matchmaker.clock import china_today
from matchmaker.jobs.models import Job
from matchmaker.policy import service
from matchmaker.policy.models import ReferenceRate, Setting, SubsidyProgram
from tests.conftest import ROLES
from tests.factories import NeedFactory, ProductFactory
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


def _form_of(program, **changes) -> MultiDict:
    """The edit form as the page fills it in, with `changes` (lists for multiple choices)."""
    rules = program.eligibility
    data = {name: getattr(program, name) or "" for name in (
        "label", "source", "quote", "rule_text", "how_to_apply", "benefit", "payee", "basis")}
    data["effective_from"] = program.effective_from.isoformat()
    data["effective_to"] = program.effective_to.isoformat() if program.effective_to else ""
    data["industries"] = ",".join(rules.get("industries", []))
    for key in service.PROGRAM_SETTING_FIELDS:
        value = program.settings.get(key)
        data[key] = "" if value is None else str(value)
    lists = {name: list(rules.get(name, [])) for name in (
        "purposes", "product_purposes", "institution_kinds", "loan_kinds", "sizes", "tags")}
    lists["waiver_tags"] = list(program.settings.get("waiver_tags") or [])
    lists["stacks_with"] = list(program.stacks_with or [])
    data.update(lists)
    data.update(changes)
    out = MultiDict()
    for key, value in data.items():
        for item in (value if isinstance(value, list) else [value]):
            out.add(key, item)
    return out


def test_program_form_shows_every_field_of_the_programme(db, admin):
    program = _program(db, "guarantee_fee_subsidy")
    html = admin.get(f"/admin/policy/programs/{program.id}").get_data(as_text=True)
    for name in ("max_fee_rate", "share_of_fee", "cap_wan", "effective_from", "payee",
                 "purposes", "tags", "stacks_with", "quote"):
        assert f'name="{name}"' in html
    assert "单笔（单个项目/单次转贷）上限（万元）" in html
    assert "第1版" in html                       # the version history the migration started


def test_admin_edits_a_program_as_a_new_version(db, admin):
    program = _program(db, "tech_upgrade_interest")
    response = admin.post(f"/admin/policy/programs/{program.id}", data=_form_of(
        program, share_of_rate="0.4", cap_wan_per_year="800", effective_to="2027-06-30"))
    assert response.status_code == 302
    assert program.settings == {"share_of_rate": 0.4, "cap_wan_per_year": 800}
    assert program.effective_to == date(2027, 6, 30)
    assert program.version == 2
    assert program.eligibility["purposes"] == ["tech_upgrade"]      # untouched fields stay
    entry = assert_audited("subsidy_program.updated", program, code="tech_upgrade_interest")
    assert entry.details["before"]["settings"]["share_of_rate"] == 0.5
    assert [v.version for v in service.program_versions(program)] == [2, 1]
    assert service.program_versions(program)[1].snapshot["settings"]["share_of_rate"] == 0.5


def test_a_programme_edit_shows_the_progress_of_its_recompute(db, admin, app, monkeypatch):
    """Its job waits in the queue (a busy worker): the page after the edit polls it."""
    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setattr(jobs.runner, "dispatch", lambda *_args: "queued")  # nobody runs it
    program = _program(db, "tech_upgrade_interest")
    response = admin.post(f"/admin/policy/programs/{program.id}",
                          data=_form_of(program, share_of_rate="0.45"))
    job_id = int(parse_qs(urlparse(response.headers["Location"]).query)["job"][0])
    job = db.session.get(Job, job_id)
    assert job.kind == "matching.programme" and job.status == "queued"
    assert job.params == {"code": "tech_upgrade_interest", "before": 1}
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/jobs/{job_id}/status" in page


def test_a_programme_edit_of_its_wording_alone_recomputes_nothing(db, admin):
    """Its citation, quote, text and how to apply are read by the policy cards as they are
    now, by no ranking, cost or reason: an organizer correcting them starts no job and
    leaves every need fresh. Its label is in the reasons (the programme tests: a job)."""
    from matchmaker.matching import service as matching

    program = _program(db, "tech_upgrade_interest")
    need = NeedFactory(purpose="tech_upgrade")
    ProductFactory(purposes=("tech_upgrade",), subsidy_programs=["tech_upgrade_interest"])
    matching.refresh_need(need)
    db.session.commit()
    response = admin.post(f"/admin/policy/programs/{program.id}", data=_form_of(
        program, source="渝经信发〔2024〕1号（修订）", quote="对技改项目贷款给予贴息",
        rule_text="按实际利率的一定比例贴息", how_to_apply="向区县经济信息部门申报"))
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    assert program.version == 2 and program.how_to_apply == "向区县经济信息部门申报"
    assert "job" not in parse_qs(urlparse(response.headers["Location"]).query)
    assert db.session.scalar(select(func.count()).select_from(Job)
                             .where(Job.kind.startswith("matching."))) == 0
    assert matching.is_fresh(need)
    assert "匹配结果不受影响" in admin.get(response.headers["Location"]).get_data(as_text=True)


def test_a_fee_rate_edit_shows_the_progress_of_its_recompute(db, admin, app, monkeypatch):
    """The guarantee fee rate moves only the pairings whose loan may carry the fee: its own
    job (not a full recompute), which the page after the edit polls."""
    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setattr(jobs.runner, "dispatch", lambda *_args: "queued")  # nobody runs it
    response = admin.post("/admin/policy/settings/guarantee_fee_rate", data={"value": "1.2"})
    job_id = int(parse_qs(urlparse(response.headers["Location"]).query)["job"][0])
    job = db.session.get(Job, job_id)
    assert job.kind == "matching.fee" and job.status == "queued"
    assert db.session.scalar(select(func.count()).select_from(Job)
                             .where(Job.kind == "matching.all")) == 0
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/jobs/{job_id}/status" in page


def test_an_lpr_quote_in_force_shows_the_progress_of_the_full_recompute(db, admin, app,
                                                                       monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setattr(jobs.runner, "dispatch", lambda *_args: "queued")  # nobody runs it
    response = admin.post("/admin/policy/rates/new", data={
        "kind": "lpr_1y", "rate": "2.95", "effective_from": china_today().isoformat()})
    job_id = int(parse_qs(urlparse(response.headers["Location"]).query)["job"][0])
    assert db.session.get(Job, job_id).kind == "matching.all"
    # a quote dated ahead starts nothing of its own: the page shows the one still waiting
    later = admin.post("/admin/policy/rates/new", data={
        "kind": "lpr_5y", "rate": "3.45", "effective_from": "2030-01-20"})
    assert parse_qs(urlparse(later.headers["Location"]).query)["job"] == [str(job_id)]
    assert db.session.scalar(select(func.count()).select_from(Job)
                             .where(Job.kind == "matching.all")) == 1


def _matching_jobs(db) -> list[tuple[str, dict]]:
    """The recomputes left to run (one a full recompute covers is done at once)."""
    return [(j.kind, j.params) for j in db.session.scalars(
        select(Job).where(Job.kind.startswith("matching."), Job.status != "done")
        .order_by(Job.id))]


def _quote(admin, kind: str, rate: Decimal, day: date):
    response = admin.post("/admin/policy/rates/new", data={
        "kind": kind, "rate": str(rate), "effective_from": day.isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return response


@pytest.mark.parametrize("kind", ["lpr_1y", "lpr_5y"])
def test_an_lpr_quote_repeating_the_rate_in_force_recomputes_nothing(db, admin, kind):
    """The LPR is quoted every month and mostly repeats the rate in force: a full recompute
    would be minutes of the workers' time at city scale for no change."""
    from matchmaker.matching import service as matching

    need = NeedFactory()
    rate = service.lpr_on(china_today(), kind)
    ProductFactory(rate_basis=kind, spread_min_bp=0, spread_max_bp=100, rate_min=rate,
                   rate_max=rate + 1)  # priced at the rate in force, as published
    matching.refresh_need(need)
    db.session.commit()
    response = _quote(admin, kind, rate, china_today())
    assert "job" not in parse_qs(urlparse(response.headers["Location"]).query)
    assert db.session.scalar(select(func.count()).select_from(Job)
                             .where(Job.kind.startswith("matching."))) == 0  # none, even run
    assert matching.is_fresh(need)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "现行利率未变" in page


@pytest.mark.parametrize("others", [0, "bulk"])
def test_a_5_year_quote_moves_only_the_products_priced_on_it(db, admin, app, monkeypatch,
                                                             others):
    """The cost points' scale is the 1-year rate: a new 5-year rate reprices its products,
    each recomputed by its own job; more than BULK_PRODUCTS of them, one full recompute. A
    quote dated before the one in force moves nothing."""
    from matchmaker.matching.service import BULK_PRODUCTS

    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setattr(jobs.runner, "dispatch", lambda *_args: "queued")  # nobody runs them
    priced = [ProductFactory(rate_basis="lpr_5y", spread_min_bp=0, spread_max_bp=100)
              for _ in range(1 if others == 0 else BULK_PRODUCTS + 1)]
    one_year = service.lpr_on(china_today(), "lpr_1y")
    ProductFactory(rate_basis="lpr_1y", spread_min_bp=0, spread_max_bp=100, rate_min=one_year,
                   rate_max=one_year + 1)  # priced at the rate in force: nothing to reprice
    db.session.commit()
    today = china_today()
    moved = service.lpr_on(today, "lpr_5y") - Decimal("0.1")
    response = _quote(admin, "lpr_5y", moved, today)
    assert all(p.rate_min == moved for p in priced)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    if others == 0:
        assert _matching_jobs(db) == [("matching.product", {"product_id": priced[0].id})]
        assert "已重新定价" in page
    else:
        assert [kind for kind, _ in _matching_jobs(db)] == ["matching.all"]
        assert "正在按新的利率重新计算" in page
    before = _matching_jobs(db)
    _quote(admin, "lpr_5y", moved - Decimal("0.2"), today - timedelta(days=1))
    assert _matching_jobs(db) == before and priced[0].rate_min == moved


def test_admin_adds_a_programme_by_form(db, admin):
    # 普惠小微绿色贷款贴息 (永金组发〔2023〕1号 五（四）): a form, not a migration
    data = _form_of(_program(db, "tech_upgrade_interest"), label="普惠小微绿色贷款贴息",
                    source="永金组发〔2023〕1号 五（四）", quote="实施信用村贷款贴息和普惠小微绿色贷款贴息",
                    rule_text="普惠小微绿色贷款贴息。", benefit="rate_points", points="1",
                    share_of_rate="", cap_wan_per_year="", purposes=["green"],
                    institution_kinds=["bank"], sizes=["small", "micro"], industries="",
                    effective_from="2026-01-01", effective_to="")
    data["code"] = "green_sme_interest"
    response = admin.post("/admin/policy/programs/new", data=data)
    assert response.status_code == 302
    program = _program(db, "green_sme_interest")
    assert program.benefit == "rate_points" and program.settings == {"points": 1}
    assert program.eligibility == {"purposes": ["green"], "institution_kinds": ["bank"],
                                   "sizes": ["small", "micro"]}
    assert program.stacks_with == [] and program.version == 1
    assert_audited("subsidy_program.created", program, code="green_sme_interest")
    html = admin.get("/policy/").get_data(as_text=True)
    assert "普惠小微绿色贷款贴息" in html and "贴息1个百分点" in html


def test_a_programme_out_of_force_today_recomputes_nothing_until_it_is(db, admin, app,
                                                                         monkeypatch):
    """Next year's programme entered ahead: the matcher reads only the programmes in force,
    so nothing stored moves today (its first day's nightly match --all takes it in). Ending
    one in force does move costs: its job runs."""
    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setattr(jobs.runner, "dispatch", lambda *_args: "queued")  # nobody runs it
    next_year = date(china_today().year + 1, 1, 1)
    data = _form_of(_program(db, "tech_upgrade_interest"), label="次年技改贴息",
                    effective_from=next_year.isoformat(), effective_to="")
    data["code"] = "tech_upgrade_next_year"
    response = admin.post("/admin/policy/programs/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    assert "job" not in parse_qs(urlparse(response.headers["Location"]).query)
    assert db.session.scalar(select(func.count()).select_from(Job)
                             .where(Job.kind.startswith("matching."))) == 0
    assert "生效当天夜间" in admin.get(response.headers["Location"]).get_data(as_text=True)
    program = _program(db, "tech_upgrade_interest")  # in force: ended yesterday
    yesterday = china_today() - timedelta(days=1)
    response = admin.post(f"/admin/policy/programs/{program.id}", data=_form_of(
        program, effective_from=min(program.effective_from, yesterday).isoformat(),
        effective_to=yesterday.isoformat()))
    job_id = int(parse_qs(urlparse(response.headers["Location"]).query)["job"][0])
    assert db.session.get(Job, job_id).kind == "matching.programme"


@pytest.mark.parametrize("changes, message", [
    ({"share_of_rate": "1.5"}, "取值应在0到1之间"),
    ({"cap_wan_per_year": "-1"}, "不能为负数"),
    ({"share_of_rate": ""}, "请填写该支持方式的比例或百分点"),
    ({"effective_to": "2020-01-01"}, "失效日期不能早于生效日期"),
    ({"label": ""}, "请填写政策名称"),
    ({"industries": "Z99"}, "不是国民经济行业分类代码"),
])
def test_bad_program_settings_are_refused(db, admin, changes, message):
    program = _program(db, "tech_upgrade_interest")
    response = admin.post(f"/admin/policy/programs/{program.id}",
                          data=_form_of(program, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert program.settings["share_of_rate"] == 0.5 and program.version == 1
    assert not db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "subsidy_program.updated"))


def test_admin_edits_a_setting(db, admin):
    response = admin.post("/admin/policy/settings/guarantee_fee_rate", data={"value": "0.8"})
    assert response.status_code == 302
    assert db.session.get(Setting, "guarantee_fee_rate").value == 0.8
    assert_audited("setting.updated", key="guarantee_fee_rate", before=1.0, after=0.8)


def test_a_setting_saved_as_it_was_changes_and_recomputes_nothing(db, admin):
    """The form opened and saved again: at city scale the fee rate's job is half a minute
    of two workers, for pairings that would not move."""
    response = admin.post("/admin/policy/settings/guarantee_fee_rate", data={"value": "1.0"})
    assert response.status_code == 302
    assert "job" not in parse_qs(urlparse(response.headers["Location"]).query)
    assert db.session.scalar(select(func.count()).select_from(Job)
                             .where(Job.kind.startswith("matching."))) == 0
    assert not db.session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.updated"))
    assert "未改动" in admin.get(response.headers["Location"]).get_data(as_text=True)


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
