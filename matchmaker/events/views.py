"""银企对接会 pages: the organizer's event pages (setup, invitations, registrations, requests,
the schedule, check-in, figures) and the participants' pages (registration, suggested
partners, requests, agenda with .ics and QR, results)."""
import logging
from datetime import datetime, time

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..accounts.permissions import register_predicates, roles_required
from ..enterprises.models import Need
from ..enterprises.permissions import visible_needs
from ..errors import ServiceError
from ..extensions import db
from ..institutions.models import Institution
from ..web.actions import attempt
from . import agenda as agenda_files
from . import figures, meetings, service
from .forms import (
    AssignMeetingForm,
    CheckInForm,
    ConfirmForm,
    EnterpriseRegistrationForm,
    EventForm,
    InstitutionRegistrationForm,
    InviteForm,
    MoveForm,
    MustMeetForm,
    RequestForm,
    ResultForm,
    SlotsForm,
    TablesForm,
)
from .models import (
    INVITATION_SOURCE_LABELS,
    REQUEST_STATUS_LABELS,
    Event,
    EventSlot,
    EventTable,
    Meeting,
    MeetingRequest,
    Registration,
)
from .permissions import (
    EVENT_ROLES,
    PARTICIPANT_ROLES,
    PREDICATES,
    can_cancel_registration,
    can_respond_request,
    can_withdraw_request,
    managed_events,
    meeting_side,
    visible_events,
    visible_meetings,
    visible_registrations,
    visible_requests,
)

log = logging.getLogger(__name__)
bp = Blueprint("events", __name__, url_prefix="/events")
register_predicates(bp, PREDICATES)
bp.add_app_template_global(service.local, "event_local")

ALL = EVENT_ROLES
PARTICIPANTS = PARTICIPANT_ROLES


def _me():
    return current_user._get_current_object()


def _event(event_id: int) -> Event:
    return db.one_or_404(visible_events(current_user).where(Event.id == event_id))


def _managed(event_id: int) -> Event:
    return db.one_or_404(managed_events(current_user).where(Event.id == event_id))


def _registration(event_id: int, registration_id: int) -> Registration:
    return db.one_or_404(visible_registrations(current_user).where(
        Registration.id == registration_id, Registration.event_id == event_id))


def _request(event_id: int, request_id: int) -> MeetingRequest:
    return db.one_or_404(visible_requests(current_user).where(
        MeetingRequest.id == request_id, MeetingRequest.event_id == event_id))


def _meeting(event_id: int, meeting_id: int) -> Meeting:
    return db.one_or_404(visible_meetings(current_user).where(
        Meeting.id == meeting_id, Meeting.event_id == event_id))


def _form_errors(form) -> str:
    return "；".join(e for errors in form.errors.values() for e in errors)


def _to_show(event: Event):
    return redirect(url_for(".show", event_id=event.id))


def _slot_label(slot: EventSlot) -> str:
    return f"{service.local(slot.starts_at):%H:%M}–{service.local(slot.ends_at):%H:%M}"


# --- lists and the event page ---------------------------------------------------------------

@bp.get("/")
@roles_required(*ALL)
def index():
    query = visible_events(current_user).order_by(Event.day.desc(), Event.id.desc())
    page = db.paginate(query, per_page=20, error_out=False)
    mine = {}
    if current_user.role in PARTICIPANTS:
        mine = {r.event_id: r for r in db.session.scalars(
            visible_registrations(current_user).where(
                Registration.event_id.in_([e.id for e in page.items]),
                Registration.status != "cancelled"))}
    return render_template("events/index.html", page=page, mine=mine)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("organizer")
def new():
    form = EventForm()
    if request.method == "GET":
        form.district.data = current_user.district or ""
    if form.validate_on_submit():
        with attempt(form, "title") as done:
            event = service.create_event(_me(), **form.values())
        if not done:
            return render_template("events/form.html", form=form, event=None), 400
        flash("活动已创建。请设置洽谈时段和桌数，然后发布报名页。", "success")
        return _to_show(event)
    return render_template("events/form.html", form=form, event=None), (
        400 if form.is_submitted() else 200)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@roles_required("organizer")
def edit(event_id):
    event = _managed(event_id)
    form = EventForm()
    if request.method == "GET":
        form.fill(event)
    if form.validate_on_submit():
        with attempt(form, "title") as done:
            service.update_event(_me(), event, **form.values())
        if not done:
            return render_template("events/form.html", form=form, event=event), 400
        flash("活动信息已保存。", "success")
        return _to_show(event)
    return render_template("events/form.html", form=form, event=event), (
        400 if form.is_submitted() else 200)


