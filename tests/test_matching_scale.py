"""Matching at city scale: what is stored per need, freshness while a recompute job waits,
the incremental product recompute against a full one, `match --all` in parts, reach."""
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from benchmarks.generate import generate, to_exchange
from matchmaker import clock, jobs
from matchmaker.enterprises.models import Need
from matchmaker.exchange.service import import_document
from matchmaker.extensions import db as _db
from matchmaker.institutions import service as product_service
from matchmaker.institutions.models import Product
from matchmaker.jobs import runner
from matchmaker.jobs.models import Job
from matchmaker.leads import push
from matchmaker.matching import adapters, queries, service
from matchmaker.matching.models import (
    Match,
    MatchingBasis,
    MatchState,
    NearMiss,
    ProductReach,
    StalePolicy,
    StaleProduct,
)
from matchmaker.policy import service as policy
from matchmaker.policy.models import ProgramConfirmation, SubsidyProgram
from tests.factories import user_for_role
from tests.test_leads_helpers import owner

EXAMPLE = Path(__file__).parent / "data" / "example.json"


@pytest.fixture
def example(db):
    import_document(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    db.session.flush()
    return {n.ref: n for n in db.session.scalars(select(Need))}


@pytest.fixture
def queued(app):
    """Jobs wait in the queue (as behind a busy worker) until the test runs them."""
    app.config["JOBS_BACKEND"] = "thread"

    def waiting():
        """The jobs enqueued so far (never dispatched); from here on jobs run inline again."""
        app.config["JOBS_BACKEND"] = "inline"
        return _db.session.info.pop(jobs.service._PENDING, None)

    yield waiting
    app.config["JOBS_BACKEND"] = "inline"


def _run(job_ids):
    for job_id in job_ids:
        runner.run_inline(_db.session.get(Job, job_id))


def product(ref: str) -> Product:
    return _db.session.scalar(select(Product).where(Product.ref == ref))


def _terms(p: Product) -> dict:
    record = product_service.product_record(p)
    return {k: v for k, v in record.items() if k not in ("ref", "institution_ref", "active")}


def _match_list(html: str) -> str:
    """The need page's list of matches (figures, reasons, components), without the notes."""
    start = html.index('<ol class="list-unstyled mb-0">', html.index('data-testid="matches"'))
    return html[start:html.index("</ol>", start)]


def test_a_product_edit_is_shown_computed_now_until_its_job_ran(example, db, client_as,
                                                                 queued):
    tech, need = product("P-TECH-01"), example["N-01"]
    admin = user_for_role("bank_admin", institution=tech.institution)
    client = client_as("enterprise", enterprise=need.enterprise)
    before = _match_list(client.get(f"/needs/{need.id}").get_data(as_text=True))
    assert service.is_fresh(need)
    terms = _terms(tech)
    terms["rate_min"], terms["rate_max"] = Decimal("2.9"), Decimal("3.8")
    product_service.update_product(admin, tech, **terms)
    pending = queued()
    [(job_id, _timeout)] = pending
    assert _db.session.get(Job, job_id).kind == "matching.product"
    # the request wrote one row for the product, none per need: the same at any size
    assert _db.session.scalars(select(StaleProduct.product_id)).all() == [tech.id]
    assert _db.session.scalar(select(func.max(MatchState.wanted))) == 0
    assert not service.is_fresh(need)
    assert service.is_fresh(example["N-02"])  # it never showed P-TECH-01
    waiting = client.get(f"/needs/{need.id}").get_data(as_text=True)
    # while the job waits the page computes the need's matches itself, storing nothing
    assert "正在更新" not in waiting
    assert 'data-testid="matches-now"' in waiting
    [stored] = queries.matches_for_need(need)
    assert stored.product_version == 1 and not service.is_fresh(need)
    _run([job_id])
    assert service.is_fresh(need)
    [m] = queries.matches_for_need(need)
    assert m.product_version == 2 and _db.session.get(Job, job_id).status == "done"
    assert _db.session.scalar(select(func.count()).select_from(StaleProduct)) == 0
    after = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert 'data-testid="matches-now"' not in after
    # what the page computed is what the job stored: the new terms' figures, not the old
    assert _match_list(waiting) == _match_list(after) != before


def _reach_row(html: str, name: str) -> str:
    start = html.rindex("<tr>", 0, html.index(name))
    return html[start:html.index("</tr>", start)]


def test_a_product_edit_shows_its_reach_recounting_until_its_job_ran(example, db, client_as,
                                                                     queued):
    tech = product("P-TECH-01")
    admin = user_for_role("bank_admin", institution=tech.institution)
    client = client_as("bank_manager", institution=tech.institution)
    before = _reach_row(client.get("/institution/reach").get_data(as_text=True), "技改专项贷")
    assert "800 万元" in before and "重新统计中" not in before  # N-01 asks 800万元
    terms = _terms(tech)
    terms["amount_max_wan"] = Decimal(500)  # N-01 leaves it
    product_service.update_product(admin, tech, **terms)
    [(job_id, _timeout)] = queued()
    html = client.get("/institution/reach").get_data(as_text=True)
    waiting = _reach_row(html, "技改专项贷")
    # the old count is its old terms': not shown as the product's while its job waits
    assert "重新统计中" in waiting and "800 万元" not in waiting
    assert "重新统计中" not in _reach_row(html, "链上订单贷")  # the bank's other product
    assert html.index("技改专项贷") < html.index("链上订单贷")  # the one being recounted first
    job = _db.session.get(Job, job_id)
    job.status = "failed"  # as a worker records it: nothing will recount it until a retry
    stalled = _reach_row(client.get("/institution/reach").get_data(as_text=True), "技改专项贷")
    assert "统计未完成" in stalled and "重新统计中" not in stalled and "800 万元" not in stalled
    part = Job(kind="matching.product_part", description="第1部分", status="running",
               parent_id=job.id)  # a failed part retried: the product is being recounted
    _db.session.add(part)
    _db.session.flush()
    retried = _reach_row(client.get("/institution/reach").get_data(as_text=True), "技改专项贷")
    assert "重新统计中" in retried and "统计未完成" not in retried
    _db.session.delete(part)
    job.status = "queued"  # the admin's retry
    _run([job_id])
    after = _reach_row(client.get("/institution/reach").get_data(as_text=True), "技改专项贷")
    assert "重新统计中" not in after and "800 万元" not in after
    [reach] = [r for r in queries.product_reach(tech.institution_id) if r.product.id == tech.id]
    assert (reach.needs, reach.recounting) == (0, False)


def test_an_event_invites_by_what_matches_now_while_product_jobs_wait(example, db, queued):
    """An event "by matches" reads who matches whom: a product changed and not yet
    recomputed counts with its new terms, both ways (one leaves a need, one enters one)."""
    from matchmaker.events import service as events
    from tests.test_events_helpers import make_event

    first, tech = product("P-FIRST-01"), product("P-TECH-01")
    open_needs = Need.status.in_(("published", "in_progress"))
    before = queries.served(open_needs)
    assert example["N-03"].enterprise_id in before[0] and first.institution_id in before[1]
    terms = _terms(first)
    terms["amount_max_wan"] = Decimal(40)  # N-03 asks 50万元: P-FIRST-01 leaves it
    product_service.update_product(user_for_role("bank_admin", institution=first.institution),
                                   first, **terms)
    terms = _terms(tech)
    terms["purposes"] = [*terms["purposes"], "working_capital"]
    terms["amount_min_wan"] = Decimal(10)  # P-TECH-01 now serves N-03, which never named it
    product_service.update_product(user_for_role("bank_admin", institution=tech.institution),
                                   tech, **terms)
    pending = [job_id for job_id, _timeout in queued()]
    assert len(pending) == 2
    waiting = queries.served(open_needs)
    report = events.invite(user_for_role("organizer"), make_event(), "matches")
    _run(pending)
    after = queries.served(open_needs)
    assert waiting == after != before
    assert first.institution_id not in after[1]  # its one product left N-03
    assert example["N-03"].enterprise_id in after[0]  # P-TECH-01 serves it now
    assert (report.enterprises, report.institutions) == (len(after[0]), len(after[1]))


def test_an_event_still_invites_a_bank_whose_other_product_serves_beneath_the_list(
        app, db, queued, monkeypatch):
    """A need stores its ranked list and each institution's best only: when that best is a
    changed product, the institution's other products beneath the list are matched anew."""
    app.config["JOBS_BACKEND"] = "inline"  # the import's matching done at once
    monkeypatch.setattr(service, "SHOWN", 1)  # a list shorter than the eligible products,
    monkeypatch.setattr(service, "RESERVE", 0)  # as at a city's 5,000 products
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    [first] = [p for p in doc["products"] if p["ref"] == "P-FIRST-01"]
    doc["products"].append({**first, "ref": "P-FIRST-02", "name": "首贷担保贷二（示例）",
                            "rate_min": 5.6, "rate_max": 6.5})  # dearer: never the best
    import_document(doc)
    _db.session.flush()
    guarantor = product("P-FIRST-01")
    n03 = _db.session.scalar(select(Need).where(Need.ref == "N-03"))
    stored = {m.product.ref for m in _db.session.scalars(select(Match).where(
        Match.need_id == n03.id))}
    assert "P-FIRST-02" not in stored and "P-FIRST-01" in stored
    app.config["JOBS_BACKEND"] = "thread"  # the edit's job waits
    terms = _terms(guarantor)
    terms["amount_max_wan"] = Decimal(40)  # N-03 asks 50万元: P-FIRST-02 still serves it
    product_service.update_product(
        user_for_role("bank_admin", institution=guarantor.institution), guarantor, **terms)
    pending = [job_id for job_id, _timeout in queued()]
    open_needs = Need.status.in_(("published", "in_progress"))
    waiting = queries.served(open_needs)
    assert guarantor.institution_id in waiting[1] and n03.enterprise_id in waiting[0]
    _run(pending)
    assert queries.served(open_needs) == waiting


def test_an_event_invites_by_what_matches_now_while_every_need_waits(example, db, queued):
    """An import's change (every need's recompute asked for at its end, no product marked):
    the needs waiting for it are matched now."""
    first = product("P-FIRST-01")
    open_needs = Need.status.in_(("published", "in_progress"))
    before = queries.served(open_needs)
    admin = user_for_role("bank_admin", institution=first.institution)
    with service.everything_after(admin):
        terms = _terms(first)
        terms["amount_max_wan"] = Decimal(40)  # N-03 asks 50万元
        product_service.update_product(admin, first, **terms)
    [(job_id, _timeout)] = queued()
    assert _db.session.get(Job, job_id).kind == "matching.all"
    assert not _db.session.scalars(select(StaleProduct)).all()
    waiting = queries.served(open_needs)
    _run([job_id])
    assert waiting == queries.served(open_needs) != before


def test_an_event_invites_from_the_stored_pairings_while_only_costs_wait(example, db, queued,
                                                                       monkeypatch):
    """An LPR quote or a programme's edit moves every need's costs, never who is eligible:
    the invitation reads the stored pairings meanwhile, matching nothing anew (at city scale
    1.4 s against 10–12 s, bench_read_waiting)."""
    open_needs = Need.status.in_(("published", "in_progress"))
    before = queries.served(open_needs)
    policy.add_lpr_quote(user_for_role("admin"), "lpr_1y", Decimal("2.1"), clock.china_today())
    programme = _db.session.scalar(select(SubsidyProgram).order_by(SubsidyProgram.id))
    service.recompute_programme_later(programme)
    pending = [job_id for job_id, _timeout in queued()]
    assert not service.is_fresh(example["N-01"])
    anew = []
    monkeypatch.setattr(queries, "_served_now", lambda *args: anew.append(args) or iter(()))
    assert queries.served(open_needs) == before and anew == []
    # an import's change (every need, eligibility with it) still matches them anew
    with service.everything_after(user_for_role("admin")):
        pass
    queries.served(open_needs)
    [(_needs, changed, waiting_ids)] = anew
    assert not changed and waiting_ids == {n.id for n in example.values()
                                           if n.status in ("published", "in_progress")}
    monkeypatch.undo()
    _run(pending + [job_id for job_id, _timeout in queued() or ()])
    assert queries.served(open_needs) == before


def _near_list(html: str) -> str:
    if 'data-testid="near-misses"' not in html:
        return ""
    start = html.index('data-testid="near-misses"')
    return html[start:html.index("</ul>", start)]


def _reason_cells(html: str) -> list[str]:
    """The needs list's 最佳匹配 cells (the table's, one per need)."""
    table = html[html.index('data-testid="needs-table"'):]
    return [cell.split(">", 1)[1].split("</td>", 1)[0]
            for cell in table.split('data-testid="match-reason"')[1:]]


def test_an_lpr_quote_is_shown_computed_now_on_every_need_until_its_job_ran(example, db,
                                                                             client_as, queued):
    """An LPR quote moves every pairing's score and its job is a whole `match --all`: while
    it waits, each need's page and the needs list compute what the job will store."""
    needs = [n for n in example.values() if n.status != "draft"]
    clients = {n.id: client_as("enterprise", enterprise=n.enterprise) for n in needs}

    def pages() -> dict[int, tuple]:
        out = {}
        for need in needs:
            client = clients[need.id]
            html = client.get(f"/needs/{need.id}").get_data(as_text=True)
            listed = client.get("/needs").get_data(as_text=True)
            out[need.id] = (_match_list(html) if 'data-testid="match"' in html else "",
                            _near_list(html), _reason_cells(listed), html)
        return out

    before = pages()
    policy.add_lpr_quote(user_for_role("admin"), "lpr_1y", Decimal("2.1"), clock.china_today())
    pending = queued()
    assert not any(_fresh(needs))
    waiting = pages()
    _run([job_id for job_id, _timeout in pending])
    assert all(_fresh(needs))
    after = pages()
    assert any(w[0] for w in waiting.values())  # the example's needs have matches to show
    for need in needs:
        html = waiting[need.id][3]
        assert "正在更新" not in html and 'data-testid="matches-now"' in html, need.ref
        assert "正在更新" not in "".join(waiting[need.id][2])
        assert 'data-testid="matches-now"' not in after[need.id][3]
        assert waiting[need.id][:3] == after[need.id][:3], need.ref
    # the quote moved the figures: what was computed is not what was stored before
    assert any(before[n.id][0] != waiting[n.id][0] for n in needs)


def test_a_change_marked_while_a_job_ran_keeps_its_needs_stale(example, db, queued):
    tech, need = product("P-TECH-01"), example["N-01"]
    first = service.mark_stale(product_ids=[tech.id])
    second = service.mark_stale(product_ids=[tech.id])  # the bank edited again meanwhile
    service.forget_stale_products(first, tech.id)  # the first edit's job finished
    assert _db.session.get(StaleProduct, tech.id).epoch == second
    assert not service.is_fresh(need)
    # a near miss names a product as a match does
    other = example["N-02"]
    assert service.is_fresh(other)
    _db.session.add(NearMiss(need_id=other.id, product_id=tech.id, rank=1, product_version=1,
                             rule="amount", reason="额度不符"))
    _db.session.flush()
    assert not service.is_fresh(other)


def test_a_programme_change_marks_every_need_stale_in_one_row_until_its_job_ran(example, db,
                                                                                queued):
    admin = user_for_role("admin")
    program = _db.session.scalar(select(SubsidyProgram).where(
        SubsidyProgram.code == "tech_upgrade_interest"))
    before = _db.session.get(MatchingBasis, 1).all_wanted
    policy.update_program(admin, program, settings={**program.settings, "share_of_rate": 0.45},
                          effective_from=program.effective_from,
                          effective_to=program.effective_to)
    pending = queued()
    assert _db.session.get(MatchingBasis, 1).all_wanted > before
    assert not any(f.fresh for f in service.freshness(n.id for n in example.values()).values())
    kinds = {_db.session.get(Job, j).kind: j for j, _ in pending}
    assert "matching.all" not in kinds  # only the needs it can move are ranked again
    _run([kinds["matching.programme"]])
    assert all(f.fresh for f in service.freshness(n.id for n in example.values()).values())


def test_a_fee_rate_change_marks_every_need_stale_until_its_job_ran(example, db, queued):
    policy.update_setting(user_for_role("admin"), "guarantee_fee_rate", Decimal("1.5"))
    pending = queued()
    assert not any(f.fresh for f in service.freshness(n.id for n in example.values()).values())
    kinds = {_db.session.get(Job, j).kind: j for j, _ in pending}
    assert set(kinds) == {"matching.fee"}  # not everything: only what the fee can move
    _run([kinds["matching.fee"]])
    assert all(f.fresh for f in service.freshness(n.id for n in example.values()).values())


def _edit_programme(code: str = "tech_upgrade_interest") -> None:
    program = _db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))
    settings = {k: v * 0.8 if k == "share_of_rate" else v for k, v in program.settings.items()}
    policy.update_program(user_for_role("admin"), program, settings=settings,
                          effective_from=program.effective_from,
                          effective_to=program.effective_to)


