"""Core-enterprise groups (集团, issue 14): a supplier of a group's member matches a supply-chain
product listing the group, and the reason says which member; organizers keep the groups
(audited); every role's access."""

import pytest
from sqlalchemy import select

from matchmaker.institutions import service
from matchmaker.institutions.models import CoreEnterprise, CoreEnterpriseGroup
from matchmaker.matching import adapters
from matchmaker.matching import service as matching
from matchmaker.matching.models import Match
from tests.conftest import ROLES
from tests.factories import (
    EnterpriseFactory,
    NeedFactory,
    ProductFactory,
    user_for_role,
    valid_uscc,
)
from tests.helpers import assert_audited

POOL = ("organizer", "admin")
BOE = "京东方科技集团股份有限公司"
OPTO = "重庆京东方光电科技有限公司"
DISPLAY = "重庆京东方显示技术有限公司"


@pytest.fixture
def entries(db):
    rows = {name: CoreEnterprise(name=name, cluster="new_display") for name in (OPTO, DISPLAY)}
    rows["长安"] = CoreEnterprise(name="重庆长安汽车股份有限公司")
    db.session.add_all(rows.values())
    db.session.commit()  # survives a view's rollback; the test transaction still discards it
    return rows


@pytest.fixture
def boe(db, entries):
    group = service.save_core_group(None, None, name=BOE, aliases=["京东方", "BOE"],
                                    member_ids=[entries[OPTO].id, entries[DISPLAY].id])
    db.session.commit()
    return group


def supply_chain(core_listed: str, stated: str):
    product = ProductFactory(name="渝链贷", purposes=("supply_chain",),
                             guarantee_modes=("credit", "pledge"), core_enterprises=[core_listed])
    need = NeedFactory(purpose="supply_chain",
                       enterprise=EnterpriseFactory(core_enterprise=stated))
    return product, need


def stored(need, product):
    return next((m for m in matching.refresh_need(need) if m.product_id == product.id), None)


def test_without_the_group_a_name_containing_the_listed_one_matches_by_the_spec(db, entries):
    # the spec's tolerant reading: 京东方 is contained in 京东方光电科技 (重庆 and the suffix
    # stripped), so no group is needed; the reason names no group
    product, need = supply_chain("京东方", OPTO)
    match = stored(need, product)
    assert "供应链产品：核心企业重庆京东方光电科技有限公司在产品核心企业名单内" in match.reasons


def test_without_the_group_siblings_are_two_companies(db, entries):
    product, need = supply_chain(OPTO, DISPLAY)
    assert stored(need, product) is None


def test_the_list_decides_between_two_listed_companies(db, entries):
    # 长安 (a confirmed alias of 长安汽车) is contained in 长安福特, but both are on the list
    # as different companies: a product for 长安's suppliers does not serve 长安福特's
    db.session.add(CoreEnterprise(name="长安福特汽车有限公司"))
    service.confirm_alias(user_for_role("organizer"), entries["长安"], "长安")
    db.session.commit()
    product, need = supply_chain("长安", "长安福特汽车有限公司")
    assert stored(need, product) is None
    product, need = supply_chain("长安", "重庆长安汽车股份有限公司")
    assert stored(need, product) is not None
    # a name not on the list still matches by containment
    product, need = supply_chain("长安", "长安汽车股份")
    assert stored(need, product) is not None


def test_a_member_matches_a_product_listing_the_group_and_says_which(db, boe):
    product, need = supply_chain("京东方", OPTO)
    match = stored(need, product)
    assert match is not None
    reason = next(r for r in match.reasons if r.startswith("供应链产品："))
    assert reason == (f"供应链产品：核心企业{OPTO}属{BOE}集团，"
                      "产品名单中的“京东方”涵盖该集团成员企业")
    row = db.session.scalar(select(Match).where(Match.need_id == need.id,
                                                Match.product_id == product.id))
    assert row is not None       # stored, so banks and leads see it