@bp.get("/<int:event_id>")
@roles_required(*ALL)
def show(event_id):
    event = _event(event_id)
    if current_user.role == "organizer":
        return _render_manage(event)
    registration = service.own_registration(current_user, event)
    return render_template(
        "events/public.html", event=event, registration=registration,
        places={k: service.registered_count(event, k) for k in ("enterprise", "institution")},
        cancel_form=ConfirmForm(), now=clock.now(), today=clock.china_today())


def _render_manage(event: Event, status: int = 200, **forms):
    slots_form = forms.get("slots") or SlotsForm(formdata=None)
    if not slots_form.is_submitted() and event.day:
        last = event.slots[-1].ends_at if event.slots else None
        slots_form.first_start.data = (service.local(last).replace(tzinfo=None) if last
                                       else datetime.combine(event.day, time(9)))
    invite_form = forms.get("invite") or InviteForm(formdata=None)
    invite_form.whitelist_id.choices = [(0, "请选择白名单")] + service.whitelist_choices(_me())
    return render_template(
        "events/manage.html", event=event, slots_form=slots_form,
        tables_form=forms.get("tables") or TablesForm(formdata=None, count=len(event.tables)
                                                      or None),
        invite_form=invite_form, confirm_form=ConfirmForm(),
        figures=figures.event_figures(event), year=figures.year_target(),
        invited=service.invitation_counts(event), slot_label=_slot_label,
        source_labels=INVITATION_SOURCE_LABELS), status


@bp.post("/<int:event_id>/slots")
@roles_required("organizer")
def add_slots(event_id):
    event = _managed(event_id)
    form = SlotsForm()
    if not form.validate_on_submit():
        return _render_manage(event, 400, slots=form)
    with attempt(form, "first_start") as done:
        slots = service.add_slots(_me(), event, **form.values())
    if not done:
        return _render_manage(event, 400, slots=form)
    flash(f"已添加{len(slots)}个洽谈时段。", "success")
    return _to_show(event)


@bp.post("/<int:event_id>/slots/<int:slot_id>/delete")
@roles_required("organizer")
def remove_slot(event_id, slot_id):
    event = _managed(event_id)
    slot = db.one_or_404(select(EventSlot).where(EventSlot.id == slot_id,
                                                 EventSlot.event_id == event.id))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        service.remove_slot(_me(), event, slot)
    if done:
        flash("已删除该时段。", "success")
    return _to_show(event)


@bp.post("/<int:event_id>/tables")
@roles_required("organizer")
def set_tables(event_id):
    event = _managed(event_id)
    form = TablesForm()
    if not form.validate_on_submit():
        return _render_manage(event, 400, tables=form)
    with attempt(form, "count") as done:
        service.set_tables(_me(), event, form.count.data)
    if not done:
        return _render_manage(event, 400, tables=form)
    flash(f"洽谈桌数已设为{form.count.data}张。", "success")
    return _to_show(event)