def _fresh(needs) -> list[bool]:
    return [f.fresh for f in service.freshness(n.id for n in needs).values()]


def test_a_policy_change_waits_for_its_own_job_whatever_ran_since(example, db, queued):
    """Two changes of the policy wait: the one whose job ran first (at an epoch after both)
    must not mark the needs current while the other's carriers still hold old costs."""
    _edit_programme()
    policy.update_setting(user_for_role("admin"), "guarantee_fee_rate", Decimal("1.8"))
    kinds = {_db.session.get(Job, j).kind: j for j, _ in queued()}
    assert set(kinds) == {"matching.programme", "matching.fee"}
    _run([kinds["matching.fee"]])
    assert not any(_fresh(example.values()))  # the programme's costs are not in yet
    _run([kinds["matching.programme"]])
    assert all(_fresh(example.values()))


def test_a_need_ranked_whole_while_a_policy_change_waits_is_current(example, db, queued):
    """Its enterprise edits it meanwhile: ranked whole with the new programme, it is shown;
    the others wait for the programme's job."""
    _edit_programme()
    pending = queued()
    need, other = example["N-01"], example["N-02"]
    assert not service.is_fresh(need)
    service.refresh_need(need)
    assert service.is_fresh(need) and not service.is_fresh(other)
    assert _stored([need.id]) == _full([need.id])
    _run([j for j, _ in pending])
    assert all(_fresh(example.values()))


