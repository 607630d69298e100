"""Exit 0 when the database URL answers; with --reset, drop and recreate its public schema."""
import sys

import sqlalchemy as sa


def main() -> int:
    url = sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT 1"))
            if "--reset" in sys.argv:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
    except Exception as err:  # noqa: BLE001 (any failure means "not reachable" to make)
        print(f"database not reachable: {type(err).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
