"""金融超市 speed: a filtered catalogue page over 5,000 products (target: < 200 ms).

    python -m benchmarks.bench_catalog                       # temp SQLite file
    python -m benchmarks.bench_catalog --products 20000
    python -m benchmarks.bench_catalog --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mm_bench

Builds a migrated database (a PostgreSQL database is WIPED: its name must contain "bench"),
writes seeded random institutions and products, then times GET /catalog/?… through the Flask
test client (the whole request: routing, SQL, search, template) for ~50 varied filter sets,
a fifth of them name searches (typos, pinyin initials). Prints p50/p95/max with the core count.
The first name search of a process computes the pinyin keys of every name (cached per name
after that); it is reported on its own line and left out of the percentiles.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ARCHETYPES = ["技改专项贷", "知识产权质押贷", "知识价值信用贷款", "商业价值信用贷款", "渝链贷",
              "订单贷", "应收账款质押贷", "专精特新贷", "首贷通", "无还本续贷", "银税互动贷",
              "设备更新贷", "绿色信贷", "碳汇贷", "瞪羚贷", "科创贷", "外贸贷", "出口信保融资",
              "制造业中长期贷款", "园区厂房按揭贷", "技改担保贷", "设备融资租赁", "售后回租",
              "应急转贷", "供应链保理", "经营快贷", "小微企业经营贷", "首台套保险增信贷"]
BRANDS = ["", "", "渝", "巴渝", "长江", "山城", "两江", "智造", "科创", "惠企", "兴业", "融通",
          "金桥", "云端", "普惠", "助企", "鑫", "嘉", "安心", "快易", "e", "易", "链通", "恒信",
          "稳企", "富民", "博创", "创新", "远航", "锦程", "聚力", "同心", "众赢", "天府", "西部"]
QUALIFIERS = ["", "", "", "（汽车产业链）", "（电子信息）", "（永川）", "（两江新区）", "2.0",
              "（升级版）", "·科技", "（园区）", "（摩托车产业链）"]
KINDS = {"bank": 70, "guarantee": 12, "leasing": 8, "insurance": 3, "microcredit": 4,
         "factoring": 2, "bridge_fund": 1}
PURPOSES = ["working_capital", "tech_upgrade", "supply_chain", "project", "rnd", "green",
            "trade", "equipment_lease"]
MODES = ["credit", "mortgage", "pledge", "guarantee"]
TAGS = ["specialized_sme", "little_giant", "high_tech", "tech_sme", "gazelle", "green_factory"]
DISTRICTS = ["永川区", "璧山区", "江津区", "两江新区", "九龙坡区", "渝北区", "涪陵区", "长寿区"]
PROGRAMS = ["tech_upgrade_interest", "equipment_renewal_relending", "guarantee_fee_subsidy",
            "bridge_fee_waiver"]
SEARCHES = ["zscq", "知识产权质押贷", "知识产权质压贷", "jgzxd", "技改", "渝链贷", "ylD",
            "zhishichanqun", "首贷", "shoudai", "应收账款", "绿色", "设备更新"]
SORTS = ["newest", "rate_asc", "amount_desc", "term_desc"]


def build_app(url: str | None):
    from matchmaker import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    url = url or f"sqlite:///{tmp / 'catalog.sqlite3'}"
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "TESTING": False,
                      "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING",
                      "SESSION_COOKIE_SECURE": False})
    return app, url


def reset_schema(app, url: str) -> None:
    import flask_migrate
    from sqlalchemy import text

    from matchmaker.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            if "bench" not in db.engine.url.database:
                sys.exit("refusing to wipe a PostgreSQL database whose name lacks 'bench'")
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()


def populate(app, n_products: int, seed: int) -> None:
    """Core inserts (fast); the same rows the ORM would write."""
    from sqlalchemy import insert

    from matchmaker.extensions import db
    from matchmaker.institutions.models import (
        Institution,
        InstitutionDistrict,
        Product,
        ProductTerm,
    )

    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    n_inst = max(10, n_products // 40)
    institutions, inst_districts = [], []
    for i in range(1, n_inst + 1):
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        institutions.append({"id": i, "ref": f"B-{i:04d}", "name": f"重庆第{i}金融机构",
                             "kind": kind, "created_at": now, "updated_at": now})
        if rng.random() < 0.2:
            for pos, d in enumerate(rng.sample(DISTRICTS, rng.randint(1, 3))):
                inst_districts.append({"institution_id": i, "value": d, "position": pos})
    products, terms = [], []
    for p in range(1, n_products + 1):
        low = Decimal(rng.choice([5, 10, 20, 50, 100, 200, 500]))
        high = low * rng.choice([5, 10, 20, 50, 100])
        tmin = rng.choice([1, 3, 6, 12])
        rate_min = Decimal(rng.randint(260, 520)) / 100
        status = rng.choices(["published", "paused", "draft", "retired"], [90, 4, 4, 2])[0]
        products.append({
            "id": p, "ref": f"P-{p:05d}", "institution_id": rng.randint(1, n_inst),
            "name": rng.choice(BRANDS) + rng.choice(ARCHETYPES) + rng.choice(QUALIFIERS),
            "status": status,
            "version": 0 if status == "draft" else 1, "amount_min_wan": low,
            "amount_max_wan": high, "term_min_months": tmin,
            "term_max_months": tmin * rng.choice([2, 3, 6, 10]), "rate_min": rate_min,
            "rate_max": rate_min + Decimal(rng.randint(20, 200)) / 100, "rate_basis": "fixed",
            "existing_customers_only": rng.random() < 0.05,
            "published_at": now - timedelta(days=rng.randint(0, 700)),
            "created_at": now, "updated_at": now})
        lists = {
            "purposes": rng.sample(PURPOSES, rng.choice([1, 1, 2, 3])),
            "guarantee_modes": rng.sample(MODES, rng.choice([1, 2, 2, 3])),
            "tags_any": rng.sample(TAGS, rng.randint(1, 2)) if rng.random() < 0.2 else [],
            "loan_kinds": rng.sample(["first_loan", "renewal", "new"], 1)
            if rng.random() < 0.25 else [],
            "districts": rng.sample(DISTRICTS, rng.randint(1, 2)) if rng.random() < 0.1 else [],
            "industries": rng.sample(["C36", "C39", "C34", "C3974", "C27"], 1)
            if rng.random() < 0.2 else [],
            "subsidy_programs": rng.sample(PROGRAMS, rng.randint(1, 2))
            if rng.random() < 0.3 else [],
        }
        for field, values in lists.items():
            for pos, value in enumerate(values):
                terms.append({"product_id": p, "field": field, "value": value, "position": pos})
    with app.app_context():
        db.session.execute(insert(Institution), institutions)
        if inst_districts:
            db.session.execute(insert(InstitutionDistrict), inst_districts)
        for start in range(0, len(products), 1000):
            db.session.execute(insert(Product), products[start:start + 1000])
        for start in range(0, len(terms), 5000):
            db.session.execute(insert(ProductTerm), terms[start:start + 5000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            from sqlalchemy import text

            db.session.execute(text("ANALYZE"))
            db.session.commit()


def filter_sets(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed + 1)
    out = []
    for i in range(n):
        args = {}
        if rng.random() < 0.6:
            args["purpose"] = rng.choice(PURPOSES)
        if rng.random() < 0.4:
            args["guarantee_mode"] = rng.choice(MODES)
        if rng.random() < 0.25:
            args["institution_kind"] = rng.choice(["bank", "guarantee", "leasing"])
        if rng.random() < 0.35:
            args["district"] = rng.choice(DISTRICTS)
        if rng.random() < 0.4:
            args["amount"] = rng.choice([50, 100, 300, 800, 2000])
        if rng.random() < 0.3:
            args["term"] = rng.choice([6, 12, 24, 36])
        if rng.random() < 0.15:
            args["tag"] = rng.choice(TAGS)
        if rng.random() < 0.2:
            args["loan_kind"] = rng.choice(["first_loan", "renewal", "new"])
        if i % 5 == 4:
            args["q"] = rng.choice(SEARCHES)
        args["sort"] = rng.choice(SORTS)
        if rng.random() < 0.2:
            args["page"] = rng.randint(2, 4)
        out.append(args)
    return out


def time_requests(app, sets: list[dict]) -> list[tuple[dict, float, int]]:
    client = app.test_client()
    results = []
    for args in sets:
        url = "/catalog/?" + urlencode(args)
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (url, response.status_code)
        results.append((args, elapsed, response.data.count(b'data-testid="product"')))
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(label: str, times: list[float]) -> str:
    if not times:
        return f"{label}: no requests"
    return (f"{label}: n={len(times)}  p50={statistics.median(times):.1f} ms  "
            f"p95={percentile(times, 0.95):.1f} ms  max={max(times):.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None,
                        help="default: a temp SQLite file; a PostgreSQL database is wiped")
    args = parser.parse_args(argv)

    app, url = build_app(args.database_url)
    reset_schema(app, url)
    start = time.perf_counter()
    populate(app, args.products, args.seed)
    print(f"populated {args.products} products in {time.perf_counter() - start:.1f} s "
          f"({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})")
    with app.app_context():
        # the first name search of the process computes every name's pinyin keys once
        cold = time_requests(app, [{"q": "zscq"}])[0][1]
        time_requests(app, [{"purpose": "rnd"}, {"sort": "rate_asc"}])  # warm the pool
        results = time_requests(app, filter_sets(args.requests, args.seed))
    every = [t for _a, t, _n in results]
    browse = [t for a, t, _n in results if "q" not in a]
    search = [t for a, t, _n in results if "q" in a]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cores={os.cpu_count()}  load={load}  python={platform.python_version()}  "
          f"products={args.products}  requests={len(results)}")
    print(f"first name search (cold pinyin cache): {cold:.1f} ms")
    print(report("all", every))
    print(report("filters only", browse))
    print(report("with name search", search))
    empty = sum(1 for _a, _t, n in results if n == 0)
    print(f"pages with no result: {empty}/{len(results)}")
    verdict = "OK" if percentile(every, 0.95) < 200 else "ABOVE TARGET"
    print(f"target p95 < 200 ms: {verdict}")


if __name__ == "__main__":
    main()
