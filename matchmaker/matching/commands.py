"""`matchmaker match`: the matcher from the command line, printing the spec's Match output."""
import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import jobs
from ..enterprises.models import Need
from ..extensions import db
from ..institutions.models import Institution, Product
from ..jobs.models import Job
from ..jobs.runner import backend_name
from . import adapters, service
from .matcher import to_spec_json
from .models import Match


@click.command("match")
@click.option("--need", "need_ref", help="the need's ref")
@click.option("--all", "all_needs", is_flag=True, help="recompute every need (JSON Lines)")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="at most N matches per need")
@click.option("--json", "as_json", is_flag=True, help="print the spec's JSON output")
@click.option("--here", is_flag=True,
              help="--all: run every part in this process instead of the RQ workers")
@with_appcontext
def match_command(need_ref, all_needs, top, as_json, here):
    """Match one need (--need REF) or recompute all (--all); results are stored."""
    if bool(need_ref) == bool(all_needs):
        raise click.UsageError("give exactly one of --need REF or --all")
    if all_needs:
        job = _run_all(here)
        if job.status != "done":
            raise click.ClickException(f"job #{job.id} {job.status}: {job.error or ''}")
        printed = _print_stored(min(top, service.SHOWN), as_json)
        if not as_json:
            click.echo(f"{printed} needs recomputed (job #{job.id})", err=True)
        return
    need = db.session.scalar(select(Need).where(Need.ref == need_ref))
    if need is None:
        raise click.ClickException(f"no need with ref {need_ref}")
    service.refresh_need(need)
    db.session.commit()
    _print(need.ref, service.current_matcher().match(adapters.need_facts(need), top), as_json)


def _run_all(here: bool) -> Job:
    """`match --all` as the job the web would start: split into parts by need id, the parts
    run by every RQ worker there is (two workers: about half the time), or here."""
    if here or backend_name(current_app) != "rq":
        return jobs.run_now("matching.all", description="重新计算全部匹配结果（命令行）")
    job = jobs.enqueue("matching.all", {}, description="重新计算全部匹配结果（命令行）")
    db.session.commit()
    while True:
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        click.echo(f"\r{job.progress:3d}% {job.message or ''}", nl=False, err=True)
        if job.finished:
            click.echo("", err=True)
            return job
        db.session.rollback()
        time.sleep(1)


def _print_stored(top: int, as_json: bool) -> int:
    """Every need's stored shown matches, in ref order (one query, streamed)."""
    rows = db.session.execute(
        select(Need.ref, Product.ref, Institution.ref, Match.score, Match.reasons,
               Match.estimated_rate, Match.rank)
        .join(Match, Match.need_id == Need.id).join(Product, Product.id == Match.product_id)
        .join(Institution, Institution.id == Product.institution_id)
        .where(Match.rank.is_not(None), Match.rank <= top)
        .order_by(Need.ref, Match.rank).execution_options(yield_per=10_000))
    count, current, found = 0, None, []
    for need_ref, product_ref, institution_ref, score, reasons, rate, _rank in rows:
        if need_ref != current:
            if current is not None:
                _print(current, found, as_json)
                count += 1
            current, found = need_ref, []
        found.append(_Stored(product_ref, institution_ref, score, reasons, rate))
    if current is not None:
        _print(current, found, as_json)
        count += 1
    return count


class _Stored:
    __slots__ = ("estimated_rate", "institution_ref", "product_ref", "reasons", "score")

    def __init__(self, product_ref, institution_ref, score, reasons, rate):
        self.product_ref, self.institution_ref = product_ref, institution_ref
        self.score, self.reasons, self.estimated_rate = score, reasons, rate


def _print(need_ref: str, matches, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(to_spec_json(need_ref, matches), ensure_ascii=False))
        return
    click.echo(f"{need_ref}: {len(matches)} match(es)")
    for m in matches:
        rate = f"{m.estimated_rate:.2f}%" if m.estimated_rate is not None else "—"
        click.echo(f"  {m.product_ref:<12} {m.score:5.1f}  {rate:>7}  {m.reasons[0]}")


COMMANDS = [match_command]
