"""Programmes as data through the app (issue 15): a bank's declaration is a request an organizer
confirms; a programme change leaves no page with the old figure once its recompute ran; the
public 政策明白卡 is rendered from the data."""
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from matchmaker.catalog.export import product_pool_workbook
from matchmaker.enterprises.models import Need
from matchmaker.enterprises.service import set_tag_verified
from matchmaker.exchange.service import enterprise_record, import_document
from matchmaker.extensions import db as _db
from matchmaker.institutions import service as product_service
from matchmaker.institutions.models import Product
from matchmaker.jobs import runner
from matchmaker.jobs.models import Job
from matchmaker.matching import queries
from matchmaker.matching import service as matching
from matchmaker.policy import service as policy
from matchmaker.policy.models import SubsidyProgram
from tests.factories import (
    EnterpriseFactory,
    InstitutionFactory,
    NeedFactory,
    ProductFactory,
    user_for_role,
)
from tests.helpers import assert_audited
from tests.test_enterprises_profile import profile_data
from tests.test_matching_scale import queued  # noqa: F401 (a fixture)

EXAMPLE = Path(__file__).parent / "data" / "example.json"


def _program(code: str) -> SubsidyProgram:
    return _db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))


def _order(need) -> list[str]:
    matching.refresh_need(need)
    return [m.product.ref for m in queries.matches_for_need(need)]


def _terms(p: Product) -> dict:
    record = product_service.product_record(p)
    return {k: v for k, v in record.items() if k not in ("ref", "institution_ref", "active")}


def test_a_declared_subsidy_changes_no_ranking_until_an_organizer_confirms_it(db, client_as):
    bank = InstitutionFactory(kind="bank")
    ProductFactory(ref="P-CHEAP", institution=bank, purposes=["tech_upgrade"],
                   rate_min=Decimal("3.4"), rate_max=Decimal("3.8"))
    newcomer = ProductFactory(ref="P-NEW", institution=InstitutionFactory(kind="bank"),
                              purposes=["tech_upgrade"], rate_min=Decimal("3.6"),
                              rate_max=Decimal("4.2"))
    need = NeedFactory(enterprise=EnterpriseFactory(), purpose="tech_upgrade")
    assert _order(need) == ["P-CHEAP", "P-NEW"]
    before = {m.product.ref: (m.score, m.estimated_rate) for m in queries.matches_for_need(need)}

    # the bank declares 技改贴息 on its product: a request, nothing moves
    admin = user_for_role("bank_admin", institution=newcomer.institution)
    terms = _terms(newcomer)
    terms["subsidy_programs"] = ["tech_upgrade_interest"]
    product_service.update_product(admin, newcomer, **terms)
    assert newcomer.subsidy_programs == ["tech_upgrade_interest"]
    assert newcomer.confirmed_programs == []
    assert _order(need) == ["P-CHEAP", "P-NEW"]
    reader = client_as("enterprise")
    db.session.commit()
    page = reader.get(f"/catalog/products/{newcomer.id}").get_data(as_text=True)
    assert "技改专项贷款贴息（银行申报，待组织方确认）" in page
    assert {m.product.ref: (m.score, m.estimated_rate)
            for m in queries.matches_for_need(need)} == before

    # the organizer sees the request and confirms it: the recompute moves the product up
    organizer = client_as("organizer")
    db.session.commit()
    page = organizer.get("/admin/policy/confirmations").get_data(as_text=True)
    assert "P-NEW" in page and "技改专项贷款贴息" in page
    response = organizer.post(
        f"/admin/policy/confirmations/{newcomer.id}/tech_upgrade_interest/confirm")
    assert response.status_code == 302
    assert newcomer.confirmed_programs == ["tech_upgrade_interest"]
    matches = queries.matches_for_need(need)
    assert [m.product.ref for m in matches] == ["P-NEW", "P-CHEAP"]
    assert matches[0].estimated_rate < before["P-NEW"][1]


