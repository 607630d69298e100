"""Stored matches through the app: the spec's example, the CLI output shape, freshness after
product and need changes, the need page, and the bank's figures-only reach page."""
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from matchmaker import signals
from matchmaker.enterprises import service as enterprise_service
from matchmaker.enterprises.models import Need
from matchmaker.exchange.service import import_document
from matchmaker.institutions import service as product_service
from matchmaker.institutions.models import Product
from matchmaker.matching import queries
from tests.factories import InstitutionFactory, user_for_role

EXAMPLE = Path(__file__).parent / "data" / "example.json"
EXPECTED = {"N-01": "P-TECH-01", "N-02": "P-CHAIN-01", "N-03": "P-FIRST-01"}


@pytest.fixture
def example(db):
    import_document(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    db.session.flush()
    return {n.ref: n for n in db.session.scalars(select(Need))}


def stored(need) -> list[str]:
    return [m.product.ref for m in queries.matches_for_need(need)]


def product(ref: str) -> Product:
    from matchmaker.extensions import db

    return db.session.scalar(select(Product).where(Product.ref == ref))


def test_each_example_need_has_exactly_its_one_product(example):
    assert {ref: stored(need) for ref, need in example.items()} == \
        {ref: [p] for ref, p in EXPECTED.items()}


def test_a_match_keeps_reasons_components_cost_and_version(example):
    [m] = queries.matches_for_need(example["N-01"])
    assert 0 < m.score <= 100
    assert m.reasons and all(isinstance(r, str) for r in m.reasons)
    assert any("技改专项贷款贴息" in r for r in m.reasons)
    assert set(m.components) >= {"purpose", "amount", "term", "cost"}
    assert m.product_version == product("P-TECH-01").version == 1
    # 技改贴息 halves the actual rate: the cost after subsidy is below the product's floor
    assert m.estimated_rate < Decimal("3.1")


def test_cli_prints_the_spec_object_for_one_need(app, example, db):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["match", "--need", "N-02", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert list(out) == ["need_ref", "matches"] and out["need_ref"] == "N-02"
    [m] = out["matches"]
    assert set(m) == {"product_ref", "institution_ref", "score", "reasons", "estimated_rate"}
    assert (m["product_ref"], m["institution_ref"]) == ("P-CHAIN-01", "I-BANK-01")
    assert isinstance(m["score"], float) and isinstance(m["estimated_rate"], float)


def test_cli_all_prints_json_lines_in_ref_order(app, example, db):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["match", "--all", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["need_ref"] for line in lines] == ["N-01", "N-02", "N-03"]
    assert [line["matches"][0]["product_ref"] for line in lines] == list(EXPECTED.values())


def test_cli_top_limits_the_list_and_refuses_bad_arguments(app, example, db):
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["match", "--json"]).exit_code != 0
    assert runner.invoke(args=["match", "--need", "N-404", "--json"]).exit_code != 0
    result = runner.invoke(args=["match", "--need", "N-01", "--top", "1", "--json"])
    assert len(json.loads(result.output)["matches"]) == 1


def test_pausing_and_republishing_a_product_recomputes_its_matches(example):
    admin = user_for_role("bank_admin", institution=product("P-TECH-01").institution)
    product_service.change_product_status(admin, product("P-TECH-01"), "pause")
    assert stored(example["N-01"]) == []
    product_service.change_product_status(admin, product("P-TECH-01"), "publish")
    assert stored(example["N-01"]) == ["P-TECH-01"]


def test_editing_a_product_moves_its_matches_to_the_new_version(example):
    tech = product("P-TECH-01")
    admin = user_for_role("bank_admin", institution=tech.institution)
    terms = product_service.product_record(tech)
    terms = {k: v for k, v in terms.items() if k not in ("ref", "institution_ref", "active")}
    terms["term_max_months"] = 24  # N-01 asks 36 months: no longer eligible
    product_service.update_product(admin, tech, **terms)
    assert stored(example["N-01"]) == []
    [miss] = [n for n in queries.near_misses_for_need(example["N-01"])
              if n.product.ref == "P-TECH-01"]
    assert miss.rule == "term" and "36个月" in miss.reason and "24个月" in miss.reason
    assert miss.product_version == 2


def test_editing_a_need_recomputes_it_and_explains_the_near_miss(example, db):
    need = example["N-03"]
    need.term_months = 24  # P-FIRST-01 lends 6–12 months
    signals.need_changed.send(need)
    assert stored(need) == []
    [miss] = [n for n in queries.near_misses_for_need(need) if n.product.ref == "P-FIRST-01"]
    assert "期限24个月" in miss.reason and "12个月" in miss.reason
    assert miss.fix


def test_need_page_shows_ranked_products_and_near_misses(client_as, example, db):
    need = example["N-01"]
    need.amount_wan = Decimal(5000)  # above P-TECH-01's 3000 maximum: one near miss
    signals.need_changed.send(need)
    page = client_as("enterprise", enterprise=need.enterprise).get(f"/needs/{need.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "差一点符合的产品" in html and "技改专项贷（示例）" in html
    assert "5000万元" in html


def test_bank_reach_counts_open_needs_without_enterprise_details(client_as, example, db):
    bank = product("P-TECH-01").institution
    page = client_as("bank_manager", institution=bank).get("/institution/reach")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "链上订单贷（示例）" in html and "800 万元" in html
    assert "重庆示例精密机械有限公司" not in html  # no enterprise before consent
    assert "差一点" not in html


def test_reach_counts_only_open_needs(client_as, example, db):
    organizer = user_for_role("organizer")
    enterprise_service.change_status(organizer, example["N-01"], "closed", "测试关闭")
    bank = product("P-TECH-01").institution
    rows = {r.product.ref: (r.needs, r.amount_wan) for r in queries.product_reach(bank.id)}
    assert rows["P-TECH-01"] == (0, 0)
    assert rows["P-CHAIN-01"][0] == 1


@pytest.mark.parametrize("role,status", [
    ("anonymous", 302), ("enterprise", 403), ("organizer", 403), ("admin", 403),
    ("bank_manager", 200), ("bank_admin", 200)])
def test_reach_page_access(client_as, role, status):
    response = client_as(role).get("/institution/reach")
    assert response.status_code == status


def test_reach_shows_only_the_users_institution(client_as, db):
    from tests.factories import ProductFactory

    mine, theirs = InstitutionFactory(), InstitutionFactory()
    ProductFactory(institution=mine, name="本行产品")
    ProductFactory(institution=theirs, name="他行产品")
    html = client_as("bank_admin", institution=mine).get("/institution/reach").get_data(True)
    assert "本行产品" in html and "他行产品" not in html


def test_an_import_recomputes_the_matches_it_touches(example, db):
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    [chain] = [p for p in doc["products"] if p["ref"] == "P-CHAIN-01"]
    chain["amount_max_wan"] = 200  # N-02 asks 300万元
    import_document(doc)
    assert stored(example["N-02"]) == []
    assert [n.rule for n in queries.near_misses_for_need(example["N-02"])
            if n.product.ref == "P-CHAIN-01"] == ["amount"]
