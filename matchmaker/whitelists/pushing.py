"""The push: a fair proposal of institutions per entry (allocation.py), the organizers'
overrides, and sending the batch to the banks as 白名单 leads. Flush, never commit."""
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..audit.service import record
from ..enterprises.models import Need
from ..enterprises.on_behalf import recorder_label
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..institutions.models import Institution
from ..leads import consent as consents
from ..leads import scope as scopes
from ..leads import service as leads
from ..leads.models import Consent
from ..notifications.service import notify_all
from . import allocation
from .models import Push, Whitelist, WhitelistEntry
from .permissions import (
    can_adjust_push,
    can_push_entry,
    can_push_whitelist,
)
from .rules import (
    blocked,
    entry_problems,
)
from .service import (
    _move,
    drop_proposals,
    entries_with_pushes,
    link,
)

log = logging.getLogger(__name__)
ADJUSTING = "当前状态下您不能调整推送方案"
PUSHING = "当前状态下您不能推送这批白名单"

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


@guarded(can_push_whitelist, "whitelist", message="当前状态下您不能生成推送方案")
def propose(actor, whitelist: Whitelist) -> allocation.Allocation:
    """The allocation's proposal for every pushable entry (allocation.py), replacing the
    proposals not yet sent (an organizer's overrides included); sent pushes stay and count."""
    entries = entries_with_pushes(whitelist)
    problems = entry_problems(whitelist, entries)
    options: dict[int, list[Eligible]] = {}
    for entry in entries:
        options[entry.id] = [] if blocked(problems[entry.id]) \
            else eligible_institutions(entry.need)
    fixed = {e.id: [p.institution_id for p in e.sent_pushes] for e in entries}
    result = allocation.allocate({e.id: [o.institution.id for o in options[e.id]]
                                  for e in entries}, whitelist.per_entry, whitelist.share,
                                 fixed)
    dropped = drop_proposals(whitelist)
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


@guarded(can_push_entry, "entry", message=ADJUSTING)
def add_push(actor, entry: WhitelistEntry, institution: Institution) -> Push:
    """The organizer adds an institution to an entry (its best matched product, if any)."""
    whitelist = entry.whitelist
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


@guarded(can_adjust_push, "push", message=ADJUSTING)
def remove_push(actor, push: Push) -> None:
    entry = push.entry
    whitelist = entry.whitelist
    if push.status == "sent":
        raise ServiceError("已推送的机构不能撤回")
    details = {"push_id": push.id, "entry_id": entry.id, "institution_id": push.institution_id}
    entry.pushes.remove(push)
    db.session.flush()
    record(actor, "push.removed", whitelist, **details)


def institution_loads(whitelist: Whitelist, entries=None) -> list[dict]:
    """Per institution: proposals and pushes in the batch, against the cap (the review table)."""
    entries = entries_with_pushes(whitelist) if entries is None else entries
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
    withdrawn: list = field(default_factory=list)  # pushes the firm withdrew consent for
    institutions: dict = field(default_factory=dict)  # institution_id -> entries sent now
    # entry -> the institutions granted a consent on the firm's behalf by this push
    granted: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (f"本次推送 {len(self.sent)} 条（{len(self.institutions)} 家机构）"
                + (f"，{len(self.skipped)} 户因不符合推送条件未推送" if self.skipped else "")
                + (f"，{len(self.withdrawn)} 条因企业已撤回对该机构的授权未推送"
                   if self.withdrawn else ""))


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


@guarded(can_push_whitelist, "whitelist", message=PUSHING)
def push_whitelist(actor, whitelist: Whitelist) -> PushReport:
    """Send every proposed push of every pushable entry, in the caller's one transaction:
    each opens (or finds) the lead for need × institution, source 白名单, with the
    enterprise's consent recorded on its behalf (the entry's basis and recorder, the required
    profile fields only; a consent the firm gave itself is kept as it is); each institution's
    admins get one notice, the firm's users one per entry. A push to an institution the firm
    withdrew its consent from after the entry's consent was recorded stays unsent. A push
    already sent is never sent again, so pushing twice sends nothing twice."""
    _lock(whitelist)
    if not can_push_whitelist(actor, whitelist):  # the batch re-read under the lock moved on
        raise ServiceError(PUSHING)
    entries = entries_with_pushes(whitelist)
    problems = entry_problems(whitelist, entries)
    report = PushReport()
    moment = clock.now()
    for entry in entries:
        waiting = [p for p in entry.pushes if p.status == "proposed"]
        if waiting and blocked(problems[entry.id]):
            report.skipped.append(entry)
            continue
        for push in waiting:
            if _withdrawn_since(entry, push.institution_id):
                report.withdrawn.append(push)
                continue
            if _send(actor, entry, push, moment):
                report.granted.setdefault(entry, []).append(push.institution)
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
    _tell_enterprises(whitelist, report)
    log.info("whitelist %s pushed by user %s: %s pushes", whitelist.id, actor.id,
             len(report.sent))
    return report


def _withdrawn_since(entry: WhitelistEntry, institution_id: int) -> bool:
    """The firm withdrew its consent for this institution after the organizer recorded the
    entry's (a withdrawal older than the signed form the basis names does not stand)."""
    return db.session.scalar(select(Consent.id).where(
        Consent.need_id == entry.need_id, Consent.institution_id == institution_id,
        Consent.revoke_reason == "withdrawn",
        Consent.revoked_at >= entry.consent_recorded_at).limit(1)) is not None


def _send(actor, entry: WhitelistEntry, push: Push, moment) -> bool:
    """Open the push's lead; True when it granted a consent on the firm's behalf."""
    need = entry.need
    granted = consents.live_consent(need.id, push.institution_id) is None
    if granted:
        consents.grant_consent(actor, need, push.institution, scopes.REQUIRED, "whitelist",
                               basis=entry.consent_basis,
                               recorded_by_id=entry.consent_recorded_by_id)
    lead = leads.open_lead(need, push.institution, source="whitelist", actor=actor,
                           product=push.product)
    push.lead_id = lead.id
    push.status = "sent"
    push.sent_at = moment
    push.sent_by_id = actor.id
    db.session.flush()
    return granted


def _tell_enterprises(whitelist: Whitelist, report: PushReport) -> None:
    """Each firm whose consent the push recorded on its behalf is told who recorded it, on
    what basis, which institutions now see the need, and where to withdraw."""
    for entry, institutions in report.granted.items():
        need = entry.need
        names = "、".join(i.name for i in institutions)
        notify_all(leads.enterprise_users(need), "need.consent_recorded",
                   # what to do comes before the long parts: a notice keeps 255 characters
                   f"融资需求 {need.ref} 已推送给{names}，可查看本需求及企业必需信息"
                   f"（{recorder_label(entry.consent_recorded_by)}代贵企业登记同意）。"
                   f"如非贵企业本意，请在需求页撤回。白名单《{whitelist.title}》，"
                   f"依据：{entry.consent_basis}",
                   link("enterprises.need", need_id=need.id), email=True)


def _announce(whitelist: Whitelist, report: PushReport) -> None:
    for institution_id, count in report.institutions.items():
        notify_all(leads.institution_users(institution_id, "bank_admin"), "whitelist.pushed",
                   f"白名单《{whitelist.title}》向贵机构推送{count}户企业，"
                   f"请于{whitelist.answer_deadline:%Y年%m月%d日}前反馈对接情况",
                   link("whitelists.bank_index", whitelist_id=whitelist.id), email=True)
