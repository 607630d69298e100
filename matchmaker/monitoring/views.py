"""监测督导 pages: the indicators with charts and tables, drill-down to the leads, targets,
off-platform activities. A district organizer's district is forced on every page."""
import json
from datetime import date
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from .. import clock, vocab
from ..accounts.permissions import roles_required
from ..enterprises.permissions import can_view_enterprise
from ..events.figures import add_months
from ..extensions import db
from ..institutions.models import Institution
from ..jobs import service as jobs
from ..web.actions import attempt
from . import indicators as ind
from . import returns as filing
from . import scorecard as scoring
from . import service, snapshots
from .forms import ActivityForm, CriterionForm, ReturnForm, TargetForm
from .models import REPORT_KINDS, Activity, BankReturn, Report, ScoreCriterion, Target
from .permissions import district_of, visible_activities, visible_reports

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")


def _period() -> ind.Period:
    return ind.Period.parse(request.args.get("kind"), request.args.get("year"),
                            request.args.get("number"))


def _slice() -> ind.Slice:
    """The filters from the query string; the organizer's own district always wins."""
    args = request.args

    def code(name, vocabulary):
        value = args.get(name) or None
        return value if value in vocab.labels(vocabulary) else None

    institution = args.get("institution", type=int)
    return ind.Slice(district=district_of(current_user) or code("district", "districts"),
                     institution_id=institution if institution and institution > 0 else None,
                     institution_kind=code("institution_kind", "institution_kinds"),
                     cluster=code("cluster", "clusters_33618"),
                     loan_kind=code("loan_kind", "loan_kinds"),
                     size=code("size", "sizes"))


def _filters(period: ind.Period, where: ind.Slice) -> dict:
    """The query arguments that reproduce this view (for links)."""
    out = {"kind": period.kind, "year": period.year, "number": period.number}
    for name in ("institution_kind", "cluster", "loan_kind", "size"):
        if getattr(where, name):
            out[name] = getattr(where, name)
    if where.institution_id:
        out["institution"] = where.institution_id
    if where.district and not district_of(current_user):
        out["district"] = where.district
    return out


def _chart(result: ind.Indicators) -> str:
    months = result.months
    return json.dumps({
        "year": result.period.year,
        "months": [f"{m}月" for m, *_ in months],
        "amount": [float(a) for _, a, _, _, _ in months],
        "amount_last": [float(a) for _, _, _, a, _ in months],
        "count": [n for _, _, n, _, _ in months],
        "count_last": [n for _, _, _, _, n in months]}, ensure_ascii=False)


def _names(result: ind.Indicators) -> dict:
    ids = [key for key, _ in result.slices["institution"]]
    institutions = dict(db.session.execute(
        select(Institution.id, Institution.name).where(Institution.id.in_(ids))).all()) if ids else {}
    return {"district": lambda k: k, "institution": lambda k: institutions.get(k, f"#{k}"),
            "institution_kind": lambda k: vocab.label("institution_kinds", k),
            "cluster": lambda k: vocab.label("clusters_33618", k) if k else "未归集群",
            "loan_kind": lambda k: vocab.label("loan_kinds", k),
            "size": lambda k: vocab.label("sizes", k) if k != "unknown" else "规模待定"}