@bp.post("/<int:event_id>/publish")
@roles_required("organizer")
def publish(event_id):
    event = _managed(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        service.publish_event(_me(), event)
    if done:
        flash("报名页已发布，企业和金融机构现在可以报名。下一步：邀请参会方。", "success")
    return _to_show(event)


@bp.post("/<int:event_id>/invite")
@roles_required("organizer")
def invite(event_id):
    event = _managed(event_id)
    form = InviteForm()
    form.whitelist_id.choices = [(0, "")] + service.whitelist_choices(_me())
    if not form.validate_on_submit():
        return _render_manage(event, 400, invite=form)
    with attempt(form, "source") as done:
        report = service.invite(_me(), event, form.source.data, form.whitelist_id.data or None)
    if not done:
        return _render_manage(event, 400, invite=form)
    flash(f"已邀请{report.enterprises}家企业、{report.institutions}家金融机构"
          f"（{report.skipped}家此前已邀请或已报名，未重复通知）。", "success")
    return _to_show(event)


# --- registrations --------------------------------------------------------------------------

@bp.get("/<int:event_id>/registrations")
@roles_required("organizer")
def registrations(event_id):
    event = _managed(event_id)
    kind = request.args.get("kind") if request.args.get("kind") in ("enterprise",
                                                                    "institution") else None
    status = request.args.get("status") if request.args.get("status") in (
        "registered", "waitlisted", "cancelled") else None
    page = db.paginate(service.registrations(event, kind, status), per_page=30,
                       error_out=False)
    return render_template("events/registrations.html", event=event, page=page, kind=kind,
                           status=status, cancel_form=ConfirmForm())


def _registration_form(event: Event):
    slots = [(s.id, _slot_label(s)) for s in event.slots]
    if current_user.role == "enterprise":
        form = EnterpriseRegistrationForm()
        needs = db.session.scalars(visible_needs(current_user).where(
            Need.status.in_(service.OPEN_NEED_STATUSES)).order_by(Need.created_at.desc()))
        form.need_id.choices = [
            (n.id, f"{n.ref} · {_need_label(n)}") for n in needs]
    else:
        form = InstitutionRegistrationForm()
        form.manager_ids.choices = [(u.id, f"{u.name}（{u.role_label}）") for u in
                                    service.institution_managers(current_user.institution_id)]
        form.product_ids.choices = [(p.id, p.name) for p in
                                    service.institution_products(current_user.institution_id)]
        if request.method == "GET":
            form.manager_ids.data = [current_user.id] if current_user.role == "bank_manager" else []
    form.unavailable.choices = slots
    return form


def _need_label(need: Need) -> str:
    from .. import vocab

    return (f"{vocab.label('purposes', need.purpose)} {need.amount_wan.normalize():f}万元 "
            f"{need.term_months}个月")


@bp.route("/<int:event_id>/register", methods=["GET", "POST"])
@roles_required(*PARTICIPANTS)
def register(event_id):
    event = _event(event_id)
    if service.own_registration(current_user, event) is not None:
        flash("贵方已报名本次对接会。", "info")
        return _to_show(event)
    form = _registration_form(event)
    if form.validate_on_submit():
        with attempt(form, "unavailable") as done:
            registration = _register(event, form)
        if not done:
            return render_template("events/register.html", event=event, form=form), 400
        flash("报名成功！" if registration.status == "registered" else
              "名额已满，您已进入候补名单；有人取消时将按报名先后转正并通知您。",
              "success" if registration.status == "registered" else "warning")
        return _to_show(event)
    return render_template("events/register.html", event=event, form=form), (
        400 if form.is_submitted() else 200)


def _register(event: Event, form) -> Registration:
    if current_user.role == "enterprise":
        need = db.one_or_404(visible_needs(current_user).where(Need.id == form.need_id.data))
        return service.register_enterprise(_me(), event, need, form.unavailable.data,
                                           consent=form.consent.data)
    institution = db.session.get(Institution, current_user.institution_id)
    return service.register_institution(_me(), event, institution, form.manager_ids.data,
                                         form.product_ids.data, form.unavailable.data)


@bp.post("/<int:event_id>/registrations/<int:registration_id>/cancel")
@roles_required(*ALL)
def cancel_registration(event_id, registration_id):
    registration = _registration(event_id, registration_id)
    back = (url_for(".registrations", event_id=event_id) if current_user.role == "organizer"
            else url_for(".show", event_id=event_id))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not can_cancel_registration(current_user, registration):
        flash("该报名当前不能取消。", "danger")
        return redirect(back)
    with attempt() as done:
        service.cancel_registration(_me(), registration)
    if done:
        flash("已取消报名，相关洽谈请求已撤回。", "success")
    return redirect(back)


# --- partners and requests ------------------------------------------------------------------

def _own_or_redirect(event: Event):
    registration = service.own_registration(current_user, event)
    if registration is None:
        flash("请先报名本次对接会。", "warning")
    elif registration.status == "waitlisted":
        flash("贵方仍在候补名单中，转为正式参会后才能安排洽谈。", "warning")
        registration = None
    return registration


@bp.get("/<int:event_id>/partners")
@roles_required(*PARTICIPANTS)
def partners(event_id):
    event = _event(event_id)
    registration = _own_or_redirect(event)
    if registration is None:
        return _to_show(event)
    matched, rest = service.suggestions(registration)
    return render_template("events/partners.html", event=event, registration=registration,
                           matched=matched, rest=rest, form=RequestForm(formdata=None),
                           open=clock.now() <= event.requests_close_at)


@bp.get("/<int:event_id>/requests")
@roles_required(*ALL)
def requests(event_id):
    event = _event(event_id)
    if current_user.role == "organizer":
        return _render_all_requests(event)
    registration = service.own_registration(current_user, event)
    rows = service.requests_for(registration) if registration else []
    deadline = event.requests_deadline or event.registration_deadline
    return render_template("events/requests.html", event=event, registration=registration,
                           rows=rows, form=ConfirmForm(), labels=REQUEST_STATUS_LABELS,
                           deadline=clock.china_date(deadline) if deadline else event.day,
                           today=clock.china_today())


def _render_all_requests(event: Event, status: int = 200, must_form=None):
    query = (select(MeetingRequest).where(MeetingRequest.event_id == event.id)
             .order_by(MeetingRequest.must_meet.desc(), MeetingRequest.status,
                       MeetingRequest.match_score.desc().nulls_last(), MeetingRequest.id))
    page = db.paginate(query, per_page=50, error_out=False)
    form = must_form or MustMeetForm(formdata=None)
    regs = list(db.session.scalars(service.registrations(event, None, "registered")))
    form.enterprise_registration_id.choices = [(r.id, r.name) for r in regs
                                               if r.kind == "enterprise"]
    form.institution_registration_id.choices = [(r.id, r.name) for r in regs
                                                if r.kind == "institution"]
    return render_template("events/requests_all.html", event=event, page=page,
                           must_form=form, labels=REQUEST_STATUS_LABELS), status


@bp.post("/<int:event_id>/requests")
@roles_required(*PARTICIPANTS)
def send_request(event_id):
    event = _event(event_id)
    form = RequestForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return redirect(url_for(".partners", event_id=event.id))
    sender = service.own_registration(current_user, event)
    target = db.session.get(Registration, form.target_id()) if form.target_id() else None
    with attempt() as done:
        service.request_meeting(_me(), sender, target, form.message.data)
    if done:
        flash("洽谈请求已发出，对方接受后将纳入排程。", "success")
    return redirect(url_for(".partners", event_id=event.id))


def _answer(event_id: int, request_id: int, accept: bool):
    row = _request(event_id, request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not can_respond_request(current_user, row):
        flash("您不能回复该洽谈请求。", "danger")
        return redirect(url_for(".requests", event_id=event_id))
    with attempt() as done:
        service.respond_request(_me(), row, accept)
    if done:
        flash("已接受洽谈请求。" if accept else "已婉拒洽谈请求。", "success")
    return redirect(url_for(".requests", event_id=event_id))


@bp.post("/<int:event_id>/requests/<int:request_id>/accept")
@roles_required(*PARTICIPANTS)
def accept_request(event_id, request_id):
    return _answer(event_id, request_id, True)


@bp.post("/<int:event_id>/requests/<int:request_id>/decline")
@roles_required(*PARTICIPANTS)
def decline_request(event_id, request_id):
    return _answer(event_id, request_id, False)


@bp.post("/<int:event_id>/requests/<int:request_id>/withdraw")
@roles_required(*PARTICIPANTS)
def withdraw_request(event_id, request_id):
    row = _request(event_id, request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not can_withdraw_request(current_user, row):
        flash("您不能撤回该洽谈请求。", "danger")
        return redirect(url_for(".requests", event_id=event_id))
    with attempt() as done:
        service.withdraw_request(_me(), row)
    if done:
        flash("已撤回洽谈请求。", "success")
    return redirect(url_for(".requests", event_id=event_id))


@bp.post("/<int:event_id>/must-meet")
@roles_required("organizer")
def must_meet(event_id):
    event = _managed(event_id)
    form = MustMeetForm()
    regs = {r.id: r for r in db.session.scalars(service.registrations(event))}
    form.enterprise_registration_id.choices = [(i, "") for i in regs]
    form.institution_registration_id.choices = [(i, "") for i in regs]
    if not form.validate_on_submit():
        return _render_all_requests(event, 400, form)
    with attempt() as done:
        service.add_must_meet(_me(), event, regs.get(form.enterprise_registration_id.data),
                              regs.get(form.institution_registration_id.data))
    if done:
        flash("已添加必洽配对，排程时将优先安排。", "success")
    return redirect(url_for(".requests", event_id=event.id))


# --- the schedule ---------------------------------------------------------------------------

@bp.get("/<int:event_id>/schedule")
@roles_required("organizer")
def schedule(event_id):
    event = _managed(event_id)
    rows = meetings.event_meetings(event)
    grid = {(m.slot_id, m.table_id): m for m in rows}
    plan = meetings.build_plan(event)
    placed = {m.request_id for m in rows}
    # before the first scheduling nothing is "not placed": it has not been tried yet
    unplaced = [] if event.scheduled_at is None else sorted(
        (r for r in plan.requests.values() if r.id not in placed),
        key=lambda r: (not r.must_meet, -(r.match_score or 0)))
    served = len({m.enterprise_registration_id for m in rows})
    enterprises = len({r.enterprise_registration_id for r in plan.requests.values()})
    return render_template("events/schedule.html", event=event, grid=grid, meetings=rows,
                           unplaced=unplaced, served=served, enterprises=enterprises,
                           accepted=len(plan.requests), form=ConfirmForm(),
                           slot_label=_slot_label)


@bp.post("/<int:event_id>/schedule")
@roles_required("organizer")
def run_schedule(event_id):
    event = _managed(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        report = meetings.schedule_event(_me(), event)
    if not done:
        return redirect(url_for(".schedule", event_id=event.id))
    musts = (f"必洽配对{report.must_meets}/{report.must_total}；" if report.must_total else "")
    flash(f"排程完成：{report.meetings}场洽谈，{report.served}/{report.enterprises}家企业至少有一场；"
          f"{musts}{len(report.unplaced)}个请求未能安排。", "success")
    return redirect(url_for(".schedule", event_id=event.id))


def _move_form(event: Event):
    form = MoveForm()
    form.slot_id.choices = [(s.id, _slot_label(s)) for s in event.slots]
    form.table_id.choices = [(t.id, t.label) for t in event.tables]
    return form


@bp.route("/<int:event_id>/meetings/<int:meeting_id>/move", methods=["GET", "POST"])
@roles_required("organizer")
def move_meeting(event_id, meeting_id):
    event = _managed(event_id)
    meeting = _meeting(event.id, meeting_id)
    form = _move_form(event)
    if request.method == "GET":
        form.slot_id.data, form.table_id.data = meeting.slot_id, meeting.table_id
    conflicts = []
    if form.validate_on_submit():
        slot = db.session.get(EventSlot, form.slot_id.data)
        table = db.session.get(EventTable, form.table_id.data)
        with attempt(shown=meetings.MoveRefused) as done:
            meetings.move_meeting(_me(), meeting, slot, table, confirm=form.confirm.data)
        if done:
            flash("洽谈已调整，双方已收到通知。", "success")
            return redirect(url_for(".schedule", event_id=event.id))
        conflicts = getattr(done.error, "conflicts", [])  # shown beside the move form
    return render_template("events/move.html", event=event, meeting=meeting, form=form,
                           conflicts=conflicts, slot_label=_slot_label,
                           hard=any(c.hard for c in conflicts)), (
        400 if form.is_submitted() else 200)


@bp.get("/<int:event_id>/tables/<int:table_id>/print")
@roles_required("organizer")
def table_print(event_id, table_id):
    event = _managed(event_id)
    table = db.one_or_404(select(EventTable).where(EventTable.id == table_id,
                                                   EventTable.event_id == event.id))
    return render_template("events/table_print.html", event=event, table=table,
                           rows=meetings.table_schedule(event, table), slot_label=_slot_label)


# --- a participant's agenda -----------------------------------------------------------------

@bp.get("/<int:event_id>/registrations/<int:registration_id>/agenda")
@roles_required(*ALL)
def agenda(event_id, registration_id):
    registration = _registration(event_id, registration_id)
    return render_template("events/agenda.html", event=registration.event,
                           registration=registration, meetings=meetings.agenda(registration),
                           counterpart=agenda_files.counterpart, slot_label=_slot_label,
                           today=clock.china_today(), assign_form=AssignMeetingForm(),
                           assignable=meetings.assignable_managers)


@bp.post("/<int:event_id>/meetings/<int:meeting_id>/assign")
@roles_required("bank_admin")
def assign_meeting(event_id, meeting_id):
    """The bank admin gives one of its meetings to a registered manager (issue 17 #9)."""
    meeting = _meeting(event_id, meeting_id)
    back = url_for(".agenda", event_id=event_id,
                   registration_id=meeting.institution_registration_id)
    form = AssignMeetingForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return redirect(back)
    with attempt(form, "manager_id") as done:
        meetings.assign_meeting(_me(), meeting, form.manager_id.data)
    if done:
        flash(f"已指派{meeting.manager.name}负责该洽谈，并已通知。", "success")
    return redirect(back)


@bp.get("/<int:event_id>/registrations/<int:registration_id>/agenda.ics")
@roles_required(*ALL)
def agenda_ics(event_id, registration_id):
    registration = _registration(event_id, registration_id)
    body = agenda_files.ics(registration.event, registration, meetings.agenda(registration),
                            request.host.split(":")[0])
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="event-{event_id}-agenda.ics"',
        "Cache-Control": "private, no-store"})


def _checkin_url(registration: Registration) -> str:
    return url_for(".checkin", event_id=registration.event_id, code=registration.checkin_code,
                   _external=True)


@bp.get("/<int:event_id>/registrations/<int:registration_id>/qr.<any(svg, png):fmt>")
@roles_required(*ALL)
def qr(event_id, registration_id, fmt):
    registration = _registration(event_id, registration_id)
    if registration.status != "registered":
        abort(404)
    body = agenda_files.qr(_checkin_url(registration), fmt)
    return Response(body, mimetype="image/svg+xml" if fmt == "svg" else "image/png",
                    headers={"Cache-Control": "private, no-store"})


# --- the day: check-in, attendance, results -------------------------------------------------

@bp.get("/<int:event_id>/checkin")
@roles_required("organizer")
def checkin(event_id):
    event = _managed(event_id)
    form = CheckInForm(formdata=None, code=request.args.get("code", ""))
    found = meetings.find_by_code(event, form.code.data) if form.code.data else None
    return render_template("events/checkin.html", event=event, form=form, found=found,
                           counts=figures.event_figures(event), today=clock.china_today())


@bp.post("/<int:event_id>/checkin")
@roles_required("organizer")
def checkin_submit(event_id):
    event = _managed(event_id)
    as_json = request.is_json
    form = CheckInForm()  # Flask-WTF reads a JSON body as the form data
    if not form.validate_on_submit():
        return _checkin_answer(as_json, event, False, _form_errors(form), 400)
    method = "qr" if (request.get_json(silent=True) or {}).get("method") == "qr" else "code"
    with attempt(shown=ServiceError) as done:  # the answer says it, as JSON or a flash
        reg, already = meetings.check_in(_me(), event, form.code.data, method)
    if not done:
        return _checkin_answer(as_json, event, False, done.message, 422)
    side = "企业" if reg.kind == "enterprise" else "金融机构"
    message = (f"{reg.name}（{side}）已于{service.local(reg.checkin.checked_in_at):%H:%M}签到过"
               if already else f"签到成功：{reg.name}（{side}）")
    return _checkin_answer(as_json, event, True, message, 200, already=already)


def _checkin_answer(as_json: bool, event: Event, ok: bool, message: str, status: int,
                    already: bool = False):
    if as_json:
        return jsonify(ok=ok, message=message, already=already), status
    flash(message, "success" if ok and not already else ("info" if ok else "danger"))
    return redirect(url_for(".checkin", event_id=event.id))


@bp.post("/<int:event_id>/attendance")
@roles_required("organizer")
def attendance(event_id):
    event = _managed(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        counts = meetings.record_attendance(_me(), event)
    if not done:
        return _to_show(event)
    flash(f"到场情况已登记：{counts['no_shows']}个参会方未到场，{counts['held']}场洽谈已举行，"
          f"{counts['missed']}场因缺席未举行。", "success")
    return _to_show(event)


@bp.route("/<int:event_id>/meetings/<int:meeting_id>/result", methods=["GET", "POST"])
@roles_required(*PARTICIPANTS)
def result(event_id, meeting_id):
    meeting = _meeting(event_id, meeting_id)
    side = meeting_side(current_user, meeting)
    if side is None:
        abort(404)
    mine = meeting.result_of(side)
    form = ResultForm()
    if request.method == "GET" and mine is not None:
        form.outcome.data, form.amount_wan.data, form.note.data = (
            mine.outcome, mine.amount_wan, mine.note)
    if form.validate_on_submit():
        with attempt(form, "outcome") as done:
            meetings.record_result(_me(), meeting, side, form.outcome.data,
                                   form.amount_wan.data, form.note.data)
        if done:
            flash("洽谈结果已登记。" + ("已生成跟进线索，金融机构将按时限联系。"
                                     if form.outcome.data != "no_fit" else ""), "success")
            return redirect(url_for(".agenda", event_id=event_id, registration_id=(
                meeting.enterprise_registration_id if side == "enterprise"
                else meeting.institution_registration_id)))
    return render_template("events/result.html", event=meeting.event, meeting=meeting,
                           side=side, form=form, mine=mine, slot_label=_slot_label,
                           counterpart=agenda_files.counterpart), (
        400 if form.is_submitted() else 200)
