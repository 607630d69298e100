"""Whitelist batches: lifecycle, entries and their rules, the push, the banks' answers, the
deadline sweep, enterprise flags. Flush, never commit (the view or command commits once).

Rights are checked here with the predicates of permissions.py (a service refuses what the
actor may not do, whoever calls it); views load objects through the scoped queries.
"""
import logging
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock, vocab
from ..audit.models import AuditEntry
from ..audit.service import record
from ..enterprises import on_behalf
from ..enterprises.models import Need
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..notifications.service import notify_all
from ..policy import workdays
from ..policy.service import setting
from .models import KINDS, Whitelist, WhitelistEntry
from .permissions import (
    can_close_whitelist,
    can_create_whitelist,
    can_edit_entry,
    can_edit_whitelist,
    can_return_whitelist,
    can_submit_whitelist,
    can_version_whitelist,
)

log = logging.getLogger(__name__)

TITLE_MAX, BODY_MAX, TEXT_MAX = 128, 128, 2000
PER_ENTRY_MAX = 10
# needs in these statuses have left the market: the exit rule
ENDED_NEED_STATUSES = ("funded", "closed", "withdrawn", "expired")
EDITING = "当前状态下您不能修改这批白名单"


def link(endpoint: str, **values) -> str:
    return current_app.url_map.bind("").build(endpoint, values)


def default_per_entry() -> int:
    return int(setting("whitelist_institutions_per_entry", 3))


def default_share() -> Decimal:
    """One institution's part of a batch's proposals (0–1]; a policy figure, editable."""
    return Decimal(str(setting("whitelist_institution_share", "0.25")))


def default_deadline(day: date | None = None) -> date:
    """Ten working days from today: the banks' answer period the city usually sets."""
    return workdays.add_working_days(day or clock.china_today(), 10)


# --- batches ---------------------------------------------------------------------------------

def _header_problems(values: dict) -> dict[str, str]:
    problems = {}
    if not (values.get("title") or "").strip():
        problems["title"] = "请填写白名单名称"
    elif len(values["title"].strip()) > TITLE_MAX:
        problems["title"] = f"名称不超过{TITLE_MAX}个字"
    if values.get("kind") not in KINDS:
        problems["kind"] = "请选择白名单类型"
    if not (values.get("issuing_body") or "").strip():
        problems["issuing_body"] = "请填写印发单位"
    if values.get("issued_on") is None:
        problems["issued_on"] = "请填写印发日期"
    deadline = values.get("answer_deadline")
    if deadline is None:
        problems["answer_deadline"] = "请填写反馈截止日期"
    elif values.get("issued_on") and deadline < values["issued_on"]:
        problems["answer_deadline"] = "反馈截止日期不能早于印发日期"
    per_entry = values.get("per_entry")
    if per_entry is not None and not 1 <= per_entry <= PER_ENTRY_MAX:
        problems["per_entry"] = f"每户推送机构数应在1到{PER_ENTRY_MAX}之间"
    share = values.get("share")
    if share is not None and not Decimal("0.01") <= share <= 1:
        problems["share"] = "单家机构承接比例应在1%到100%之间"
    return problems


def raise_first(problems: dict) -> None:
    if problems:
        field_, message = next(iter(problems.items()))
        raise ServiceError(message, field=field_)


HEADER_FIELDS = ("title", "kind", "issuing_body", "issued_on", "answer_deadline", "per_entry",
                 "share")


@guarded(can_create_whitelist, message="只有组织方可以创建白名单")
def create_whitelist(actor, **values) -> Whitelist:
    """A new batch in draft, owned by the organizer's district (NULL: the city)."""
    values.setdefault("per_entry", None)
    values.setdefault("share", None)
    raise_first(_header_problems(values))
    whitelist = Whitelist(
        title=values["title"].strip(), kind=values["kind"],
        issuing_body=values["issuing_body"].strip(), issued_on=values["issued_on"],
        answer_deadline=values["answer_deadline"], owner_district=actor.district,
        status="draft", per_entry=values["per_entry"] or default_per_entry(),
        share=values["share"] or default_share(), created_by_id=actor.id,
        created_at=clock.now())
    db.session.add(whitelist)
    db.session.flush()
    record(actor, "whitelist.created", whitelist, kind=whitelist.kind,
           owner_district=whitelist.owner_district)
    log.info("whitelist %s created by user %s", whitelist.id, actor.id)
    return whitelist


