"""The monitoring page for a year with 100,000 needs and 30,000 funded leads (issue 16: p95 <
500 ms on PostgreSQL).

    MATCHMAKER_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_monitor \\
        .venv/bin/python -m benchmarks.bench_monitoring [--runs 20] [--seed 1]

`--reuse` keeps the rows of a previous run. Printed, for the city and a district organizer,
year and quarter views:

1. no stored figures: the first request computes them (and stores them), the next ones read
   them (monitoring_snapshots, shared by every worker);
2. the refresh job (`monitoring.refresh`, cron every 15 minutes) warming the standard views
   (the city and each district × this year, quarter and month) from an empty table;
3. first and later requests after it, through a second app (another worker: nothing in its
   memory);
4. a lead changes: the first request serves the stored figures marked 正在更新 while the job
   (a thread here, RQ in production) recomputes them; how long until they are fresh.

The database is EMPTIED (schema dropped and migrated): give it a scratch database. Rows are
written with bulk inserts (not the services): 40 institutions, 30,000 enterprises over every
district, 100,000 needs, 30,000 funded leads this year and 20,000 last year (so every
same-period figure has something to compare with), 20,000 leads still open or declined, a
claim per funded lead. Then the page is fetched through the app as a city organizer and as a
district organizer, for the year and for one quarter; p50 / p95 / max are printed.
"""
import argparse
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import flask_migrate
from flask_login import FlaskLoginClient
from sqlalchemy import delete, insert, select

from matchmaker import clock, create_app, vocab
from matchmaker.accounts.models import User
from matchmaker.enterprises.models import Enterprise, Need, derive_size
from matchmaker.extensions import db, refresh_statistics
from matchmaker.institutions.models import Institution
from matchmaker.jobs.models import Job
from matchmaker.leads.models import Claim, Lead
from matchmaker.monitoring import snapshots
from matchmaker.monitoring.models import Snapshot

YEAR = 2026
N_INSTITUTIONS, N_ENTERPRISES, N_NEEDS = 40, 30_000, 100_000
N_FUNDED, N_FUNDED_LAST_YEAR, N_OTHER = 30_000, 20_000, 20_000


def _reset():
    from sqlalchemy import text

    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
    flask_migrate.upgrade()


def _moment(rng, year) -> datetime:
    day = date(year, 1, 1) + timedelta(days=rng.randrange(335))  # up to early December
    return datetime(day.year, day.month, day.day, rng.randrange(1, 9), tzinfo=UTC)


def _bulk(model, rows, size=5000):
    for i in range(0, len(rows), size):
        db.session.execute(insert(model), rows[i:i + size])


