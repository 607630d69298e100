"""Dated policy figures: LPR quotes, subsidy programs, platform settings. Flush, never commit.

The figures come from dated policy texts (渝经信规范〔2024〕7号 …) and change by decision, so
administrators edit them here and every change is audited; nothing below is a constant.
"""
import logging
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select

from .. import clock, signals
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from .models import ProgramConfirmation, ReferenceRate, Setting, SubsidyProgram
from .permissions import can_confirm_programs, can_edit_policy

ADMINS_ONLY = "只有平台管理员可以修改政策参数"

log = logging.getLogger(__name__)

LPR_KINDS = {"lpr_1y": "1年期LPR", "lpr_5y": "5年期以上LPR"}

# Chinese names (and bounds) of the settings inside each program's JSON: the edit form shows
# one field per key the program holds
PROGRAM_SETTING_FIELDS = {
    "share_of_rate": ("贴息比例（占实际利率，0–1）", Decimal(1)),
    "points": ("贴息百分点", Decimal(100)),
    "share_of_fee": ("补助比例（占担保费，0–1）", Decimal(1)),
    "max_fee_rate": ("可补助的担保费率上限（%/年）", Decimal(100)),
    "cap_wan_per_year": ("每年上限（万元）", None),
    "cap_wan": ("单笔（单个项目/单次转贷）上限（万元）", None),
    "cap_wan_per_enterprise": ("单户企业上限（万元）", None),
    "reduced_share": ("中小微企业使用费减免比例（0–1）", Decimal(1)),
}

# the platform settings other domains read through setting(key); label, kind, bounds
SETTING_FIELDS = {
    "guarantee_fee_rate": ("典型年担保费率（%）", "decimal", Decimal(0), Decimal(100)),
    "claim_limit_per_need": ("每条需求同时认领的机构上限", "int", 1, 50),
    "unclaimed_working_days": ("推送后认领时限（工作日，超时列入督办）", "int", 1, 60),
    "first_contact_working_days": ("首次联系时限（工作日）", "int", 1, 60),
    "decision_working_days": ("审批答复时限（工作日）", "int", 1, 120),
    "enterprises_served_target": ("年度对接服务企业目标（家次）", "int", 0, 1000000),
    "whitelist_institutions_per_entry": ("白名单每户推送机构数上限", "int", 1, 20),
    "whitelist_institution_share": ("白名单单家机构承接比例上限（0–1）", "decimal",
                                    Decimal("0.01"), Decimal(1)),
}


# --- LPR -----------------------------------------------------------------------------------

def lpr_on(day: date, kind: str) -> Decimal | None:
    """The quote in force on `day`: the latest one effective on or before it."""
    return db.session.scalar(
        select(ReferenceRate.rate)
        .where(ReferenceRate.kind == kind, ReferenceRate.effective_from <= day)
        .order_by(ReferenceRate.effective_from.desc()).limit(1))


def lpr_quotes() -> list[ReferenceRate]:
    return list(db.session.scalars(select(ReferenceRate).order_by(
        ReferenceRate.effective_from.desc(), ReferenceRate.kind)))


@guarded(can_edit_policy, message=ADMINS_ONLY)
def add_lpr_quote(actor, kind: str, rate: Decimal, effective_from: date,
                  today: date | None = None) -> ReferenceRate:
    """Record a dated quote; one already in force reprices the LPR-based products."""
    if kind not in LPR_KINDS:
        raise ServiceError("请选择LPR期限品种", field="kind")
    if rate is None or rate < 0:
        raise ServiceError("LPR不能为负数", field="rate")
    exists = db.session.scalar(select(ReferenceRate.id).where(
        ReferenceRate.kind == kind, ReferenceRate.effective_from == effective_from))
    if exists:
        raise ServiceError("该期限品种在这一天已有报价", field="effective_from")
    quote = ReferenceRate(kind=kind, rate=rate, effective_from=effective_from)
    db.session.add(quote)
    db.session.flush()
    # institutions reprice their LPR-based products when the quote is already in force
    replies = signals.policy_changed.send(quote, kind="lpr", key=kind, actor=actor,
                                          day=today or clock.china_today())
    repriced = sum(reply or 0 for _receiver, reply in replies)
    record(actor, "reference_rate.created", quote, kind=kind, rate=rate,
           effective_from=effective_from, repriced_products=repriced)
    log.info("LPR quote %s added (%s), %s products repriced", quote.id, kind, repriced)
    return quote


# --- subsidy programs ----------------------------------------------------------------------

def programs() -> list[SubsidyProgram]:
    return list(db.session.scalars(select(SubsidyProgram).order_by(SubsidyProgram.id)))


def programs_in_force(day: date) -> list[SubsidyProgram]:
    return list(db.session.scalars(
        select(SubsidyProgram)
        .where(SubsidyProgram.effective_from <= day,
               or_(SubsidyProgram.effective_to.is_(None), SubsidyProgram.effective_to >= day))
        .order_by(SubsidyProgram.id)))


