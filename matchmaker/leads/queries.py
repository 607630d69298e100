"""Read-side of the leads pages: the bank's inbox (filters, urgency order), what a lead page
shows (matched products, the consented profile), the enterprise's timeline and the need-page
panel. Queries only: nothing here changes state."""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, select
from sqlalchemy.orm import aliased, contains_eager, selectinload

from .. import clock, vocab
from ..audit.models import AuditEntry
from ..enterprises.models import Enterprise, Need
from ..extensions import db
from ..institutions.models import Product
from ..matching import queries as matching
from . import scope as scopes
from .consent import live_consent, need_consents
from .models import CLAIM_LIVE, CONTACT_KINDS, FOLLOWUP_LABELS, LEAD_ACTIVE, Claim, Consent, Lead
from .permissions import can_push_need, visible_leads
from .push import push_candidates
from .service import need_leads

NEXT_BEST_COUNT = 3  # institutions offered when a pushed lead went unclaimed

RENEWAL_NEAR_DAYS = 30  # a renewal due within this many days heads the inbox


# --- the bank's inbox ------------------------------------------------------------------------

INBOX_STATUSES = {"active": "进行中（待认领/已认领/对接中）", "mine": "我认领的",
                  "open": "待认领", "claimed": "已认领待联系", "contacted": "对接中",
                  "approved": "已批准", "declined": "未获批", "withdrawn": "已终止",
                  "funded": "已放款", "closed": "需求已结束", "all": "全部"}
AGES = {"3": ("3天内", 0, 3), "7": ("7天内", 0, 7), "30": ("30天内", 0, 30),
        "older": ("30天以前", 30, None)}


def inbox_query(user, *, purpose=None, district=None, amount_min=None, amount_max=None,
                age=None, status="active"):
    """The institution's visible leads, filtered, most urgent first: renewals falling due
    within 30 days (soonest first), then the nearest claim deadline, then the newest."""
    live = aliased(Claim)
    # the need and its enterprise from the joins the filters need: their joined eager loads
    # would join both tables a second time (687 leads sorted: about 15 -> 13 ms)
    query = (visible_leads(user).join(Need.enterprise)
             .outerjoin(live, and_(live.lead_id == Lead.id, live.status.in_(CLAIM_LIVE)))
             .options(selectinload(Lead.claims),
                      contains_eager(Lead.need).contains_eager(Need.enterprise)))
    query = _filter_status(query, user, live, status or "active")
    if purpose:
        query = query.where(Need.purpose == purpose)
    if district:
        query = query.where(Enterprise.district == district)
    if amount_min is not None:
        query = query.where(Need.amount_wan >= amount_min)
    if amount_max is not None:
        query = query.where(Need.amount_wan <= amount_max)
    if age in AGES:
        _label, newer, older = AGES[age]
        moment = clock.now()
        query = query.where(Lead.created_at <= moment - timedelta(days=newer))
        if older is not None:
            query = query.where(Lead.created_at > moment - timedelta(days=older))
    return query.order_by(*_urgency(live))


def _filter_status(query, user, live, status):
    if status == "active":
        return query.where(Lead.status.in_(LEAD_ACTIVE))
    if status == "mine":
        return query.where(live.manager_id == user.id)
    if status in INBOX_STATUSES and status != "all":
        return query.where(Lead.status == status)
    return query


def _urgency(live):
    near = and_(Need.loan_kind == "renewal", Need.renewal_due.is_not(None),
                Need.renewal_due <= clock.china_today() + timedelta(days=RENEWAL_NEAR_DAYS),
                Lead.status.in_(LEAD_ACTIVE))
    deadline = case((live.status == "claimed", live.contact_due), else_=live.decision_due)
    return (case((near, 0), else_=1), case((near, Need.renewal_due)).asc().nulls_last(),
            deadline.asc().nulls_last(), Lead.created_at.desc(), Lead.id.desc())


def lead_products(lead: Lead) -> list[dict]:
    """The matched products as frozen on the lead, with the Product rows for names."""
    ids = [m["product_id"] for m in lead.matched or []]
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
    return [dict(m, product=products.get(m["product_id"])) for m in lead.matched or []
            if products.get(m["product_id"]) is not None]


def approval_products(lead: Lead) -> list[Product]:
    """Products an approval may be recorded under: the matched ones first, then the
    institution's other published products."""
    matched = [m["product"] for m in lead_products(lead)]
    others = db.session.scalars(select(Product).where(
        Product.institution_id == lead.institution_id, Product.status == "published",
        Product.id.not_in([p.id for p in matched] or [0])).order_by(Product.name)).all()
    return matched + list(others)


def lead_profile(lead: Lead) -> tuple[Consent | None, list[tuple[str, str]]]:
    """The consented profile without the contact (lead_contact shows it, after a claim)."""
    consent = live_consent(lead.need_id, lead.institution_id)
    if consent is None:
        return None, []
    return consent, scopes.consented_profile(lead.need.enterprise,
                                             [c for c in consent.scope if c != "contacts"])


def lead_contact(lead: Lead) -> tuple[str | None, str | None] | None:
    """The enterprise's contact person and mobile, for the bank once it claimed the lead
    (and while the consent lasts); None before the claim."""
    if lead.status == "open" or not lead.claims:
        return None
    consent = live_consent(lead.need_id, lead.institution_id)
    if consent is None or "contacts" not in consent.scope:
        return None
    firm = lead.need.enterprise
    return firm.contact_name, firm.contact_phone


