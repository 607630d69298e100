"""A need read while a recompute job waits (issue 13): what the page computes for itself.

After a change that marks needs stale (an LPR quote, a programme, the fee rate, a product),
the need page and the needs list compute a waiting need's matches with the current matcher
instead of showing 正在更新 until the job has run (matching.queries.shown_for_need,
shown_bests). This times that against reading the stored rows, on a platform already there
(bench_load.py setup's 100,000 needs), inside one transaction rolled back at the end: the
change is marked (every need stale, as an LPR quote does), never committed, nothing is written;
then the need page itself through the app (`--pages`), the change committed and undone.

    .venv/bin/python -m benchmarks.bench_read_waiting --db URL [--sample 200] [--seed 1]

Prints the first read after the change (it builds the matcher, as each web worker's first
read after a change does), then per need: the stored read (before the change) and the
computed one (after), p50/p95/max — the need page's matches and near misses, and the need's
matches by institution (the push page, leads, whitelists, events); a needs list page's bests
(`--page` needs); an event's invitation by matches (city-wide and one district: nothing
waiting, a product waiting, every need waiting for costs or for an import); peak RSS.
"""
import argparse
import os
import random
import resource
import statistics
import time


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms ({len(ordered)} needs)")


def _timed(call, *args) -> tuple[float, object]:
    """One call, cold: what an earlier call computed for the session is forgotten (a
    request starts with a new session)."""
    from matchmaker.extensions import db
    from matchmaker.matching import service

    db.session.info.pop(service._NOW, None)
    start = time.perf_counter()
    value = call(*args)
    return time.perf_counter() - start, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a platform's database URL")
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--page", type=int, default=20, help="needs on a list page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pages", type=int, default=50,
                        help="also time the need page itself for this many of the needs "
                             "(commits the change and undoes it; 0: not)")
    args = parser.parse_args()
    os.environ.setdefault("MATCHMAKER_SECRET_KEY", "bench")
    from sqlalchemy import select

    from matchmaker import create_app
    from matchmaker.enterprises.models import Need
    from matchmaker.extensions import db
    from matchmaker.matching import queries, service

    app = create_app({"DATABASE_URL": args.db, "LOG_LEVEL": "WARNING", "REDIS_URL": None,
                      "JOBS_BACKEND": "thread", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        ids = db.session.scalars(select(Need.id).where(Need.status != "draft")).all()
        sample = random.Random(args.seed).sample(sorted(ids), min(args.sample, len(ids)))
        needs = [db.session.get(Need, need_id) for need_id in sample]
        service.current_matcher()  # the current one built, as a running worker holds it
        stored = [_timed(queries.shown_for_need, need)[0] for need in needs]
        offered = [_timed(queries.matches_by_institution, need)[0] for need in needs]
        waiting = sum(not service.is_fresh(need) for need in needs)
        print(f"{len(ids):,} needs; sampled {len(needs)} (seed {args.seed}), "
              f"{waiting} of them already waiting")
        print(f"stored read (fresh needs): {_percentiles(stored)}")
        print(f"  matches by institution (the push page, leads): {_percentiles(offered)}")
        service.mark_stale(everything=True)  # as an LPR quote: every need waits for its job
        first, shown = _timed(queries.shown_for_need, needs[0])
        assert shown.now, "the need should be computed, not read"
        print(f"first read after the change (builds the matcher): {first:.2f} s")
        computed = []
        for need in needs[1:]:
            took, shown = _timed(queries.shown_for_need, need)
            assert shown.now
            computed.append(took)
        print(f"computed read (waiting needs): {_percentiles(computed)}")
        offered = [_timed(queries.matches_by_institution, need)[0] for need in needs]
        print(f"  matches by institution (the push page, leads): {_percentiles(offered)}")
        pages = [needs[i:i + args.page] for i in range(0, len(needs), args.page)]
        lists = [_timed(queries.shown_bests, page)[0] for page in pages]
        print(f"needs list, {args.page} waiting needs a page: "
              f"median {statistics.median(lists) * 1000:.0f} ms, "
              f"max {max(lists) * 1000:.0f} ms ({len(pages)} pages)")
        db.session.rollback()
    _invitations(app)
    if args.pages:
        _pages(app, sample[:args.pages])
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


def _invitations(app) -> None:
    """An event's invitation "by matches" (matching.queries.served: who matches whom among
    the open needs), city-wide and for one district: nothing waiting (the stored rows), one
    product changed and waiting for its job (evaluated over the needs), every need waiting
    for a change of costs (the stored pairings hold) or for an import's (matched now). Each
    in a transaction rolled back."""
    from sqlalchemy import func, select

    from matchmaker.enterprises.models import Enterprise, Need
    from matchmaker.extensions import db
    from matchmaker.institutions.models import Product
    from matchmaker.matching import queries, service
    from matchmaker.matching.models import Match

    with app.app_context():
        district = db.session.scalar(select(Enterprise.district).group_by(Enterprise.district)
                                     .order_by(func.count().desc()).limit(1))
        product_id = db.session.scalar(select(Product.id).where(Product.status == "published")
                                       .order_by(Product.id).limit(1))
        scopes = {"city": (), f"district {district}": (Enterprise.district == district,)}
        open_needs = Need.status.in_(service.OPEN_STATUSES)
        # the product stored as its institution's best for the most needs: its needs are
        # matched anew (that institution's other products are not stored)
        busiest = db.session.scalar(
            select(Match.product_id).where(Match.institution_best.is_(True))
            .group_by(Match.product_id).order_by(func.count().desc()).limit(1))
        changes = (("nothing waiting", {}),
                   ("one product waiting", {"product_ids": [product_id]}),
                   ("the busiest institution best waiting", {"product_ids": [busiest]}),
                   ("every need waiting for costs (an LPR quote)",
                    {"everything": True, "costs_only": True}),
                   ("every need waiting (an import)", {"everything": True}))
        for what, change in changes:  # each alone, rolled back after
            if change:
                service.mark_stale(**change)
            for name, scope in scopes.items():
                start = time.perf_counter()
                enterprises, institutions = queries.served(open_needs, *scope)
                took = time.perf_counter() - start
                print(f"invitation by matches, {name}, {what}: {took:.2f} s "
                      f"({len(enterprises):,} enterprises, "
                      f"{len(institutions):,} institutions)")
            db.session.rollback()


def _pages(app, need_ids: list[int]) -> None:
    """The need page itself (GET /needs/ID, an organizer of the whole city, the page cache
    off), before the change and while the needs wait. The change is committed this time
    (each request has a session of its own) and undone after: `all_wanted` set back, which
    makes every need current again (the epoch stays moved, which nothing minds)."""
    from flask_login import FlaskLoginClient
    from sqlalchemy import select

    from matchmaker.accounts.models import User
    from matchmaker.extensions import db
    from matchmaker.matching import service
    from matchmaker.matching.models import MatchingBasis

    app.test_client_class = FlaskLoginClient
    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.role == "organizer",
                                                         User.district.is_(None),
                                                         User.active.is_(True)).limit(1))
        db.session.expunge(organizer)

    def timed(waiting: bool) -> list[float]:
        client, times = app.test_client(user=organizer), []
        for need_id in need_ids:
            start = time.perf_counter()
            answer = client.get(f"/needs/{need_id}")
            times.append(time.perf_counter() - start)
            computed = 'data-testid="matches-now"' in answer.get_data(as_text=True)
            assert answer.status_code == 200 and computed == waiting, need_id
        return times

    fresh = timed(False)  # warm: the matcher built, the first page paid it
    fresh = timed(False)
    with app.app_context():
        before = db.session.get(MatchingBasis, 1).all_wanted
        service.mark_stale(everything=True)
        db.session.commit()
    service._cache.update(stamp=None, matcher=None)  # as in a web worker: built at the change
    try:
        first = time.perf_counter()
        app.test_client(user=organizer).get(f"/needs/{need_ids[0]}")
        first = time.perf_counter() - first
        waiting = timed(True)
    finally:
        with app.app_context():
            db.session.get(MatchingBasis, 1).all_wanted = before
            db.session.commit()
    print(f"need page, fresh (stored rows): {_percentiles(fresh)}")
    print(f"need page, waiting (computed): {_percentiles(waiting)}; the first after the "
          f"change {first:.2f} s (the matcher built)")


if __name__ == "__main__":
    raise SystemExit(main())
