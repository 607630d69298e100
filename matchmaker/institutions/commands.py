"""`matchmaker core-enterprises load FILE`: the 核心企业名单库 from a JSON file (upsert by name);
`matchmaker reprice-lpr-products`: LPR-priced products at the quote in force today (run daily:
a quote entered ahead of its effective date takes effect only when this runs on or after it)."""
import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from .. import clock
from ..errors import ServiceError
from ..extensions import db
from ..matching import service as matching_service
from . import service


@click.group("core-enterprises")
def core_enterprises_group():
    """核心企业名单库 (渝金议〔2018〕1号)."""


@core_enterprises_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def load_command(path):
    """Load FILE: {"core_enterprises": [{"name", "uscc"?, "cluster"?, "aliases"?: [...]}],
    "groups"?: [{"name", "aliases"?: [...], "members": [listed names], "note"?}]}.

    Existing entries (same name) are updated and keep their aliases; all or nothing."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise click.ClickException(f"{path}: not a UTF-8 JSON file ({err})") from None
    records = data.get("core_enterprises") if isinstance(data, dict) else data
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise click.ClickException(f"{path}: expected a list of objects under \"core_enterprises\"")
    groups = data.get("groups") or [] if isinstance(data, dict) else []
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise click.ClickException(f"{path}: expected a list of objects under \"groups\"")
    try:
        # the needs that state a core enterprise read the list: ranked again by a job
        with matching_service.supply_chain_change() as change:
            created, updated = service.load_core_enterprises(None, records)
            g_created, g_updated = service.load_core_groups(None, groups)
    except ServiceError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    db.session.commit()
    click.echo(f"core enterprises: {created} created, {updated} updated; "
               f"groups: {g_created} created, {g_updated} updated; " + (
                   f"supply-chain needs queued for matching (job #{change.job.id})"
                   if change.job is not None
                   else "what matching reads of the list is unchanged: no matching job"))


@click.command("reprice-lpr-products")
@with_appcontext
def reprice_command():
    """Recompute LPR + bp products at today's LPR; published ones get a new version."""
    count = service.reprice_lpr_products(None, clock.china_today())
    db.session.commit()
    click.echo(f"LPR-priced products repriced: {count}")


COMMANDS = (core_enterprises_group, reprice_command)
