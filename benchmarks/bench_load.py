"""Issue 13's load figures: the pages a city platform serves most, under 16 concurrent users
(locust, headless), against a bare Flask "hello" served the same way in the same run.

    # 1. a platform: products × needs imported, matched, `--flagged` needs consenting (their
    #    leads), and four people to log in as (written to --people)
    .venv/bin/python -m benchmarks.bench_load setup --db URL --products 5000 --needs 100000 \
        --flagged 700 --people /tmp/people.json
    # 2. gunicorn (2 workers) on it and on hello_wsgi, locust against each, worker memory sampled
    .venv/bin/python -m benchmarks.bench_load run --db URL --people /tmp/people.json --seconds 60
    #    … as deployed: Redis for the page cache (web/pagecache.py), and a lead written every
    #    second through the app meanwhile (each write renders three of the four pages again)
    .venv/bin/python -m benchmarks.bench_load run --db URL --people /tmp/people.json \
        --redis redis://127.0.0.1:6379/0 --write-every 1

Prints per page: requests, errors, requests/s, p50/p95/p99; the hello's requests/s and the
ratio; the workers' RSS at start and end and its slope (MiB per minute, least squares over
samples every 5 s); the load average and the CPU seconds the workers used. The machine is
shared: wall figures are inflated under load, read them beside the load average.
"""
import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-Load-2026-负载测试"
PAGES = ("lead inbox", "need page", "organizer home", "catalogue")


def setup(args) -> int:
    os.environ.setdefault("MATCHMAKER_SECRET_KEY", "bench")
    import flask_migrate
    from sqlalchemy import func, select, text

    from benchmarks.generate import generate, to_exchange
    from matchmaker import create_app, jobs
    from matchmaker.accounts.models import User
    from matchmaker.accounts.service import create_user
    from matchmaker.enterprises.models import Need
    from matchmaker.exchange.service import import_document
    from matchmaker.extensions import db
    from matchmaker.leads.models import Lead

    app = create_app({"DATABASE_URL": args.db, "LOG_LEVEL": "WARNING", "REDIS_URL": None,
                      "JOBS_BACKEND": "thread"})
    doc = to_exchange(generate(args.seed, args.institutions, args.products,
                               int(args.needs * 0.7), args.needs), args.seed)
    for n, need in enumerate(doc["needs"]):
        need["consent_to_share"] = n < args.flagged
    t0, c0 = time.perf_counter(), time.process_time()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
        import_document(doc)
        [(whole, _)] = db.session.info.pop(jobs.service._PENDING)
        db.session.commit()
        jobs.runner.run_here(whole)
        busiest = db.session.execute(
            select(Lead.institution_id, func.count(Lead.id)).group_by(Lead.institution_id)
            .order_by(func.count(Lead.id).desc()).limit(1)).first()
        need = db.session.scalars(select(Need).order_by(Need.id).limit(1)).one()
        people = {"password": PASSWORD, "need_id": need.id}
        for role, fields in (("bank_manager", {"institution_id": busiest[0]}),
                             ("enterprise", {"enterprise_id": need.enterprise_id}),
                             ("organizer", {})):
            email = f"load-{role}@bench.example"
            if db.session.scalar(select(User).where(User.email == email)) is None:
                create_user(email=email, name=f"压测{role}", password=PASSWORD, role=role,
                            **fields)
            people[role] = email
        db.session.commit()
        leads = db.session.scalar(select(func.count(Lead.id)))
        needs = db.session.scalar(select(func.count(Need.id)))
    Path(args.people).write_text(json.dumps(people), encoding="utf-8")
    print(f"setup: {needs} needs, {leads} leads ({busiest[1]} at the inbox's institution); "
          f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU")
    return 0


def _gunicorn(app_path: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
         "--timeout", "120", app_path], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], check=False, capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(server: subprocess.Popen, port: int, path: str = "/",
             timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:  # not ours answering: the port was taken
            raise RuntimeError(f"gunicorn exited ({server.returncode}): is port {port} free?")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"nothing answers on port {port}")


def _locust(port: int, classes: list[str], seconds: int, people: str, out: Path,
            users: int, sample=None) -> dict:
    prefix = out / f"locust-{port}"
    env = dict(os.environ, BENCH_LOAD_PEOPLE=people)
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "benchmarks/locustfile.py"),
         "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
         "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
         "--loglevel", "WARNING", *classes], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        if sample:
            sample()
        time.sleep(5)
    with open(f"{prefix}_stats.csv", encoding="utf-8") as fh:
        return {row["Name"]: row for row in csv.DictReader(fh)}


