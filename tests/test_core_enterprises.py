"""核心企业名单库: organizers keep it; a stated core enterprise is recognised however it is
written; unrecognised names are confirmed as aliases; a CLI loads the seed list."""
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from matchmaker import ROOT
from matchmaker.institutions import service
from matchmaker.institutions.models import CoreEnterprise, CoreEnterpriseAlias
from matchmaker.matching import adapters
from tests.conftest import ROLES
from tests.factories import EnterpriseFactory, NeedFactory, ProductFactory, valid_uscc
from tests.helpers import assert_audited

POOL = ("organizer", "admin")


@pytest.fixture
def changan(db):
    entry = CoreEnterprise(name="重庆长安汽车股份有限公司", cluster="intelligent_connected_nev")
    entry.aliases = [CoreEnterpriseAlias(alias="长安", confirmed=True)]
    db.session.add_all([entry, CoreEnterprise(name="重庆京东方光电科技有限公司", cluster="new_display"),
                        CoreEnterprise(name="力帆科技（集团）股份有限公司")])
    db.session.commit()  # survives a view's rollback; the test transaction still discards it
    return entry


@pytest.mark.parametrize("written, expected", [
    ("重庆长安汽车股份有限公司", "重庆长安汽车股份有限公司"),
    ("长安汽车", "重庆长安汽车股份有限公司"),
    ("长安汽车股份有限公司", "重庆长安汽车股份有限公司"),
    (" 重庆长安汽车股份有限公司 ", "重庆长安汽车股份有限公司"),
    ("长安", "重庆长安汽车股份有限公司"),                # a confirmed alias
    ("京东方光电科技", "重庆京东方光电科技有限公司"),
    ("力帆科技", "力帆科技（集团）股份有限公司"),
    ("长城汽车", None), ("长安福特汽车", None), ("", None), (None, None),
])
def test_recognise_a_stated_core_enterprise(db, changan, written, expected):
    found = service.recognise_core_enterprise(written)
    assert (found.name if found else None) == expected


