"""`matchmaker seed`, after the logins: the demo's 白名单 and 对接会, so an organizer trying the
demo finds something on those pages. Everything goes through the domains' own services (the
same rules, audit entries and notices as a click would), as the demo organizers, enterprises
and bank users of seeds/users.json; nothing is written directly. Flush, never commit.

Idempotent: when the city batch exists, nothing is created (a second seed changes nothing).
"""
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from . import clock
from .accounts.models import User
from .enterprises import members
from .enterprises.models import Enterprise, Need
from .errors import ServiceError
from .events import meetings
from .events import service as events
from .events.models import Event, Registration
from .extensions import db
from .institutions.models import Institution
from .leads import claims as lead_claims
from .leads import outcomes as lead_outcomes
from .leads import supervision as lead_supervision
from .leads.models import Lead
from .leads.permissions import visible_leads
from .policy import workdays
from .whitelists import pushing as whitelist_pushing
from .whitelists import service as whitelists
from .whitelists.models import Whitelist

log = logging.getLogger(__name__)

CITY_ORGANIZER = "jxw@demo.matchmaker.local"
DISTRICT_ORGANIZER = "yongchuan-jxw@demo.matchmaker.local"
ISSUING_BODY = "重庆市经济和信息化委员会"
WHITELIST_TITLE = "2026年第4批 制造业融资需求白名单（演示）"
DISTRICT_TITLE = "2026年永川区第2批 制造业融资需求白名单（演示，草稿）"
EVENT_TITLE = "2026年永川区智能装备产业银企对接会（演示）"
DISTRICT = "永川区"
CITY_ENTRIES, WITHOUT_CONSENT, DISTRICT_ENTRIES = 12, 3, 3
WHITELIST_PURPOSES = ("tech_upgrade", "supply_chain")
# (enterprise ref, its demo login), (institution ref, the admin who registers it)
EVENT_ENTERPRISES = (("E-0001", "qiye1@demo.matchmaker.local"),
                     ("E-0002", "qiye2@demo.matchmaker.local"),
                     ("E-0003", "qiye3@demo.matchmaker.local"))
EVENT_INSTITUTIONS = (("I-CQRCB", "cqrcb-admin@demo.matchmaker.local"),
                      ("I-CQBANK", "cqbank-admin@demo.matchmaker.local"),
                      ("I-SXGUAR", "sxguar-admin@demo.matchmaker.local"))
# meeting requests, enterprise × institution: accepted by the other side, or left pending
ACCEPTED = (("E-0001", "I-CQRCB"), ("E-0001", "I-CQBANK"), ("E-0002", "I-CQRCB"),
            ("E-0003", "I-CQBANK"), ("E-0003", "I-CQRCB"))
PENDING = (("E-0002", "I-SXGUAR"),)
MUST_MEET = (("E-0001", "I-SXGUAR"),)  # the organizer's 必须洽谈 pair
# a person who registered with a collected 永川区 firm's USCC: the claim waits for the organizer
APPLICANT = {"email": "shenqing@demo.matchmaker.local", "password": "demo-applicant-2026",
             "name": "郑晓梅", "mobile": "13983009901"}


@dataclass
class ScenesReport:
    whitelist: Whitelist | None = None
    pushes: int = 0
    event: Event | None = None
    meetings: int = 0
    leads: tuple = ()  # the leads of the lead scenes, by state
    claim: str = ""  # the pending claim on a collected firm, and its login

    def summary(self) -> str:
        if self.whitelist is None:
            return "demo scenes: already there (or no demo organizers), nothing created"
        return (f"demo scenes: whitelist #{self.whitelist.id} ({len(self.whitelist.entries)} "
                f"entries, {self.pushes} pushes), event #{self.event.id} "
                f"({self.meetings} meetings), leads {', '.join(self.leads)}"
                + (f"; {self.claim}" if self.claim else ""))


def seed_scenes(today: date) -> ScenesReport:
    """The city's pushed whitelist batch, the 永川区 draft batch and a scheduled 对接会."""
    report = ScenesReport()
    if db.session.scalar(select(Whitelist.id).where(Whitelist.title == WHITELIST_TITLE)):
        return report
    city, district = _user(CITY_ORGANIZER), _user(DISTRICT_ORGANIZER)
    if city is None or district is None:  # a users.json without the demo organizers
        return report
    district_needs = _district_needs()
    report.whitelist, report.pushes = _city_whitelist(city, today, exclude=district_needs)
    _district_whitelist(district, today, district_needs)
    report.event, report.meetings = _event(city, today)
    report.leads = _lead_scenes(today)
    report.claim = _claim_scene()
    log.info("demo scenes: whitelist %s, event %s", report.whitelist.id, report.event.id)
    return report


