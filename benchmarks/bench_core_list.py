"""A change to the core-enterprise list at city scale (issue 13): the request, then its job.

The needs whose enterprise states a core enterprise read the list (its aliases, its groups):
a change marks them stale in one statement and leaves them to the `matching.core` job
(matching.service.recompute_supply_chain_later / recompute_supply_chain). This times both on
a platform already there (bench_load.py setup's 100,000 needs). It WRITES: run it on a copy
(`create database X template load100k`).

    .venv/bin/python -m benchmarks.bench_core_list --db URL [--workers 2]

Prints the request (mark stale, enqueue, commit), then the job: with `--workers N` (Redis),
as deployed, its parts (service.PART needs each) run by N RQ workers started beforehand,
timed from the request's commit until the job is done, then the reach recount enqueued
beside it (the banks' counts), and each worker's peak RSS; with
`--workers 0`, the whole job in this process (wall, CPU), and this process's peak RSS.
"""
import argparse
import os
import resource
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a copy of a platform's database URL")
    parser.add_argument("--workers", type=int, default=2,
                        help="RQ workers running the job's parts (0: the job in this process)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args()
    if args.workers:
        return _on_workers(args)
    os.environ.setdefault("MATCHMAKER_SECRET_KEY", "bench")
    from matchmaker import create_app
    from matchmaker.extensions import db
    from matchmaker.jobs import service as jobs
    from matchmaker.matching import service

    app = create_app({"DATABASE_URL": args.db, "LOG_LEVEL": "WARNING", "REDIS_URL": None,
                      "JOBS_BACKEND": "thread"})
    with app.app_context():
        service.current_matcher()  # built, as a running web worker holds it
        start = time.perf_counter()
        [job] = service.recompute_supply_chain_later()
        db.session.info.pop(jobs._PENDING, None)  # run below, in this process
        db.session.commit()
        print(f"request (mark stale + enqueue + commit): {time.perf_counter() - start:.3f} s "
              f"(job #{job.id})")
    with app.app_context():
        start, cpu = time.perf_counter(), time.process_time()
        result = service.recompute_supply_chain(lambda _done, _ids: db.session.commit())
        db.session.commit()
        print(f"job in one process: {result['needs']:,} needs ranked again, "
              f"{time.perf_counter() - start:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


def _on_workers(args) -> int:
    from sqlalchemy import select

    from matchmaker import create_app
    from matchmaker.extensions import db
    from matchmaker.jobs.models import Job
    from matchmaker.matching import service

    from . import rq_workers

    app = create_app({"DATABASE_URL": args.db, "LOG_LEVEL": "WARNING", "REDIS_URL": args.redis,
                      "JOBS_BACKEND": "rq", "JOBS_QUEUE": rq_workers.QUEUE})
    with rq_workers.running(args.workers, args.db, args.redis), app.app_context():
        service.current_matcher()
        start = time.perf_counter()
        [job] = service.recompute_supply_chain_later()
        db.session.commit()
        print(f"request (mark stale + enqueue + commit): {time.perf_counter() - start:.3f} s "
              f"(job #{job.id})")
        reach = db.session.scalar(select(Job).where(Job.kind == "matching.reach",
                                                    Job.id > job.id))
        rq_workers.wait_for(job)
        print(f"job on {args.workers} RQ workers ({job.children_total or 0} parts): "
              f"{time.perf_counter() - start:.1f} s wall from the request; "
              f"{job.status} {job.result}")
        if reach is not None:  # enqueued beside it: the banks' reach counts
            rq_workers.wait_for(reach)
            print(f"the reach recount beside it: "
                  f"{(reach.finished_at - reach.started_at).total_seconds():.1f} s in its worker, "
                  f"done {time.perf_counter() - start:.1f} s after the request; "
                  f"{reach.status} {reach.result}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