def test_an_alias_of_a_member_names_it_in_the_reason(db, boe, entries):
    entries[OPTO].aliases = []
    service.confirm_alias(user_for_role("organizer"), entries[OPTO], "京东方光电")
    product, need = supply_chain("BOE", "京东方光电")
    match = stored(need, product)
    assert any(f"京东方光电（{OPTO}）属{BOE}集团" in r for r in match.reasons)


def test_siblings_are_one_core_enterprise(db, boe):
    product, need = supply_chain(OPTO, DISPLAY)
    assert stored(need, product) is not None


def test_the_same_company_needs_no_group_and_others_stay_out(db, boe):
    product, need = supply_chain(OPTO, "京东方光电科技")
    match = stored(need, product)
    assert "供应链产品：核心企业京东方光电科技在产品核心企业名单内" in match.reasons
    other, outsider = supply_chain("京东方", "重庆长安汽车股份有限公司")
    assert stored(outsider, other) is None


def test_resolver_maps_members_and_the_group_to_one_key(db, boe, entries):
    resolve = adapters.core_resolver(db.session, by_group=True)
    assert resolve(OPTO) == resolve(DISPLAY) == resolve("京东方") == resolve(BOE) == f"g{boe.id}"
    assert resolve("重庆长安汽车股份有限公司") == str(entries["长安"].id)
    plain = adapters.core_resolver(db.session)
    assert plain(OPTO) == str(entries[OPTO].id) and plain("京东方") is None


def test_product_form_accepts_the_group_as_a_listed_core_enterprise(db, boe):
    assert service._listed_core_enterprises(["京东方", OPTO]) == [BOE, OPTO]


# --- organizers' pages -------------------------------------------------------------------------

def test_organizer_creates_edits_and_deletes_a_group(db, client_as, entries):
    client = client_as("organizer")
    db.session.commit()
    assert "还没有集团" in client.get("/core-enterprises/groups").get_data(as_text=True)
    _product, need = supply_chain(BOE, OPTO)   # not contained: needs the group
    db.session.commit()
    response = client.post("/core-enterprises/groups/new", data={
        "name": BOE, "aliases": "京东方\nBOE\n", "members": [str(entries[OPTO].id)],
        "note": "年报子公司名单"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    group = db.session.scalar(select(CoreEnterpriseGroup).where(CoreEnterpriseGroup.name == BOE))
    assert [m.name for m in group.members] == [OPTO] and group.note == "年报子公司名单"
    assert sorted(a.alias for a in group.aliases) == ["BOE", "京东方"]
    assert_audited("core_enterprise_group.created", group)
    # the supply-chain need was matched again at once
    assert db.session.scalar(select(Match).where(Match.need_id == need.id)) is not None
    page = client.get("/core-enterprises/groups").get_data(as_text=True)
    assert BOE in page and OPTO in page
    response = client.post(f"/core-enterprises/groups/{group.id}/edit", data={
        "name": BOE, "aliases": "京东方", "members": [str(entries[OPTO].id), str(entries[DISPLAY].id)]})
    assert response.status_code == 302
    assert {m.name for m in group.members} == {OPTO, DISPLAY}
    entry = assert_audited("core_enterprise_group.updated", group)
    assert entry.details["added"] == [entries[DISPLAY].id]
    response = client.post(f"/core-enterprises/groups/{group.id}/delete")
    assert response.status_code == 302
    assert db.session.get(CoreEnterpriseGroup, group.id) is None
    assert entries[OPTO].group_id is None and db.session.get(CoreEnterprise, entries[OPTO].id)
    assert db.session.scalar(select(Match).where(Match.need_id == need.id)) is None


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "请填写集团名称"),
    ({"name": "另一个集团", "members": ["{opto}"]}, f"“{OPTO}”已属于“{BOE}”集团"),
    ({"name": "另一个集团", "aliases": "BOE"}, f"别名“BOE”已属于“{BOE}”集团"),
    ({"name": "长安汽车集团", "aliases": "重庆长安汽车股份有限公司"}, "请先将该企业加入本集团"),
    ({"name": "另一个集团", "members": ["999999"]}, "不在核心企业名单库中"),
])
def test_bad_group_input_is_refused_beside_the_field(db, client_as, boe, entries, data, message):
    client = client_as("admin")
    db.session.commit()
    data = {k: ([v.format(opto=entries[OPTO].id) for v in val] if isinstance(val, list) else val)
            for k, val in data.items()}
    response = client.post("/core-enterprises/groups/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(CoreEnterpriseGroup).where(
        CoreEnterpriseGroup.name != BOE)) is None


