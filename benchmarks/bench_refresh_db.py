"""The web path of the matcher: stored results in a real database, kept fresh by jobs.

bench_matcher.py times the pure matcher; this script times what the app does on top of it:
the import (which ends with one full recompute), `match --all` as the job the CLI starts
(parts by need id, run here one after the other; `--workers 2` runs them in two processes),
a product edit (the request: mark stale + enqueue; then its job), and need edits.

    .venv/bin/python -m benchmarks.bench_refresh_db --products 5000 --needs 10000 [--db URL]
    # on a platform already there (bench_load.py setup's 100,000 needs): the edits only
    .venv/bin/python -m benchmarks.bench_refresh_db --existing --db URL
    # a subsidy programme's edit instead of a product's, its job on two RQ workers
    .venv/bin/python -m benchmarks.bench_refresh_db --existing --db URL --workers 2 \
        --programme tech_upgrade_interest
    # the guarantee fee rate's edit (a cost setting), likewise
    .venv/bin/python -m benchmarks.bench_refresh_db --existing --db URL --workers 2 --fee 1.5
    # `match --all` there (an LPR quote's job), on two RQ workers
    .venv/bin/python -m benchmarks.bench_refresh_db --existing --db URL --workers 2 --match-all
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import rq_workers
from benchmarks.generate import generate, to_exchange


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t) -> str:
    wall, cpu = time.perf_counter() - t[0], time.process_time() - t[1]
    return f"{wall:.1f} s wall, {cpu:.1f} s CPU"


def main() -> int:
    args = _parse()
    db_url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    os.environ.setdefault("MATCHMAKER_SECRET_KEY", "bench")
    from sqlalchemy import func, select

    from matchmaker import create_app, jobs
    from matchmaker.enterprises.models import Need
    from matchmaker.extensions import db
    from matchmaker.institutions import service as products
    from matchmaker.institutions.models import Product
    from matchmaker.matching import service
    from matchmaker.matching.models import Match

    app = create_app({"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING", "REDIS_URL": None,
                      "JOBS_BACKEND": "thread"})
    doc = {"needs": []} if args.existing else to_exchange(
        generate(args.seed, args.institutions, args.products, args.enterprises, args.needs),
        args.seed)
    for need in doc["needs"]:  # leads are the import benchmark's business
        need["consent_to_share"] = False
    print(f"cores={os.cpu_count()} load={os.getloadavg()[0]:.1f} python={sys.version.split()[0]} "
          f"db={db_url.split('://')[0]} " + ("(existing platform)" if args.existing else
          f"products={args.products} needs={args.needs} seed={args.seed}"))
    with app.app_context():
        if not args.existing:
            _import_and_match(args, db_url, doc)
        else:
            print(f"existing platform: {db.session.scalar(select(func.count(Need.id)))} needs, "
                  f"{db.session.scalar(select(func.count(Match.id)))} match rows")
            # a live platform's tables carry the statistics its last job left; a platform
            # never analyzed would have its first job ANALYZE the three result tables (about
            # 4.5 s at 100,000 needs) inside the timing (a template copy keeps them: its
            # activity counters, reset, no longer trigger it — extensions.statistics_stale)
            t = _clock()
            service._planner_ready()
            db.session.commit()
            print(f"statistics checked (ANALYZE where never taken): {_since(t)}")
            _matcher_build()
            if args.match_all:  # what an LPR quote's job is
                _parallel(args, db_url)
                return 0
        popular = db.session.scalar(select(Match.product_id).group_by(Match.product_id)
                                    .order_by(func.count().desc()).limit(1))
        product = db.session.get(Product, popular)
        admin = _bank_admin(product)
        terms = {k: v for k, v in products.product_record(product).items()
                 if k not in ("ref", "institution_ref", "active")}
        terms["amount_max_wan"] = terms["amount_max_wan"] * 2
        if args.programme:
            edit, what = _programme_edit(args.programme), f"programme {args.programme} edit"
        elif args.fee is not None:
            edit, what = _fee_edit(args.fee), f"guarantee fee rate set to {args.fee} %"
        else:
            edit, what = _product_edit(product.id, admin.id, terms), "product edit"
        if args.existing and args.workers > 1:
            db.session.commit()  # the bank admin, for the other app's session
            _edit_on_workers(args, db_url, edit, what)
        else:
            t = _clock()
            edit()
            pending = db.session.info.pop(jobs.service._PENDING, [])
            db.session.commit()
            print(f"{what}, the request (mark stale + enqueue): {_since(t)}")
            t = _clock()
            for job_id, _ in pending:
                jobs.runner.execute(job_id, "local")
            result = db.session.get(jobs.models.Job, pending[0][0]).result
            print(f"…its job, every affected need fresh: {_since(t)}; {result}")
        needs = db.session.scalars(select(Need).order_by(Need.id).limit(args.sample)).all()
        times = []
        for need in needs:
            started = time.perf_counter()
            service.refresh_need(need)
            db.session.flush()
            times.append((time.perf_counter() - started) * 1000)
        db.session.commit()
        times.sort()
        print(f"refresh_need over {len(times)} needs: p50 {statistics.median(times):.1f} ms, "
              f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    return 0


def _matcher_build() -> None:
    """What every job part and the first request after a catalogue change pay: the matcher
    built from the catalogue, its products read as rows (adapters.load_product_terms), and
    for comparison read as ORM objects with their code lists (adapters.product_terms)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from matchmaker import clock
    from matchmaker.extensions import db
    from matchmaker.institutions.models import Institution, Product
    from matchmaker.matching import adapters, service
    from matchmaker.matching.matcher import Matcher

    t = _clock()
    service._cache.update(stamp=None, matcher=None)
    count = len(service.current_matcher().products)
    print(f"the matcher built, {count} products read as rows: {_since(t)}")
    t = _clock()
    db.session.expunge_all()
    products = db.session.scalars(
        select(Product).where(Product.status == "published")
        .options(selectinload(Product.institution).selectinload(Institution.district_rows))
    ).all()
    Matcher([adapters.product_terms(p) for p in products],
            service.build_context(clock.china_today()))
    print(f"…the same, read as ORM objects (product_terms, as before session 33): {_since(t)}")
    db.session.expunge_all()  # the rest of the benchmark as before


