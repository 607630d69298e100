"""`matchmaker match`: the matcher from the command line, printing the spec's Match output."""
import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..enterprises.models import Need
from ..extensions import db
from . import service
from .matcher import to_spec_json


@click.command("match")
@click.option("--need", "need_ref", help="the need's ref")
@click.option("--all", "all_needs", is_flag=True, help="recompute every need (JSON Lines)")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="at most N matches per need")
@click.option("--json", "as_json", is_flag=True, help="print the spec's JSON output")
@with_appcontext
def match_command(need_ref, all_needs, top, as_json):
    """Match one need (--need REF) or recompute all (--all); results are stored."""
    if bool(need_ref) == bool(all_needs):
        raise click.UsageError("give exactly one of --need REF or --all")
    if all_needs:
        results = list(service.refresh_all())
        db.session.commit()
        for need, found in results:
            _print(need, found[:top], as_json)
        if not as_json:
            click.echo(f"{len(results)} needs, {sum(len(f) for _, f in results)} matches stored",
                       err=True)
        return
    need = db.session.scalar(select(Need).where(Need.ref == need_ref))
    if need is None:
        raise click.ClickException(f"no need with ref {need_ref}")
    found = service.refresh_need(need)
    db.session.commit()
    _print(need, found[:top], as_json)


def _print(need: Need, matches, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(to_spec_json(need.ref, matches), ensure_ascii=False))
        return
    click.echo(f"{need.ref}: {len(matches)} match(es)")
    for m in matches:
        rate = f"{m.estimated_rate:.2f}%" if m.estimated_rate is not None else "—"
        click.echo(f"  {m.product_ref:<12} {m.score:5.1f}  {rate:>7}  {m.reasons[0]}")


COMMANDS = [match_command]