def test_a_bank_cannot_confirm_its_own_declaration(db, client_as):
    product = ProductFactory(subsidy_programs=["tech_upgrade_interest"], confirmed=False)
    client = client_as("bank_admin", institution=product.institution)
    response = client.post(
        f"/admin/policy/confirmations/{product.id}/tech_upgrade_interest/confirm")
    assert response.status_code == 403
    assert product.confirmed_programs == []


def test_confirming_an_undeclared_programme_is_404(db, client_as):
    product = ProductFactory(subsidy_programs=[], confirmed=False)
    client = client_as("organizer")
    assert client.post(f"/admin/policy/confirmations/{product.id}/tech_upgrade_interest/confirm"
                       ).status_code == 404
    assert client.post("/admin/policy/confirmations/999999/tech_upgrade_interest/confirm"
                       ).status_code == 404


@pytest.fixture
def example(db):
    import_document(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    db.session.flush()
    return {n.ref: n for n in db.session.scalars(select(Need))}


def test_a_programme_change_leaves_no_page_with_the_old_figure(example, db, client_as,
                                                               queued):  # noqa: F811
    need = example["N-01"]                       # 800万元 技改, P-TECH-01 3.10–4.20 %
    tech = _db.session.scalar(select(Product).where(Product.ref == "P-TECH-01"))
    enterprise = client_as("enterprise", enterprise=need.enterprise)
    organizer = client_as("organizer")
    db.session.commit()
    old, new = "1.83%", "2.56%"                  # 3.65 % × (1 − 50 %), then × (1 − 30 %)

    def pages() -> dict[str, str]:
        return {
            "need page": enterprise.get(f"/needs/{need.id}").get_data(as_text=True),
            "product page": enterprise.get(f"/catalog/products/{tech.id}").get_data(
                as_text=True),
            "catalogue": enterprise.get("/catalog/?purpose=tech_upgrade").get_data(
                as_text=True),
            "policy page": enterprise.get("/policy/").get_data(as_text=True),
            "organizer's need page": organizer.get(f"/needs/{need.id}").get_data(as_text=True),
        }

    shown = pages()
    assert old in shown["need page"] and old in shown["product page"]
    assert "按不超过实际贷款利率的50%贴息" in shown["policy page"]
    [m] = queries.matches_for_need(need)
    assert m.estimated_rate == Decimal("1.83")

    program = _program("tech_upgrade_interest")
    policy.update_program(user_for_role("admin"), program,
                          settings={**program.settings, "share_of_rate": Decimal("0.3")},
                          effective_from=program.effective_from,
                          effective_to=program.effective_to)
    pending = queued()
    db.session.commit()
    shown = pages()
    # while the job waits: the need page computes the new figure itself (the stored rows
    # still hold the old one), and no page shows the old figure
    assert 'data-testid="matches-now"' in shown["need page"]
    assert new in shown["need page"] and new in shown["organizer's need page"]
    for name, html in shown.items():
        assert old not in html, name
    assert queries.matches_for_need(need)[0].estimated_rate == Decimal("1.83")
    for job_id, _timeout in pending:
        runner.run_inline(_db.session.get(Job, job_id))
    db.session.commit()
    shown = pages()
    for name, html in shown.items():
        assert old not in html, name
    assert new in shown["need page"] and new in shown["product page"]
    assert "按不超过实际贷款利率的30%贴息" in shown["policy page"]
    [m] = queries.matches_for_need(need)
    assert m.estimated_rate == Decimal("2.56")
    assert matching.is_fresh(need)


def _handbook_programmes(ref: str) -> str:
    """The 可享政策 cell of a product's line in the printed 产品手册 (the export)."""
    book = load_workbook(io.BytesIO(product_pool_workbook("purpose")), read_only=True)
    for sheet in book.worksheets[1:]:            # a sheet per purpose; the 目录 first
        header = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
        for row in sheet.iter_rows(min_row=3, values_only=True):
            if row[header.index("产品编号")] == ref:
                return row[header.index("可享政策")] or ""
    raise AssertionError(f"{ref} is not in the handbook")


def test_the_handbook_export_prints_only_programmes_in_force_under_their_current_name(
        example, db):
    program = _program("tech_upgrade_interest")
    assert _handbook_programmes("P-TECH-01") == program.label
    program.label = "技术改造专项贷款贴息（2026年修订）"
    db.session.flush()
    assert _handbook_programmes("P-TECH-01") == "技术改造专项贷款贴息（2026年修订）"
    program.effective_to = date(2025, 12, 31)    # ended: the handbook must not promise it
    db.session.flush()
    assert _handbook_programmes("P-TECH-01") == ""


def test_the_policy_card_page_is_public_and_rendered_from_the_data(db, client):
    html = client.get("/policy/").get_data(as_text=True)
    assert html.count('data-testid="card-') == 4
    for text in ("应急转贷周转金支持与使用费减免", "经核验的专精特新中小企业、专精特新“小巨人”企业免收使用费",
                 "单次最高8000万元", "融资担保机构（不直接降低企业的融资成本）",
                 "渝经信规范〔2024〕7号 四（二）", "不与其他政策叠加享受",
                 "2024-03-22 起，至 2027-12-31", "贴息2.5个百分点"):
        assert text in html, text
    program = _program("bridge_fee_waiver")
    program.effective_to = program.effective_from
    db.session.flush()
    assert "应急转贷周转金支持与使用费减免" not in client.get("/policy/").get_data(as_text=True)


def test_the_policy_pages_follow_a_changed_figure(db, client, client_as):
    # the 设备更新 subsidy cut from 2.5 to 1 point: no policy page keeps saying 2.5个百分点
    program = _program("equipment_renewal_relending")
    policy.update_program(user_for_role("admin"), program, settings={"points": Decimal(1)},
                          effective_from=program.effective_from, effective_to=None)
    admin = client_as("admin")
    db.session.commit()
    for html in (client.get("/policy/").get_data(as_text=True),
                 admin.get("/admin/policy/").get_data(as_text=True)):
        assert "贴息1个百分点" in html
        assert "贴息2.5个百分点" not in html


# --- the 应急转贷 fund's own condition (7号 四（二）) ------------------------------------------

LARGE = {"industry": "C3670", "employees": 1500, "revenue_wan": Decimal(60000)}   # 300号: 大型


def _bridge_market():
    fund = InstitutionFactory(kind="bridge_fund", name="重庆市应急转贷基金")
    ProductFactory(ref="P-BRIDGE", institution=fund, name="应急转贷周转金",
                   amount_min_wan=Decimal(100), amount_max_wan=Decimal(8000),
                   term_min_months=1, term_max_months=3, rate_min=Decimal("3.6"),
                   rate_max=Decimal("3.6"), guarantee_modes=("credit",),
                   subsidy_programs=["bridge_fee_waiver"])
    ProductFactory(ref="P-LOAN", amount_max_wan=Decimal(8000), term_min_months=1)


def _verified(enterprise, *tags):
    enterprise.tags = list(tags)
    _db.session.flush()
    organizer = user_for_role("organizer")
    for tag in tags:
        set_tag_verified(organizer, enterprise, tag, True)


def _bridge_need(enterprise):
    return NeedFactory(enterprise=enterprise, amount_wan=Decimal(5000), term_months=3,
                       loan_kind="renewal")


def test_a_large_listed_firm_that_is_not_double_hundred_gets_no_bridge(db, client_as):
    _bridge_market()
    firm = EnterpriseFactory(ownership="private", **LARGE)
    _verified(firm, "listed")
    need = _bridge_need(firm)
    assert _order(need) == ["P-LOAN"]
    # nor is the fund a near miss: nothing the enterprise can change would make it eligible
    assert "P-BRIDGE" not in [n.product.ref for n in queries.near_misses_for_need(need)]


def test_a_double_hundred_large_firm_gets_the_bridge_to_verify_until_its_ownership_is_known(
        db, client_as):
    _bridge_market()
    firm = EnterpriseFactory(**LARGE)               # ownership unknown, as an import leaves it
    _verified(firm, "double_hundred")
    need = _bridge_need(firm)
    # not known is not refused: the fund checks the papers, the match says what to verify
    assert sorted(_order(need)) == ["P-BRIDGE", "P-LOAN"]
    [bridge] = [m for m in queries.matches_for_need(need) if m.product.ref == "P-BRIDGE"]
    assert any("待核实" in r for r in bridge.reasons), bridge.reasons
    # the enterprise states its ownership on its profile: its needs are matched again
    client = client_as("enterprise", enterprise=firm)
    db.session.commit()
    response = client.post("/enterprise/edit", data=profile_data(
        firm, industry="C3670", employees="1500", revenue_wan="60000", ownership="private",
        tag_double_hundred="y"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert firm.ownership == "private" and firm.tag_rows[0].verified_at is not None
    assert_audited("enterprise.updated", firm)
    refs = [m.product.ref for m in queries.matches_for_need(need)]
    assert sorted(refs) == ["P-BRIDGE", "P-LOAN"]
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "应急转贷使用费按实际使用天数计收" in page       # the fee is not waived for 双百
    assert "民营（私人控股）" in client.get("/enterprise").get_data(as_text=True)
    # the same firm, 国有控股: no bridge
    firm.ownership = "state"
    assert _order(need) == ["P-LOAN"]


def test_a_specialised_sme_bridging_5000_wan_pays_no_use_fee(db, client_as):
    _bridge_market()
    firm = EnterpriseFactory()                      # 制造业, 小型 by 300号, ownership unknown
    _verified(firm, "specialized_sme")
    need = _bridge_need(firm)
    assert "P-BRIDGE" in _order(need)
    client = client_as("enterprise", enterprise=firm)
    db.session.commit()
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "本笔5000万元免收使用费" in page


def test_the_export_does_not_carry_ownership(db):
    # the exchange format is a contract: ownership is the platform's own field
    assert "ownership" not in enterprise_record(EnterpriseFactory(ownership="private"))


def test_the_administrators_form_keeps_and_edits_the_or(db, client_as):
    program = _program("bridge_fee_waiver")
    admin = client_as("admin")
    db.session.commit()
    html = admin.get(f"/admin/policy/programs/{program.id}").get_data(as_text=True)
    assert 'data-testid="alternative-2"' in html
    form = {"label": program.label, "source": program.source, "quote": program.quote,
            "rule_text": program.rule_text, "how_to_apply": program.how_to_apply,
            "benefit": "use_fee", "payee": "enterprise", "basis": "day",
            "institution_kinds": ["bridge_fund"], "waiver_tags": ["specialized_sme",
                                                                  "little_giant"],
            "cap_wan": "8000", "effective_from": "2024-03-22", "effective_to": "2027-12-31",
            "alt1_industries": "C", "alt1_sizes": ["medium", "small", "micro"],
            "alt2_sizes": ["large"], "alt2_tags": ["double_hundred"],
            "alt2_ownership": ["private"]}
    before = dict(program.eligibility)
    assert admin.post(f"/admin/policy/programs/{program.id}", data=form).status_code == 302
    assert program.eligibility == before and program.version == 3   # seeded, the "or", this
    # the administrator adds 集体控股 to the second group: a form, not a migration
    response = admin.post(f"/admin/policy/programs/{program.id}",
                          data={**form, "alt2_ownership": ["private", "collective"]})
    assert response.status_code == 302
    assert program.eligibility["any_of"][1]["ownership"] == ["private", "collective"]
    response = admin.post(f"/admin/policy/programs/{program.id}",
                          data={**form, "alt2_ownership": ["nobody"]})
    assert response.status_code == 400
    card = client_as("anonymous").get("/policy/").get_data(as_text=True)
    assert "经组织方核验的“双百”企业中的大型民营（私人控股）、集体控股企业" in card


# --- the bank's product form offers the programmes in force, from the data ----------------------

def test_the_product_form_offers_the_programmes_in_force_and_one_added_by_form(db, client_as):
    from tests.test_policy import _form_of
    from tests.test_products import form_data

    admin = client_as("admin")
    db.session.commit()
    data = _form_of(_program("tech_upgrade_interest"), label="普惠小微绿色贷款贴息",
                    source="永金组发〔2023〕1号 五（四）", rule_text="普惠小微绿色贷款贴息。",
                    benefit="rate_points", points="1", share_of_rate="", cap_wan_per_year="",
                    purposes=["green"], institution_kinds=["bank"], industries="",
                    effective_from="2026-01-01", effective_to="")
    data["code"] = "green_sme_interest"
    assert admin.post("/admin/policy/programs/new", data=data).status_code == 302
    ended = _program("equipment_renewal_relending")           # an administrator ends one
    policy.update_program(user_for_role("admin"), ended, settings={},
                          effective_from=ended.effective_from,
                          effective_to=date(2026, 6, 30))
    bank = InstitutionFactory()
    client = client_as("bank_admin", institution=bank)
    db.session.commit()

    html = client.get("/institution/products/new").get_data(as_text=True)
    assert 'value="green_sme_interest"' in html and "普惠小微绿色贷款贴息" in html
    assert 'value="tech_upgrade_interest"' in html
    assert 'value="equipment_renewal_relending"' not in html          # ended 2026-06-30
    response = client.post("/institution/products/new", data=form_data(
        purposes=["green"], subsidy_programs=["green_sme_interest"]))
    assert response.status_code == 302, response.get_data(as_text=True)
    product = _db.session.scalar(select(Product).where(Product.institution_id == bank.id))
    assert product.subsidy_programs == ["green_sme_interest"]
    assert product.confirmed_programs == []                           # a request to confirm
    organizer = client_as("organizer")
    db.session.commit()
    pending = organizer.get("/admin/policy/confirmations").get_data(as_text=True)
    assert product.ref in pending and "普惠小微绿色贷款贴息" in pending

    # a programme no longer in force cannot be declared; one declared before is kept, marked
    response = client.post("/institution/products/new", data=form_data(
        name="设备更新贷", subsidy_programs=["equipment_renewal_relending"]))
    assert response.status_code == 400
    assert "不是现行有效的政策项目" in response.get_data(as_text=True)
    old = ProductFactory(institution=bank, subsidy_programs=["equipment_renewal_relending"])
    db.session.commit()
    html = client.get(f"/institution/products/{old.id}/edit").get_data(as_text=True)
    assert "设备更新改造专项再贷款财政贴息（已不在有效期，不计入成本）" in html


# --- confirming all of a programme's pending declarations (after an upgrade) -------------------

def test_an_organizer_confirms_all_of_a_programmes_pending_declarations(db, client_as):
    from matchmaker.audit.models import AuditEntry

    waiting = [ProductFactory(ref=f"P-WAIT-{n}", purposes=["tech_upgrade"],
                              subsidy_programs=["tech_upgrade_interest",
                                                "equipment_renewal_relending"],
                              confirmed=False) for n in range(3)]
    other = ProductFactory(subsidy_programs=["equipment_renewal_relending"], confirmed=False)
    need = NeedFactory(purpose="tech_upgrade")
    matching.refresh_need(need)
    before = {m.product.ref: m.estimated_rate for m in queries.matches_for_need(need)}
    organizer = client_as("organizer")
    db.session.commit()
    page = organizer.get("/admin/policy/confirmations").get_data(as_text=True)
    assert "全部确认“技改专项贷款贴息”（3项）" in page
    assert 'data-confirm="确定确认全部3个产品适用“技改专项贷款贴息”吗？' in page   # asks first
    assert "全部确认“设备更新改造专项再贷款财政贴息”（4项）" in page

    response = organizer.post(
        "/admin/policy/confirmations/programmes/tech_upgrade_interest/confirm-all")
    assert response.status_code == 302
    for p in waiting:
        assert p.confirmed_programs == ["tech_upgrade_interest"]
    assert other.confirmed_programs == []                        # another programme waits
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "program_confirmation.created")).all()
    assert sorted(e.subject_id for e in entries) == sorted(p.id for p in waiting)
    assert {e.details["via"] for e in entries} == {"confirm_all"}
    # recomputed through the job queue: one job per product, the need shows the subsidy
    jobs = db.session.scalars(select(Job).where(Job.kind == "matching.product")).all()
    assert sorted(j.params["product_id"] for j in jobs) == sorted(p.id for p in waiting)
    after = {m.product.ref: m.estimated_rate for m in queries.matches_for_need(need)}
    assert all(after[p.ref] < before[p.ref] for p in waiting)
    # nothing left to confirm: refused with a message, nothing recorded
    response = organizer.post(
        "/admin/policy/confirmations/programmes/tech_upgrade_interest/confirm-all",
        follow_redirects=True)
    assert "没有待确认的申报" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "program_confirmation.created")).all()) == 3