def test_a_state_claims_the_whole_ranking_its_rows_hold(example, db):
    """A patch keeps the epoch of the last whole ranking; a whole ranking written over the
    rows sets its own, even an older one (a job racing a need's edit): the rows are its."""
    need = example["N-01"]
    state = _db.session.get(MatchState, need.id)
    base = state.basis
    row = {"need_id": need.id, "wanted": 0, "complete": True, "near_complete": True,
           "computed_at": state.computed_at}

    def written(basis: int, whole_basis: int) -> int:
        service._upsert_states([{**row, "basis": basis, "whole_basis": whole_basis}])
        _db.session.expire_all()
        return _db.session.get(MatchState, need.id).whole_basis

    assert written(base + 5, base + 5) == base + 5
    assert written(base + 6, 0) == base + 5  # a patch
    assert written(base + 2, base + 2) == base + 2


def test_a_product_job_leaves_its_needs_stale_while_a_policy_change_waits(example, db,
                                                                          queued):
    """A product edited after a programme: its job patches the product's rows (at the new
    programme) but the other carriers' rows still hold the old costs: not current yet."""
    tech, need = product("P-TECH-01"), example["N-01"]
    _edit_programme()
    terms = _terms(tech)
    terms["amount_max_wan"] = Decimal(terms["amount_max_wan"]) * 2
    product_service.update_product(user_for_role("bank_admin", institution=tech.institution),
                                   tech, **terms)
    kinds = {_db.session.get(Job, j).kind: j for j, _ in queued()}
    _run([kinds["matching.product"]])
    assert not service.is_fresh(need)
    _run([kinds["matching.programme"]])
    assert service.is_fresh(need)
    assert _stored([need.id]) == _full([need.id])


def test_a_use_fee_programme_change_recomputes_everything(example, db, queued):
    """A fund's programme says whom the fund may serve at all: eligibility and reach move."""
    program = _db.session.scalar(select(SubsidyProgram).where(
        SubsidyProgram.code == "bridge_fee_waiver"))
    policy.update_program(user_for_role("admin"), program,
                          settings={**program.settings, "cap_wan": 6000},
                          effective_from=program.effective_from,
                          effective_to=program.effective_to)
    kinds = {_db.session.get(Job, j).kind for j, _ in queued()}
    assert kinds == {"matching.all"}


def test_mark_stale_and_enqueue_recompute_are_the_api_policy_calls(example, db, queued):
    need = example["N-02"]
    service.mark_stale(need_ids=[need.id])
    assert not service.is_fresh(need) and service.is_fresh(example["N-01"])
    [job] = service.enqueue_recompute(everything=True)
    again = service.enqueue_recompute(everything=True)
    assert again == [job]  # coalesced while it waits
    assert service.enqueue_recompute(product_ids=[product("P-TECH-01").id]) == []  # covered
    queued()
    _run([job.id])
    assert service.is_fresh(need)


def test_match_all_runs_in_parts_and_recounts_reach(example, db, monkeypatch):
    monkeypatch.setattr(service, "PART", 2)
    _db.session.execute(Match.__table__.delete())
    _db.session.execute(ProductReach.__table__.delete())
    job = jobs.enqueue("matching.all", {})
    parts = _db.session.scalars(select(Job).where(Job.parent_id == job.id)).all()
    assert job.status == "done" and len(parts) == 2 and job.children_done == 2
    assert {p.status for p in parts} == {"done"}
    assert job.result["needs"] == 3
    assert [m.product.ref for m in queries.matches_for_need(example["N-01"])] == ["P-TECH-01"]
    reach = _db.session.get(ProductReach, product("P-TECH-01").id)
    assert reach.needs == 1 and reach.amount_wan == example["N-01"].amount_wan


def test_each_institution_keeps_its_best_product_for_a_need(example, db):
    rows = _db.session.scalars(select(Match).where(Match.institution_best.is_(True))).all()
    per = {}
    for row in rows:
        per.setdefault((row.need_id, row.product.institution_id), []).append(row)
    assert per and all(len(found) == 1 for found in per.values())
    by_inst = queries.matches_by_institution(example["N-01"])
    assert [m.product.ref for rows in by_inst.values() for m in rows] == ["P-TECH-01"]


# --- the incremental recompute is exact ----------------------------------------------------

def _generated(seed: int, institutions: int, products: int) -> dict:
    """A generated platform of 300 needs imported, no need consenting (no leads)."""
    doc = to_exchange(generate(seed, institutions, products, 120, 300), seed)
    for need in doc["needs"]:
        need["consent_to_share"] = False
    import_document(doc)
    _db.session.flush()
    return doc


@pytest.fixture
def platform(db):
    return _generated(7, 8, 60)


def _full(need_ids):
    """What a full recompute would store now: shown keys, near misses, institution bests."""
    matcher = service.current_matcher()
    facts, _ = adapters.load_need_facts(_db.session, Need.id.in_(need_ids))
    out = {}
    for r in matcher.match_all(facts, top=service.SHOWN, near_top=service.NEAR_SHOWN,
                               reserve=service.RESERVE, per_institution=True):
        out[r.need.id] = ([(k.product_id, k.score) for k in r.ranking.keys[:service.SHOWN]],
                          [(n.product_id, n.rule_code) for n in r.near_misses],
                          sorted(k.product_id for k in r.institution_best))
    return out