@guarded(can_edit_whitelist, "whitelist", message=EDITING)
def update_whitelist(actor, whitelist: Whitelist, **values) -> Whitelist:
    merged = {f: getattr(whitelist, f) for f in HEADER_FIELDS}
    merged.update({k: v for k, v in values.items() if k in HEADER_FIELDS})
    raise_first(_header_problems(merged))
    if merged["kind"] != whitelist.kind and whitelist.entries:
        raise ServiceError("已有名单条目，不能更改白名单类型", field="kind")
    changes = {}
    for name in HEADER_FIELDS:
        new = merged[name].strip() if isinstance(merged[name], str) else merged[name]
        if new != getattr(whitelist, name):
            changes[name] = [getattr(whitelist, name), new]
            setattr(whitelist, name, new)
    if changes:
        whitelist.updated_at = clock.now()
        db.session.flush()
        record(actor, "whitelist.updated", whitelist, changes=changes)
    return whitelist


@guarded(can_submit_whitelist, "whitelist", message="只有本区县的组织方可以报送草稿状态的白名单")
def submit_whitelist(actor, whitelist: Whitelist) -> Whitelist:
    """The district reports its batch to the city: from now on the city edits it."""
    if not whitelist.entries:
        raise ServiceError("名单中还没有企业，不能报送")
    _move(actor, whitelist, "submitted", "whitelist.submitted")
    whitelist.submitted_at = whitelist.updated_at
    whitelist.return_reason = None
    notify_all(city_organizers(), "whitelist.submitted",
               f"{whitelist.owner_district}报送了白名单《{whitelist.title}》（{len(whitelist.entries)}户）",
               link("whitelists.show", whitelist_id=whitelist.id))
    return whitelist


