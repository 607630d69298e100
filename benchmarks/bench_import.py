"""Issue 13's import figures: one exchange document (products × needs, most needs with
consent_to_share) imported into an empty database until every need is matched and every
flag lead is open; then `match --all`; then the naive SQL join of the spec's rules
(sql_join.py) over the same data, in the same run, for the ratios.

    .venv/bin/python -m benchmarks.bench_import --products 5000 --needs 20000 [--db URL]
        [--workers 2 --redis redis://127.0.0.1:6379/0]

With `--workers N` (PostgreSQL and Redis: how a city runs it) the import's matching job and
its parts are run by N RQ workers started beforehand, and the import is timed until that job
is done; without, here in this process one part after the other.
"""
import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import rq_workers, sql_join
from benchmarks.generate import generate, to_exchange


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t) -> tuple[float, float]:
    return time.perf_counter() - t[0], time.process_time() - t[1]


def main() -> int:
    args = _parse()
    db_url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    os.environ.setdefault("MATCHMAKER_SECRET_KEY", "bench")
    import flask_migrate
    from sqlalchemy import func, select, text

    from matchmaker import create_app, jobs
    from matchmaker.exchange.service import import_document
    from matchmaker.extensions import db
    from matchmaker.jobs.models import Job
    from matchmaker.leads.models import Lead

    on_workers = args.workers > 0
    queue = {"REDIS_URL": args.redis, "JOBS_BACKEND": "rq", "JOBS_QUEUE": rq_workers.QUEUE}
    app = create_app({"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING",
                      **(queue if on_workers else {"REDIS_URL": None, "JOBS_BACKEND": "thread"})})
    doc = to_exchange(generate(args.seed, args.institutions, args.products, args.enterprises,
                               args.needs), args.seed)
    flagged = sum(bool(n.get("consent_to_share")) for n in doc["needs"])
    print(f"cores={os.cpu_count()} load={os.getloadavg()[0]:.1f} db={db_url.split('://')[0]} "
          f"products={args.products} needs={args.needs} (consent_to_share: {flagged}) "
          f"seed={args.seed}")
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
        with rq_workers.running(args.workers, db_url, args.redis):
            t = _clock()
            import_document(doc)
            [(whole, _)] = db.session.info[jobs.service._PENDING]
            if not on_workers:
                db.session.info.pop(jobs.service._PENDING)
            db.session.commit()  # on workers: the commit enqueues the matching job
            rows = _since(t)
            if on_workers:
                job = db.session.get(Job, whole)
                rq_workers.wait_for(job)
                if job.status == "failed":
                    raise SystemExit(f"the import's matching job failed: {job.error}")
            else:
                jobs.runner.run_here(whole)  # what the worker does once the import committed
            imported = _since(t)
        leads = db.session.scalar(select(func.count(Lead.id)))
        print(f"import until every need matched and every flag lead open: {imported[0]:.1f} s "
              f"wall, {imported[1]:.1f} s CPU of this process (rows {rows[0]:.1f} s); "
              f"{leads} leads; " + (f"on {args.workers} RQ workers" if on_workers else "here"))
        t = _clock()
        jobs.run_now("matching.all")
        matched = _since(t)
        print(f"match --all: {matched[0]:.1f} s wall, {matched[1]:.1f} s CPU")
        if args.no_join:
            return _peak()
        t = _clock()
        with db.engine.begin() as conn:
            pairs = sql_join.run(conn)
        joined = _since(t)
        print(f"naive SQL join of rules 1–9: {joined[0]:.1f} s wall ({pairs} eligible pairs)")
        print(f"ratios (wall): import {imported[0] / joined[0]:.2f}× the join (goal ≤ 1.5), "
              f"match --all {matched[0] / joined[0]:.2f}× (goal ≤ 0.2)")
    return _peak()


def _peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB of this process (goal < 1024 for the import)")
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if child:  # the processes ranking needs beside it (matching/parallel.py), pages shared
        print(f"largest child process's peak RSS {child:.0f} MiB")
    return 0


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--institutions", type=int, default=60)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--enterprises", type=int, default=14000)
    parser.add_argument("--needs", type=int, default=20000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--workers", type=int, default=0,
                        help="run the import's matching job on this many RQ workers")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-join", action="store_true",
                        help="leave out the SQL join (and so the ratios)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