def _stored(need_ids):
    out = {nid: ([], [], []) for nid in need_ids}
    for nid, pid, score, rank, best in _db.session.execute(
            select(Match.need_id, Match.product_id, Match.score, Match.rank,
                   Match.institution_best).where(Match.need_id.in_(need_ids))
            .order_by(Match.need_id, Match.rank)):
        if rank is not None and rank <= service.SHOWN:
            out[nid][0].append((pid, float(score)))
        if best:
            out[nid][2].append(pid)
    for nid, pid, rule in _db.session.execute(
            select(NearMiss.need_id, NearMiss.product_id, NearMiss.rule)
            .where(NearMiss.need_id.in_(need_ids), NearMiss.rank <= service.NEAR_SHOWN)
            .order_by(NearMiss.need_id, NearMiss.rank)):
        out[nid][1].append((pid, rule))
    return {nid: (shown, near, sorted(best)) for nid, (shown, near, best) in out.items()}


@pytest.mark.parametrize("part", [service.PRODUCT_PART, 40])
def test_product_edits_patch_exactly_what_a_full_recompute_stores(platform, db, monkeypatch,
                                                                  part):
    """Whether the job patches the needs itself or in parts of 40 (as if 8 workers ran them)."""
    monkeypatch.setattr(service, "PRODUCT_PART", part)
    monkeypatch.setattr(runner, "worker_count", lambda app=None: 8)
    rng = random.Random(3)
    ids = _db.session.scalars(select(Need.id)).all()
    popular = _db.session.execute(
        select(Match.product_id, func.count()).group_by(Match.product_id)
        .order_by(func.count().desc()).limit(3)).all()
    for pid, _count in popular:
        p = _db.session.get(Product, pid)
        admin = user_for_role("bank_admin", institution=p.institution)
        terms = _terms(p)
        terms["amount_max_wan"] = Decimal(terms["amount_max_wan"]) * 3
        terms["rate_min"] = max(Decimal("0.5"), Decimal(terms["rate_min"]) - Decimal(1))
        product_service.update_product(admin, p, **terms)
        assert _stored(ids) == _full(ids), f"after widening product {pid}"
        [job] = _db.session.scalars(select(Job).where(Job.kind == "matching.product")
                                    .order_by(Job.id.desc()).limit(1))
        assert job.status == "done" and job.result["needs_touched"] > 40
        assert (job.children_total or 0) == (0 if part > 300 else 8)  # 300 needs: 8 parts
        assert job.result["eligible"] == _db.session.get(ProductReach, pid).needs > 0
        assert _db.session.get(StaleProduct, pid) is None
        assert all(f.fresh for f in service.freshness(ids).values())
    paused = _db.session.get(Product, popular[0][0])
    product_service.change_product_status(
        user_for_role("bank_admin", institution=paused.institution), paused, "pause")
    sample = rng.sample(ids, 100)
    assert _stored(sample) == _full(sample)
    assert _db.session.get(ProductReach, paused.id).needs == 0
    _assert_patched_as_written_whole(ids)


def _as_shown(shown_matches, near_misses) -> tuple:
    return ([(m.product_id, m.rank, m.score, m.estimated_rate, m.product_version,
              list(m.reasons), dict(m.components)) for m in shown_matches],
            [(n.product_id, n.rank, n.rule, n.reason, n.fix) for n in near_misses])


def _offered(need) -> list:
    """matches_by_institution as its callers read it: rows per institution, with reasons.
    The reserve's rows (ranked beyond the shown list) are left out unless an institution's
    best: a patch shortens the reserve when a product leaves, a whole ranking fills it
    (_assert_patched_as_written_whole), so they depend on the need's history."""
    found = queries.matches_by_institution(need)
    rows = [m for ms in found.values() for m in ms]
    reasons = queries.reasons_for(need, rows)
    return [(inst, [(m.product_id, m.rank if (m.rank or 99) <= service.SHOWN else "beyond",
                     m.institution_best, m.score, m.estimated_rate, m.product_version,
                     reasons[m.product_id])
                    for m in ms if m.institution_best or (m.rank or 99) <= service.SHOWN])
            for inst, ms in found.items()]  # in order: institutions by their best match


@pytest.fixture
def wide_platform(db):
    """As `platform`, with 30 institutions: a need's ranked list misses some of its
    institutions' bests (stored outside it, rank NULL)."""
    return _generated(9, 30, 150)


def _quote_lpr() -> None:
    policy.add_lpr_quote(user_for_role("admin"), "lpr_1y", Decimal("2.6"), clock.china_today())


def _narrow_a_small_lender() -> None:
    """The product of a one-product institution that the most needs store: lending 1–2万元
    only, it leaves their lists (and their institution counts), entering near misses."""
    single = (select(Product.institution_id).group_by(Product.institution_id)
              .having(func.count() == 1))
    pid = _db.session.execute(
        select(Match.product_id, func.count()).join(Product, Product.id == Match.product_id)
        .where(Product.institution_id.in_(single)).group_by(Match.product_id)
        .order_by(func.count().desc(), Match.product_id)).first()[0]
    p = _db.session.get(Product, pid)
    terms = _terms(p)
    terms.update(amount_min_wan=Decimal(1), amount_max_wan=Decimal(2))
    product_service.update_product(user_for_role("bank_admin", institution=p.institution), p,
                                   **terms)


@pytest.mark.parametrize("change", [_quote_lpr, _narrow_a_small_lender])
def test_what_a_page_computes_while_a_job_waits_is_what_the_job_stores(wide_platform, db,
                                                                        queued, change):
    """An LPR quote (every score moves), a one-product lender's product leaving most lists
    (its institution with it), with 300 needs: each need's matches, near misses, the
    best of the needs list, its matches by institution (what leads, whitelists and events
    offer) and their count, computed while the job waits, equal what the job stores —
    reasons, score components and costs included."""
    needs = _db.session.scalars(select(Need).where(Need.status != "draft")
                                .order_by(Need.id)).all()
    counted = {n.id: queries.matched_institution_count(n) for n in needs}
    change()
    pending = queued()
    waiting = [n for n in needs if not service.is_fresh(n)]
    assert len(waiting) > 30
    shown = {n.id: queries.shown_for_need(n) for n in waiting}
    assert all(s.now for s in shown.values())
    computed = {nid: _as_shown(s.matches, s.near_misses) for nid, s in shown.items()}
    bests = {nid: _as_shown([m], [])[0] for nid, m in queries.shown_bests(needs).items()}
    offered = {n.id: _offered(n) for n in needs}
    counts = {n.id: queries.matched_institution_count(n) for n in needs}
    moved = sum(computed[n.id][0] != _as_shown(queries.matches_for_need(n), [])[0]
                for n in waiting)
    # pushed while it waits: the lead names the computed best, and nothing computed is written
    pushed = next(n for n in waiting if offered[n.id] and n.enterprise.verified)
    institution, rows = offered[pushed.id][0]
    stored_rows = _db.session.scalar(select(func.count()).select_from(Match))
    [lead] = push.push_need(owner(pushed), pushed, [institution], ["uscc"])
    _db.session.flush()
    assert (lead.product_id, lead.matched[0]["score"]) == (rows[0][0], float(rows[0][3]))
    assert _db.session.scalar(select(func.count()).select_from(Match)) == stored_rows
    _run([job_id for job_id, _timeout in pending])
    assert all(_fresh(needs))
    stored = {n.id: _as_shown(queries.matches_for_need(n), queries.near_misses_for_need(n))
              for n in waiting}
    assert computed == stored
    assert bests == {nid: _as_shown([m], [])[0]
                     for nid, m in queries.best_matches([n.id for n in needs]).items()}
    # what leads, whitelists and events offer each institution: the same rows and reasons
    assert offered == {n.id: _offered(n) for n in needs}
    assert counts == {n.id: queries.matched_institution_count(n) for n in needs}
    assert sum(len(o) for o in offered.values()) > len(needs)
    assert sum(row[1] == "beyond" for o in offered.values() for _i, rows in o for row in rows) > 50
    # not vacuous: most needs show matches, many near misses, and the change moved figures
    assert sum(bool(m) for m, _near in stored.values()) > len(waiting) / 2
    assert sum(bool(near) for _m, near in stored.values()) > 20
    assert moved > len(waiting) / 2
    if change is _narrow_a_small_lender:
        assert sum(counts[n] != counted[n] for n in counts) > 50
    assert all(queries.shown_for_need(n).now is False for n in needs)