@guarded(can_return_whitelist, "whitelist", message="只有市级组织方可以退回已报送的区县白名单")
def return_whitelist(actor, whitelist: Whitelist, reason: str) -> Whitelist:
    """The city sends a submitted batch back to the district, saying what to correct."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写退回原因", field="reason")
    drop_proposals(whitelist)
    whitelist.return_reason = reason[:TEXT_MAX]
    _move(actor, whitelist, "draft", "whitelist.returned", reason=reason[:TEXT_MAX])
    notify_all(district_organizers(whitelist.owner_district), "whitelist.returned",
               f"白名单《{whitelist.title}》被市级退回修改",
               link("whitelists.show", whitelist_id=whitelist.id))
    return whitelist


@guarded(can_close_whitelist, "whitelist", message="只有市级组织方可以结束已推送的白名单")
def close_whitelist(actor, whitelist: Whitelist) -> Whitelist:
    """The batch is done: read-only from now on; corrections go into a new version."""
    drop_proposals(whitelist)  # what was never sent is not part of the record
    _move(actor, whitelist, "closed", "whitelist.closed")
    whitelist.closed_at = whitelist.updated_at
    return whitelist


def _move(actor, whitelist: Whitelist, to: str, action: str, **details) -> None:
    frm = whitelist.status
    whitelist.status = to
    whitelist.updated_at = clock.now()
    db.session.flush()
    record(actor, action, whitelist, **{"from": frm, "to": to}, **details)
    log.info("whitelist %s %s -> %s by user %s", whitelist.id, frm, to,
             actor.id if actor else None)


@guarded(can_version_whitelist, "whitelist", message="只有已结束且尚无新版本的白名单可以修订")
def new_version(actor, whitelist: Whitelist) -> Whitelist:
    """A correction of a closed batch: the next version, a draft with the entries copied
    (their pushes are not: the new version is proposed and pushed afresh, and a need that
    already reached a bank reaches it as the same lead)."""
    copy = Whitelist(
        title=whitelist.title, kind=whitelist.kind, issuing_body=whitelist.issuing_body,
        issued_on=whitelist.issued_on, answer_deadline=max(whitelist.answer_deadline,
                                                           default_deadline()),
        owner_district=whitelist.owner_district, status="draft",
        version=whitelist.version + 1, previous=whitelist,
        per_entry=whitelist.per_entry, share=whitelist.share, created_by_id=actor.id,
        created_at=clock.now())
    db.session.add(copy)
    try:
        with db.session.begin_nested():  # one successor per version (unique previous_id)
            db.session.flush()
    except IntegrityError:
        raise ServiceError("这批白名单已有新版本") from None
    for entry in whitelist.entries:
        db.session.add(_copied(actor, copy, entry))
    db.session.flush()
    record(actor, "whitelist.versioned", copy, previous_id=whitelist.id, version=copy.version,
           entries=len(whitelist.entries))
    return copy


def _copied(actor, whitelist: Whitelist, entry: WhitelistEntry) -> WhitelistEntry:
    return WhitelistEntry(
        whitelist=whitelist, position=entry.position, enterprise_id=entry.enterprise_id,
        need_id=entry.need_id, project_name=entry.project_name, amount_wan=entry.amount_wan,
        purpose=entry.purpose, term_months=entry.term_months, cluster=entry.cluster,
        recommender=entry.recommender, consent=entry.consent, consent_basis=entry.consent_basis,
        consent_recorded_by_id=entry.consent_recorded_by_id,
        consent_recorded_at=entry.consent_recorded_at, note=entry.note, source="copied", copied_from_id=entry.id, created_by_id=actor.id,
        created_at=clock.now())


def city_organizers():
    from ..accounts.models import User

    return db.session.scalars(select(User).where(
        User.role == "organizer", User.district.is_(None), User.active.is_(True))).all()


def district_organizers(district: str):
    from ..accounts.models import User

    return db.session.scalars(select(User).where(
        User.role == "organizer", User.district == district, User.active.is_(True))).all()


def history(whitelist: Whitelist):
    """Who changed what: the audit entries of the batch and of its entries and pushes (each of
    those carries whitelist_id in its details, so a removed entry keeps its story)."""
    return (select(AuditEntry).where(or_(
        and_(AuditEntry.subject_type == "whitelists", AuditEntry.subject_id == whitelist.id),
        and_(AuditEntry.subject_type.in_(("whitelist_entries", "pushes")),
             AuditEntry.details["whitelist_id"].as_integer() == whitelist.id)))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()))


# --- entries -----------------------------------------------------------------------------------

ENTRY_FIELDS = ("recommender", "consent", "consent_basis", "project_name", "cluster", "note")


@guarded(can_edit_whitelist, "whitelist", message=EDITING)
def add_entry(actor, whitelist: Whitelist, need: Need, *, recommender: str, consent: bool,
              consent_basis: str | None = None, project_name: str | None = None,
              note: str | None = None, source: str = "platform") -> WhitelistEntry:
    """List a need on the batch, freezing what it asks for. The same need twice in one batch
    is refused; the other rules (consent, flags, other batches, need status) are shown on the
    entry and keep it from being pushed. The consent is the organizer's record of the firm's
    (on its behalf): it names its basis, and the actor as its recorder."""
    enterprise = need.enterprise
    if whitelist.owner_district and enterprise.district != whitelist.owner_district:
        raise ServiceError(f"本批白名单属于{whitelist.owner_district}，只能列入该区县的企业")
    if need.status == "draft":
        raise ServiceError("该需求尚未发布，不能列入白名单")
    values = _entry_values(whitelist, {"recommender": recommender, "consent": consent,
                                           "consent_basis": consent_basis,
                                           "project_name": project_name, "note": note})
    if values["consent"]:
        values.update(consent_recorded_by_id=actor.id, consent_recorded_at=clock.now())
    entry = WhitelistEntry(
        whitelist_id=whitelist.id, position=_next_position(whitelist),
        enterprise_id=enterprise.id, need_id=need.id, amount_wan=need.amount_wan,
        purpose=need.purpose, term_months=need.term_months, cluster=enterprise.cluster,
        source=source, created_by_id=actor.id, created_at=clock.now(), **values)
    try:
        with db.session.begin_nested():  # the unique (batch, need) settles a double click
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        raise ServiceError(f"需求 {need.ref} 已在本批白名单中") from None
    db.session.expire(whitelist, ["entries"])
    record(actor, "whitelist_entry.added", entry, whitelist_id=whitelist.id, need_id=need.id,
           enterprise_id=enterprise.id, source=source, consent=entry.consent,
           **({"consent_basis": entry.consent_basis} if entry.consent else {}))
    return entry


def _entry_values(whitelist: Whitelist, values: dict) -> dict:
    clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}
    if not clean.get("recommender"):
        raise ServiceError("请填写推荐单位", field="recommender")
    if len(clean["recommender"]) > 128:
        raise ServiceError("推荐单位不超过128个字", field="recommender")
    if whitelist.kind == "key_projects" and not clean.get("project_name"):
        raise ServiceError("重点项目白名单请填写项目名称", field="project_name")
    if clean.get("project_name") and len(clean["project_name"]) > 128:
        raise ServiceError("项目名称不超过128个字", field="project_name")
    if clean.get("note") and len(clean["note"]) > TEXT_MAX:
        raise ServiceError(f"备注不超过{TEXT_MAX}个字", field="note")
    if clean.get("cluster") and clean["cluster"] not in vocab.codes("clusters_33618"):
        raise ServiceError("产业集群无效", field="cluster")
    clean["consent"] = bool(clean.get("consent"))
    if not clean["consent"]:
        clean["consent_basis"] = None  # nothing agreed, nothing to base it on
    elif on_behalf.basis_problem(clean.get("consent_basis")):
        raise ServiceError(on_behalf.basis_problem(clean.get("consent_basis")),
                           field="consent_basis")
    return clean


def _next_position(whitelist: Whitelist) -> int:
    last = db.session.scalar(select(func.max(WhitelistEntry.position))
                             .where(WhitelistEntry.whitelist_id == whitelist.id))
    return (last or 0) + 1


@guarded(can_edit_entry, "entry", message=EDITING)
def update_entry(actor, entry: WhitelistEntry, **values) -> WhitelistEntry:
    whitelist = entry.whitelist
    merged = {f: getattr(entry, f) for f in ENTRY_FIELDS}
    merged.update({k: v for k, v in values.items() if k in ENTRY_FIELDS})
    clean = _entry_values(whitelist, merged)
    changes = {}
    for name, value in clean.items():
        if value != getattr(entry, name):
            # free text is not copied into the audit row, only that it changed
            changes[name] = "已修改" if name == "note" else [getattr(entry, name), value]
            setattr(entry, name, value)
    # whoever states the consent or its basis (or confirms one from before they were asked)
    # has recorded it
    if {"consent", "consent_basis"} & changes.keys() or (
            entry.consent and entry.consent_recorded_at is None):
        entry.consent_recorded_by_id = actor.id if entry.consent else None
        entry.consent_recorded_at = clock.now() if entry.consent else None
        if entry.consent:
            changes["consent_recorded_by_id"] = actor.id
    if changes:
        db.session.flush()
        record(actor, "whitelist_entry.updated", entry, whitelist_id=whitelist.id,
               changes=changes)
    return entry


@guarded(can_edit_entry, "entry", message=EDITING)
def remove_entry(actor, entry: WhitelistEntry) -> None:
    whitelist = entry.whitelist
    if entry.sent_pushes:
        raise ServiceError("该企业已推送给金融机构，不能移出名单")
    details = {"entry_id": entry.id, "need_id": entry.need_id, "enterprise_id": entry.enterprise_id}
    db.session.delete(entry)
    db.session.flush()
    db.session.expire(whitelist, ["entries"])
    # the entry row is gone: its removal is recorded on the batch
    record(actor, "whitelist_entry.removed", whitelist, **details)


def entry_values_from_need(need: Need) -> dict:
    """What the add form proposes for a need: the consent ticked (with its basis) when the
    need is already shared with the matched institutions, on the firm's word or on behalf."""
    own = "企业已在平台上自行授权向匹配的金融机构展示本需求"
    return {"consent": bool(need.consent_to_share),
            "consent_basis": (need.consent_basis or own) if need.consent_to_share else None,
            "project_name": (need.description or "").strip()[:128] or None}


def entries_with_pushes(whitelist: Whitelist) -> list[WhitelistEntry]:
    return list(db.session.scalars(
        select(WhitelistEntry).where(WhitelistEntry.whitelist_id == whitelist.id)
        .options(selectinload(WhitelistEntry.pushes), selectinload(WhitelistEntry.need))
        .order_by(WhitelistEntry.position, WhitelistEntry.id)))


def drop_proposals(whitelist: Whitelist) -> int:
    dropped = 0
    for entry in entries_with_pushes(whitelist):
        for push in [p for p in entry.pushes if p.status == "proposed"]:
            entry.pushes.remove(push)
            dropped += 1
    db.session.flush()
    return dropped