def _slope(samples: list[tuple[float, float]]) -> float:
    """MiB per minute, least squares."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mr = sum(r for _, r in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return 60 * sum((t - mt) * (r - mr) for t, r in samples) / var if var else 0.0


class _Writer:
    """A lead's row written through the app every `every` seconds, in a thread of this
    process: the write a city's activity makes while people read (it counts the leads table's
    version up, so the inbox, the need page and the organizer home are rendered again)."""

    def __init__(self, db_url: str, redis_url: str | None, queue: str, every: float):
        import threading

        self.every, self.writes = every, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, args=(db_url, redis_url, queue),
                                       daemon=True)

    def _loop(self, db_url, redis_url, queue):
        from sqlalchemy import func, select, update

        from matchmaker import clock, create_app
        from matchmaker.extensions import db
        from matchmaker.leads.models import Lead

        app = create_app({"DATABASE_URL": db_url, "REDIS_URL": redis_url, "JOBS_QUEUE": queue,
                          "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench"})
        with app.app_context():
            first = db.session.scalar(select(func.min(Lead.id)))
            while not self.stop.wait(self.every):
                db.session.execute(update(Lead).where(Lead.id == first)
                                   .values(updated_at=clock.now()))
                db.session.commit()
                self.writes += 1

    def __enter__(self):
        if self.every:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.every:
            self.thread.join()


def run(args) -> int:
    env = dict(os.environ, MATCHMAKER_DATABASE_URL=args.db, MATCHMAKER_SECRET_KEY="bench",
               MATCHMAKER_SESSION_COOKIE_SECURE="false", MATCHMAKER_JOBS_BACKEND="thread",
               MATCHMAKER_LOGIN_RATE_LIMIT="100000 per minute", MATCHMAKER_LOG_LEVEL="WARNING",
               MATCHMAKER_JOBS_QUEUE="bench-load")
    env.pop("MATCHMAKER_REDIS_URL", None)
    if args.redis:
        env["MATCHMAKER_REDIS_URL"] = args.redis
        _forget_pages(args.redis, "bench-load")
    out = Path(tempfile.mkdtemp(prefix="bench-load-"))
    print(f"cores={os.cpu_count()} load={os.getloadavg()[0]:.1f} db={args.db.split('://')[0]} "
          f"users={args.users} seconds={args.seconds} (gunicorn -w 2 each) page cache="
          f"{'on (Redis)' if args.redis else 'off (no Redis)'} "
          f"write every={args.write_every or '-'} s")
    app = _gunicorn("wsgi:app", args.port, env)
    try:
        _wait_up(app, args.port, "/catalog/")
        workers = _workers(app.pid)
        cpu0 = sum(_cpu_s(p) for p in workers)
        t0 = time.monotonic()
        samples: list[tuple[float, float]] = []

        def sample():
            samples.append((time.monotonic() - t0, sum(_rss_mib(p) for p in workers)))

        with _Writer(args.db, args.redis, "bench-load", args.write_every) as writer:
            stats = _locust(args.port, ["BankManager", "Enterprise", "Organizer", "Visitor"],
                            args.seconds, args.people, out, args.users, sample)
        sample()
        cpu = sum(_cpu_s(p) for p in workers) - cpu0
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait()
    hello = _gunicorn("benchmarks.hello_wsgi:app", args.port + 1, env)
    try:
        _wait_up(hello, args.port + 1)
        # a minute of hello is a steady baseline: a soak need not run it ten minutes more
        base = _locust(args.port + 1, ["Hello"], min(args.seconds, 60), args.people, out,
                       args.users)
    finally:
        os.killpg(hello.pid, signal.SIGTERM)
        hello.wait()
    hello_rps = float(base["hello"]["Requests/s"])
    print(f"{'page':<16}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50':>7}{'p95':>7}"
          f"{'p99 ms':>8}{'vs hello':>10}")
    for name in (*PAGES, "Aggregated"):
        row = stats.get(name)
        if row is None:
            continue
        rps = float(row["Requests/s"])
        print(f"{name:<16}{row['Request Count']:>9}{row['Failure Count']:>8}{rps:>8.1f}"
              f"{row['50%']:>7}{row['95%']:>7}{row['99%']:>8}{100 * rps / hello_rps:>9.1f}%")
    b = base["hello"]
    print(f"{'hello':<16}{b['Request Count']:>9}{b['Failure Count']:>8}{hello_rps:>8.1f}"
          f"{b['50%']:>7}{b['95%']:>7}{b['99%']:>8}")
    if args.write_every:
        print(f"writes meanwhile: {writer.writes} (a lead every {args.write_every} s)")
    login = stats.get("login")
    if login is not None:
        print(f"logins: {login['Request Count']} ({login['Failure Count']} failed), not counted")
    print(f"workers' RSS {samples[0][1]:.0f} → {samples[-1][1]:.0f} MiB over "
          f"{samples[-1][0]:.0f} s, slope {_slope(samples):+.2f} MiB/min; workers' CPU "
          f"{cpu:.1f} s; load average at the end {os.getloadavg()[0]:.1f}")
    return 0


def _forget_pages(url: str, queue: str) -> None:
    """Start from an empty page store: a run never reads an earlier run's pages."""
    from redis import Redis

    redis = Redis.from_url(url)
    for key in redis.scan_iter(f"{queue}:pages:*"):
        redis.delete(key)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--db", required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--institutions", type=int, default=60)
    s.add_argument("--products", type=int, default=5000)
    s.add_argument("--needs", type=int, default=100_000)
    s.add_argument("--flagged", type=int, default=700, help="needs with consent_to_share")
    s.add_argument("--people", required=True)
    r = sub.add_parser("run")
    r.add_argument("--db", required=True)
    r.add_argument("--people", required=True)
    r.add_argument("--seconds", type=int, default=60)
    r.add_argument("--users", type=int, default=16)
    r.add_argument("--port", type=int, default=8002)
    r.add_argument("--redis", help="Redis URL: the page cache on, as deployed")
    r.add_argument("--write-every", type=float, default=0,
                   help="seconds between writes of a lead during the run (0: none)")
    args = parser.parse_args()
    return setup(args) if args.command == "setup" else run(args)


if __name__ == "__main__":
    sys.exit(main())
