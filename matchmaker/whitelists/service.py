"""Whitelist batches: lifecycle, entries and their rules, the push, the banks' answers, the
deadline sweep, enterprise flags. Flush, never commit (the view or command commits once).

Rights are checked here with the predicates of permissions.py (a service refuses what the
actor may not do, whoever calls it); views load objects through the scoped queries.
"""
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, exists, func, not_, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock, vocab
from ..audit.models import AuditEntry
from ..audit.service import record
from ..enterprises.models import Enterprise, Need
from ..errors import ServiceError
from ..extensions import db
from ..institutions.models import Institution
from ..leads import service as leads
from ..leads.models import Claim, Lead
from ..notifications.service import notify_all
from ..policy import workdays
from ..policy.service import setting
from . import allocation
from .models import KINDS, OPEN_STATUSES, EnterpriseFlag, Push, Whitelist, WhitelistEntry
from .permissions import (
    can_close_whitelist,
    can_edit_whitelist,
    can_flag_enterprise,
    can_push_whitelist,
    can_record_disbursement,
    can_return_whitelist,
    can_submit_whitelist,
    can_version_whitelist,
)

log = logging.getLogger(__name__)

TITLE_MAX, BODY_MAX, TEXT_MAX = 128, 128, 2000
PER_ENTRY_MAX = 10
# needs in these statuses have left the market: the exit rule
ENDED_NEED_STATUSES = ("funded", "closed", "withdrawn", "expired")


def _path(endpoint: str, **values) -> str:
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


def _raise_first(problems: dict) -> None:
    if problems:
        field_, message = next(iter(problems.items()))
        raise ServiceError(message, field=field_)


HEADER_FIELDS = ("title", "kind", "issuing_body", "issued_on", "answer_deadline", "per_entry",
                 "share")


def create_whitelist(actor, **values) -> Whitelist:
    """A new batch in draft, owned by the organizer's district (NULL: the city)."""
    if actor is None or actor.role != "organizer":
        raise ServiceError("只有组织方可以创建白名单")
    values.setdefault("per_entry", None)
    values.setdefault("share", None)
    _raise_first(_header_problems(values))
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


def update_whitelist(actor, whitelist: Whitelist, **values) -> Whitelist:
    if not can_edit_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能修改这批白名单")
    merged = {f: getattr(whitelist, f) for f in HEADER_FIELDS}
    merged.update({k: v for k, v in values.items() if k in HEADER_FIELDS})
    _raise_first(_header_problems(merged))
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


def submit_whitelist(actor, whitelist: Whitelist) -> Whitelist:
    """The district reports its batch to the city: from now on the city edits it."""
    if not can_submit_whitelist(actor, whitelist):
        raise ServiceError("只有本区县的组织方可以报送草稿状态的白名单")
    if not whitelist.entries:
        raise ServiceError("名单中还没有企业，不能报送")
    _move(actor, whitelist, "submitted", "whitelist.submitted")
    whitelist.submitted_at = whitelist.updated_at
    whitelist.return_reason = None
    notify_all(_city_organizers(), "whitelist.submitted",
               f"{whitelist.owner_district}报送了白名单《{whitelist.title}》（{len(whitelist.entries)}户）",
               _path("whitelists.show", whitelist_id=whitelist.id))
    return whitelist


def return_whitelist(actor, whitelist: Whitelist, reason: str) -> Whitelist:
    """The city sends a submitted batch back to the district, saying what to correct."""
    if not can_return_whitelist(actor, whitelist):
        raise ServiceError("只有市级组织方可以退回已报送的区县白名单")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写退回原因", field="reason")
    _drop_proposals(whitelist)
    whitelist.return_reason = reason[:TEXT_MAX]
    _move(actor, whitelist, "draft", "whitelist.returned", reason=reason[:TEXT_MAX])
    notify_all(_district_organizers(whitelist.owner_district), "whitelist.returned",
               f"白名单《{whitelist.title}》被市级退回修改",
               _path("whitelists.show", whitelist_id=whitelist.id))
    return whitelist


