"""`match --all` ranked in forked children while one process writes (matching/parallel.py):
the same rows as one process writes, in the same transactions, failures raised here, and
the garbage collector kept out of the job's way only for the job."""
import gc
import pickle

import pytest
from sqlalchemy import select

from benchmarks.generate import generate, to_exchange
from matchmaker.exchange.service import import_document
from matchmaker.extensions import db as _db
from matchmaker.matching import adapters, parallel, service
from matchmaker.matching.models import Match, MatchState, NearMiss

MATCH_COLUMNS = ("product_id", "rank", "institution_best", "product_version", "score",
                 "estimated_rate", "reasons", "components")
NEAR_COLUMNS = ("product_id", "rank", "product_version", "rule", "reason", "fix")


@pytest.fixture
def platform(db, monkeypatch):
    """A generated platform of 60 needs, ranked in pieces of 5 and written 10 at a time."""
    monkeypatch.setattr(service, "PIECE", 5)
    monkeypatch.setattr(service, "CHUNK", 10)
    import_document(to_exchange(generate(21, 5, 40, 50, 60), 21))
    _db.session.commit()
    facts, _ = adapters.load_need_facts(_db.session)
    return facts


def _stored() -> dict:
    out = {}
    for model, names in ((Match, MATCH_COLUMNS), (NearMiss, NEAR_COLUMNS)):
        for row in _db.session.scalars(select(model)):
            out.setdefault((model.__tablename__, row.need_id), []).append(
                tuple(getattr(row, name) for name in names))
    for state in _db.session.scalars(select(MatchState)):
        out[("state", state.need_id)] = (state.complete, state.near_complete)
    return {key: sorted(rows, key=repr) if isinstance(rows, list) else rows
            for key, rows in out.items()}


def _recompute(facts, processes: int, progress=None, snapshots=frozenset()) -> dict:
    eligible = service.recompute_needs(facts, service.current_matcher(),
                                       service.current_epoch(), progress, processes=processes,
                                       snapshots=snapshots)
    _db.session.commit()
    return eligible


def test_needs_ranked_in_forked_children_store_what_one_process_stores(platform, db,
                                                                       monkeypatch):
    forked = []
    real = parallel._forked
    monkeypatch.setattr(parallel, "_forked",
                        lambda *args: forked.append(args[2:]) or real(*args))
    one = _recompute(platform, 1)
    stored_by_one = _stored()
    _db.session.execute(Match.__table__.delete())
    _db.session.execute(NearMiss.__table__.delete())
    _db.session.commit()
    assert not _stored().get(("matches", platform[0].id))

    two = _recompute(platform, 2)
    assert forked == [(2, 4)]  # the children did rank: 12 pieces over 2, 4 ahead
    assert _stored() == stored_by_one
    assert two == one and len(one) == len(platform)
    assert sum(len(v) for k, v in stored_by_one.items() if k[0] == "matches") > 200


def test_each_written_chunk_reaches_progress_with_its_needs_in_memory(platform, db):
    """progress(done, ids) after each CHUNK's commit, in order, with the bests and the
    snapshots the flag leads read from memory equal to what is then stored."""
    calls, from_memory, snapshots = [], {}, {}
    institutions = {terms.institution_id for terms in service.current_matcher().products.values()}

    def progress(done, need_ids):
        assert service._RECENT in _db.session.info
        calls.append((done, need_ids))
        from_memory.update(service.institution_bests(need_ids))
        snapshots.update(service.institution_snapshots(
            (n, i) for n in need_ids for i in institutions))

    _recompute(platform, 2, progress)
    assert [done for done, _ in calls] == [10, 20, 30, 40, 50, 60]
    assert [n for _, ids in calls for n in ids] == [f.id for f in platform]
    assert service._RECENT not in _db.session.info
    stored = service.institution_bests(sorted(from_memory))
    assert from_memory == {n: stored.get(n, []) for n in from_memory}  # none stored: []
    assert sum(map(len, from_memory.values())) > 50
    assert snapshots and snapshots == service.institution_snapshots(snapshots)


def test_snapshots_named_ahead_take_their_reasons_from_the_children(platform, db,
                                                                      monkeypatch):
    """The needs named ahead (a flagged need without leads) have the reasons of their rows
    stored without built in the children: the writing process builds none for them, and
    the snapshots equal those read back from the database."""
    monkeypatch.setattr(service, "SHOWN", 2)  # more bests outside the shown rows
    ahead = frozenset(f.id for f in platform[::2])
    built_here = []
    matcher_class = type(service.current_matcher())
    real = matcher_class.matches_for
    monkeypatch.setattr(matcher_class, "matches_for",  # this process only: not the children's
                        lambda self, need, keys: built_here.append(need.id) or real(self, need,
                                                                                    keys))
    institutions = {t.institution_id for t in service.current_matcher().products.values()}
    snapshots = {}

    def progress(done, need_ids):
        snapshots.update(service.institution_snapshots(
            (n, i) for n in need_ids for i in institutions))

    _recompute(platform, 2, progress, snapshots=ahead)
    assert built_here and not ahead & set(built_here)  # the others' still built here
    without = {(m.need_id, m.product_id) for m in _db.session.scalars(select(Match))
               if not m.reasons}
    from_children = [item for (n, _i), items in snapshots.items() if n in ahead
                     for item in items if (n, item["product_id"]) in without]
    assert len(from_children) > 20 and all(item["reasons"] for item in from_children)
    built_here.clear()
    assert snapshots == service.institution_snapshots(snapshots)  # from the stored rows
    assert ahead & set(built_here)  # ... whose missing reasons are built by the database path


