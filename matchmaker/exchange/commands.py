"""`matchmaker import FILE` and `matchmaker export`: parse arguments, call the service, commit."""
from pathlib import Path

import click
from flask.cli import with_appcontext

from .. import jobs
from ..extensions import db
from . import service
from .service import ImportRejected


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(path: Path):
    """Load a matchmaker-exchange/1 file: all of it, or nothing."""
    try:
        size = path.stat().st_size
        if size > service.max_document_bytes():  # refused before it is read into memory
            raise service.too_large(size)
        report = service.import_document(service.load_document(path.read_bytes()))
    except ImportRejected as rejected:
        db.session.rollback()
        for line in rejected.errors:  # "enterprises E-07 uscc: check character should be X"
            click.echo(line, err=True)
        click.echo(f"import rejected: {len(rejected.errors)} error(s), nothing written",
                   err=True)
        raise SystemExit(1) from None
    jobs.service.commit_and_run_here()  # every need matched before the command ends
    click.echo(f"imported {path.name}: {report.summary()}")


@click.command("export")
@click.option("--sections", help="comma-separated: institutions,products,enterprises,needs")
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="file to write (default: standard output)")
@with_appcontext
def export_command(sections: str | None, output: Path | None):
    """Write the platform's data as a matchmaker-exchange/1 document (UTF-8)."""
    try:
        wanted = service.parse_sections(sections)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--sections") from None
    text = service.dump_document(service.export_document(wanted))
    if output is None:
        # UTF-8 whatever the terminal's locale says: the file is the contract
        click.echo(text.encode("utf-8"), nl=False)  # bytes: written as they are
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


COMMANDS = [import_command, export_command]