def close_whitelist(actor, whitelist: Whitelist) -> Whitelist:
    """The batch is done: read-only from now on; corrections go into a new version."""
    if not can_close_whitelist(actor, whitelist):
        raise ServiceError("只有市级组织方可以结束已推送的白名单")
    _drop_proposals(whitelist)  # what was never sent is not part of the record
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


def new_version(actor, whitelist: Whitelist) -> Whitelist:
    """A correction of a closed batch: the next version, a draft with the entries copied
    (their pushes are not: the new version is proposed and pushed afresh, and a need that
    already reached a bank reaches it as the same lead)."""
    if not can_version_whitelist(actor, whitelist):
        raise ServiceError("只有已结束且尚无新版本的白名单可以修订")
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
        recommender=entry.recommender, consent=entry.consent, consent_note=entry.consent_note,
        note=entry.note, source="copied", copied_from_id=entry.id, created_by_id=actor.id,
        created_at=clock.now())


def _city_organizers():
    from ..accounts.models import User

    return db.session.scalars(select(User).where(
        User.role == "organizer", User.district.is_(None), User.active.is_(True))).all()


def _district_organizers(district: str):
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

ENTRY_FIELDS = ("recommender", "consent", "consent_note", "project_name", "cluster", "note")


def add_entry(actor, whitelist: Whitelist, need: Need, *, recommender: str, consent: bool,
              consent_note: str | None = None, project_name: str | None = None,
              note: str | None = None, source: str = "platform") -> WhitelistEntry:
    """List a need on the batch, freezing what it asks for. The same need twice in one batch
    is refused; the other rules (consent, flags, other batches, need status) are shown on the
    entry and keep it from being pushed."""
    if not can_edit_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能修改这批白名单")
    enterprise = need.enterprise
    if whitelist.owner_district and enterprise.district != whitelist.owner_district:
        raise ServiceError(f"本批白名单属于{whitelist.owner_district}，只能列入该区县的企业")
    if need.status == "draft":
        raise ServiceError("该需求尚未发布，不能列入白名单")
    values = _entry_values(whitelist, {"recommender": recommender, "consent": consent,
                                           "consent_note": consent_note,
                                           "project_name": project_name, "note": note})
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
           enterprise_id=enterprise.id, source=source, consent=entry.consent)
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
    if clean.get("consent_note") and len(clean["consent_note"]) > 255:
        raise ServiceError("授权说明不超过255个字", field="consent_note")
    if clean.get("note") and len(clean["note"]) > TEXT_MAX:
        raise ServiceError(f"备注不超过{TEXT_MAX}个字", field="note")
    if clean.get("cluster") and clean["cluster"] not in vocab.codes("clusters_33618"):
        raise ServiceError("产业集群无效", field="cluster")
    clean["consent"] = bool(clean.get("consent"))
    return clean


def _next_position(whitelist: Whitelist) -> int:
    last = db.session.scalar(select(func.max(WhitelistEntry.position))
                             .where(WhitelistEntry.whitelist_id == whitelist.id))
    return (last or 0) + 1


def update_entry(actor, entry: WhitelistEntry, **values) -> WhitelistEntry:
    whitelist = entry.whitelist
    if not can_edit_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能修改这批白名单")
    merged = {f: getattr(entry, f) for f in ENTRY_FIELDS}
    merged.update({k: v for k, v in values.items() if k in ENTRY_FIELDS})
    clean = _entry_values(whitelist, merged)
    changes = {}
    for name, value in clean.items():
        if value != getattr(entry, name):
            # free text is not copied into the audit row, only that it changed
            changes[name] = "已修改" if name in ("note", "consent_note") else \
                [getattr(entry, name), value]
            setattr(entry, name, value)
    if changes:
        db.session.flush()
        record(actor, "whitelist_entry.updated", entry, whitelist_id=whitelist.id,
               changes=changes)
    return entry


