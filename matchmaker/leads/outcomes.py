"""Outcomes: the bank's answer (approved, declined, withdrawn), the enterprise's confirmation
that the money arrived, and its rating. Flush, never commit."""
import logging
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from .. import clock, signals, vocab
from ..audit.service import record
from ..enterprises.service import change_status
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..institutions.models import Product
from ..notifications.service import notify, notify_all
from .claims import (
    record_first_contact,
)
from .models import (
    CLAIM_LIVE,
    LEAD_ACTIVE,
    Claim,
    Lead,
)
from .permissions import (
    RATEABLE_STATUSES,
    can_work_lead,
    owns_lead,
)
from .push import end_consents_of_ended_need

DECIDER = "只有认领该线索的客户经理可以登记审批结果"
from .service import (
    close_lead,
    enterprise_users,
    link,
    need_leads,
    return_need_to_pool,
)

log = logging.getLogger(__name__)

# --- outcomes ---------------------------------------------------------------------------------

def _decision_claim(actor, lead: Lead) -> Claim:
    claim = lead.live_claim
    if claim is None or claim.manager_id != actor.id:
        raise ServiceError(DECIDER)
    # two decisions posted at once from two pages (each its own form token): the second
    # waits on the claim's row lock and then finds it decided. PostgreSQL; SQLite runs one
    # writer at a time and ignores FOR UPDATE.
    status = db.session.scalar(select(Claim.status).where(Claim.id == claim.id)
                               .with_for_update())
    if status not in CLAIM_LIVE:
        raise ServiceError("该线索已登记审批结果，请刷新页面查看")
    return claim


def _decide(actor, lead: Lead, claim: Claim, outcome: str) -> None:
    moment = clock.now()
    if claim.contacted_at is None and outcome == "approved":
        # an approval is a contact (terms agreed with the firm); a decline or a withdrawal
        # is not: the on-time figures count logged contacts only
        record_first_contact(actor, lead, claim, moment)
    claim.status = outcome
    claim.decided_at = moment
    lead.status = outcome
    lead.outcome = outcome
    lead.decided_at = moment
    lead.decided_by_id = actor.id


@guarded(can_work_lead, "lead", message=DECIDER)
def approve_lead(actor, lead: Lead, *, product: Product, amount_wan: Decimal, rate: Decimal,
                 term_months: int, guarantee_mode: str, approved_on: date,
                 note: str | None = None) -> Lead:
    """批准: the terms as approved; an amount above the product's maximum or a negative rate
    is refused (the form checks the shape, this checks the product)."""
    claim = _decision_claim(actor, lead)
    _check_approval(lead, claim, product, amount_wan, rate, term_months, guarantee_mode,
                    approved_on)
    _decide(actor, lead, claim, "approved")
    lead.outcome_product_id = product.id
    lead.approved_amount_wan = amount_wan
    lead.approved_rate = rate
    lead.approved_term_months = term_months
    lead.approved_guarantee_mode = guarantee_mode
    lead.approved_on = approved_on
    lead.outcome_note = (note or "").strip() or None
    db.session.flush()
    record(actor, "lead.approved", lead, claim_id=claim.id, product_id=product.id,
           amount_wan=amount_wan, rate=rate, term_months=term_months,
           guarantee_mode=guarantee_mode, approved_on=approved_on,
           on_time=clock.china_date(claim.decided_at) <= claim.decision_due)
    notify_all(enterprise_users(lead.need), "lead.approved",
               f"{lead.institution.name}已批准您的融资需求 {lead.need.ref}，请在放款到账后确认",
               link("leads.progress", lead_id=lead.id), email=True)
    signals.lead_decided.send(lead, outcome="approved")
    return lead


def _check_approval(lead, claim, product, amount_wan, rate, term_months, guarantee_mode,
                    approved_on) -> None:
    if product is None or product.institution_id != lead.institution_id:
        raise ServiceError("请选择本机构的产品", field="product_id")
    if amount_wan is None or amount_wan <= 0:
        raise ServiceError("批准金额必须大于0", field="amount_wan")
    if amount_wan > product.amount_max_wan:
        raise ServiceError(f"批准金额不能超过产品“{product.name}”的最高额度"
                           f"{product.amount_max_wan.normalize():f}万元", field="amount_wan")
    if rate is None or rate < 0:
        raise ServiceError("年利率不能为负数", field="rate")
    if term_months is None or term_months <= 0:
        raise ServiceError("期限必须大于0个月", field="term_months")
    if guarantee_mode not in vocab.codes("guarantee_modes"):
        raise ServiceError("请选择担保方式", field="guarantee_mode")
    if approved_on is None or approved_on > clock.china_today():
        raise ServiceError("批准日期不能晚于今天", field="approved_on")
    if approved_on < clock.china_date(claim.claimed_at):
        raise ServiceError("批准日期不能早于接单日期", field="approved_on")