def test_the_needs_a_flag_will_open_leads_for_are_named_ahead(platform, db):
    """A flagged need without a lead yet is named (its leads will freeze its rows); one
    holding leads is not, nor a need without the flag."""
    from matchmaker.enterprises.models import Need
    from matchmaker.leads.models import Consent, Lead

    ids = {f.id for f in platform}
    flagged = set(_db.session.scalars(select(Need.id).where(Need.consent_to_share.is_(True))))
    with_leads = set(_db.session.scalars(select(Lead.need_id)))
    assert with_leads and flagged - with_leads and ids - flagged
    assert service.snapshots_ahead(platform) == flagged - with_leads
    emptied = set(sorted(with_leads)[:5])
    for model in (Lead, Consent):
        _db.session.execute(model.__table__.delete().where(model.need_id.in_(emptied)))
    assert service.snapshots_ahead(platform) == flagged - with_leads | emptied
    _recompute(platform, 2, lambda done, need_ids: service.signals.matches_refreshed.send(
        service.signals.NEEDS, need_ids=frozenset(need_ids)), snapshots=frozenset(emptied))
    assert set(_db.session.scalars(select(Lead.need_id))) >= emptied  # opened again
    assert service.snapshots_ahead(platform) == flagged - with_leads


@pytest.mark.parametrize("processes", [1, 2])
def test_a_part_names_needs_ahead_only_where_children_rank(platform, app, db, monkeypatch,
                                                           processes):
    """In one process building the reasons ahead is the same work held longer: not done."""
    from matchmaker import jobs
    from matchmaker.leads.models import Consent, Lead

    emptied = set(sorted(_db.session.scalars(select(Lead.need_id)))[:3])
    for model in (Lead, Consent):
        _db.session.execute(model.__table__.delete().where(model.need_id.in_(emptied)))
    ahead = service.snapshots_ahead(platform)  # and the flagged needs that match nothing
    assert ahead >= emptied
    monkeypatch.setitem(app.config, "MATCH_PROCESSES", processes)
    named, real = [], service.recompute_needs
    monkeypatch.setattr(service, "recompute_needs", lambda *args, snapshots, **kw: named.append(
        snapshots) or real(*args, snapshots=snapshots, **kw))
    job = jobs.enqueue("matching.all", {})
    assert job.status == "done" and named
    assert set().union(*named) == (ahead if processes > 1 else set())
    assert set(_db.session.scalars(select(Lead.need_id))) >= emptied


def test_a_failing_child_fails_the_recompute_and_leaves_its_chunk_unwritten(platform, db,
                                                                          monkeypatch):
    failing = platform[25].id
    real = service._Ranked.of

    def of(matcher, facts, epoch, now, snapshots=frozenset()):
        if any(f.id == failing for f in facts):
            raise RuntimeError("排名失败")
        return real(matcher, facts, epoch, now, snapshots)

    monkeypatch.setattr(service._Ranked, "of", of)  # inherited by the children at the fork
    epoch = service._bump()
    _db.session.commit()
    with pytest.raises(RuntimeError, match="排名失败"):
        _recompute(platform, 2, lambda done, ids: _db.session.commit())
    _db.session.rollback()
    bases = dict(_db.session.execute(select(MatchState.need_id, MatchState.basis)).all())
    assert all(bases.get(f.id) == epoch for f in platform[:20])  # chunks before: committed
    assert all(bases.get(f.id, 0) < epoch for f in platform[20:30])  # its chunk: not written


def test_a_ranked_batch_travels_as_it_was_put():
    from benchmarks.generate import LPR_1Y, TODAY, generate_platform
    from matchmaker.institutions.subsidies import default_programs
    from matchmaker.matching.matcher import MatchContext, Matcher

    products, needs = generate_platform(5, 12, 200, 100, 30)
    matcher = Matcher(products, MatchContext(TODAY, LPR_1Y, default_programs()))
    ranked = service._Ranked.of(matcher, needs, 3, service.clock.now())
    back = pickle.loads(pickle.dumps(ranked))
    assert back.matches == ranked.matches and len(ranked.matches) > 100
    assert any(r["reasons"] for r in back.matches)
    assert any(r["estimated_rate"] is not None for r in back.matches)
    assert back.near == ranked.near and back.states == ranked.states
    assert back.needs == ranked.needs and back.eligible == ranked.eligible
    assert [n for n, _ in back.rows_by_need()] == [n.id for n in needs]


def test_the_collector_is_quiet_only_inside_the_outermost_block():
    before = gc.get_threshold()
    with parallel.quiet_collector():
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == 50_000
        with parallel.quiet_collector():
            pass
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == 50_000
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_one_process_or_one_piece_never_forks(monkeypatch):
    monkeypatch.setattr(parallel, "_forked", lambda *args: pytest.fail("forked"))
    assert list(parallel.ordered(lambda lo, hi: (lo, hi), 10, 4, 1)) == [(0, 4), (4, 8), (8, 10)]
    assert list(parallel.ordered(lambda lo, hi: (lo, hi), 3, 4, 2)) == [(0, 3)]


def test_processes_follow_the_setting_and_the_jobs_backend(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "MATCH_PROCESSES", 1)
        assert parallel.processes() == 1
        monkeypatch.setitem(app.config, "MATCH_PROCESSES", None)
        monkeypatch.setitem(app.config, "JOBS_BACKEND", "rq")
        assert parallel.processes() == 1  # a part per RQ worker already
        monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
        monkeypatch.setattr(parallel.os, "cpu_count", lambda: 4)
        assert parallel.processes() == 4
        monkeypatch.setitem(app.config, "MATCH_PROCESSES", 3)
        assert parallel.processes() == 3