def remove_entry(actor, entry: WhitelistEntry) -> None:
    whitelist = entry.whitelist
    if not can_edit_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能修改这批白名单")
    if entry.sent_pushes:
        raise ServiceError("该企业已推送给金融机构，不能移出名单")
    details = {"entry_id": entry.id, "need_id": entry.need_id, "enterprise_id": entry.enterprise_id}
    db.session.delete(entry)
    db.session.flush()
    db.session.expire(whitelist, ["entries"])
    # the entry row is gone: its removal is recorded on the batch
    record(actor, "whitelist_entry.removed", whitelist, **details)


def entry_values_from_need(need: Need) -> dict:
    """What the add form proposes for a need."""
    return {"consent": bool(need.consent_to_share),
            "project_name": (need.description or "").strip()[:128] or None}


# --- entry and exit rules ------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    blocking: bool  # True: the entry is not pushed


def entry_problems(whitelist: Whitelist, entries=None) -> dict[int, list[Problem]]:
    """Every entry's problems, with four queries for the whole batch:
    - consent: without the enterprise's consent the entry is never pushed;
    - the need has left the market (funded, closed, withdrawn, expired) or is a draft;
    - the enterprise is flagged in difficulty (an organizer's flag with a reason);
    - the same need is on an earlier batch that is still open (that batch pushes it);
    - the same enterprise twice in this batch (a warning: two needs may both be real)."""
    entries = list(whitelist.entries if entries is None else entries)
    flags = live_flags([e.enterprise_id for e in entries])
    elsewhere = _on_other_open_batches(whitelist, [e.need_id for e in entries])
    per_enterprise: dict[int, int] = {}
    for entry in whitelist.entries:
        per_enterprise[entry.enterprise_id] = per_enterprise.get(entry.enterprise_id, 0) + 1
    result = {}
    for entry in entries:
        found = []
        if not entry.consent:
            found.append(Problem("no_consent", "企业未同意推送：不会推送给任何金融机构"
                                 "（取得企业书面同意后在条目中勾选）", True))
        need = entry.need
        if need.status in ENDED_NEED_STATUSES:
            found.append(Problem("need_ended", f"需求已{need.status_label}，不再推送", True))
        elif need.status == "draft":
            found.append(Problem("need_draft", "需求尚未发布，不能推送", True))
        flag = flags.get(entry.enterprise_id)
        if flag is not None:
            found.append(Problem("difficulty", f"企业已标记为困难企业（{flag.reason}），"
                                 "按脱困方案另行对接，不推送", True))
        other = elsewhere.get(entry.need_id)
        if other is not None:
            found.append(Problem("duplicate_batch", f"该需求已列入《{other.title}》"
                                 f"（{other.owner_label}，{other.status_label}），不重复推送",
                                 True))
        if per_enterprise.get(entry.enterprise_id, 0) > 1:
            found.append(Problem("duplicate_enterprise", "同一企业在本批中有多条需求，请核实", False))
        result[entry.id] = found
    return result


def blocked(problems: list[Problem]) -> bool:
    return any(p.blocking for p in problems)


def _on_other_open_batches(whitelist: Whitelist, need_ids) -> dict[int, Whitelist]:
    """need_id -> the earliest OTHER open batch listing it, created before this one: the
    entry listed first keeps the need; a later batch's copy is the duplicate."""
    if not need_ids:
        return {}
    rows = db.session.execute(
        select(WhitelistEntry.need_id, Whitelist).join(WhitelistEntry.whitelist)
        .where(WhitelistEntry.need_id.in_(need_ids), Whitelist.id < whitelist.id,
               Whitelist.status.in_(OPEN_STATUSES))
        .order_by(Whitelist.id))
    found = {}
    for need_id, other in rows:
        found.setdefault(need_id, other)
    return found


# --- enterprise flags --------------------------------------------------------------------------