def _import_and_match(args, db_url: str, doc: dict) -> None:
    import flask_migrate
    from sqlalchemy import func, select, text

    from matchmaker import jobs
    from matchmaker.exchange.service import import_document
    from matchmaker.extensions import db
    from matchmaker.matching.models import Match, NearMiss

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    flask_migrate.upgrade()
    t = _clock()
    import_document(doc)
    [(whole, _)] = db.session.info.pop(jobs.service._PENDING, None)  # run below, timed
    db.session.commit()
    print(f"import (rows only): {_since(t)}")
    t = _clock()
    jobs.runner.run_here(whole)
    job = db.session.get(jobs.models.Job, whole)
    print(f"match --all (job #{job.id}, {job.children_total} parts, here): {_since(t)}; "
          f"{db.session.scalar(select(func.count(Match.id)))} match rows, "
          f"{db.session.scalar(select(func.count(NearMiss.id)))} near-miss rows stored")
    if args.workers > 1:
        _parallel(args, db_url)


def _bank_admin(product):
    from sqlalchemy import select

    from matchmaker.accounts.models import User
    from matchmaker.extensions import db

    email = f"bench-{product.institution_id}@example.com"
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:  # --existing, run again
        return user
    user = User(email=email, name="bench",
                role="bank_admin", institution_id=product.institution_id, password_hash="x")
    db.session.add(user)
    db.session.flush()
    return user