def _claim_scene() -> str:
    """A collected 永川区 firm nobody has an account for, and a person who registered with its
    USCC: the 永川区 and city organizers find the claim on their home page (企业认领申请)."""
    with_users = select(User.enterprise_id).where(User.enterprise_id.is_not(None))
    firm = db.session.scalar(select(Enterprise).where(
        Enterprise.district == DISTRICT, Enterprise.id.not_in(with_users))
        .order_by(Enterprise.ref))
    if firm is None or _user(APPLICANT["email"]) is not None:
        return ""
    applicant = members.register_applicant(
        firm, company_name=firm.name, name=APPLICANT["name"], email=APPLICANT["email"],
        password=APPLICANT["password"], mobile_phone=APPLICANT["mobile"])
    members.announce_claims(applicant)
    return (f"pending claim on {firm.ref} by {APPLICANT['email']} "
            f"(password {APPLICANT['password']}); {firm.ref} and the other firms without a "
            "login show the organizer's 邀请开通企业账号")


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _published_needs():
    return (select(Need).join(Need.enterprise).where(Need.status == "published")
            .order_by(Need.ref))


# --- 白名单 --------------------------------------------------------------------------------------

def _district_needs() -> list[Need]:
    """One need each of three 永川区 enterprises, kept off the city batch (else the draft
    would show them as already listed elsewhere)."""
    chosen, seen = [], set()
    for need in db.session.scalars(_published_needs().where(Enterprise.district == DISTRICT)):
        if need.enterprise_id not in seen and len(chosen) < DISTRICT_ENTRIES:
            seen.add(need.enterprise_id)
            chosen.append(need)
    return chosen


def _city_needs(exclude: list[Need]) -> list[Need]:
    """技改 and 供应链 needs with a matching product, one per enterprise; a few without the
    enterprise's consent, so the batch shows the consent rule keeping them from the banks."""
    skip = {n.id for n in exclude}
    with_consent, without = [], []
    seen = set()
    for need in db.session.scalars(_published_needs()
                                   .where(Need.purpose.in_(WHITELIST_PURPOSES))):
        if need.id in skip or need.enterprise_id in seen:
            continue
        if need.consent_to_share and len(with_consent) < CITY_ENTRIES - WITHOUT_CONSENT \
                and whitelist_pushing.eligible_institutions(need):
            with_consent.append(need)
        elif not need.consent_to_share and len(without) < WITHOUT_CONSENT:
            without.append(need)
        else:
            continue
        seen.add(need.enterprise_id)
    return sorted(with_consent + without, key=lambda n: n.ref)


def _add_entries(actor, whitelist: Whitelist, needs: list[Need], recommender: str) -> None:
    for need in needs:
        values = whitelists.entry_values_from_need(need)
        whitelists.add_entry(actor, whitelist, need, recommender=recommender,
                             consent=values["consent"], project_name=values["project_name"],
                             consent_basis=values["consent_basis"],
                             note=None if values["consent"] else "待企业补签授权书")


def _city_whitelist(city: User, today: date, exclude: list[Need]) -> tuple[Whitelist, int]:
    whitelist = whitelists.create_whitelist(
        city, title=WHITELIST_TITLE, kind="needs", issuing_body=ISSUING_BODY, issued_on=today,
        answer_deadline=today + timedelta(days=30))
    _add_entries(city, whitelist, _city_needs(exclude), ISSUING_BODY)
    whitelist_pushing.propose(city, whitelist)
    report = whitelist_pushing.push_whitelist(city, whitelist)
    return whitelist, len(report.sent)


def _district_whitelist(district: User, today: date, needs: list[Need]) -> Whitelist:
    whitelist = whitelists.create_whitelist(
        district, title=DISTRICT_TITLE, kind="needs", issuing_body=district.organization
        or "永川区经济和信息化委员会", issued_on=today,
        answer_deadline=whitelists.default_deadline(today))
    _add_entries(district, whitelist, needs, district.organization or DISTRICT)
    return whitelist  # left in draft: the district has not reported it to the city yet


# --- 对接会 ------------------------------------------------------------------------------------

def _event(city: User, today: date) -> tuple[Event, int]:
    day = today + timedelta(days=14)
    deadline = datetime.combine(today + timedelta(days=10), time(18, 0), clock.CHINA)
    event = events.create_event(
        city, title=EVENT_TITLE, day=day, venue="永川区凤凰湖产业园会议中心三楼多功能厅",
        district=DISTRICT, theme_cluster="intelligent_equipment",
        description="聚焦智能装备产业链企业技改、设备更新和供应链融资需求，"
                    "银行、担保机构现场一对一洽谈。（演示数据）",
        registration_deadline=deadline)
    events.add_slots(city, event, datetime.combine(day, time(14, 0), clock.CHINA), 20, 8)
    events.set_tables(city, event, 6)
    events.publish_event(city, event)
    events.invite(city, event, "district")  # the 永川区 enterprises and the lenders serving it
    enterprises = {ref: _register_enterprise(event, email) for ref, email in EVENT_ENTERPRISES}
    institutions = {ref: _register_institution(event, ref, email)
                    for ref, email in EVENT_INSTITUTIONS}
    for pairs, accept in ((ACCEPTED, True), (PENDING, None)):
        for ent, inst in pairs:
            _request(enterprises[ent], institutions[inst], accept)
    for ent, inst in MUST_MEET:
        events.add_must_meet(city, event, enterprises[ent], institutions[inst])
    report = meetings.schedule_event(city, event)
    return event, report.meetings


