"""Whitelist entry and exit rules (who may be on a batch, who must leave it) and the
organizers' enterprise flags (临时困难 …). Flush, never commit."""
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..audit.service import record
from ..enterprises.models import Enterprise
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from .models import OPEN_STATUSES, EnterpriseFlag, Whitelist, WhitelistEntry
from .permissions import (
    can_clear_flag,
    can_flag_enterprise,
)
from .service import (
    ENDED_NEED_STATUSES,
    TEXT_MAX,
)

log = logging.getLogger(__name__)

# --- entry and exit rules ------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    blocking: bool  # True: the entry is not pushed


def entry_problems(whitelist: Whitelist, entries=None) -> dict[int, list[Problem]]:
    """Every entry's problems, with four queries for the whole batch:
    - consent: without the enterprise's consent, or without the basis it was recorded on,
      the entry is never pushed;
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
        elif not entry.consent_basis or entry.consent_recorded_at is None:
            # listed before basis and recorder were asked: an organizer states them first
            found.append(Problem("no_basis", "企业同意推送未注明授权依据和登记人：在条目中"
                                 "填写并保存授权依据后才推送（如企业签署的申报表编号）", True))
        need = entry.need
        if need.status in ENDED_NEED_STATUSES:
            found.append(Problem("need_ended", f"需求已{need.status_label}，不再推送", True))
        elif need.status == "draft":
            found.append(Problem("need_draft", "需求尚未发布，不能推送", True))
        if not need.enterprise.verified:  # a self-registered firm nobody has checked yet
            found.append(Problem("unverified", "企业为自行注册，尚待核验企业名称与统一社会信用代码："
                                 "在企业页面核验通过后才推送", True))
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


@guarded(can_flag_enterprise, "enterprise", message="您不能标记该企业")
def set_flag(actor, enterprise: Enterprise, reason: str, kind: str = "difficulty"):
    """Mark the enterprise in difficulty: its entries stop being pushed (exit rule)."""
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


@guarded(can_clear_flag, "flag", message="您不能修改该企业的标记")
def clear_flag(actor, flag: EnterpriseFlag, note: str | None = None) -> EnterpriseFlag:
    if flag.cleared_at is not None:
        raise ServiceError("该标记已解除")
    flag.cleared_at = clock.now()
    flag.cleared_by_id = actor.id
    flag.clear_note = (note or "").strip()[:255] or None
    db.session.flush()
    record(actor, "enterprise_flag.cleared", flag, enterprise_id=flag.enterprise_id,
           kind=flag.kind)
    return flag