def _product_edit(product_id: int, admin_id: int, terms: dict):
    def edit() -> None:
        from matchmaker.accounts.models import User
        from matchmaker.extensions import db
        from matchmaker.institutions import service as products
        from matchmaker.institutions.models import Product

        products.update_product(db.session.get(User, admin_id),
                                db.session.get(Product, product_id), **terms)
    return edit


def _programme_edit(code: str):
    """An organizer raises a programme's share (or points) by a tenth: a new version."""
    def edit() -> None:
        from sqlalchemy import select

        from matchmaker.extensions import db
        from matchmaker.policy import service as policy
        from matchmaker.policy.models import SubsidyProgram

        admin = _admin()
        program = db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))
        settings = {key: value * 1.1 if key in ("share_of_rate", "points", "share_of_fee")
                    else value for key, value in program.settings.items()}
        policy.update_program(admin, program, settings=settings,
                              effective_from=program.effective_from,
                              effective_to=program.effective_to)
    return edit


def _admin():
    from sqlalchemy import select

    from matchmaker.accounts.models import User
    from matchmaker.extensions import db

    admin = db.session.scalar(select(User).where(User.email == "bench-admin@example.com"))
    if admin is None:
        admin = User(email="bench-admin@example.com", name="bench", role="admin",
                     password_hash="x")
        db.session.add(admin)
        db.session.flush()
    return admin


def _fee_edit(rate: str):
    """An admin sets the guarantee fee rate (平台设置): a cost setting."""
    def edit() -> None:
        from decimal import Decimal

        from matchmaker.policy import service as policy

        policy.update_setting(_admin(), "guarantee_fee_rate", Decimal(rate))
    return edit


def _edit_on_workers(args, db_url: str, edit, what: str) -> None:
    """The edit as deployed: its job (and its parts) run by `--workers` RQ workers started
    beforehand; timed from the edit's commit until the job is done."""
    from sqlalchemy import select

    from matchmaker import create_app
    from matchmaker.extensions import db
    from matchmaker.jobs.models import Job

    app = create_app({"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING", "REDIS_URL": args.redis,
                      "JOBS_BACKEND": "rq", "JOBS_QUEUE": rq_workers.QUEUE})
    with rq_workers.running(args.workers, db_url, args.redis), app.app_context():
        last = db.session.scalar(select(Job.id).order_by(Job.id.desc()).limit(1)) or 0
        t = _clock()
        edit()
        db.session.commit()
        print(f"{what}, the request (mark stale + enqueue): {_since(t)}")
        job = db.session.scalar(select(Job).where(Job.id > last, Job.parent_id.is_(None))
                                .order_by(Job.id).limit(1))
        rq_workers.wait_for(job)
        print(f"…its job ({job.kind}) on {args.workers} RQ workers "
              f"({job.children_total or 0} parts), every affected need fresh: "
              f"{time.perf_counter() - t[0]:.1f} s wall; {job.status} {job.result}")


def _parallel(args, db_url: str) -> None:
    """`match --all` again, its parts run by `--workers` RQ workers (needs Redis)."""
    with rq_workers.running(args.workers, db_url, args.redis):
        t = _clock()
        subprocess.run([".venv/bin/matchmaker", "match", "--all", "--json"],
                       env=rq_workers.worker_env(db_url, args.redis), check=True,
                       stdout=subprocess.DEVNULL)
        print(f"match --all with {args.workers} RQ workers: {_since(t)} (CPU is the waiting CLI's)")


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--institutions", type=int, default=60)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--needs", type=int, default=10000)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1,
                        help="also run match --all with this many RQ workers (needs Redis); with --existing, the product edit's job on them")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--programme", metavar="CODE",
                        help="edit this subsidy programme instead of a product")
    parser.add_argument("--fee", metavar="RATE",
                        help="set the guarantee fee rate (annual %%) instead of a product edit")
    parser.add_argument("--existing", action="store_true",
                        help="time the edits on the platform already in --db (no import)")
    parser.add_argument("--match-all", action="store_true",
                        help="with --existing: time `match --all` on --workers RQ workers "
                             "instead of an edit")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