def live_flags(enterprise_ids) -> dict[int, EnterpriseFlag]:
    ids = list(set(enterprise_ids))
    if not ids:
        return {}
    return {f.enterprise_id: f for f in db.session.scalars(select(EnterpriseFlag).where(
        EnterpriseFlag.enterprise_id.in_(ids), EnterpriseFlag.cleared_at.is_(None)))}


def set_flag(actor, enterprise: Enterprise, reason: str, kind: str = "difficulty"):
    """Mark the enterprise in difficulty: its entries stop being pushed (exit rule)."""
    if not can_flag_enterprise(actor, enterprise):
        raise ServiceError("您不能标记该企业")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写标记原因", field="reason")
    flag = EnterpriseFlag(enterprise_id=enterprise.id, kind=kind, reason=reason[:TEXT_MAX],
                          set_by_id=actor.id, set_at=clock.now())
    try:
        with db.session.begin_nested():  # one live flag per enterprise and kind
            db.session.add(flag)
            db.session.flush()
    except IntegrityError:
        raise ServiceError("该企业已被标记为困难企业") from None
    record(actor, "enterprise_flag.set", flag, enterprise_id=enterprise.id, kind=kind)
    return flag


def clear_flag(actor, flag: EnterpriseFlag, note: str | None = None) -> EnterpriseFlag:
    if not can_flag_enterprise(actor, flag.enterprise):
        raise ServiceError("您不能修改该企业的标记")
    if flag.cleared_at is not None:
        raise ServiceError("该标记已解除")
    flag.cleared_at = clock.now()
    flag.cleared_by_id = actor.id
    flag.clear_note = (note or "").strip()[:255] or None
    db.session.flush()
    record(actor, "enterprise_flag.cleared", flag, enterprise_id=flag.enterprise_id,
           kind=flag.kind)
    return flag


# --- proposals and overrides ---------------------------------------------------------------------

@dataclass
class Eligible:
    institution: Institution
    rank: int
    score: Decimal
    product: object


def eligible_institutions(need: Need) -> list[Eligible]:
    """The institutions with a published product matching the need, best match first."""
    found: dict[int, Eligible] = {}
    for match in leads.need_matches(need):
        inst = match.product.institution
        if inst.id not in found:
            found[inst.id] = Eligible(inst, len(found) + 1, match.score, match.product)
    return list(found.values())


def _entries_with_pushes(whitelist: Whitelist) -> list[WhitelistEntry]:
    return list(db.session.scalars(
        select(WhitelistEntry).where(WhitelistEntry.whitelist_id == whitelist.id)
        .options(selectinload(WhitelistEntry.pushes), selectinload(WhitelistEntry.need))
        .order_by(WhitelistEntry.position, WhitelistEntry.id)))


def _drop_proposals(whitelist: Whitelist) -> int:
    dropped = 0
    for entry in _entries_with_pushes(whitelist):
        for push in [p for p in entry.pushes if p.status == "proposed"]:
            entry.pushes.remove(push)
            dropped += 1
    db.session.flush()
    return dropped


def propose(actor, whitelist: Whitelist) -> allocation.Allocation:
    """The allocation's proposal for every pushable entry (allocation.py), replacing the
    proposals not yet sent (an organizer's overrides included); sent pushes stay and count."""
    if not can_push_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能生成推送方案")
    entries = _entries_with_pushes(whitelist)
    problems = entry_problems(whitelist, entries)
    options: dict[int, list[Eligible]] = {}
    for entry in entries:
        options[entry.id] = [] if blocked(problems[entry.id]) \
            else eligible_institutions(entry.need)
    fixed = {e.id: [p.institution_id for p in e.sent_pushes] for e in entries}
    result = allocation.allocate({e.id: [o.institution.id for o in options[e.id]]
                                  for e in entries}, whitelist.per_entry, whitelist.share,
                                 fixed)
    dropped = _drop_proposals(whitelist)
    created = 0
    for entry in entries:
        by_id = {o.institution.id: o for o in options[entry.id]}
        for institution_id in result.new_for(entry.id, fixed):
            option = by_id[institution_id]
            entry.pushes.append(Push(
                institution_id=institution_id, status="proposed", source="matcher",
                rank=option.rank, score=option.score, product_id=option.product.id,
                created_by_id=actor.id, created_at=clock.now()))
            created += 1
    db.session.flush()
    record(actor, "whitelist.proposed", whitelist, proposals=created, replaced=dropped,
           cap=result.cap, per_entry=whitelist.per_entry, share=whitelist.share,
           over_cap=result.over_cap)
    return result