def seed(rng) -> None:
    districts = list(vocab.labels("districts"))
    clusters = list(vocab.labels("clusters_33618"))
    kinds = ["bank"] * 6 + ["guarantee", "leasing", "microcredit"]
    _bulk(Institution, [{"id": i, "ref": f"BI-{i}", "name": f"基准机构{i}", "kind": rng.choice(kinds)}
                        for i in range(1, N_INSTITUTIONS + 1)])
    _bulk(User, [{"id": 1, "email": "bench-manager@example.test", "name": "基准经理",
                  "password_hash": "x", "role": "bank_manager", "institution_id": 1},
                 {"id": 2, "email": "bench-city@example.test", "name": "市级",
                  "password_hash": "x", "role": "organizer"},
                 {"id": 3, "email": "bench-district@example.test", "name": "区县",
                  "password_hash": "x", "role": "organizer", "district": "永川区"}])
    rows = [{
        "id": i, "ref": f"BE-{i}", "name": f"基准企业{i}", "uscc": f"91500000BM{i:08d}",
        "district": rng.choice(districts), "industry": "C3484", "cluster": rng.choice(clusters),
        "employees": rng.choice((15, 80, 250, 900)), "revenue_wan": Decimal(rng.choice((500, 5000, 30000))),
        "founded": date(2015, 1, 1), "has_bank_loan": rng.random() < 0.7,
        "declared_size": rng.choice((None, "small", "medium", "micro"))}
        for i in range(1, N_ENTERPRISES + 1)]
    for row in rows:  # what the model's listener stores; a bulk insert bypasses it
        row["size_class"] = row["declared_size"] or derive_size(
            row["industry"], row["employees"], row["revenue_wan"])
    _bulk(Enterprise, rows)
    loan_kinds = ["first_loan", "renewal", "new"]
    _bulk(Need, [{
        "id": i, "ref": f"BN-{i}", "enterprise_id": rng.randrange(1, N_ENTERPRISES + 1),
        "purpose": "working_capital", "loan_kind": rng.choice(loan_kinds),
        "amount_wan": Decimal(rng.randrange(50, 3000)), "term_months": rng.choice((6, 12, 24, 36)),
        "created": date(YEAR - 1, 1, 1), "status": "published", "consent_to_share": True}
        for i in range(1, N_NEEDS + 1)])
    needs = list(range(1, N_NEEDS + 1))
    rng.shuffle(needs)
    leads, claims = [], []
    modes = ["credit", "mortgage", "pledge", "guarantee"]
    total = N_FUNDED + N_FUNDED_LAST_YEAR + N_OTHER
    for n, need_id in enumerate(needs[:total], start=1):
        year = YEAR if n <= N_FUNDED or n > N_FUNDED + N_FUNDED_LAST_YEAR else YEAR - 1
        opened = _moment(rng, year)
        funded = n <= N_FUNDED + N_FUNDED_LAST_YEAR
        status = "funded" if funded else rng.choice(("open", "declined", "claimed"))
        decided = opened + timedelta(days=rng.randrange(2, 12))
        row = {"id": n, "need_id": need_id, "institution_id": rng.randrange(1, N_INSTITUTIONS + 1),
               "source": "consent", "status": status, "matched": [], "created_at": opened,
               "updated_at": opened}
        if funded:
            row.update(outcome="approved", approved_amount_wan=Decimal(rng.randrange(50, 3000)),
                       approved_rate=Decimal(rng.randrange(280, 600)) / 100,
                       approved_term_months=rng.choice((6, 12, 24, 36, 60)),
                       approved_guarantee_mode=rng.choice(modes), decided_at=decided,
                       funded_at=decided + timedelta(days=3))
        elif status == "declined":
            row.update(outcome="declined", decline_reason="weak_financials", decided_at=decided)
        leads.append(row)
        if status != "open":
            claimed = opened + timedelta(hours=rng.randrange(1, 48))
            claims.append({"lead_id": n, "need_id": need_id, "institution_id": row["institution_id"],
                           "manager_id": 1, "status": "approved" if funded else status,
                           "claimed_at": claimed, "contacted_at": claimed + timedelta(hours=20),
                           "decided_at": decided if status != "claimed" else None,
                           "contact_due": (claimed + timedelta(days=2)).date(),
                           "decision_due": (claimed + timedelta(days=10)).date()})
    _bulk(Lead, leads)
    _bulk(Claim, claims)
    # what autovacuum does on a lived platform (here it may not run for a long while): without
    # it a district's figures are planned on empty-table estimates (nested loops, 3 s not 0.3)
    refresh_statistics("institutions", "users", "enterprises", "needs", "leads", "claims")
    db.session.commit()


def _time(client, url, runs) -> tuple[float, list[float]]:
    """(the first request, then `runs` requests), in ms."""
    start = time.perf_counter()
    response = client.get(url)
    first = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.status_code
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return first, out


def _line(who, label, first, times, note=""):
    p95 = statistics.quantiles(times, n=20)[18]
    print(f"  {who:8} {label:12} first {first:8.1f} ms; then p50 {statistics.median(times):7.1f}"
          f" ms  p95 {p95:7.1f} ms  max {max(times):7.1f} ms  ({len(times)} runs){note}  "
          f"load {os.getloadavg()[0]:.1f}", flush=True)