def test_organizer_adds_an_entry_with_aliases(db, client_as):
    client = client_as("organizer")
    db.session.commit()
    response = client.post("/core-enterprises/new", data={
        "name": "隆鑫通用动力股份有限公司", "uscc": valid_uscc(4242), "cluster": "high_end_motorcycle",
        "aliases": "隆鑫通用\n隆鑫\n\n"})
    assert response.status_code == 302
    entry = db.session.scalar(select(CoreEnterprise).where(
        CoreEnterprise.name == "隆鑫通用动力股份有限公司"))
    assert entry.uscc == valid_uscc(4242) and entry.cluster == "high_end_motorcycle"
    assert sorted(a.alias for a in entry.aliases) == ["隆鑫", "隆鑫通用"]
    assert all(a.confirmed for a in entry.aliases)
    assert_audited("core_enterprise.created", entry)
    assert service.recognise_core_enterprise("隆鑫").id == entry.id


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "请填写企业全称"),
    ({"uscc": "91500000MA0000001X"}, "统一社会信用代码校验位错误"),
    ({"uscc": "123"}, "统一社会信用代码应为18位"),
    ({"name": "重庆长安汽车股份有限公司"}, "名单库中已有同名企业"),
    ({"aliases": "长安"}, "别名“长安”已属于“重庆长安汽车股份有限公司”"),
    ({"cluster": "tourism"}, "请选择有效的产业集群"),
])
def test_bad_core_enterprise_input(db, client_as, changan, data, message):
    client = client_as("organizer")
    db.session.commit()
    form = {"name": "重庆钢铁股份有限公司", "uscc": "", "cluster": "", "aliases": ""}
    form.update(data)
    before = db.session.scalar(select(func.count(CoreEnterprise.id)))
    response = client.post("/core-enterprises/new", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert db.session.scalar(select(func.count(CoreEnterprise.id))) == before


def test_organizer_edits_an_entry(db, client_as, changan):
    client = client_as("admin")
    db.session.commit()
    page = client.get(f"/core-enterprises/{changan.id}/edit").get_data(as_text=True)
    assert "长安</textarea>" in page
    response = client.post(f"/core-enterprises/{changan.id}/edit", data={
        "name": "重庆长安汽车股份有限公司", "uscc": "", "cluster": "intelligent_connected_nev",
        "aliases": "长安\n长安汽车集团"})
    assert response.status_code == 302
    assert sorted(a.alias for a in changan.aliases) == ["长安", "长安汽车集团"]
    assert_audited("core_enterprise.updated", changan)


def test_stated_names_page_lists_names_to_confirm_with_suggestions(db, client_as, changan):
    EnterpriseFactory(core_enterprise="重庆长安汽车股份有限公司")    # the listed name: fine
    EnterpriseFactory(core_enterprise="长安")                       # confirmed alias: fine
    EnterpriseFactory(core_enterprise="长安汽车")                   # same key: recognised
    EnterpriseFactory(core_enterprise="长安汽车有限责任公")         # tolerant match: to confirm
    EnterpriseFactory(core_enterprise="京东方")                     # contained: to confirm
    EnterpriseFactory(core_enterprise="京东放光电")                 # a typo: suggestion only
    EnterpriseFactory(core_enterprise="京东放光电")
    EnterpriseFactory(core_enterprise="某某不知名公司")              # unrecognised, no suggestion
    names = {n.name: n for n in service.stated_names_to_confirm(select(
        __import__("matchmaker.enterprises.models", fromlist=["Enterprise"]).Enterprise))}
    assert set(names) == {"长安汽车有限责任公", "京东方", "京东放光电", "某某不知名公司"}
    assert names["长安汽车有限责任公"].status == "unconfirmed"
    assert names["京东方"].status == "unconfirmed"
    assert names["京东方"].suggestion.name == "重庆京东方光电科技有限公司"
    assert names["京东放光电"].status == "unrecognised" and names["京东放光电"].enterprises == 2
    assert names["京东放光电"].suggestion.name == "重庆京东方光电科技有限公司"
    assert names["某某不知名公司"].suggestion is None
    html = client_as("organizer").get("/core-enterprises/names").get_data(as_text=True)
    assert "京东放光电" in html and "（建议）" in html and "近似识别" in html


def test_confirming_an_alias_makes_it_recognised(db, client_as, changan):
    EnterpriseFactory(core_enterprise="BOE光电")
    boe = db.session.scalar(select(CoreEnterprise).where(CoreEnterprise.name.contains("京东方")))
    client = client_as("organizer")
    db.session.commit()
    assert service.recognise_core_enterprise("BOE光电") is None
    response = client.post("/core-enterprises/names/confirm", data={
        "alias": "BOE光电", "core_enterprise_id": str(boe.id)})
    assert response.status_code == 302
    alias = db.session.scalar(select(CoreEnterpriseAlias).where(CoreEnterpriseAlias.alias == "BOE光电"))
    assert alias.confirmed and alias.core_enterprise_id == boe.id
    assert_audited("core_enterprise.alias_confirmed", boe, alias_id=alias.id)
    assert service.recognise_core_enterprise("BOE光电").id == boe.id
    html = client.get("/core-enterprises/names").get_data(as_text=True)
    assert 'data-testid="empty-state"' in html


def test_an_alias_of_another_entry_cannot_be_taken(db, client_as, changan):
    boe = db.session.scalar(select(CoreEnterprise).where(CoreEnterprise.name.contains("京东方")))
    client = client_as("organizer")
    db.session.commit()
    response = client.post("/core-enterprises/names/confirm", data={
        "alias": "长安", "core_enterprise_id": str(boe.id)}, follow_redirects=True)
    assert "已确认为“重庆长安汽车股份有限公司”的别名" in response.get_data(as_text=True)


def test_district_organizer_sees_only_names_from_the_district(db, client_as, changan):
    EnterpriseFactory(core_enterprise="京东方", district="永川区")
    EnterpriseFactory(core_enterprise="某汽车零件厂的买家", district="江津区")
    html = client_as("organizer", district="永川区").get(
        "/core-enterprises/names").get_data(as_text=True)
    assert "京东方" in html and "某汽车零件厂的买家" not in html


def test_adapters_resolve_core_enterprises_for_the_matcher(db, changan):
    resolve = adapters.core_resolver(db.session)
    assert resolve("长安汽车") == resolve("重庆长安汽车股份有限公司") == str(changan.id)
    assert resolve("长安") == str(changan.id)
    assert resolve("长城汽车") is None
    assert adapters.core_aliases(db.session) == {"长安": "长安汽车"}


def test_adapters_build_the_matchers_facts(db):
    product = ProductFactory(industries=["C36"], tags_any=["high_tech"])
    product.institution.districts = ["永川区"]
    need = NeedFactory(max_rate=Decimal("4.2"), guarantee_modes=["credit", "pledge"])
    terms = adapters.product_terms(product)
    assert terms.districts == frozenset({"永川区"})        # effective: the institution's
    assert terms.industries == ("C36",) and terms.active and terms.version == 1
    facts = adapters.need_facts(need)
    assert facts.guarantee_modes == frozenset({"credit", "pledge"})
    assert facts.enterprise.size == need.enterprise.size and facts.max_rate == Decimal("4.2")
    programs = adapters.subsidy_records(db.session, date(2026, 1, 1))
    assert {p.code for p in programs} == {"tech_upgrade_interest", "equipment_renewal_relending",
                                          "guarantee_fee_subsidy", "bridge_fee_waiver"}
    assert adapters.subsidy_records(db.session, date(2022, 1, 1)) == []


def test_cli_loads_the_seed_list_twice_without_duplicates(app, db, tmp_path):
    runner = app.test_cli_runner()
    seed = ROOT / "seeds" / "core_enterprises.json"
    result = runner.invoke(args=["core-enterprises", "load", str(seed)])
    assert result.exit_code == 0, result.output
    count = len(json.loads(seed.read_text(encoding="utf-8"))["core_enterprises"])
    assert f"{count} created" in result.output
    again = runner.invoke(args=["core-enterprises", "load", str(seed)])
    assert f"0 created, {count} updated" in again.output
    assert db.session.scalar(select(func.count(CoreEnterprise.id))) == count
    assert service.recognise_core_enterprise("长安汽车").name == "重庆长安汽车股份有限公司"
    assert service.recognise_core_enterprise("力帆").name == "力帆科技（集团）股份有限公司"
    assert service.recognise_core_enterprise("京东方光电").name == "重庆京东方光电科技有限公司"
    groups = len(json.loads(seed.read_text(encoding="utf-8"))["groups"])
    assert f"groups: {groups} created" in result.output and f"groups: 0 created, {groups}" in again.output
    # the needs that state a core enterprise are left to a job when the list changes; the
    # same file again changes nothing matching reads
    from matchmaker.jobs.models import Job
    loaded = db.session.scalars(select(Job).where(Job.kind == "matching.core")).all()
    assert len(loaded) == 1 and "supply-chain needs queued for matching" in result.output
    assert "unchanged: no matching job" in again.output
    assert service.recognise_core_group("京东方").name == "京东方科技集团股份有限公司"


def test_cli_rejects_a_bad_file_and_writes_nothing(app, db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"core_enterprises": [
        {"name": "甲公司"}, {"name": "乙公司", "uscc": "91500000MA0000001X"}]}), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["core-enterprises", "load", str(bad)])
    assert result.exit_code != 0
    assert "第2条（乙公司）：统一社会信用代码校验位错误" in result.output
    assert db.session.scalar(select(func.count(CoreEnterprise.id))) == 0


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/core-enterprises", "/core-enterprises/new",
                                  "/core-enterprises/{id}/edit", "/core-enterprises/names"])
