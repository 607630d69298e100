"""The admin's upload page: upload → preview of every change and error → confirm → import."""

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_login import current_user

from .. import jobs
from ..accounts.permissions import roles_required
from ..web.actions import attempt
from . import service
from .forms import ConfirmForm, UploadForm
from .service import ImportRejected, ImportReport

bp = Blueprint("exchange", __name__, url_prefix="/admin/exchange")
PENDING = "exchange_upload"  # session key: the token of this admin's upload awaiting confirmation


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("exchange/upload.html", form=form), status
    raw = form.document.data.read()
    filename = form.document.data.filename
    report = _report_of(raw)
    if report.problems or not report.changed:
        return _preview(report, filename, None)
    token = service.store_upload(raw)
    session[PENDING] = token
    return _preview(report, filename, ConfirmForm(token=token))


def _report_of(raw: bytes) -> ImportReport:
    try:
        return service.preview_document(service.load_document(raw))
    except ImportRejected as rejected:
        return ImportReport(problems=rejected.problems)


@bp.post("/confirm")
@roles_required("admin")
def confirm():
    form = ConfirmForm()
    token = form.token.data
    raw = None
    valid = form.validate_on_submit()
    if token == session.get(PENDING) and (valid or not form.token.errors):
        raw = service.read_upload(token)
    if raw is None:
        flash("上传的文件已失效或已导入，请重新上传。", "warning")
        return redirect(url_for(".upload"))
    basis = (form.consent_basis.data or "").strip() or None
    if valid:  # consents recorded on the enterprises' behalf name their basis
        report = _report_of(raw)
        missing = service.consent_basis_problem(report, basis)
        if missing is not None:
            form.consent_basis.errors = [missing.zh]
            valid = False
    if not valid:
        return _preview(_report_of(raw), None, form)
    session.pop(PENDING, None)
    # a city-size file takes longer than a web worker may: the import is a job, its progress
    # (and its outcome, or every error) shown on the upload page it returns to
    with attempt() as done:
        started = jobs.enqueue("exchange.import", {"token": token, "consent_basis": basis},
                               actor=current_user._get_current_object(),
                               description="导入交换文件")
    if not done:
        return redirect(url_for(".upload"))
    flash("已开始导入：进度和结果显示在下方。", "info")
    return redirect(url_for(".upload", job=started.id))


@bp.post("/export")
@roles_required("admin")
def export():
    """Start the export as a job; the upload page shows its progress, then the download."""
    with attempt() as done:
        started = jobs.enqueue("exchange.export", {}, actor=current_user._get_current_object(),
                               description="导出交换文件")
    if not done:
        return redirect(url_for(".upload"))
    flash("已开始导出：完成后可在下方下载文件。", "info")
    return redirect(url_for(".upload", job=started.id))


def _preview(report: ImportReport, filename: str | None, confirm_form: ConfirmForm | None):
    failed = report.problems or (confirm_form is not None and confirm_form.errors)
    return render_template("exchange/preview.html", report=report, filename=filename,
                           form=confirm_form, sections=service.SECTIONS,
                           section_labels=service.SECTION_LABELS), 400 if failed else 200