@guarded(can_edit_policy, message=ADMINS_ONLY)
def update_program(actor, program: SubsidyProgram, *, settings: dict, effective_from: date,
                   effective_to: date | None) -> SubsidyProgram:
    """Change a program's figures and validity; the keys of its settings stay the same."""
    if effective_to is not None and effective_to < effective_from:
        raise ServiceError("失效日期不能早于生效日期", field="effective_to")
    unknown = set(settings) - set(program.settings)
    if unknown:
        raise ServiceError(f"未知的参数：{'、'.join(sorted(unknown))}")
    new_settings = dict(program.settings)
    for key, value in settings.items():
        new_settings[key] = _json_number(value)
    before = {"settings": program.settings, "effective_from": program.effective_from,
              "effective_to": program.effective_to}
    program.settings = new_settings  # a new dict: JSON columns do not track in-place changes
    program.effective_from = effective_from
    program.effective_to = effective_to
    program.updated_by_id = actor.id if actor else None
    db.session.flush()
    record(actor, "subsidy_program.updated", program, code=program.code, before=before,
           after={"settings": new_settings, "effective_from": effective_from,
                  "effective_to": effective_to})
    signals.policy_changed.send(program, kind="programme", key=program.code, actor=actor,
                                day=clock.china_today())
    return program


def _json_number(value):
    """Decimals go into JSON as int when whole, else float (JSON has no decimal type)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- which products a programme applies to ---------------------------------------------------

CONFIRMERS_ONLY = "只有组织方可以确认产品适用的政策"


def program_codes() -> set[str]:
    return set(db.session.scalars(select(SubsidyProgram.code)))


@guarded(can_confirm_programs, message=CONFIRMERS_ONLY)
def confirm_program(actor, product, code: str) -> ProgramConfirmation:
    """An organizer confirms that loans under `product` can draw programme `code` (which the
    bank declared): from now on the programme counts in its costs and rankings."""
    if code not in product.subsidy_programs:
        raise ServiceError("该产品未申报此项政策", field="code")
    if code not in program_codes():
        raise ServiceError("没有这项政策", field="code")
    existing = next((c for c in product.confirmations if c.program_code == code), None)
    if existing is not None:
        return existing
    row = ProgramConfirmation(program_code=code, confirmed_by_id=actor.id if actor else None)
    product.confirmations.append(row)
    db.session.flush()
    record(actor, "program_confirmation.created", product, code=code)
    signals.policy_changed.send(row, kind="confirmation", key=code, actor=actor,
                                day=clock.china_today(), product_id=product.id)
    return row


@guarded(can_confirm_programs, message=CONFIRMERS_ONLY)
def revoke_program(actor, product, code: str) -> None:
    row = next((c for c in product.confirmations if c.program_code == code), None)
    if row is None:
        raise ServiceError("该政策尚未确认", field="code")
    product.confirmations.remove(row)
    db.session.flush()
    record(actor, "program_confirmation.deleted", product, code=code)
    signals.policy_changed.send(product, kind="confirmation", key=code, actor=actor,
                                day=clock.china_today(), product_id=product.id)


@guarded(can_edit_policy, system=True, message=ADMINS_ONLY)
def confirm_imported(actor, product) -> list[str]:
    """An import is the platform administrator's (or the platform's own, from the
    organizers' files): the programmes its products declare are confirmed with it."""
    added = []
    known = program_codes()
    have = {c.program_code for c in product.confirmations}
    for code in product.subsidy_programs:
        if code in known and code not in have:
            product.confirmations.append(ProgramConfirmation(
                program_code=code, confirmed_by_id=actor.id if actor else None))
            added.append(code)
    if added:
        db.session.flush()
        record(actor, "program_confirmation.created", product, codes=added, via="import")
    return added


def pending_confirmations() -> list[tuple]:
    """(product, code) a bank declared and no organizer confirmed yet, newest product first."""
    from sqlalchemy import text

    rows = db.session.execute(text(
        "SELECT t.product_id, t.value FROM product_terms t "
        "LEFT JOIN program_confirmations c ON c.product_id = t.product_id "
        "AND c.program_code = t.value "
        "WHERE t.field = 'subsidy_programs' AND c.product_id IS NULL "
        "ORDER BY t.product_id DESC, t.value")).all()
    return [(product_id, code) for product_id, code in rows]


# --- settings ------------------------------------------------------------------------------

def setting(key: str, default=None):
    row = db.session.get(Setting, key)
    return row.value if row is not None else default


def all_settings() -> list[Setting]:
    return list(db.session.scalars(select(Setting).order_by(Setting.key)))


@guarded(can_edit_policy, message=ADMINS_ONLY)
def update_setting(actor, key: str, value) -> Setting:
    spec = SETTING_FIELDS.get(key)
    if spec is None:
        raise ServiceError("该设置项不可在此修改", field="value")
    _label, kind, low, high = spec
    if value is None or value < low or value > high:
        raise ServiceError(f"取值应在 {low} 到 {high} 之间", field="value")
    value = int(value) if kind == "int" else _json_number(Decimal(value))
    row = db.session.get(Setting, key)
    before = row.value if row is not None else None
    if row is None:
        row = Setting(key=key, value=value)
        db.session.add(row)
    row.value = value
    row.updated_by_id = actor.id if actor else None
    db.session.flush()
    record(actor, "setting.updated", _SettingSubject(row), key=key, before=before, after=value)
    signals.policy_changed.send(row, kind="setting", key=key, actor=actor,
                                day=clock.china_today())
    return row


class _SettingSubject:
    """Settings are keyed by text; the audit row names the table and leaves the id empty."""

    __tablename__ = "settings"

    def __init__(self, row: Setting):
        self.id = None
        self.key = row.key