@bp.get("/")
@roles_required("organizer")
def index():
    period, where = _period(), _slice()
    max_age = snapshots.max_age_setting()
    with attempt():  # a snapshot computed here is stored for the other workers
        view = snapshots.read(period, where, max_age=max_age)
    result = view.figures
    institutions = db.session.execute(select(Institution.id, Institution.name)
                                      .order_by(Institution.name)).all()
    return render_template(
        "monitoring/index.html", r=result, checks=service.checks(result),
        chart=_chart(result), names=_names(result), filters=_filters(period, where),
        institutions=institutions, own_district=district_of(current_user),
        computed_at=view.computed_at, updating=view.updating,
        refresh_minutes=max(1, max_age // 60),
        computed_today=clock.china_date(view.computed_at) == clock.china_today(),
        slice_labels=ind.SLICE_LABELS, period_kinds=ind.PERIOD_LABELS)


@bp.get("/drill")
@roles_required("organizer")
def drill():
    period, where = _period(), _slice()
    figure = request.args.get("figure", "funded")
    if figure not in ind.FIGURES:
        abort(404)
    dimension = request.args.get("dimension")
    key = request.args.get("key")
    leads = ind.drill(period, where, figure, key, dimension)
    return render_template("monitoring/drill.html", leads=leads, period=period,
                           figure_label=ind.FIGURES[figure], filters=_filters(period, where),
                           can_view_enterprise=can_view_enterprise, dimension=dimension,
                           key=key, slice_labels=ind.SLICE_LABELS)


@bp.get("/targets")
@roles_required("organizer", "admin")
def targets():
    return render_template("monitoring/targets.html", targets=service.targets())


@bp.route("/targets/<target_key>", methods=["GET", "POST"])
@roles_required("admin")
def edit_target(target_key):
    target = db.get_or_404(Target, target_key)
    form = TargetForm(obj=target)
    if form.validate_on_submit():
        with attempt(form, "value") as done:
            service.update_target(current_user, target, form.value.data, form.source.data)
        if done:
            flash(f"“{target.label}”目标值已更新。", "success")
            return redirect(url_for(".targets"))
    status = 400 if form.is_submitted() else 200
    return render_template("monitoring/target_form.html", form=form, target=target), status


@bp.route("/activities", methods=["GET", "POST"])
@roles_required("organizer")
def activities():
    form = ActivityForm()
    if current_user.district:
        form.district.choices = [("", current_user.district), (current_user.district, current_user.district)]
    if form.validate_on_submit():
        with attempt(form, "title") as done:
            service.record_activity(
                current_user, kind=form.kind.data, title=form.title.data, day=form.day.data,
                enterprises=form.enterprises.data, institutions=form.institutions.data or 0,
                attendees=form.attendees.data, district=form.district.data or None)
        if done:
            flash("对接活动已登记，计入服务企业家次。", "success")
            return redirect(url_for(".activities"))
    rows = db.session.scalars(visible_activities(current_user)
                              .order_by(Activity.day.desc()).limit(200)).all()
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("monitoring/activities.html", form=form, activities=rows), status


# --- the banks' monthly return, the 督办 list, the scorecard -----------------------------------

def _months_open() -> list[tuple[str, str]]:
    last = filing.month_due()
    months = [add_months(last, -n) for n in range(3)]
    return [(m.isoformat(), f"{m.year}年{m.month}月") for m in months]


@bp.route("/returns", methods=["GET", "POST"])
@roles_required("bank_admin")
def bank_returns():
    institution = current_user.institution
    if institution.kind != "bank":
        abort(404)  # the 制造业贷款 return is the banks' (001 五(五))
    form = ReturnForm()
    form.month.choices = _months_open()
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in filing.FIELDS}
        with attempt(form, "mfg_balance_wan") as done:
            filing.file_return(current_user, institution,
                               date.fromisoformat(form.month.data), **values)
        if done:
            flash("月报已报送。", "success")
            return redirect(url_for(".bank_returns"))
    rows = db.session.scalars(select(BankReturn).where(
        BankReturn.institution_id == institution.id)
        .order_by(BankReturn.month.desc()).limit(24)).all()
    month = filing.month_due()
    status = 400 if form.is_submitted() else 200
    return render_template("monitoring/returns.html", form=form, rows=rows, month=month,
                           due=filing.due_date(month), filed=filing.return_for(
                               institution.id, month)), status


@bp.get("/returns/overdue")
@roles_required("organizer")
def overdue_returns():
    month = filing.month_due()
    return render_template("monitoring/overdue.html", rows=filing.overdue(
        district_of(current_user)), month=month, due=filing.due_date(month))


@bp.get("/scorecard")
@roles_required("organizer", "admin")
def scorecard():
    today = clock.china_today()
    default = (today.month - 1) // 3 or 4
    year = request.args.get("year", type=int) or (today.year if default != 4 or today.month > 3
                                                  else today.year - 1)
    period = ind.Period.parse("quarter", year, request.args.get("number", type=int) or default)
    return render_template("monitoring/scorecard.html", cards=scoring.scorecard(period),
                           criteria=scoring.criteria(), period=period)


@bp.route("/criteria/<criterion_key>", methods=["GET", "POST"])
@roles_required("admin")
def edit_criterion(criterion_key):
    criterion = db.get_or_404(ScoreCriterion, criterion_key)
    form = CriterionForm(obj=criterion)
    if form.validate_on_submit():
        with attempt(form, "weight") as done:
            service.update_criterion(current_user, criterion, form.weight.data,
                                     form.source.data)
        if done:
            flash(f"“{criterion.label}”权重已更新。", "success")
            return redirect(url_for(".scorecard"))
    status = 400 if form.is_submitted() else 200
    return render_template("monitoring/criterion_form.html", form=form,
                           criterion=criterion), status


# --- reports to 市经信委 -----------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/reports")
@roles_required("organizer")
def reports():
    rows = db.session.scalars(visible_reports(current_user)
                              .order_by(Report.period_start.desc(), Report.id.desc())
                              .limit(100)).all()
    last = filing.month_due()
    return render_template("monitoring/reports.html", rows=rows, month=last)


@bp.post("/reports")
@roles_required("organizer")
def generate_report():
    kind = request.form.get("kind")
    try:
        start = date.fromisoformat(request.form.get("start") or "")
    except ValueError:
        start = None
    if kind not in REPORT_KINDS or start is None or not 2000 <= start.year <= 2100:
        flash("请选择报告类型和月份", "danger")
        return redirect(url_for(".reports"))
    with attempt() as done:
        started = jobs.enqueue("monitoring.report", {
            "kind": kind, "start": start.replace(day=1).isoformat(),
            "district": current_user.district}, actor=current_user._get_current_object(),
            description=f"生成监测报告（{start:%Y-%m}）")
    if not done:
        return redirect(url_for(".reports"))
    flash("已开始生成报告，完成后出现在下表。", "info")
    return redirect(url_for(".reports", job=started.id))


@bp.get("/reports/<int:report_id>/download")
@roles_required("organizer")
def download_report(report_id):
    report = db.one_or_404(visible_reports(current_user).where(Report.id == report_id))
    return Response(report.content, mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(report.filename)}"})
