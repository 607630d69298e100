"""`matchmaker seed`: the demo platform. seeds/demo.json goes through the exchange import (so a
second run changes nothing); seeds/users.json lists the demo logins, created when missing.

users.json: {"users": [{"email", "password", "name", "role", and per role "enterprise_ref",
"institution_ref", "district" or "organization"}]}.
"""
import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from . import ROOT, clock, jobs, vocab
from .accounts.models import BANK_ROLES, ROLE_LABELS, ROLES, User
from .accounts.service import create_user, find_user_by_email
from .demo_scenes import seed_scenes
from .enterprises.models import Enterprise
from .errors import ServiceError
from .exchange.service import ImportRejected, import_document, load_document
from .extensions import db
from .institutions.models import Institution
from .institutions.service import load_core_enterprises, load_core_groups

# the demo's needs share with matched banks (consent_to_share): fictitious firms, whose
# consent the seed records on their behalf like any import, naming this basis
DEMO_CONSENT_BASIS = "演示数据：seeds/demo.json 中虚构企业的授权（非真实授权书）"

USER_FIELDS = ("email", "password", "name", "role", "enterprise_ref", "institution_ref",
               "district", "organization")


def seed_users(entries) -> list[tuple[dict, bool]]:
    """Create each listed user whose email is not registered yet (existing ones are left as
    they are); returns (entry, created). ImportRejected names every bad entry, before any
    user is written."""
    if not isinstance(entries, list):
        raise ImportRejected(["users: must be a list"])
    planned, errors = [], []
    for index, entry in enumerate(entries, 1):
        fields, problems = _user_fields(entry)
        label = entry.get("email") if isinstance(entry, dict) else None
        label = label if isinstance(label, str) and label else f"#{index}"
        errors += [f"users {label} {name}: {reason}" for name, reason in problems]
        planned.append((entry, fields))
    if errors:
        raise ImportRejected(errors)
    return [(entry, _create_missing(entry, fields)) for entry, fields in planned]


def _create_missing(entry: dict, fields: dict) -> bool:
    if find_user_by_email(entry["email"]):
        return False
    enterprise_id = fields.get("enterprise_id")
    if enterprise_id and not db.session.scalar(select(User.id).where(
            User.enterprise_id == enterprise_id, User.is_enterprise_admin)):
        fields["is_enterprise_admin"] = True  # the first user of the company may invite others
    create_user(email=entry["email"], name=entry["name"], password=entry["password"],
                role=entry["role"], **fields)
    return True


def _user_fields(entry) -> tuple[dict, list[tuple[str, str]]]:
    """The User columns an entry sets, and its problems as (field, reason)."""
    if not isinstance(entry, dict):
        return {}, [("entry", "must be an object")]
    problems = [(name, "unknown field") for name in entry if name not in USER_FIELDS]
    for name in ("email", "password", "name", "role"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            problems.append((name, "required"))
    role, fields = entry.get("role"), {}
    if isinstance(role, str) and role not in ROLES:
        problems.append(("role", f"unknown role '{role}' (one of {', '.join(ROLES)})"))
    for name, model, roles, column in (
            ("enterprise_ref", Enterprise, ("enterprise",), "enterprise_id"),
            ("institution_ref", Institution, BANK_ROLES, "institution_id")):
        ref = entry.get(name)
        if role in roles and ref is None:
            problems.append((name, f"required for role {role}"))
        elif ref is not None and role not in roles:
            problems.append((name, f"only for role {' or '.join(roles)}"))
        elif ref is not None:
            row_id = db.session.scalar(select(model.id).where(model.ref == ref))
            if row_id is None:
                problems.append((name, f"unknown ref '{ref}'"))
            fields[column] = row_id
    if entry.get("district") is not None:
        fields["district"] = vocab.district_name(str(entry["district"]))
        if fields["district"] is None:
            problems.append(("district", f"unknown district '{entry['district']}'"))
    if entry.get("organization") is not None:
        fields["organization"] = str(entry["organization"])
    return fields, problems


def _user_entries(path: Path):
    doc = load_document(path.read_bytes())
    if not isinstance(doc, dict) or set(doc) != {"users"}:
        raise ImportRejected(['users.json: must be {"users": [...]}'])
    return doc["users"]


@click.command("seed")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT / "seeds", show_default=True,
              help="folder holding demo.json and users.json")
@with_appcontext
def seed_command(directory: Path):
    """Load the demo data and create the demo logins (idempotent)."""
    demo, users_file = directory / "demo.json", directory / "users.json"
    core_file = directory / "core_enterprises.json"
    if not demo.is_file():
        raise click.ClickException(f"{demo} not found")
    try:
        # the core-enterprise list first: the demo's supply-chain needs name its members
        if core_file.is_file():
            core = json.loads(core_file.read_text(encoding="utf-8"))
            load_core_enterprises(None, core["core_enterprises"])
            load_core_groups(None, core.get("groups") or [])
        report = import_document(load_document(demo.read_bytes()), DEMO_CONSENT_BASIS)
        users = seed_users(_user_entries(users_file)) if users_file.is_file() else []
        jobs.service.commit_and_run_here()  # the matches the scenes push from
    except ImportRejected as rejected:
        db.session.rollback()
        for line in rejected.errors:
            click.echo(line, err=True)
        raise SystemExit(1) from None
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(f"{core_file}: {err.message}") from None
    try:
        # the 白名单 and 对接会 scenes need the demo logins: they act as those users
        scenes = seed_scenes(clock.china_today()) if users else None
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(f"demo scenes: {err.message}") from None
    db.session.commit()
    click.echo(f"demo data: {report.summary()}")
    if scenes is not None:
        click.echo(scenes.summary())
    _print_logins(users)


def _print_logins(users: list[tuple[dict, bool]]) -> None:
    # demo accounts only: printing their passwords is the point (make demo shows them)
    if not users:
        click.echo("no users.json: no demo logins created")
        return
    created = sum(1 for _, new in users if new)
    click.echo(f"demo logins ({created} created, {len(users) - created} already there):")
    width = max(len(entry["email"]) for entry, _ in users)
    pw_width = max(len(entry["password"]) for entry, _ in users)
    click.echo(f"  {'email'.ljust(width)}  {'password'.ljust(pw_width)}  role")
    for entry, _ in users:
        click.echo(f"  {entry['email'].ljust(width)}  {entry['password'].ljust(pw_width)}  "
                   f"{entry['role']} ({ROLE_LABELS[entry['role']]})")


COMMANDS = [seed_command]