def test_get_access(db, client_as, changan, role, path):
    response = client_as(role).get(path.format(id=changan.id))
    if role in POOL:
        assert response.status_code == 200
    elif role == "anonymous":
        assert response.status_code in (302, 303)
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", [r for r in ROLES if r not in POOL])
@pytest.mark.parametrize("path, data", [
    ("/core-enterprises/new", {"name": "闯入者公司"}),
    ("/core-enterprises/{id}/edit", {"name": "闯入者公司"}),
    ("/core-enterprises/names/confirm", {"alias": "闯入者公司", "core_enterprise_id": "{id}"}),
])
def test_post_refused_for_other_roles(db, client_as, changan, role, path, data):
    data = {k: v.format(id=changan.id) for k, v in data.items()}
    response = client_as(role).post(path.format(id=changan.id), data=data)
    assert response.status_code in ((302, 303) if role == "anonymous" else (403,))
    assert not db.session.scalar(select(CoreEnterprise).where(CoreEnterprise.name == "闯入者公司"))
    assert not db.session.scalar(select(CoreEnterpriseAlias).where(
        CoreEnterpriseAlias.alias == "闯入者公司"))


def test_missing_entry_is_404(db, client_as):
    assert client_as("organizer").get("/core-enterprises/999/edit").status_code == 404