def _app(url):
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "TESTING": False,
                      "WTF_CSRF_ENABLED": False, "JOBS_BACKEND": "thread", "REDIS_URL": None,
                      "SESSION_COOKIE_SECURE": False, "MONITORING_MAX_AGE_SECONDS": 900})
    app.test_client_class = FlaskLoginClient
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the data seeded by a previous run")
    args = parser.parse_args()
    url = os.environ.get("MATCHMAKER_BENCH_DATABASE_URL",
                         "postgresql+psycopg://postgres@127.0.0.1:5432/test_monitor")
    app, other = _app(url), _app(url)
    today = clock.china_today()
    quarter = (today.month - 1) // 3 + 1
    views = [("year", f"kind=year&year={YEAR}"),
             (f"Q{quarter} (std)", f"kind=quarter&year={YEAR}&number={quarter}"),
             ("Q3", f"kind=quarter&year={YEAR}&number=3")]
    with app.app_context():
        started = time.perf_counter()
        if not args.reuse:
            _reset()
            seed(random.Random(args.seed))
        print(f"{'reused' if args.reuse else 'seeded'} in {time.perf_counter() - started:.1f} s on "
              f"{db.engine.dialect.name}: {N_NEEDS} needs, {N_FUNDED} funded leads in {YEAR}, "
              f"{N_FUNDED_LAST_YEAR} in {YEAR - 1}, {N_OTHER} others; today {today}", flush=True)
        users = {"city": db.session.get(User, 2), "district": db.session.get(User, 3)}

        print("1. no stored figures: the first request computes and stores them")
        db.session.execute(delete(Snapshot))
        db.session.commit()
        for who, user in users.items():
            for label, query in views:
                first, times = _time(app.test_client(user=user), f"/monitoring/?{query}", args.runs)
                _line(who, label, first, times)

        print("2. the refresh job warms the standard views from an empty table")
        db.session.execute(delete(Snapshot))
        db.session.commit()
        wall, cpu = time.perf_counter(), time.process_time()
        done = snapshots.refresh(max_age=900, warm=True, commit=db.session.commit)
        print(f"  {done}: {time.perf_counter() - wall:.1f} s wall, "
              f"{time.process_time() - cpu:.1f} s CPU (this process; PostgreSQL's apart), "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        db.session.remove()

    print("3. another worker (a second app), after the job")
    with other.app_context():
        users = {"city": db.session.get(User, 2), "district": db.session.get(User, 3)}
        for who, user in users.items():
            for label, query in views:
                first, times = _time(other.test_client(user=user), f"/monitoring/?{query}",
                                     args.runs)
                _line(who, label, first, times)
        db.session.remove()

    print("4. a funded lead of the district changes: served marked 正在更新, refreshed by the job")
    with other.app_context():
        lead = db.session.scalar(select(Lead).join(Need).join(Enterprise).where(
            Lead.status == "funded", Enterprise.district == "永川区",
            Lead.funded_at >= datetime(YEAR, 1, 1, tzinfo=UTC)).order_by(Lead.id).limit(1))
        lead.approved_amount_wan += 1
        db.session.commit()
        changed = time.perf_counter()
        client = other.test_client(user=db.session.get(User, 2))
        start = time.perf_counter()
        page = client.get(f"/monitoring/?{views[0][1]}").get_data(as_text=True)
        print(f"  city     year         first {(time.perf_counter() - start) * 1000:8.1f} ms "
              f"{'(marked 正在更新)' if 'data-updating' in page else '(fresh)'}  "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        while db.session.scalar(select(Job.id).where(
                Job.kind == "monitoring.refresh", Job.status.in_(("queued", "running")))):
            time.sleep(0.2)
            db.session.rollback()
        print(f"  the job had them fresh {time.perf_counter() - changed:.1f} s after the change, "
              f"load {os.getloadavg()[0]:.1f}")
        first, times = _time(client, f"/monitoring/?{views[0][1]}", args.runs)
        page = client.get(f"/monitoring/?{views[0][1]}").get_data(as_text=True)
        _line("city", "year", first, times, " (marked 正在更新)" if "data-updating" in page
              else " (fresh)")
        lead.approved_amount_wan -= 1
        db.session.commit()
        db.session.remove()
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