def _register_enterprise(event: Event, email: str) -> Registration:
    """Enterprises register themselves (the service takes the enterprise's own user): only
    the demo enterprises with a login can; the others got an invitation."""
    user = _user(email)
    need = db.session.scalar(select(Need).where(
        Need.enterprise_id == user.enterprise_id, Need.status.in_(events.OPEN_NEED_STATUSES))
        .order_by(Need.ref))
    return events.register_enterprise(user, event, need, consent=True)


def _register_institution(event: Event, ref: str, email: str) -> Registration:
    user = _user(email)
    institution = db.session.scalar(select(Institution).where(Institution.ref == ref))
    managers = [u.id for u in events.institution_managers(institution.id)]
    products = [p.id for p in events.institution_products(institution.id)][:3]
    return events.register_institution(user, event, institution, managers, products)


def _request(enterprise: Registration, institution: Registration, accept: bool | None) -> None:
    """The enterprise asks; the institution's admin answers (None: not yet)."""
    asker = events.party_users(enterprise)[0]
    request = events.request_meeting(asker, enterprise, institution,
                                     "希望当面了解贵行的技改和供应链融资产品。")
    if accept is not None:
        answerer = events.party_users(institution)[0]
        events.respond_request(answerer, request, accept)


# --- leads in every state (issue 17): so a newcomer sees claimed, contacted, declined with a
# reason, funded and unclaimed-on-the-督办-list leads, all through the services ------------

LEAD_MANAGERS = ("cqrcb-kh1@demo.matchmaker.local", "cqrcb-kh2@demo.matchmaker.local")
DEMO_PHONES = {"cqrcb-kh1@demo.matchmaker.local": "13983000101",
               "cqrcb-kh2@demo.matchmaker.local": "13983000102"}


def _lead_scenes(today: date) -> tuple:
    managers = [u for u in (_user(e) for e in LEAD_MANAGERS) if u is not None]
    if not managers:
        return ()
    for user in managers:  # the enterprise sees who will call: a demo number
        user.phone = user.phone or DEMO_PHONES[user.email]
    leads = _open_leads(managers[0])
    done = []
    scenes = (("claimed", _claimed), ("contacted", _contacted), ("declined", _declined),
              ("funded", _funded), ("unclaimed", _unclaimed))
    for name, play in scenes:
        for lead in list(leads):
            try:
                with db.session.begin_nested():
                    play(lead, managers[len(done) % len(managers)], today)
            except ServiceError as err:
                log.info("demo lead scene %s skipped lead %s: %s", name, lead.id, err.message)
                continue
            leads.remove(lead)
            done.append(name)
            break
    return tuple(done)


def _open_leads(manager: User) -> list[Lead]:
    """Open leads the demo bank sees, needs of enterprises with a demo login first (the
    funded scene needs the enterprise to confirm), one per need."""
    with_login = set(db.session.scalars(select(User.enterprise_id).where(
        User.role == "enterprise", User.enterprise_id.is_not(None))))
    leads = db.session.scalars(visible_leads(manager).where(Lead.status == "open")
                               .order_by(Lead.id).limit(200)).all()
    seen, picked = set(), []
    for lead in sorted(leads, key=lambda x: x.need.enterprise_id not in with_login):
        if lead.need_id not in seen:
            seen.add(lead.need_id)
            picked.append(lead)
    return picked


def _claimed(lead: Lead, manager: User, today: date) -> None:
    lead_claims.claim_lead(manager, lead)


def _contacted(lead: Lead, manager: User, today: date) -> None:
    lead_claims.claim_lead(manager, lead)
    lead_claims.add_followup(manager, lead, "call", "已电话联系财务负责人，约定下周走访")


def _declined(lead: Lead, manager: User, today: date) -> None:
    _contacted(lead, manager, today)
    lead_outcomes.decline_lead(manager, lead, "insufficient_collateral",
                               "可补充厂房抵押或引入担保公司后再申请")


def _funded(lead: Lead, manager: User, today: date) -> None:
    owner = db.session.scalar(select(User).where(
        User.role == "enterprise", User.enterprise_id == lead.need.enterprise_id))
    if owner is None or lead.product is None:
        raise ServiceError("no demo login for this enterprise")
    _contacted(lead, manager, today)
    product, need = lead.product, lead.need
    lead_outcomes.approve_lead(
        manager, lead, product=product, amount_wan=min(need.amount_wan, product.amount_max_wan),
        rate=product.rate_min, term_months=need.term_months,
        guarantee_mode=(list(need.guarantee_modes) or ["credit"])[0], approved_on=today)
    lead_outcomes.confirm_funding(owner, lead, 5, "审批快，客户经理上门服务")


def _unclaimed(lead: Lead, manager: User, today: date) -> None:
    """The demo plays the clock forward for this one lead: pushed as many working days ago
    as the claim deadline allows, plus one, and nobody claimed it."""
    lead.claim_due = workdays.add_working_days(today - timedelta(days=10), 1)
    lead_supervision.escalate_unclaimed(lead)