def _assert_patched_as_written_whole(ids) -> None:
    """Row for row (reasons, components, versions, the reserve without reasons), a patch left
    what writing each need whole leaves; only the reserve's length may differ (a product
    leaving shortens it, a whole ranking fills it)."""
    patched = _rows(ids)
    for need in _db.session.scalars(select(Need).where(Need.id.in_(ids))):
        service.refresh_need(need)
    whole = _rows(ids)
    for one, other in ((patched, whole), (whole, patched)):
        for key, row in one.items():
            if key not in other:
                assert key[0] == Match.__tablename__, key
                assert row[0] is not None and row[0] > service.SHOWN, key  # reserve only
    assert all(patched[key] == whole[key] for key in patched.keys() & whole.keys())


def _programme_data(program, **changes) -> dict:
    """The programme's form as it stands (its eligibility flattened), with `changes`."""
    return {**policy.program_snapshot(program), **program.eligibility,
            "effective_from": program.effective_from, "effective_to": program.effective_to,
            **changes}


# (needs per part, carriers' institutions' products named in the read: beyond, every row read)
@pytest.mark.parametrize("part, named", [(service.PRODUCT_PART, service.FAMILY_NAMED),
                                         (40, service.FAMILY_NAMED), (service.PRODUCT_PART, 0)])
def test_programme_edits_patch_exactly_the_needs_they_move(platform, db, monkeypatch,
                                                               part, named):
    """A programme's job patches only the needs that qualify before or after (their
    carriers' keys) or have a carrier among their near misses; every need then stores what a
    full recompute would, reasons included (the label is in them)."""
    monkeypatch.setattr(service, "PRODUCT_PART", part)
    monkeypatch.setattr(service, "FAMILY_NAMED", named)
    monkeypatch.setattr(runner, "worker_count", lambda app=None: 8)
    code = "tech_upgrade_interest"
    for p in _db.session.scalars(select(Product)):  # more carriers than the generator's 3
        if "tech_upgrade" in p.purposes and code not in p.subsidy_programs:
            p.subsidy_programs = [*p.subsidy_programs, code]
            _db.session.add(ProgramConfirmation(product_id=p.id, program_code=code))
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    admin = user_for_role("admin")
    program = _db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))
    edits = [{"purposes": ["tech_upgrade", "working_capital"], "industries": [],
              "share_of_rate": 0.9},                        # wider, and pays more
             {"purposes": ["working_capital"]},             # the tech-upgrade needs lose it
             {"label": "技改贷款贴息（调整后）"}]             # only the reasons' text moves
    for changes in edits:
        before = _rows(ids)
        policy.edit_program(admin, program, _programme_data(program, **changes))
        [job] = _db.session.scalars(select(Job).where(Job.kind == "matching.programme")
                                    .order_by(Job.id.desc()).limit(1))
        assert job.status == "done", changes
        assert job.result["recomputed"] == 0, job.result  # every need was computed before
        assert 0 < job.result["patched"] < len(ids), job.result
        assert (job.children_total or 0) == (0 if part > 300 else 8)
        assert _rows(ids) != before, changes  # the edit moved something
        assert _stored(ids) == _full(ids), changes
        assert all(f.fresh for f in service.freshness(ids).values())
    assert not _db.session.scalar(select(func.count()).select_from(Job)
                                  .where(Job.kind == "matching.all", Job.id > job.id))
    _assert_patched_as_written_whole(ids)


def _fee_carriers() -> list[Product]:
    """The products whose loans may carry a guarantee fee: a guarantor's (one institution
    made one), and a few banks' products with the fee subsidy."""
    from matchmaker.institutions.models import Institution
    from matchmaker.institutions.subsidies import GUARANTEE_FEE_SUBSIDY
    guarantor = _db.session.scalars(select(Institution).order_by(Institution.id)).first()
    guarantor.kind = "guarantee"
    rng = random.Random(5)
    for p in _db.session.scalars(select(Product).order_by(Product.id)):
        if "guarantee" in p.guarantee_modes and rng.random() < 0.3 and \
                GUARANTEE_FEE_SUBSIDY not in p.subsidy_programs:
            p.subsidy_programs = [*p.subsidy_programs, GUARANTEE_FEE_SUBSIDY]
            _db.session.add(ProgramConfirmation(product_id=p.id,
                                                program_code=GUARANTEE_FEE_SUBSIDY))
    return [p for p in _db.session.scalars(select(Product))
            if p.status == "published" and (p.institution.kind == "guarantee"
                                            or GUARANTEE_FEE_SUBSIDY in p.subsidy_programs)]


@pytest.mark.parametrize("part", [service.PRODUCT_PART, 40])
def test_a_guarantee_fee_change_patches_exactly_the_needs_it_moves(platform, db, monkeypatch,
                                                                   part):
    """The fee rate moves only the cost of the pairings whose loan may carry it: its job
    patches the needs those products serve, and every need then stores what a full
    recompute would, reasons included (the fee is in them)."""
    monkeypatch.setattr(service, "PRODUCT_PART", part)
    monkeypatch.setattr(runner, "worker_count", lambda app=None: 8)
    carriers = _fee_carriers()
    assert len(carriers) >= 5 and any(p.institution.kind == "guarantee" for p in carriers)
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    admin = user_for_role("admin")
    for rate in (Decimal("2.5"), Decimal("0.2")):
        before = _rows(ids)
        policy.update_setting(admin, "guarantee_fee_rate", rate)
        [job] = _db.session.scalars(select(Job).where(Job.kind == "matching.fee")
                                    .order_by(Job.id.desc()).limit(1))
        assert job.status == "done", job.message
        assert job.result["recomputed"] == 0, job.result  # every need was computed before
        assert 0 < job.result["patched"] < len(ids), job.result
        assert (job.children_total or 0) == (0 if part > 300 else 8)
        assert _rows(ids) != before, rate  # the fee moved something
        assert _stored(ids) == _full(ids), rate
        assert all(f.fresh for f in service.freshness(ids).values())
    shown = [reason for (table, *_), row in _rows(ids).items() if table == "matches"
             for reason in row[5]]
    assert any("含担保费0.20%" in reason for reason in shown)
    assert not any("含担保费2.50%" in reason for reason in shown)
    assert not _db.session.scalar(select(func.count()).select_from(Job)
                                  .where(Job.kind == "matching.all", Job.id > job.id))
    _assert_patched_as_written_whole(ids)


def _began_with(monkeypatch, matcher) -> None:
    """The job's first current_matcher() is `matcher`, the one it read when it began (before
    a change another job then finished); later calls read the catalogue as it is."""
    real, first = service.current_matcher, []

    def current(day=None):
        if first:
            return real(day)
        first.append(True)
        return matcher
    monkeypatch.setattr(service, "current_matcher", current)


def _exact_where_fresh(ids) -> list[int]:
    fresh, stored, full = service.freshness(ids), _stored(ids), _full(ids)
    return [n for n in ids if fresh[n].fresh and stored[n] != full[n]]


