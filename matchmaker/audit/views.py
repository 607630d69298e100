from datetime import UTC, datetime, timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import select

from .. import clock
from ..accounts.models import User
from ..accounts.permissions import roles_required
from ..extensions import db
from ..web.params import MAX_ID
from .labels import ACTION_LABELS, action_label
from .models import AuditEntry

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _day(value: str | None):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date() if value else None
    except ValueError:
        return None


@bp.get("/")
@roles_required("admin")
def index():
    args = request.args
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    errors = {}
    if args.get("actor"):
        # autoescape: "_" and "%" are common in addresses and must not act as LIKE wildcards
        query = query.join(User, AuditEntry.actor_id == User.id).where(
            User.email.icontains(args["actor"].strip(), autoescape=True))
    if args.get("subject_type"):
        query = query.where(AuditEntry.subject_type == args["subject_type"])
    if args.get("subject_id"):
        if args["subject_id"].isascii() and args["subject_id"].isdigit() \
                and int(args["subject_id"]) <= MAX_ID:
            query = query.where(AuditEntry.subject_id == int(args["subject_id"]))
        else:
            errors["subject_id"] = "对象编号应为数字"
    if args.get("action"):
        query = query.where(AuditEntry.action == args["action"])
    for name, bound in (("date_from", "start"), ("date_to", "end")):
        day = _day(args.get(name))
        if args.get(name) and day is None:
            errors[name] = "日期格式应为 YYYY-MM-DD"
        elif day and bound == "start":
            query = query.where(AuditEntry.created_at >= _utc(day))
        elif day:
            query = query.where(AuditEntry.created_at < _utc(day + timedelta(days=1)))
    page = db.paginate(query, per_page=50, error_out=False)
    subject_types = db.session.scalars(select(AuditEntry.subject_type).distinct()
                                       .order_by(AuditEntry.subject_type)).all()
    return render_template("audit/index.html", page=page, errors=errors,
                           subject_types=subject_types, actions=ACTION_LABELS,
                           action_label=action_label)


def _utc(day) -> datetime:
    return clock.china_midnight(day).astimezone(UTC)
