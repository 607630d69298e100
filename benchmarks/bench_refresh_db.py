"""The web path of the matcher: stored matches in a real database, kept fresh.

bench_matcher.py times the pure matcher; this script times what a request or a CLI run does
on top of it: loading rows, computing, and writing Match/NearMiss rows.

    .venv/bin/python -m benchmarks.bench_refresh_db --products 5000 --needs 10000 [--db URL]
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate, to_exchange


def main() -> int:
    args = _parse()
    db_url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    os.environ.setdefault("MATCHMAKER_SECRET_KEY", "bench")
    import flask_migrate
    from sqlalchemy import func, select, text

    from matchmaker import create_app
    from matchmaker.enterprises.models import Need
    from matchmaker.exchange.service import import_document
    from matchmaker.extensions import db
    from matchmaker.institutions.models import Product
    from matchmaker.matching import service
    from matchmaker.matching.models import Match

    app = create_app({"DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"})
    doc = to_exchange(generate(args.seed, args.institutions, args.products, args.enterprises,
                               args.needs), args.seed)
    # consent_to_share opens a lead at every matched institution: timed separately below,
    # on --consenting needs, so the matching figures stay the matcher's
    for need in doc["needs"]:
        need["consent_to_share"] = False
    print(f"cores={os.cpu_count()} python={sys.version.split()[0]} db={db_url.split('://')[0]} "
          f"products={args.products} needs={args.needs} seed={args.seed}")
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
        started = time.perf_counter()
        import_document(doc)
        db.session.commit()
        print(f"import + match all stored: {time.perf_counter() - started:.1f} s; "
              f"{db.session.scalar(select(func.count(Match.id)))} matches stored")

        started = time.perf_counter()
        for _ in service.refresh_all():
            pass
        db.session.commit()
        print(f"refresh_all (matchmaker match --all): {time.perf_counter() - started:.1f} s")

        popular = db.session.scalar(select(Match.product_id).group_by(Match.product_id)
                                    .order_by(func.count().desc()).limit(1))
        product = db.session.get(Product, popular)
        product.amount_max_wan = product.amount_max_wan * 2
        db.session.flush()
        started = time.perf_counter()
        count = service.refresh_product(product)
        db.session.commit()
        print(f"refresh_product after one edit (a product matching {count} needs): "
              f"{time.perf_counter() - started:.2f} s")

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
        from matchmaker.leads.models import Lead
        from matchmaker.leads.push import sync_consent_from_flag

        sample = db.session.scalars(select(Need).order_by(Need.id).limit(args.consenting)).all()
        started = time.perf_counter()
        for need in sample:
            need.consent_to_share = True
            sync_consent_from_flag(need)
        db.session.commit()
        leads = db.session.scalar(select(func.count(Lead.id)))
        print(f"consent_to_share on {len(sample)} needs: {leads} leads opened in "
              f"{time.perf_counter() - started:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    return 0


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--institutions", type=int, default=60)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--needs", type=int, default=10000)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--consenting", type=int, default=200,
                        help="needs whose consent_to_share is then turned on")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