def test_a_product_job_done_inside_a_fee_job_loses_neither_change(platform, db, queued,
                                                                  monkeypatch):
    """The fee job began (its epoch and matcher read); a bank's edit and its job on the
    other worker are done before the fee job reaches the needs that product patched, at a
    later basis, over rows without the new fee. Those needs are ranked again, not skipped
    for good: no need is shown current with an old cost."""
    carriers = {p.id for p in _fee_carriers()}
    queued()
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    shown_with_carrier = {n for n, pid in _db.session.execute(
        select(Match.need_id, Match.product_id).where(Match.rank.is_not(None)))
        if pid in carriers}
    counts: dict[int, int] = {}
    for n, pid in _db.session.execute(select(Match.need_id, Match.product_id)
                                      .where(Match.rank.is_not(None))):
        if pid not in carriers and n in shown_with_carrier:
            counts[pid] = counts.get(pid, 0) + 1
    edited = _db.session.get(Product, max(counts, key=counts.get))
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    policy.update_setting(user_for_role("admin"), "guarantee_fee_rate", Decimal("3.5"))
    queued()
    epoch, matcher = service.current_epoch(), service.current_matcher()  # the fee job began
    terms = _terms(edited)
    terms["amount_max_wan"] = Decimal(terms["amount_max_wan"]) * 2
    product_service.update_product(user_for_role("bank_admin", institution=edited.institution),
                                   edited, **terms)  # its job runs inline, done first
    _began_with(monkeypatch, matcher)
    service.recompute_fee(epoch)
    service.forget_stale_policies(epoch, service.FEE_SETTING)
    monkeypatch.undo()
    assert _db.session.scalar(select(func.count()).select_from(StalePolicy)) == 0
    assert not _exact_where_fresh(ids)
    assert all(f.fresh for f in service.freshness(ids).values())


def test_a_fee_job_done_inside_a_programme_job_loses_neither_change(platform, db, queued,
                                                                    monkeypatch):
    code = "tech_upgrade_interest"
    for p in _db.session.scalars(select(Product)):
        if "tech_upgrade" in p.purposes and code not in p.subsidy_programs:
            p.subsidy_programs = [*p.subsidy_programs, code]
            _db.session.add(ProgramConfirmation(product_id=p.id, program_code=code))
    _fee_carriers()
    queued()
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    admin = user_for_role("admin")
    program = _db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    policy.edit_program(admin, program, _programme_data(
        program, share_of_rate=0.9, purposes=["tech_upgrade", "working_capital"],
        industries=[]))
    queued()
    epoch, matcher = service.current_epoch(), service.current_matcher()  # programme job began
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    policy.update_setting(admin, "guarantee_fee_rate", Decimal("3.5"))
    [(fee_job, _)] = queued()
    _run([fee_job])  # the other worker: done first
    assert _db.session.get(Job, fee_job).status == "done"
    assert not any(f.fresh for f in service.freshness(ids).values())  # the programme waits
    _began_with(monkeypatch, matcher)
    service.recompute_programme(code, program.version - 1, epoch)
    service.forget_stale_policies(epoch, service.programme_key(code))
    monkeypatch.undo()
    assert not _exact_where_fresh(ids)
    assert all(f.fresh for f in service.freshness(ids).values())


def test_a_fee_job_done_while_a_full_recompute_runs_shows_no_need_current_before_it(
        platform, db, queued, monkeypatch):
    """An LPR quote's `match --all` was taken by a worker; before its parts reach the needs,
    a fee rate change's patch job is done on the other worker, at a later basis, over rows
    with the old LPR's scores. Those needs wait for the full recompute (the StalePolicy row
    of a change only it holds), then are current and exact."""
    _fee_carriers()
    queued()
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    admin = user_for_role("admin")
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    policy.add_lpr_quote(admin, "lpr_1y", Decimal("2.1"), clock.china_today())
    [(whole, _)] = queued()
    assert _db.session.get(Job, whole).kind == "matching.all"
    _db.session.get(Job, whole).status = "running"  # a worker took it, no part written yet
    _db.session.flush()
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    policy.update_setting(admin, "guarantee_fee_rate", Decimal("3.5"))
    [(fee_job, _)] = queued()
    _run([fee_job])
    assert _db.session.get(Job, fee_job).status == "done"
    # the fee job raised every need's basis: only the full recompute's row keeps them stale
    assert _db.session.scalar(select(func.min(MatchState.basis))) == service.current_epoch()
    assert not any(f.fresh for f in service.freshness(ids).values())
    _db.session.get(Job, whole).status = "queued"
    _run([whole])
    assert not _exact_where_fresh(ids)
    assert all(f.fresh for f in service.freshness(ids).values())
    assert _db.session.scalar(select(func.count()).select_from(StalePolicy)) == 0