def test_confirming_many_at_once_recomputes_everything_in_one_job(db, client_as):
    from matchmaker.matching.service import BULK_PRODUCTS

    for _ in range(BULK_PRODUCTS + 1):
        ProductFactory(subsidy_programs=["tech_upgrade_interest"], confirmed=False)
    organizer = client_as("organizer")
    db.session.commit()
    assert organizer.post("/admin/policy/confirmations/programmes/tech_upgrade_interest"
                          "/confirm-all").status_code == 302
    kinds = [j.kind for j in db.session.scalars(select(Job))]
    assert "matching.all" in kinds and "matching.product" not in kinds


@pytest.mark.parametrize("role, status", [("bank_admin", 403), ("bank_manager", 403),
                                          ("enterprise", 403), ("organizer", 302),
                                          ("admin", 302)])
def test_who_may_confirm_all(db, client_as, role, status):
    product = ProductFactory(subsidy_programs=["tech_upgrade_interest"], confirmed=False)
    kwargs = {"institution": product.institution} if role.startswith("bank") else {}
    client = client_as(role, **kwargs)
    db.session.commit()
    response = client.post(
        "/admin/policy/confirmations/programmes/tech_upgrade_interest/confirm-all")
    assert response.status_code == status
    assert product.confirmed_programs == (["tech_upgrade_interest"] if status == 302 else [])
    assert client_as("anonymous").post(
        "/admin/policy/confirmations/programmes/tech_upgrade_interest/confirm-all"
    ).status_code in (302, 303)