def add_push(actor, entry: WhitelistEntry, institution: Institution) -> Push:
    """The organizer adds an institution to an entry (its best matched product, if any)."""
    whitelist = entry.whitelist
    if not can_push_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能调整推送方案")
    if blocked(entry_problems(whitelist, [entry])[entry.id]):
        raise ServiceError("该条目不符合推送条件，不能添加推送机构")
    option = next((o for o in eligible_institutions(entry.need)
                   if o.institution.id == institution.id), None)
    push = Push(entry_id=entry.id, institution_id=institution.id, status="proposed",
                source="organizer", rank=option.rank if option else None,
                score=option.score if option else None,
                product_id=option.product.id if option else None, created_by_id=actor.id,
                created_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(push)
            db.session.flush()
    except IntegrityError:
        raise ServiceError(f"该企业已在推送给{institution.name}的方案中") from None
    db.session.expire(entry, ["pushes"])
    record(actor, "push.added", push, whitelist_id=whitelist.id, entry_id=entry.id,
           institution_id=institution.id, matched=option is not None)
    return push


def remove_push(actor, push: Push) -> None:
    entry = push.entry
    whitelist = entry.whitelist
    if not can_push_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能调整推送方案")
    if push.status == "sent":
        raise ServiceError("已推送的机构不能撤回")
    details = {"push_id": push.id, "entry_id": entry.id, "institution_id": push.institution_id}
    entry.pushes.remove(push)
    db.session.flush()
    record(actor, "push.removed", whitelist, **details)


def institution_loads(whitelist: Whitelist, entries=None) -> list[dict]:
    """Per institution: proposals and pushes in the batch, against the cap (the review table)."""
    entries = _entries_with_pushes(whitelist) if entries is None else entries
    problems = entry_problems(whitelist, entries)
    demand = 0
    loads: dict[int, dict] = {}
    for entry in entries:
        n_options = 0 if blocked(problems[entry.id]) else len(eligible_institutions(entry.need))
        demand += max(len(entry.sent_pushes), min(whitelist.per_entry, n_options))
        for push in entry.pushes:
            row = loads.setdefault(push.institution_id, {"institution": push.institution,
                                                         "proposed": 0, "sent": 0})
            row[push.status] += 1
    cap = allocation.cap_for(demand, whitelist.share)
    rows = sorted(loads.values(), key=lambda r: (-(r["proposed"] + r["sent"]),
                                                 r["institution"].name))
    for row in rows:
        row["total"] = row["proposed"] + row["sent"]
        row["cap"] = cap
        row["over"] = row["total"] > cap
    return rows


# --- the push ---------------------------------------------------------------------------------

@dataclass
class PushReport:
    sent: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # entries with proposals but a blocking rule
    institutions: dict = field(default_factory=dict)  # institution_id -> entries sent now

    def summary(self) -> str:
        return (f"本次推送 {len(self.sent)} 条（{len(self.institutions)} 家机构）"
                + (f"，{len(self.skipped)} 户因不符合推送条件未推送" if self.skipped else ""))


def _lock(whitelist: Whitelist) -> None:
    """Serialize pushes of one batch: the second click waits, then finds nothing left to
    send. PostgreSQL: a row lock; SQLite: an UPDATE takes the database's write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Whitelist.id).where(Whitelist.id == whitelist.id)
                           .with_for_update())
    else:
        db.session.execute(text("UPDATE whitelists SET status = status WHERE id = :id"),
                           {"id": whitelist.id})
    db.session.refresh(whitelist)


def push_whitelist(actor, whitelist: Whitelist) -> PushReport:
    """Send every proposed push of every pushable entry, in the caller's one transaction:
    each opens (or finds) the lead for need × institution, source 白名单, with the
    enterprise's consent recorded; each institution's admins get one notice. A push already
    sent is never sent again, so pushing twice sends nothing twice."""
    if not can_push_whitelist(actor, whitelist):
        raise ServiceError("当前状态下您不能推送这批白名单")
    _lock(whitelist)
    if not can_push_whitelist(actor, whitelist):  # re-read under the lock
        raise ServiceError("当前状态下您不能推送这批白名单")
    entries = _entries_with_pushes(whitelist)
    problems = entry_problems(whitelist, entries)
    report = PushReport()
    moment = clock.now()
    for entry in entries:
        waiting = [p for p in entry.pushes if p.status == "proposed"]
        if waiting and blocked(problems[entry.id]):
            report.skipped.append(entry)
            continue
        for push in waiting:
            _send(actor, entry, push, moment)
            report.sent.append(push)
            report.institutions[push.institution_id] = \
                report.institutions.get(push.institution_id, 0) + 1
    if not report.sent:
        if whitelist.status == "pushed":
            return report  # nothing new: the earlier push stands, nothing is sent twice
        raise ServiceError("没有可推送的内容：请先生成推送方案，或检查各条目的推送条件")
    if whitelist.status != "pushed":
        whitelist.pushed_at = moment
        _move(actor, whitelist, "pushed", "whitelist.pushed", sent=len(report.sent),
              institutions=report.institutions)
    else:
        record(actor, "whitelist.pushed", whitelist, sent=len(report.sent),
               institutions=report.institutions, supplement=True)
    _announce(whitelist, report)
    log.info("whitelist %s pushed by user %s: %s pushes", whitelist.id, actor.id,
             len(report.sent))
    return report


def _send(actor, entry: WhitelistEntry, push: Push, moment) -> None:
    lead = leads.open_lead(entry.need, push.institution, source="whitelist", actor=actor,
                           product=push.product)
    push.lead_id = lead.id
    push.status = "sent"
    push.sent_at = moment
    push.sent_by_id = actor.id
    db.session.flush()


def _announce(whitelist: Whitelist, report: PushReport) -> None:
    for institution_id, count in report.institutions.items():
        notify_all(leads.institution_users(institution_id, "bank_admin"), "whitelist.pushed",
                   f"白名单《{whitelist.title}》向贵机构推送{count}户企业，"
                   f"请于{whitelist.answer_deadline:%Y年%m月%d日}前反馈对接情况",
                   _path("whitelists.bank_index", whitelist_id=whitelist.id), email=True)


# --- the banks' answers -------------------------------------------------------------------------

STAGE_LABELS = {"proposed": "拟推送", "pending": "待反馈", "lapsed": "超时未联系",
                "contacted": "已对接", "granted": "已授信", "disbursed": "已放款",
                "not_suitable": "不符合条件", "withdrawn": "终止对接", "ended": "需求已结束"}
STAGE_STYLES = {"proposed": "light", "pending": "warning", "lapsed": "danger",
                "contacted": "info", "granted": "primary", "disbursed": "success",
                "not_suitable": "secondary", "withdrawn": "secondary", "ended": "secondary"}
UNANSWERED = ("proposed", "pending", "lapsed")
CONTACTED = ("contacted", "granted", "disbursed", "not_suitable", "withdrawn")


@dataclass
class Answer:
    stage: str
    granted_wan: Decimal | None = None
    disbursed_wan: Decimal | None = None
    rate: Decimal | None = None
    term_months: int | None = None
    reason: str | None = None  # decline reason code
    note: str | None = None

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.stage]

    @property
    def style(self) -> str:
        return STAGE_STYLES[self.stage]

    @property
    def answered(self) -> bool:
        return self.stage not in UNANSWERED

    @property
    def contacted(self) -> bool:
        return self.stage in CONTACTED

    @property
    def granted(self) -> bool:
        return self.stage in ("granted", "disbursed")

    @property
    def reason_label(self) -> str | None:
        return vocab.label("decline_reasons", self.reason) if self.reason else None


def answer_of(push: Push) -> Answer:
    """The bank's answer for one pushed entry, read from its lead (the one outcome model):
    contacted = a claim's first contact; granted = the lead's approval (amount, rate, term);
    disbursed = the bank's disbursement record here, or the enterprise's confirmation on the
    lead; not suitable = the lead's decline with its reason code."""
    lead = push.lead
    if push.status != "sent" or lead is None:
        return Answer("proposed")
    if push.disbursed_amount_wan is not None:
        return Answer("disbursed", lead.approved_amount_wan, push.disbursed_amount_wan,
                      push.disbursed_rate, push.disbursed_term_months)
    if lead.status == "funded":
        return Answer("disbursed", lead.approved_amount_wan, lead.approved_amount_wan,
                      lead.approved_rate, lead.approved_term_months)
    if lead.outcome == "approved":
        return Answer("granted", lead.approved_amount_wan, None, lead.approved_rate,
                      lead.approved_term_months)
    if lead.outcome == "declined":
        return Answer("not_suitable", reason=lead.decline_reason, note=lead.outcome_note)
    if lead.outcome == "withdrawn":
        return Answer("withdrawn", note=lead.outcome_note)
    if any(c.contacted_at is not None for c in lead.claims):
        return Answer("contacted")
    if lead.status == "closed":
        return Answer("ended")
    if lead.status == "lapsed":
        return Answer("lapsed")
    return Answer("pending")


def answered_clause():
    """SQL twin of Answer.answered for a query joined to Lead (answer_of says the same)."""
    contacted = exists().where(Claim.lead_id == Push.lead_id, Claim.contacted_at.is_not(None))
    return or_(Push.disbursed_amount_wan.is_not(None), Lead.outcome.is_not(None),
               Lead.status.in_(("funded", "closed")), contacted)


def record_disbursement(actor, push: Push, *, amount_wan: Decimal, rate: Decimal,
                        term_months: int, disbursed_on: date) -> Push:
    """放款 after the lead's approval: amount within the approved credit, a rate of 0–24%,
    the date between the approval and today."""
    if not can_record_disbursement(actor, push):
        raise ServiceError("只有已授信的线索可以登记放款")
    lead = push.lead
    if amount_wan is None or amount_wan <= 0:
        raise ServiceError("放款金额必须大于0", field="amount_wan")
    if lead.approved_amount_wan is not None and amount_wan > lead.approved_amount_wan:
        raise ServiceError(f"放款金额不能超过授信金额{lead.approved_amount_wan.normalize():f}万元",
                           field="amount_wan")
    if rate is None or not Decimal(0) <= rate <= Decimal(24):
        raise ServiceError("年利率应在0到24%之间", field="rate")
    if term_months is None or not 1 <= term_months <= 360:
        raise ServiceError("期限应在1到360个月之间", field="term_months")
    if disbursed_on is None or disbursed_on > clock.china_today():
        raise ServiceError("放款日期不能晚于今天", field="disbursed_on")
    if lead.approved_on is not None and disbursed_on < lead.approved_on:
        raise ServiceError("放款日期不能早于批准日期", field="disbursed_on")
    before = push.disbursed_amount_wan
    push.disbursed_amount_wan, push.disbursed_rate = amount_wan, rate
    push.disbursed_term_months, push.disbursed_on = term_months, disbursed_on
    push.disbursed_by_id = actor.id
    db.session.flush()
    record(actor, "push.disbursed", push, whitelist_id=push.entry.whitelist_id,
           lead_id=lead.id, amount_wan=amount_wan, rate=rate, term_months=term_months,
           disbursed_on=disbursed_on, corrected=before is not None)
    return push


# --- the deadline: 督办 ---------------------------------------------------------------------------

def overdue_pushes(today: date | None = None):
    """Sent pushes of a pushed batch with no answer after its deadline (inclusive)."""
    today = today or clock.china_today()
    return (select(Push).join(Push.entry).join(WhitelistEntry.whitelist)
            .join(Lead, Lead.id == Push.lead_id)
            .where(Push.status == "sent", Whitelist.status == "pushed",
                   Whitelist.answer_deadline < today, not_(answered_clause())))


def supervised_pushes(user, today: date | None = None):
    """The organizer's 督办 list: overdue pushes of the batches the organizer sees."""
    from .permissions import visible_whitelists

    ids = visible_whitelists(user).with_only_columns(Whitelist.id)
    return overdue_pushes(today).where(Whitelist.id.in_(ids))


def overdue_by_institution(user, today: date | None = None) -> list[tuple]:
    """(institution, overdue entries, earliest deadline) for the 督办 summary."""
    query = supervised_pushes(user, today).with_only_columns(
        Push.institution_id, func.count(Push.id), func.min(Whitelist.answer_deadline)) \
        .group_by(Push.institution_id)
    rows = db.session.execute(query).all()
    institutions = {i.id: i for i in db.session.scalars(
        select(Institution).where(Institution.id.in_([r[0] for r in rows] or [0])))}
    return sorted(((institutions[i], n, d) for i, n, d in rows),
                  key=lambda r: (-r[1], r[0].name))


@dataclass
class SweepReport:
    escalated: list = field(default_factory=list)

    def summary(self) -> str:
        return f"escalated {len(self.escalated)} whitelist push(es)"


def sweep(today: date | None = None) -> SweepReport:
    """Run by cron (`matchmaker whitelists sweep`), idempotent: pushes without an answer
    after their batch's deadline go on the 督办 list and the institution's admins are told
    once per batch."""
    today = today or clock.china_today()
    report = SweepReport()
    moment = clock.now()
    grouped: dict[tuple[int, int], list[Push]] = {}
    for push in db.session.scalars(overdue_pushes(today).where(Push.escalated_at.is_(None))
                                   .order_by(Push.id)).all():
        push.escalated_at = moment
        record(None, "push.escalated", push, whitelist_id=push.entry.whitelist_id,
               lead_id=push.lead_id, deadline=push.entry.whitelist.answer_deadline)
        grouped.setdefault((push.entry.whitelist_id, push.institution_id), []).append(push)
        report.escalated.append(push)
    db.session.flush()
    for (whitelist_id, institution_id), pushes in grouped.items():
        whitelist = db.session.get(Whitelist, whitelist_id)
        notify_all(leads.institution_users(institution_id, "bank_admin"), "whitelist.escalated",
                   f"白名单《{whitelist.title}》有{len(pushes)}户企业超过反馈截止日期"
                   f"（{whitelist.answer_deadline:%m月%d日}）仍未反馈，已列入主管部门督办清单",
                   _path("whitelists.bank_index", whitelist_id=whitelist_id), email=True)
    log.info("whitelists sweep %s: %s", today, report.summary())
    return report


def supervise_push(actor, push: Push, note: str) -> Push:
    """An organizer records that the overdue answer was followed up (督办)."""
    note = (note or "").strip()
    if not note:
        raise ServiceError("请填写督办情况", field="note")
    if actor is None or actor.role != "organizer":
        raise ServiceError("只有组织方可以督办")
    push.supervised_at = clock.now()
    push.supervised_by_id = actor.id
    push.supervision_note = note[:TEXT_MAX]
    db.session.flush()
    record(actor, "push.supervised", push, whitelist_id=push.entry.whitelist_id)
    notify_all(leads.institution_users(push.institution_id, "bank_admin"), "whitelist.supervised",
               f"主管部门已就白名单《{push.entry.whitelist.title}》的未反馈条目进行督办",
               _path("whitelists.bank_index", whitelist_id=push.entry.whitelist_id))
    return push