def test_a_need_edited_while_a_full_recompute_ran_keeps_its_edit(platform, db, queued):
    """A part read its needs' facts; a need's owner then edits it (refresh_need, at the same
    epoch); the part, writing later, ranks that need again with its new facts instead of
    overwriting its fresh rows with the old."""
    queued()
    jobs.enqueue("matching.all", {})
    ids = sorted(_db.session.scalars(select(Need.id)))
    need = _db.session.get(Need, ids[len(ids) // 2])
    epoch, matcher = service.current_epoch(), service.current_matcher()  # a part began
    facts, _, seen = service.facts_seen((ids[0], ids[-1]))
    before = _full([need.id])
    need.amount_wan = need.amount_wan * 40  # beyond most products' ceilings
    service.refresh_need(need)
    assert _full([need.id]) != before  # the edit moves its matches
    service.recompute_needs(facts, matcher, epoch, seen=seen)
    assert _stored([need.id]) == _full([need.id])
    assert not _exact_where_fresh(ids)
    assert service.is_fresh(need)


def test_a_need_edited_while_a_product_job_ran_keeps_its_edit(platform, db, queued,
                                                             monkeypatch):
    """The product's job read the needs it touches; one of them is edited before the job
    patches it: that need is ranked again with its new facts, not patched with the old."""
    queued()
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    [(pid, _count)] = _db.session.execute(
        select(Match.product_id, func.count()).group_by(Match.product_id)
        .order_by(func.count().desc()).limit(1)).all()
    p = _db.session.get(Product, pid)
    terms = _terms(p)
    terms["rate_min"] = max(Decimal("0.5"), Decimal(terms["rate_min"]) - Decimal(1))
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    product_service.update_product(user_for_role("bank_admin", institution=p.institution), p,
                                   **terms)
    queued()
    epoch = service.current_epoch()
    impact, by_id, _ = service.product_impact(pid, epoch)  # the job began
    need = _db.session.get(Need, min(impact.eligible))
    need.amount_wan = Decimal(terms["amount_max_wan"]) * 40  # beyond this product's ceiling
    service.refresh_need(need)
    assert pid not in [k for k, _score in _full([need.id])[need.id][0]]
    service.patch_needs(impact, [by_id[n] for n in impact.touched])
    service.forget_stale_products(epoch, pid)
    assert _stored([need.id]) == _full([need.id])
    assert not _exact_where_fresh(ids)
    assert all(f.fresh for f in service.freshness(ids).values())


NEED_FIELDS = ("enterprise_id", "purpose", "loan_kind", "amount_wan", "term_months",
               "guarantee_modes", "max_rate", "current_lender_id", "renewal_due")


def _apart_from(mask: int, matcher) -> Need:
    """A need no product of `mask` serves or nearly serves: what the job reads of it says
    its change cannot move it."""
    facts, _ = adapters.load_need_facts(_db.session)
    apart = [f for f in facts if not (matcher.eligible_mask(f) | matcher.near_mask(f)) & mask]
    assert apart
    return _db.session.get(Need, apart[0].id)


def _showing(product_ids) -> Need:
    """A need whose shown list holds one of these products."""
    return _db.session.get(Need, _db.session.scalar(
        select(Match.need_id).where(Match.product_id.in_(product_ids),
                                    Match.rank <= service.SHOWN)
        .order_by(Match.need_id).limit(1)))


def _edited_at_the_old_basis(monkeypatch, need: Need, like: Need, basis) -> None:
    """Right after the job read its needs' facts, `need` is edited to be like `like` and
    refreshed with the (epoch, matcher) read before the change committed (its owner's
    request began before the change and commits after the job read the facts)."""
    real = service.facts_seen

    def seen_then_edited(needs):
        found = real(needs)
        if needs is None or needs[0] <= need.id <= needs[1]:
            for name in NEED_FIELDS:
                setattr(need, name, getattr(like, name))
            service.refresh_need(need, basis)
        return found
    monkeypatch.setattr(service, "facts_seen", seen_then_edited)


def test_a_need_written_at_the_old_basis_while_a_fee_job_ran_is_ranked_again(
        platform, db, queued, monkeypatch):
    """The fee job judges a need untouched from the facts it read; the need, edited and
    ranked meanwhile with the matcher from before the fee changed, now has a carrier. It is
    ranked again, not raised to the fee's basis and shown current with the old fee."""
    _fee_carriers()
    queued()
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    basis = (service.current_epoch(), service.current_matcher())  # before the change
    carriers = frozenset(pid for pid, p in basis[1].products.items()
                         if service.guarantee_fee_possible(p))
    need = _apart_from(basis[1].product_mask(carriers), basis[1])
    like = _showing(carriers)
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    policy.update_setting(user_for_role("admin"), "guarantee_fee_rate", Decimal("3.5"))
    [(fee_job, _)] = queued()
    _edited_at_the_old_basis(monkeypatch, need, like, basis)
    _run([fee_job])
    monkeypatch.undo()
    assert _db.session.get(Job, fee_job).status == "done"
    assert any(pid in carriers for pid, _score in _stored([need.id])[need.id][0])
    assert not _exact_where_fresh(ids)
    assert all(f.fresh for f in service.freshness(ids).values())


def _published_again(monkeypatch, queued) -> tuple:
    """Every need ranked; the product shown most often paused (its job inline), then
    published again, its job left waiting. Returns (need ids, the product's id, a need it
    neither serves nor nearly serves, a need showing it, the (epoch, matcher) read between
    the two, the waiting job's id)."""
    queued()
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    [(pid, _count)] = _db.session.execute(
        select(Match.product_id, func.count()).where(Match.rank.is_not(None))
        .group_by(Match.product_id).order_by(func.count().desc()).limit(1)).all()
    p = _db.session.get(Product, pid)
    admin = user_for_role("bank_admin", institution=p.institution)
    matcher = service.current_matcher()
    need, like = _apart_from(matcher.product_mask(frozenset({pid})), matcher), _showing([pid])
    product_service.change_product_status(admin, p, "pause")  # its job runs inline
    basis = (service.current_epoch(), service.current_matcher())  # before the publish
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    product_service.change_product_status(admin, p, "publish")
    [(job, _)] = queued()
    return ids, pid, need, like, basis, job


def test_a_need_written_at_the_old_basis_then_raised_by_a_later_job_is_ranked_again(
        platform, db, queued, monkeypatch):
    """As above, and before the product's job ends a later job (the fee rate's, run to its
    end) reads the edited need, judges it untouched and raises it to its own, newer basis:
    the product's job still ranks it again (its basis no longer says it was left behind)."""
    ids, pid, need, like, basis, job = _published_again(monkeypatch, queued)
    real, calls = service.facts_seen, []

    def seen_then_edited_then_raised(needs):
        found = real(needs)
        calls.append(needs)
        if len(calls) == 1:  # the product's job: then the edit, then a whole later job
            for name in NEED_FIELDS:
                setattr(need, name, getattr(like, name))
            service.refresh_need(need, basis)
            policy.update_setting(user_for_role("admin"), "guarantee_fee_rate",
                                  Decimal("2.5"))  # inline: runs to its end here
            assert _db.session.get(MatchState, need.id).basis > basis[0] + 1
        return found
    monkeypatch.setattr(service, "facts_seen", seen_then_edited_then_raised)
    _run([job])
    monkeypatch.undo()
    assert len(calls) == 2 and _db.session.get(Job, job).status == "done"
    assert pid in [k for k, _score in _stored([need.id])[need.id][0]]
    assert not _exact_where_fresh(ids)
    assert all(f.fresh for f in service.freshness(ids).values())


def test_a_need_rewritten_at_the_old_basis_with_its_facts_is_not_ranked_again(
        platform, db, queued, monkeypatch):
    """The same write with the facts the job read (a refresh that changed nothing the matcher
    reads, an older job's patch): what the job judged still holds, the need is raised to its
    basis without being ranked again (coinciding jobs would rank thousands)."""
    _fee_carriers()
    queued()
    jobs.enqueue("matching.all", {})
    ids = _db.session.scalars(select(Need.id)).all()
    basis = (service.current_epoch(), service.current_matcher())
    carriers = frozenset(pid for pid, p in basis[1].products.items()
                         if service.guarantee_fee_possible(p))
    need = _apart_from(basis[1].product_mask(carriers), basis[1])
    monkeypatch.setitem(current_app.config, "JOBS_BACKEND", "thread")
    policy.update_setting(user_for_role("admin"), "guarantee_fee_rate", Decimal("3.5"))
    [(fee_job, _)] = queued()
    _edited_at_the_old_basis(monkeypatch, need, need, basis)  # like itself: facts as read
    ranked_again: list = []
    real = service._rank_again
    monkeypatch.setattr(service, "_rank_again",
                        lambda ids, redo: (ranked_again.append(set(ids)), real(ids, redo)))
    _run([fee_job])
    monkeypatch.undo()
    assert _db.session.get(Job, fee_job).status == "done"
    assert ranked_again == []
    assert service.is_fresh(need)
    assert not _exact_where_fresh(ids)


def test_a_need_written_at_the_old_basis_while_a_product_job_ran_is_ranked_again(
        platform, db, queued, monkeypatch):
    """The same for a product's job: a paused product is published again; a need it does
    not touch, edited meanwhile to be one the product serves and ranked with the catalogue
    from before (the product absent), is ranked again, not left current without it."""
    ids, pid, need, like, basis, job = _published_again(monkeypatch, queued)
    _edited_at_the_old_basis(monkeypatch, need, like, basis)
    _run([job])
    monkeypatch.undo()
    assert _db.session.get(Job, job).status == "done"
    assert pid in [k for k, _score in _stored([need.id])[need.id][0]]
    assert not _exact_where_fresh(ids)
    assert all(f.fresh for f in service.freshness(ids).values())


def test_a_full_recompute_of_no_need_clears_the_changes_waiting(db, queued):
    service.recompute_later(everything=True)  # an LPR quote: the full recompute waits
    policy.update_setting(user_for_role("admin"), "guarantee_fee_rate", Decimal("2.0"))
    pending = queued()
    assert [_db.session.get(Job, j).kind for j, _ in pending] == ["matching.all"]
    _run([j for j, _ in pending])
    assert _db.session.scalar(select(func.count()).select_from(StalePolicy)) == 0


def test_a_list_ranked_whole_takes_in_bests_it_stored_outside_the_list(db):
    """A need whose list falls below what is shown is ranked whole; products it stored only
    as another institution's best (rows the patch does not read) may enter it."""
    doc = to_exchange(generate(11, 40, 240, 80, 120), 11)
    for need in doc["needs"]:
        need["consent_to_share"] = False
    import_document(doc)
    _db.session.flush()
    crowded = _db.session.scalar(
        select(MatchState.need_id).join(Match, Match.need_id == MatchState.need_id)
        .where(MatchState.complete.is_(False), Match.rank.is_(None))
        .order_by(Match.score.desc()).limit(1))
    assert crowded is not None
    outside = set(_db.session.scalars(select(Match.product_id).where(
        Match.need_id == crowded, Match.rank.is_(None))))
    for pid in _db.session.scalars(select(Match.product_id).where(
            Match.need_id == crowded, Match.rank <= 6).order_by(Match.rank)).all():
        p = _db.session.get(Product, pid)
        product_service.change_product_status(
            user_for_role("bank_admin", institution=p.institution), p, "pause")
    shown, _near, _best = _stored([crowded])[crowded]
    assert _stored([crowded]) == _full([crowded]) and len(shown) == service.SHOWN
    assert outside & {pid for pid, _ in shown}  # one of them entered the list


def _rows(need_ids) -> dict:
    columns = ("rank", "institution_best", "product_version", "score", "estimated_rate",
               "reasons", "components")
    near_columns = ("rank", "product_version", "rule", "reason", "fix")
    out = {}
    for model, names in ((Match, columns), (NearMiss, near_columns)):
        for row in _db.session.scalars(select(model).where(model.need_id.in_(need_ids))):
            out[(model.__tablename__, row.need_id, row.product_id)] = tuple(
                getattr(row, name) for name in names)
    return out


def test_bulk_facts_are_the_facts_of_one_need(platform, db):
    """The jobs' loader (Core rows) and the per-need adapter (ORM) must agree exactly."""
    bulk, status = adapters.load_need_facts(_db.session)
    one = {n.id: adapters.need_facts(n) for n in _db.session.scalars(select(Need))}
    assert {f.id: f for f in bulk} == one
    assert set(status.values()) <= {"published"}


def test_bulk_product_terms_are_the_terms_of_one_product(platform, db):
    """The matcher's loader (Core rows) and the per-product adapter (ORM) agree exactly, a
    product's own districts, its institution's, declared but unconfirmed programmes and a
    paused product included."""
    products = _db.session.scalars(select(Product).order_by(Product.id)).all()
    declared = next(p for p in products if p.subsidy_programs)
    unconfirmed = next(code for code in ("equipment_renewal_relending", "tech_upgrade_interest",
                                         "guarantee_fee_subsidy")
                       if code not in declared.subsidy_programs)
    declared.subsidy_programs = [*declared.subsidy_programs, unconfirmed]
    products[1].districts = []  # its institution's coverage
    products[1].institution.districts = ["渝中区", "江北区"]
    products[2].status = "paused"
    _db.session.flush()
    bulk = adapters.load_product_terms(_db.session)
    one = [adapters.product_terms(p) for p in products if p.status == "published"]
    assert bulk == one
    assert unconfirmed not in next(
        t for t in bulk if t.id == declared.id).subsidy_programs
    assert next(t for t in bulk if t.id == products[1].id).districts == {"渝中区", "江北区"}
    assert products[2].id not in {t.id for t in bulk}


def test_an_import_with_consents_opens_every_flag_lead_in_bulk(db, caplog):
    from matchmaker.leads.models import Consent, Lead

    doc = to_exchange(generate(11, 6, 40, 60, 120), 11)
    flagged = {n["ref"] for n in doc["needs"] if n.get("consent_to_share")}
    assert flagged
    with caplog.at_level("INFO", logger="matchmaker.leads"):
        import_document(doc)
    pairs = set(_db.session.execute(
        select(Match.need_id, Product.institution_id).join(Product).join(
            Need, Need.id == Match.need_id)
        .where(Match.institution_best.is_(True), Need.ref.in_(flagged))).all())
    leads = set(_db.session.execute(select(Lead.need_id, Lead.institution_id)).all())
    assert leads == pairs and len(leads) == _db.session.scalar(select(func.count(Consent.id)))
    assert all(lead.matched and lead.matched[0]["reasons"]
               for lead in _db.session.scalars(select(Lead)))
    assert "lead %s opened" not in caplog.text and caplog.text.count("flag consents:") >= 1


def test_bulk_flag_leads_are_what_the_one_by_one_path_writes(db, monkeypatch):
    """The import's set-based path (snapshots from the results just written, audit rows by
    INSERT … SELECT) against the per-lead functions: the same frozen matches, one audit row
    per consent and lead with record()'s details, the enterprise's timeline unchanged."""
    from datetime import UTC, datetime

    from matchmaker import clock
    from matchmaker.audit.models import AuditEntry
    from matchmaker.leads import queries
    from matchmaker.leads import service as leads
    from matchmaker.leads.models import Consent, Lead

    moment = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)  # every batch at the same instant
    monkeypatch.setattr(service, "CHUNK", 7)  # several batches in one transaction
    import_document(to_exchange(generate(12, 5, 40, 50, 60), 12))
    found = _db.session.scalars(select(Lead).order_by(Lead.id)).all()
    assert len(found) > 20
    for lead in found:
        assert lead.matched == leads._snapshot(lead.need, lead.institution_id)
        assert lead.created_at == moment and lead.status == "open"
    audit = {}
    for entry in _db.session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(("consent.granted", "lead.opened")))):
        audit.setdefault((entry.subject_type, entry.subject_id), []).append(entry)
    consents = _db.session.scalars(select(Consent)).all()
    assert len(audit) == len(found) + len(consents)  # one row each, none twice
    for consent in consents:
        [entry] = audit[("consents", consent.id)]
        assert entry.details == {"need_id": consent.need_id,
                                 "institution_id": consent.institution_id,
                                 "scope": consent.scope, "via": "flag",
                                 **({"basis": consent.basis,
                                     "recorded_by_id": consent.recorded_by_id}
                                    if consent.basis is not None else {})}
        assert entry.actor_id is None and entry.created_at == moment
    for lead in found:
        [entry] = audit[("leads", lead.id)]
        assert entry.action == "lead.opened" and entry.details == {
            "need_id": lead.need_id, "institution_id": lead.institution_id,
            "source": "consent", "product_id": lead.product_id}
    titles = [item.title for item in queries.public_timeline(found[0])]
    name = found[0].institution.name
    assert titles == [f"授权{name}查看", f"需求已推送至{name}"]