def test_confirming_all_of_an_unknown_programme_changes_nothing(db, client_as):
    organizer = client_as("organizer")
    db.session.commit()
    response = organizer.post("/admin/policy/confirmations/programmes/no_such/confirm-all",
                              follow_redirects=True)
    assert "没有这项政策" in response.get_data(as_text=True)


def test_an_organizer_states_the_ownership_of_a_firm_that_never_logs_in(db, client_as):
    _bridge_market()
    firm = EnterpriseFactory(**LARGE)               # imported: ownership unknown
    _verified(firm, "double_hundred")
    need = _bridge_need(firm)
    assert sorted(_order(need)) == ["P-BRIDGE", "P-LOAN"]
    [bridge] = [m for m in queries.matches_for_need(need) if m.product.ref == "P-BRIDGE"]
    assert any("待核实" in r for r in bridge.reasons)     # served, ownership to be checked
    organizer = client_as("organizer")
    db.session.commit()
    page = organizer.get(f"/enterprises/{firm.id}").get_data(as_text=True)
    assert 'data-testid="set-ownership"' in page
    response = organizer.post(f"/enterprises/{firm.id}/ownership", data={"ownership": "private"})
    assert response.status_code == 302 and firm.ownership == "private"
    entry = assert_audited("enterprise.updated", firm, by="organizer")
    assert entry.details["changes"]["ownership"] == ["（空）", "民营（私人控股）"]
    assert sorted(m.product.ref for m in queries.matches_for_need(need)) == ["P-BRIDGE",
                                                                               "P-LOAN"]
    [bridge] = [m for m in queries.matches_for_need(need) if m.product.ref == "P-BRIDGE"]
    assert not any("待核实" in r for r in bridge.reasons)  # known now: nothing to check
    response = organizer.post(f"/enterprises/{firm.id}/ownership",
                              data={"ownership": "nobody"}, follow_redirects=True)
    assert "请选择有效的控股类型" in response.get_data(as_text=True)
    assert firm.ownership == "private"
    # the enterprise's own page shows it, without the organizer's form
    page = client_as("enterprise", enterprise=firm).get("/enterprise").get_data(as_text=True)
    assert "民营（私人控股）" in page and 'data-testid="set-ownership"' not in page