# --- access ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/core-enterprises/groups", "/core-enterprises/groups/new",
                                  "/core-enterprises/groups/{id}/edit"])
def test_get_access(db, client_as, boe, role, path):
    response = client_as(role).get(path.format(id=boe.id))
    if role in POOL:
        assert response.status_code == 200
    elif role == "anonymous":
        assert response.status_code in (302, 303)
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", [r for r in ROLES if r not in POOL])
@pytest.mark.parametrize("path", ["/core-enterprises/groups/new",
                                  "/core-enterprises/groups/{id}/edit",
                                  "/core-enterprises/groups/{id}/delete"])
def test_post_refused_for_other_roles(db, client_as, boe, role, path):
    response = client_as(role).post(path.format(id=boe.id), data={"name": "闯入者集团"})
    assert response.status_code in ((302, 303) if role == "anonymous" else (403,))
    assert db.session.get(CoreEnterpriseGroup, boe.id).name == BOE


@pytest.mark.parametrize("path", ["/core-enterprises/groups/999/edit",
                                  "/core-enterprises/groups/999/delete"])
def test_missing_group_is_404(db, client_as, path):
    client = client_as("organizer")
    response = client.post(path) if path.endswith("delete") else client.get(path)
    assert response.status_code == 404


def test_a_list_change_leaves_the_supply_chain_needs_to_one_job_computed_meanwhile(
        app, db, client_as, entries):
    """At city scale tens of thousands of needs state a core enterprise: a change to the list
    marks them stale in one statement and leaves them to one job; their pages compute them
    meanwhile, and a need stating none is not touched."""
    from matchmaker import jobs
    from matchmaker.jobs import runner
    from matchmaker.jobs.models import Job
    from matchmaker.matching import queries

    product, need = supply_chain(BOE, OPTO)  # not contained: needs the group
    plain = NeedFactory()
    matching.refresh_need(need), matching.refresh_need(plain)
    assert stored(need, product) is None
    app.config["JOBS_BACKEND"] = "thread"  # the job waits, as behind a busy worker
    try:
        service.save_core_group(None, None, name=BOE, aliases=["京东方"],
                                member_ids=[entries[OPTO].id])
        matching.recompute_supply_chain_later()
        pending = [j for j, _timeout in db.session.info.pop(jobs.service._PENDING)]
    finally:
        app.config["JOBS_BACKEND"] = "inline"
    assert not matching.is_fresh(need) and matching.is_fresh(plain)
    assert db.session.scalar(select(Match).where(Match.need_id == need.id,
                                                 Match.product_id == product.id)) is None
    shown = queries.shown_for_need(need)  # computed with the group, nothing written
    assert shown.now and product.id in {m.product_id for m in shown.matches}
    kinds = {db.session.get(Job, j).kind: j for j in pending}
    assert sorted(kinds) == ["matching.core", "matching.reach"]  # the banks' counts follow
    job_id = kinds["matching.core"]
    runner.run_inline(db.session.get(Job, job_id))
    assert db.session.get(Job, job_id).status == "done"
    assert matching.is_fresh(need)
    assert db.session.scalar(select(Match).where(Match.need_id == need.id,
                                                 Match.product_id == product.id)) is not None


