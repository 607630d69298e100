"""The bell: a user's notifications, marking them read, the daily-digest preference."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from . import service
from .forms import PreferenceForm, ReadForm
from .models import Notification

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
bp.add_app_template_global(service.unread_count, "unread_notification_count")


def _me():
    return current_user._get_current_object()


@bp.get("/")
@login_required
def index():
    page = db.paginate(service.user_notifications(current_user), per_page=20, error_out=False)
    pref = service.preference(current_user)
    return render_template("notifications/index.html", page=page, read_form=ReadForm(),
                           pref_form=PreferenceForm(daily_digest=pref.daily_digest))


@bp.post("/<int:notification_id>/open")
@login_required
def open_(notification_id):
    note = db.one_or_404(select(Notification).where(Notification.id == notification_id,
                                                    Notification.user_id == current_user.id))
    if not ReadForm().validate_on_submit():
        abort(400)
    service.mark_read(_me(), note)
    db.session.commit()
    link = note.link or ""
    # stored links are platform paths; anything else goes back to the list
    if link.startswith("/") and not link.startswith("//") and not urlsplit(link).netloc:
        return redirect(link)
    return redirect(url_for(".index"))


@bp.post("/read-all")
@login_required
def read_all():
    if not ReadForm().validate_on_submit():
        abort(400)
    count = service.mark_all_read(_me())
    db.session.commit()
    flash(f"已将{count}条消息标为已读。" if count else "没有未读消息。", "success")
    return redirect(url_for(".index"))


@bp.post("/preferences")
@login_required
def preferences():
    form = PreferenceForm()
    if not form.validate_on_submit():
        abort(400)
    service.set_daily_digest(_me(), bool(form.daily_digest.data))
    db.session.commit()
    flash("已开启每日邮件摘要。" if form.daily_digest.data else "已关闭每日邮件摘要。", "success")
    return redirect(url_for(".index"))
