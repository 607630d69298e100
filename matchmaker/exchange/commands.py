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
@click.option("--consent-basis", metavar="TEXT",
              help="the basis of the consents the file records on the enterprises' behalf "
                   "(needs with consent_to_share true), e.g. the signed forms' reference; "
                   "required when the file turns consent_to_share on")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="language of the error reasons (the field path is printed either way)")
@with_appcontext
def import_command(path: Path, consent_basis: str | None, lang: str):
    """Load a matchmaker-exchange/1 file: all of it, or nothing."""
    try:
        size = path.stat().st_size
        if size > service.max_document_bytes():  # refused before it is read into memory
            raise service.too_large(size)
        report = service.import_document(service.load_document(path.read_bytes()),
                                         consent_basis, basis_required=True)
    except ImportRejected as rejected:
        db.session.rollback()
        for problem in rejected.problems:
            # "enterprises E-07 uscc: check character should be X" (the spec's line)
            click.echo(problem.line_zh if lang == "zh" else problem.line, err=True)
        click.echo(f"import rejected: {len(rejected.errors)} error(s), nothing written",
                   err=True)
        raise SystemExit(1) from None
    jobs.service.commit_and_run_here()  # every need matched before the command ends
    click.echo(f"imported {path.name}: {report.summary()}")
    if report.consents:
        click.echo(f"consent recorded on behalf of the enterprises for {len(report.consents)} "
                   "need(s); their users are notified", err=True)


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
