"""RQ workers for a benchmark, as a city runs them: started beforehand on their own queue,
stopped after, their peak RSS printed (SimpleWorker: the jobs ran in these processes)."""
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

QUEUE = "bench"


def worker_env(db_url: str, redis_url: str) -> dict:
    return dict(os.environ, MATCHMAKER_DATABASE_URL=db_url, MATCHMAKER_REDIS_URL=redis_url,
                MATCHMAKER_LOG_LEVEL="WARNING", MATCHMAKER_JOBS_QUEUE=QUEUE)


@contextmanager
def running(count: int, db_url: str, redis_url: str):
    """`count` workers listening (none for 0) while the block runs."""
    env = worker_env(db_url, redis_url)
    workers = [subprocess.Popen([".venv/bin/matchmaker", "jobs", "worker"], env=env)
               for _ in range(count)]
    try:
        if workers:
            time.sleep(3)  # listening before the first job arrives
        yield workers
    finally:
        for worker in workers:
            print(f"worker {worker.pid}: peak RSS {_peak_mib(worker.pid)}")
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()


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
