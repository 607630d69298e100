"""Programmes as data through the app (issue 15): a bank's declaration is a request an organizer
confirms; a programme change leaves no page with the old figure once its recompute ran; the
public 政策明白卡 is rendered from the data."""
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from matchmaker.enterprises.models import Need
from matchmaker.exchange.service import import_document
from matchmaker.extensions import db as _db
from matchmaker.institutions import service as product_service
from matchmaker.institutions.models import Product
from matchmaker.jobs import runner
from matchmaker.jobs.models import Job
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
from tests.test_matching_scale import queued  # noqa: F401 (a fixture)

EXAMPLE = Path(__file__).parent / "data" / "example.json"


def _program(code: str) -> SubsidyProgram:
    return _db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))


def _order(need) -> list[str]:
    matching.refresh_need(need)
    return [m.product.ref for m in matching.matches_for_need(need)]


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
    before = {m.product.ref: (m.score, m.estimated_rate) for m in matching.matches_for_need(need)}

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
            for m in matching.matches_for_need(need)} == before

    # the organizer sees the request and confirms it: the recompute moves the product up
    organizer = client_as("organizer")
    db.session.commit()
    page = organizer.get("/admin/policy/confirmations").get_data(as_text=True)
    assert "P-NEW" in page and "技改专项贷款贴息" in page
    response = organizer.post(
        f"/admin/policy/confirmations/{newcomer.id}/tech_upgrade_interest/confirm")
    assert response.status_code == 302
    assert newcomer.confirmed_programs == ["tech_upgrade_interest"]
    matches = matching.matches_for_need(need)
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
    [m] = matching.matches_for_need(need)
    assert m.estimated_rate == Decimal("1.83")

    program = _program("tech_upgrade_interest")
    policy.update_program(user_for_role("admin"), program,
                          settings={**program.settings, "share_of_rate": Decimal("0.3")},
                          effective_from=program.effective_from,
                          effective_to=program.effective_to)
    pending = queued()
    db.session.commit()
    shown = pages()
    # while the job waits: the match list says it is being updated, never the old figure
    assert "正在更新" in shown["need page"]
    for name, html in shown.items():
        assert old not in html, name
    for job_id, _timeout in pending:
        runner.run_inline(_db.session.get(Job, job_id))
    db.session.commit()
    shown = pages()
    for name, html in shown.items():
        assert old not in html, name
    assert new in shown["need page"] and new in shown["product page"]
    assert "按不超过实际贷款利率的30%贴息" in shown["policy page"]
    [m] = matching.matches_for_need(need)
    assert m.estimated_rate == Decimal("2.56")
    assert matching.is_fresh(need)


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