def test_institution_bests_in_one_pass_are_each_institutions_first_in_the_full_ranking():
    """Matcher.institution_best (one pass, each institution pruned against its own best)
    against the full ranking of every eligible product: per institution, its first."""
    from benchmarks.generate import LPR_1Y, TODAY, generate_platform
    from matchmaker.institutions.subsidies import default_programs
    from matchmaker.matching.matcher import MatchContext, Matcher, RankKey, rank_order

    products, needs = generate_platform(5, 12, 300, 150, 150)
    matcher = Matcher(products, MatchContext(TODAY, LPR_1Y, default_programs()))
    assert any(n.max_rate is not None for n in needs)  # both bounds of the pass
    compared = 0
    for need in needs:
        first: dict[int, RankKey] = {}
        for m in matcher.match(need, top=None):
            first.setdefault(m.institution_id,
                             RankKey(m.score, m.estimated_rate, m.product_ref, m.product_id))
        assert matcher.institution_best(need) == sorted(first.values(), key=rank_order)
        some = sorted(first)[:2]
        assert matcher.institution_best(need, some) == sorted(
            (first[i] for i in some), key=rank_order)
        compared += len(first)
    assert compared > 300


def test_institution_bests_from_a_recompute_in_memory_are_the_ones_it_stores(db, monkeypatch):
    """The flag leads read each need's institution bests from the results just written
    (inside the recompute's progress callback) instead of reading them back: the same
    products as the stored rows say, for every need of every batch."""
    monkeypatch.setattr(service, "CHUNK", 7)  # several batches
    import_document(to_exchange(generate(12, 5, 40, 50, 60), 12))
    facts, _ = adapters.load_need_facts(_db.session)
    from_memory: dict[int, list[int]] = {}

    def progress(_done, need_ids):
        assert service._RECENT in _db.session.info
        from_memory.update(service.institution_bests(need_ids))

    service.recompute_needs(facts, service.current_matcher(), service.current_epoch() + 1,
                            progress)
    stored = service.institution_bests(sorted(from_memory))
    assert len(from_memory) == len(facts) and sum(map(len, stored.values())) > 50
    assert {n: sorted(p) for n, p in from_memory.items()} == {
        n: sorted(stored.get(n, [])) for n in from_memory}