# --- what the enterprise sees ----------------------------------------------------------------

@dataclass
class TimelineItem:
    at: object
    title: str
    text: str = ""
    style: str = "primary"


def public_timeline(lead: Lead) -> list[TimelineItem]:
    """The lead's story for the enterprise: status changes and kinds of contact, never the
    bank's internal notes (a note follow-up is left out; other follow-ups show their kind)."""
    consent_ids = select(Consent.id).where(Consent.need_id == lead.need_id,
                                           Consent.institution_id == lead.institution_id)
    entries = db.session.scalars(select(AuditEntry).where(
        ((AuditEntry.subject_type == "leads") & (AuditEntry.subject_id == lead.id))
        | ((AuditEntry.subject_type == "consents") & AuditEntry.subject_id.in_(consent_ids)))
        .order_by(AuditEntry.created_at, AuditEntry.id)).all()
    items = [_public_item(lead, e) for e in entries]
    return [i for i in items if i is not None]


def _public_item(lead: Lead, entry: AuditEntry) -> TimelineItem | None:
    d, at, inst = entry.details or {}, entry.created_at, lead.institution.name
    who = entry.actor.name if entry.actor is not None else ""
    match entry.action:
        case "consent.granted":
            return TimelineItem(at, f"授权{inst}查看", "可查看：" + "、".join(scopes.labels(
                d.get("scope", []))))
        case "consent.revoked" if d.get("reason") == "need_ended":
            return TimelineItem(at, f"对{inst}的授权随需求结束而终止", "", "secondary")
        case "consent.revoked" if d.get("reason") != "superseded":
            return TimelineItem(at, f"已撤回对{inst}的授权", "该机构不再能查看本需求", "secondary")
        case "lead.opened" | "lead.reopened":
            return TimelineItem(at, f"需求已推送至{inst}")
        case "lead.claimed":
            return TimelineItem(at, f"{inst}客户经理{who}已接单",
                                f"承诺{d.get('contact_due')}前联系您，"
                                f"{d.get('decision_due')}前给出审批答复", "success")
        case "lead.assigned":
            return TimelineItem(at, f"{inst}已安排客户经理接单",
                                f"承诺{d.get('contact_due')}前联系您，"
                                f"{d.get('decision_due')}前给出审批答复", "success")
        case "lead.reassigned":
            return TimelineItem(at, f"{inst}已更换负责的客户经理", "联系和答复期限不变")
        case "lead.handed_back":
            return TimelineItem(at, "客户经理已交回接单", "线索重新开放给该机构的其他客户经理",
                                "secondary")
        case "lead.followed_up" if d.get("kind") in CONTACT_KINDS:
            return TimelineItem(at, f"客户经理{FOLLOWUP_LABELS[d['kind']]}")
        case "lead.released":
            return TimelineItem(at, "客户经理已放弃接单", "线索重新开放给该机构的其他客户经理",
                                "secondary")
        case "lead.lapsed":
            return TimelineItem(at, f"{inst}未在时限内联系您", "接单已超时收回，需求重新开放",
                                "danger")
        case "lead.unclaimed":
            return TimelineItem(at, f"{inst}未在时限内接单",
                                "已列入主管部门督办清单；您可以推送给其他匹配机构", "danger")
        case "lead.escalated":
            return TimelineItem(at, "审批超时", "已列入主管部门督办清单", "danger")
        case "lead.supervised":
            return TimelineItem(at, "主管部门已督办", "", "warning")
        case "lead.approved":
            return TimelineItem(at, f"{inst}已批准", "", "success")
        case "lead.declined":
            reason = vocab.label("decline_reasons", d.get("reason"))
            return TimelineItem(at, f"{inst}未批准", f"原因：{reason}", "secondary")
        case "lead.withdrawn":
            return TimelineItem(at, f"{inst}终止对接", "", "secondary")
        case "lead.funded":
            return TimelineItem(at, "您已确认放款到账", "", "success")
        case "lead.rated":
            return TimelineItem(at, f"您评价了服务：{d.get('rating')}星")
        case "lead.closed":
            return TimelineItem(at, "对接已结束", "需求已结束", "secondary")
    return None


@dataclass
class NeedPanel:
    """What the need page shows about its leads (templates/leads/_need_leads.html)."""

    leads: list
    consents: list
    live: dict
    can_push: bool
    candidates: int
    unanswered: list = None  # leads nobody claimed in time after the push
    next_best: list = None  # push candidates offered instead (one tap each)
    next_scope: list = None  # the profile fields they would receive (as last consented)


def need_panel(user, need: Need) -> NeedPanel:
    consents = need_consents(need)
    leads = need_leads(need)
    panel = NeedPanel(leads=leads, consents=consents,
                      live={c.institution_id: c for c in consents if c.live},
                      can_push=can_push_need(user, need),
                      candidates=matching.matched_institution_count(need),
                      unanswered=[lead for lead in leads if lead.unclaimed_overdue],
                      next_best=[], next_scope=[])
    if panel.can_push and panel.unanswered:
        panel.next_scope = next_push_scope(need)
        panel.next_best = [c for c in push_candidates(need)
                           if c.consent is None and c.lead is None][:NEXT_BEST_COUNT]
    return panel


def next_push_scope(need: Need) -> list[str]:
    """The profile fields a one-tap push sends: those of the enterprise's latest push consent
    (its own choice), else only the required ones."""
    own = [c for c in need_consents(need) if c.via == "push"]
    return scopes.normalize(own[0].scope if own else ())