@pytest.mark.parametrize("change", ["enterprise", "alias"])
def test_an_organizer_changing_the_list_starts_the_job_and_sees_its_progress(
        db, client_as, entries, change):
    from matchmaker.jobs.models import Job

    client = client_as("organizer")
    db.session.commit()
    _product, need = supply_chain("长安汽车", "长安")  # 长安 is not on the list yet
    db.session.commit()
    if change == "enterprise":
        response = client.post(f"/core-enterprises/{entries['长安'].id}/edit", data={
            "name": "重庆长安汽车股份有限公司", "aliases": "长安\n长安汽车"})
    else:
        response = client.post("/core-enterprises/names/confirm", data={
            "core_enterprise_id": entries["长安"].id, "alias": "长安"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    job = db.session.scalar(select(Job).where(Job.kind == "matching.core"))
    assert job is not None and f"job={job.id}" in response.headers["Location"]
    assert job.status == "done" and matching.is_fresh(need)  # run inline in tests
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "供应链融资需求正在后台重新匹配" in page and 'data-testid="job-progress"' in page


def test_the_list_change_job_splits_a_large_platform_into_parts_over_the_workers(
        db, client_as, entries, monkeypatch):
    """At city scale the supply-chain needs are tens of thousands: the job splits them by id
    into parts of PART needs, as `match --all` does, each ranking its own at the epoch, and
    every need ends fresh with the group's product matched. The banks' reach counts follow
    the list (a recount job)."""
    from matchmaker.jobs.models import Job
    from matchmaker.matching.models import ProductReach

    monkeypatch.setattr(matching, "PART", 2)
    client = client_as("organizer")
    product, first = supply_chain(BOE, OPTO)  # not contained: needs the group
    needs = [first] + [NeedFactory(purpose="supply_chain",
                                   enterprise=EnterpriseFactory(core_enterprise=name))
                       for name in (DISPLAY, OPTO, DISPLAY, OPTO)]
    bystander = NeedFactory(purpose="supply_chain")  # states no core enterprise
    for need in (*needs, bystander):
        matching.refresh_need(need)
    db.session.commit()
    response = client.post("/core-enterprises/groups/new", data={
        "name": BOE, "aliases": "京东方",
        "members": [str(entries[OPTO].id), str(entries[DISPLAY].id)]})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    job = db.session.scalar(select(Job).where(Job.kind == "matching.core"))
    assert job.status == "done" and job.children_total == 3  # 5 needs, 2 by 2
    parts = db.session.scalars(select(Job).where(Job.parent_id == job.id)
                               .order_by(Job.id)).all()
    assert [p.kind for p in parts] == ["matching.core_part"] * 3
    assert [p.params["part"] for p in parts] == [1, 2, 3]
    assert [p.result["needs"] for p in parts] == [2, 2, 1]
    assert job.result == {"needs": 5, "parts": 3}
    for need in needs:
        assert matching.is_fresh(need)
        assert db.session.scalar(select(Match).where(Match.need_id == need.id,
                                                     Match.product_id == product.id))
    assert matching.is_fresh(bystander)
    assert db.session.get(ProductReach, product.id).needs == len(needs)


@pytest.mark.parametrize("change", ["uscc and cluster", "group note", "saved as it was"])
def test_a_list_change_matching_does_not_read_starts_no_job(db, client_as, entries, boe,
                                                           change):
    """A company's USCC and cluster and a group's note are not read by matching; neither is a
    form saved as it was. At city scale the job would re-rank tens of thousands of needs."""
    from matchmaker.jobs.models import Job

    client = client_as("organizer")
    _product, need = supply_chain(BOE, OPTO)
    matching.refresh_need(need)
    db.session.commit()
    opto = entries[OPTO]
    if change == "group note":
        response = client.post(f"/core-enterprises/groups/{boe.id}/edit", data={
            "name": BOE, "aliases": "京东方\nBOE", "note": "2025年报子公司名单",
            "members": [str(entries[OPTO].id), str(entries[DISPLAY].id)]})
    else:
        aliases = "\n".join(a.alias for a in opto.aliases)
        data = {"name": OPTO, "aliases": aliases, "cluster": opto.cluster or ""}
        if change == "uscc and cluster":
            data.update(uscc=valid_uscc(77), cluster="electronic_information")
        response = client.post(f"/core-enterprises/{opto.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    assert "job=" not in response.headers["Location"]
    assert db.session.scalar(select(Job).where(Job.kind == "matching.core")) is None
    assert matching.is_fresh(need)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "匹配结果不受影响" in page
    if change == "group note":
        assert boe.note == "2025年报子公司名单"
    elif change == "uscc and cluster":
        assert opto.uscc == valid_uscc(77) and opto.cluster == "electronic_information"
