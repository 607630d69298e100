from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from ..accounts.permissions import register_predicates, roles_required
from ..extensions import db
from ..web.actions import attempt
from ..web.params import number_arg
from . import files, service
from .models import STATUS_LABELS, STATUSES, Job
from .permissions import PREDICATES, can_view_job

bp = Blueprint("jobs", __name__)
register_predicates(bp, PREDICATES)


def _visible_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if not can_view_job(current_user, job):
        abort(404)  # another user's job looks like no job at all
    return job


@bp.app_template_global("job_file")
def job_file(job) -> dict | None:
    """The progress box offers the file of a finished export job (templates/jobs/_progress.html)."""
    return files.ready(job)


@bp.app_context_processor
def started_job() -> dict:
    """A page reached with ?job=ID (the redirect after starting one) shows its progress."""
    job_id = number_arg("job")  # also on the error page of a bad ?job=
    if not job_id or not current_user or not current_user.is_authenticated:
        return {"started_job": None}
    job = db.session.get(Job, job_id)
    return {"started_job": job if can_view_job(current_user, job) else None}


@bp.get("/jobs/<int:job_id>/status")
@login_required
def status(job_id: int):
    """Polled by static/js/jobs.js on the page that started the job."""
    job = _visible_job(job_id)
    data = job.as_status()
    if files.ready(job):
        data["download"] = url_for(".download", job_id=job.id)
    return jsonify(data)


@bp.get("/jobs/<int:job_id>/download")
@login_required
def download(job_id: int):
    """The file an export job made, for whoever may see the job (its starter, admins)."""
    job = _visible_job(job_id)
    meta = files.ready(job)
    if meta is None:
        abort(404)
    return send_file(files.path_for(job.id), mimetype=meta["mimetype"], as_attachment=True,
                     download_name=meta["name"], max_age=0)


@bp.get("/admin/jobs")
@roles_required("admin")
def index():
    wanted = request.args.get("status")
    wanted = wanted if wanted in STATUSES else None
    page = service.jobs_page(wanted, request.args.get("page", 1, type=int))
    return render_template("jobs/index.html", page=page, counts=service.counts(),
                           status=wanted, statuses=STATUS_LABELS)


@bp.post("/admin/jobs/<int:job_id>/retry")
@roles_required("admin")
def retry(job_id: int):
    job = _visible_job(job_id)
    with attempt() as done:
        service.retry(current_user, job)
    if done:
        flash(f"任务 #{job.id} 已重新排队。", "success")
    return redirect(url_for(".index", job=job.id) if done else url_for(".index"))