@guarded(can_work_lead, "lead", message=DECIDER)
def decline_lead(actor, lead: Lead, reason: str, text_: str | None = None,
                 no_contact_reason: str | None = None) -> Lead:
    """未获批 with a reason code from the vocabulary (text required for "other"): the
    enterprise sees why. The enterprise must have been contacted (a logged call, visit or
    documents request), or the manager states why no contact was possible; a decline
    without contact never counts as an on-time contact."""
    claim = _decision_claim(actor, lead)
    if reason not in vocab.codes("decline_reasons"):
        raise ServiceError("请选择未获批原因", field="reason")
    text_ = (text_ or "").strip() or None
    if reason == "other" and not text_:
        raise ServiceError("原因为“其他”时须填写具体说明", field="text")
    no_contact_reason = (no_contact_reason or "").strip() or None
    if claim.contacted_at is None and not no_contact_reason:
        raise ServiceError("请先登记与企业的联系（电话、走访或要求资料），或说明无法联系的原因",
                           field="no_contact_reason")
    if claim.contacted_at is None:
        claim.no_contact_reason = no_contact_reason
    _decide(actor, lead, claim, "declined")
    lead.decline_reason = reason
    lead.outcome_note = text_
    db.session.flush()
    record(actor, "lead.declined", lead, claim_id=claim.id, reason=reason,
           contacted=claim.contacted_at is not None,
           on_time=clock.china_date(claim.decided_at) <= claim.decision_due)
    notify_all(enterprise_users(lead.need), "lead.declined",
               f"{lead.institution.name}未能批准您的需求 {lead.need.ref}："
               f"{vocab.label('decline_reasons', reason)}",
               link("leads.progress", lead_id=lead.id), email=True)
    return_need_to_pool(lead.need)
    signals.lead_decided.send(lead, outcome="declined")
    return lead


@guarded(can_work_lead, "lead", message=DECIDER)
def withdraw_lead(actor, lead: Lead, note: str) -> Lead:
    """终止对接 (the enterprise no longer needs it, or talks ended): the reason is shown to
    the enterprise."""
    claim = _decision_claim(actor, lead)
    note = (note or "").strip()
    if not note:
        raise ServiceError("请填写终止对接的原因", field="note")
    _decide(actor, lead, claim, "withdrawn")
    lead.outcome_note = note
    db.session.flush()
    record(actor, "lead.withdrawn", lead, claim_id=claim.id)
    notify_all(enterprise_users(lead.need), "lead.withdrawn",
               f"{lead.institution.name}已终止与您的对接（需求 {lead.need.ref}）",
               link("leads.progress", lead_id=lead.id))
    return_need_to_pool(lead.need)
    signals.lead_decided.send(lead, outcome="withdrawn")
    return lead


def _check_rating(rating) -> int:
    if rating is None or not 1 <= int(rating) <= 5:
        raise ServiceError("请为服务打分（1–5星）", field="rating")
    return int(rating)


@guarded(owns_lead, "lead", message="只有需求所属企业可以确认放款")
def confirm_funding(actor, lead: Lead, rating: int, comment: str | None = None) -> Lead:
    """The enterprise confirms the money arrived and rates the service: the lead and the need
    are funded; the other institutions' work on the need ends."""
    if lead.status != "approved":
        raise ServiceError("只有已批准的线索可以确认放款")
    rating = _check_rating(rating)
    change_status(actor, lead.need, "funded")
    lead.status = "funded"
    lead.funded_at = clock.now()
    _rate(lead, rating, comment)
    db.session.flush()
    record(actor, "lead.funded", lead, claim_id=lead.last_claim.id if lead.last_claim else None)
    record(actor, "lead.rated", lead, rating=rating)
    manager = lead.last_claim.manager if lead.last_claim else None
    notify(manager, "lead.funded", f"企业已确认线索 #{lead.id} 放款到账，评价{rating}星",
           link("leads.show", lead_id=lead.id))
    _close_other_leads(lead)
    end_consents_of_ended_need(lead.need)  # the other institutions' consents end
    signals.lead_decided.send(lead, outcome="funded")
    return lead


def _rate(lead: Lead, rating: int, comment: str | None) -> None:
    lead.rating = rating
    lead.rating_comment = (comment or "").strip() or None
    lead.rated_at = clock.now()


@guarded(owns_lead, "lead", message="只有需求所属企业可以评价金融机构的服务")
def rate_lead(actor, lead: Lead, rating: int, comment: str | None = None) -> Lead:
    """A rating for a lead that ended without a loan (or was funded but not yet rated)."""
    if lead.status not in RATEABLE_STATUSES:
        raise ServiceError("对接结束后才能评价")
    if lead.rating is not None:
        raise ServiceError("您已评价过该机构的服务")
    _rate(lead, _check_rating(rating), comment)
    db.session.flush()
    record(actor, "lead.rated", lead, rating=lead.rating)
    return lead


def _close_other_leads(funded: Lead) -> None:
    for lead in need_leads(funded.need):
        # another institution's approval stays on record (outcome kept) but is closed
        if lead.id != funded.id and lead.status in LEAD_ACTIVE + ("approved",):
            close_lead(lead, "需求已在其他机构获得融资")
