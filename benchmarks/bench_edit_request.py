"""Issue 13's "a product edit: the web request, p95 < 300 ms whatever the size": N edits of the
products that match the most needs, each posted through the app (Flask test client: the
form's own fields read off its page, 最高额度 changed, 确认发布), timed from POST to redirect.

    .venv/bin/python -m benchmarks.bench_edit_request --db URL --edits 20 \\
        --redis redis://127.0.0.1:6379/0

Each edit's recompute job goes to an RQ queue of its own that no worker reads (the request is
what is timed; bench_refresh_db times the job); the queue is deleted at the end, so the needs
those products touch are left marked 正在更新 in that database: run it on a benchmark
platform (bench_load setup), never on one people use.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from html.parser import HTMLParser


class _FormFields(HTMLParser):
    """name -> values of the product form, as a browser would post it."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value") or ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value") or ""))
        elif tag == "textarea":
            self._textarea = name
            self.fields.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[-1] = (self._textarea, self.fields[-1][1] + data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    from flask_login import FlaskLoginClient
    from rq import Queue
    from sqlalchemy import func, select
    from werkzeug.datastructures import MultiDict

    from matchmaker import create_app
    from matchmaker.accounts.models import User
    from matchmaker.extensions import db
    from matchmaker.matching.models import Match

    queue = f"bench-edits-{os.getpid()}"
    app = create_app({"DATABASE_URL": args.db, "REDIS_URL": args.redis, "JOBS_BACKEND": "rq",
                      "JOBS_QUEUE": queue, "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False,
                      "RATELIMIT_ENABLED": False})
    app.test_client_class = FlaskLoginClient  # logged in as the product's bank admin
    print(f"cores={os.cpu_count()} load={os.getloadavg()[0]:.1f} db={args.db.split('://')[0]} "
          f"edits={args.edits}")
    times, touched = [], []
    with app.app_context():
        popular = db.session.execute(
            select(Match.product_id, func.count()).group_by(Match.product_id)
            .order_by(func.count().desc()).limit(args.edits)).all()
        from benchmarks.bench_refresh_db import _bank_admin
        from matchmaker.institutions.models import Product

        editors = []
        for product_id, needs in popular:
            admin = _bank_admin(db.session.get(Product, product_id))
            db.session.commit()
            editors.append((product_id, needs, db.session.get(User, admin.id)))
            db.session.expunge(editors[-1][2])
    for product_id, needs, admin in editors:  # each request in an app context of its own
        client = app.test_client(user=admin)
        path = f"/institution/products/{product_id}/edit"
        form = _FormFields()
        form.feed(client.get(path).get_data(as_text=True))
        data = MultiDict(form.fields)
        data["amount_max_wan"] = str(float(data["amount_max_wan"] or 100) + 1)
        data["action"] = "confirm"
        started = time.perf_counter()
        answer = client.post(path, data=data)
        times.append((time.perf_counter() - started) * 1000)
        touched.append(needs)
        if answer.status_code != 302:
            print(f"product {product_id}: answered {answer.status_code}, not saved")
            return 1
    _report(f"{len(times)} edits of products matching {min(touched)}–{max(touched)} stored "
            "needs each", times)
    _report(f"{args.edits} LPR quotes in force today (each reprices the LPR products)",
            _policy_edits(app, args.edits, "lpr"))
    _report(f"{args.edits} edits of a subsidy programme", _policy_edits(app, args.edits,
                                                                        "programme"))
    Queue(queue, connection=app.extensions["jobs_rq"]["queue"].connection).delete(
        delete_jobs=True)
    return 0


def _report(what: str, times: list[float]) -> None:
    times = sorted(times)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"{what}: p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, "
          f"max {times[-1]:.0f} ms")


def _policy_edits(app, edits: int, what: str) -> list[float]:
    """An admin's LPR quotes or programme edits, posted through the app like the products'."""
    from sqlalchemy import select
    from werkzeug.datastructures import MultiDict

    from matchmaker import clock
    from matchmaker.accounts.models import User
    from matchmaker.extensions import db
    from matchmaker.policy.models import SubsidyProgram

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin").limit(1))
        if admin is None:  # bench_load setup makes none
            admin = User(email="bench-admin@example.com", name="bench", role="admin",
                         password_hash="x")
            db.session.add(admin)
            db.session.commit()
            db.session.refresh(admin)
        program = db.session.scalar(select(SubsidyProgram).order_by(SubsidyProgram.id).limit(1))
        db.session.expunge(admin)
        program_id, today = program.id, clock.china_today()
    times = []
    for n in range(edits):
        client = app.test_client(user=admin)
        if what == "lpr":
            path = "/admin/policy/rates/new"
            # one quote a day, each the newest, so each is in force at once
            day = today - timedelta(days=edits - 1 - n)
            data = MultiDict({"kind": "lpr_1y", "rate": f"{3.0 + n / 1000:.3f}",
                              "effective_from": day.isoformat()})
        else:
            path = f"/admin/policy/programs/{program_id}"
            form = _FormFields()
            form.feed(client.get(path).get_data(as_text=True))
            data = MultiDict(form.fields)
            data["effective_from"] = today.isoformat()
        started = time.perf_counter()
        answer = client.post(path, data=data)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 302:
            raise SystemExit(f"{what}: answered {answer.status_code}, not saved")
    return times


if __name__ == "__main__":
    sys.exit(main())
