"""RQ workers for a benchmark, as a city runs them: started beforehand on their own queue,
stopped after, their peak RSS printed (SimpleWorker: the jobs ran in these processes)."""
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

QUEUE = "bench"


def worker_env(db_url: str, redis_url: str) -> dict:
    """The workers import the package this benchmark imported: `.venv/bin/matchmaker` would
    otherwise take the editable install's, so a benchmark run from an older worktree (to
    compare) ran today's code in its workers."""
    import matchmaker

    source = str(Path(matchmaker.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, MATCHMAKER_DATABASE_URL=db_url, MATCHMAKER_REDIS_URL=redis_url,
                MATCHMAKER_LOG_LEVEL="WARNING", MATCHMAKER_JOBS_QUEUE=QUEUE, PYTHONPATH=path)


@contextmanager
def running(count: int, db_url: str, redis_url: str):
    """`count` workers listening (none for 0) while the block runs."""
    env = worker_env(db_url, redis_url)
    workers = [subprocess.Popen([".venv/bin/matchmaker", "jobs", "worker"], env=env)
               for _ in range(count)]
    try:
        if workers:
            _until_listening(count, redis_url)
        yield workers
    finally:
        for worker in workers:
            print(f"worker {worker.pid}: peak RSS {_peak_mib(worker.pid)}")
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()


def _until_listening(count: int, redis_url: str, timeout: float = 120) -> None:
    """Every worker registered on the queue before the first job arrives: a job splits into
    as many parts as workers listen then (a fixed 3 s wait was too short on a slow machine:
    the job ran in one part on one worker)."""
    from redis import Redis
    from rq import Queue, Worker

    connection = Redis.from_url(redis_url)
    queue = Queue(QUEUE, connection=connection)
    deadline = time.monotonic() + timeout
    while Worker.count(queue=queue) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {Worker.count(queue=queue)} of {count} RQ workers listen")
        time.sleep(0.2)


def wait_for(job) -> None:
    """Until the job (a row of this process's session) is done or failed."""
    from matchmaker.extensions import db

    while job.status not in ("done", "failed"):
        time.sleep(0.05)
        db.session.commit()  # a fresh snapshot of the job's row
        db.session.refresh(job)


def _peak_mib(pid: int) -> str:
    status = Path(f"/proc/{pid}/status")
    peak = [line.split()[1] for line in status.read_text().splitlines()
            if line.startswith("VmHWM")] if status.exists() else []
    return f"{int(peak[0]) / 1024:.0f} MiB" if peak else "unknown"
