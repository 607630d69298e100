"""`matchmaker backup` and `matchmaker restore`: the whole database to one file and back.

SQLite: the online backup API (sqlite3 `Connection.backup`), a consistent copy while the app
runs. PostgreSQL: `pg_dump --format=custom` and `pg_restore` (the PostgreSQL client tools, of
the server's major version or newer), the password passed in PGPASSWORD, never on the command
line. A restore goes into an empty database only (create it, restore, then point the app at
it): it never mixes a backup with live rows.
"""
import os
import sqlite3
import subprocess
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from . import clock


class BackupError(Exception):
    pass


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq URL without the password, and the environment carrying it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{args[0]} not found: install the PostgreSQL client tools") from None
    if done.returncode:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[:500]}")


def _sqlite_copy(source_path, target_path) -> None:
    """Copy one SQLite database into another with the online backup API (the source read-only)."""
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(target_path)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def backup(url: str, path: Path) -> Path:
    """Write the database at `url` to `path` (created; an existing file is refused)."""
    if path.exists():
        raise BackupError(f"{path} exists already")
    path.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(parsed.database, path)
        return path
    if parsed.get_backend_name() == "postgresql":
        dsn, env = _libpq(url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
              f"--file={path}", dsn], env)
        return path
    raise BackupError(f"no backup for {parsed.get_backend_name()} databases")


def table_names(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(url: str, path: Path) -> None:
    """Load the backup at `path` into the empty database at `url`."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    if table_names(url):
        raise BackupError("the database is not empty: restore into a new, empty database")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(path, parsed.database)
        return
    if parsed.get_backend_name() == "postgresql":
        dsn, env = _libpq(url)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
              f"--dbname={dsn}", str(path)], env)
        return
    raise BackupError(f"no restore for {parsed.get_backend_name()} databases")


def default_path(url: str) -> Path:
    suffix = "sqlite3" if make_url(url).get_backend_name() == "sqlite" else "dump"
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    return Path(current_app.instance_path) / "backups" / f"matchmaker-{stamp}.{suffix}"


@click.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="file to write (default: instance/backups/matchmaker-DATE-TIME.sqlite3|dump)")
@with_appcontext
def backup_command(output: Path | None):
    """Back up the whole database to one file (consistent while the app runs)."""
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        written = backup(url, output or default_path(url))
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"backup written: {written} ({written.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(path: Path):
    """Restore a backup into the configured database, which must be empty."""
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"restored {path}")


COMMANDS = [backup_command, restore_command]
