"""Dated policy figures: LPR quotes, subsidy programs, platform settings. Flush, never commit.

The figures come from dated policy texts (渝经信规范〔2024〕7号 …) and change by decision, so
administrators edit them here and every change is audited; nothing below is a constant.
"""
import logging
import re
from datetime import date
from decimal import Decimal

from sqlalchemy import or_, select

from .. import clock, signals
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from .models import (
    ProgramConfirmation,
    ReferenceRate,
    Setting,
    SubsidyProgram,
    SubsidyProgramVersion,
)
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
    # the banks' monthly 制造业贷款 return (monitoring.returns): due by this day of the next
    # month; 28 at most so that every month has the day
    "bank_return_due_day": ("银行制造业贷款月报截止日（次月几日，1–28）", "int", 1, 28),
}


# --- LPR -----------------------------------------------------------------------------------

def lpr_on(day: date, kind: str, without: ReferenceRate | None = None) -> Decimal | None:
    """The quote in force on `day`: the latest one effective on or before it (leaving out
    the quote `without`: what was in force before it was recorded)."""
    leave_out = [ReferenceRate.id != without.id] if without is not None else []
    return db.session.scalar(
        select(ReferenceRate.rate)
        .where(ReferenceRate.kind == kind, ReferenceRate.effective_from <= day, *leave_out)
        .order_by(ReferenceRate.effective_from.desc()).limit(1))


def lpr_moved(quote: ReferenceRate, day: date) -> bool:
    """Whether this quote changed the rate of its kind in force on `day`. The LPR is quoted
    every month and mostly repeats the rate in force; a quote dated ahead, or before a later
    one, changes nothing today either."""
    return lpr_on(day, quote.kind) != lpr_on(day, quote.kind, without=quote)


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


PROGRAM_TEXT_FIELDS = ("label", "source", "rule_text", "quote", "how_to_apply")
ELIGIBILITY_VOCAB = {"purposes": "purposes", "product_purposes": "purposes",
                     "institution_kinds": "institution_kinds", "loan_kinds": "loan_kinds",
                     "sizes": "sizes", "tags": "enterprise_tags"}
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{2,47}$")


def program_snapshot(program: SubsidyProgram) -> dict:
    """Every field of a programme, as JSON: what one version said."""
    out = {"code": program.code}
    for name in (*PROGRAM_TEXT_FIELDS, "benefit", "payee", "basis", "eligibility",
                 "stacks_with", "settings", "effective_from", "effective_to"):
        value = getattr(program, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def program_versions(program: SubsidyProgram) -> list[SubsidyProgramVersion]:
    return list(db.session.scalars(select(SubsidyProgramVersion).where(
        SubsidyProgramVersion.program_id == program.id).order_by(
        SubsidyProgramVersion.version.desc())))


def _clean_program(data: dict, program: SubsidyProgram | None) -> dict:
    """Check a programme's fields (a Chinese message beside the field when one is wrong)."""
    from .. import vocab
    from .terms import BASES, BENEFITS, PAYEES, SETTING_KEYS

    out = {}
    for name in PROGRAM_TEXT_FIELDS:
        value = (data.get(name) or "").strip()
        if name in ("label", "source", "rule_text") and not value:
            raise ServiceError("请填写此项", field=name)
        out[name] = value
    for name, allowed in (("benefit", BENEFITS), ("payee", PAYEES), ("basis", BASES)):
        if data.get(name) not in allowed:
            raise ServiceError("请选择", field=name)
        out[name] = data[name]
    eligibility = {}
    for name, vocabulary in ELIGIBILITY_VOCAB.items():
        values = [v for v in data.get(name) or () if v]
        bad = [v for v in values if v not in vocab.codes(vocabulary)]
        if bad:
            raise ServiceError(f"“{'、'.join(bad)}”不是有效的代码", field=name)
        if values:
            eligibility[name] = values
    eligibility.update(_enterprise_criteria(data, ""))
    alternatives = []
    for n, alternative in enumerate(data.get("any_of") or (), start=1):
        criteria = _enterprise_criteria(alternative, f"alt{n}_")
        if criteria:
            alternatives.append(criteria)
    if alternatives:
        eligibility["any_of"] = alternatives
    out["eligibility"] = eligibility
    known = program_codes() - ({program.code} if program is not None else set())
    stacks = [c for c in data.get("stacks_with") or () if c]
    if set(stacks) - known:
        raise ServiceError("可叠加的政策须为平台上的其他政策", field="stacks_with")
    out["stacks_with"] = stacks
    settings = dict(program.settings) if program is not None else {}
    for key in SETTING_KEYS:
        if key == "waiver_tags":
            tags = [t for t in data.get("waiver_tags") or () if t]
            if set(tags) - set(vocab.codes("enterprise_tags")):
                raise ServiceError("请选择有效的企业资质", field="waiver_tags")
            if tags:
                settings["waiver_tags"] = tags
            elif "waiver_tags" in data:
                settings.pop("waiver_tags", None)
            continue
        if key not in data:
            continue
        value = data[key]
        if value is None or value == "":
            settings.pop(key, None)
            continue
        upper = PROGRAM_SETTING_FIELDS[key][1]
        if value < 0 or (upper is not None and value > upper):
            raise ServiceError(f"取值应在0到{upper}之间" if upper else "不能为负数", field=key)
        settings[key] = _json_number(Decimal(value))
    needed = {"rate_share": "share_of_rate", "rate_points": "points", "fee_share": "share_of_fee"}
    if out["benefit"] in needed and needed[out["benefit"]] not in settings:
        raise ServiceError("请填写该支持方式的比例或百分点", field=needed[out["benefit"]])
    out["settings"] = settings
    start, end = data.get("effective_from"), data.get("effective_to")
    if start is None:
        raise ServiceError("请填写生效日期", field="effective_from")
    if end is not None and end < start:
        raise ServiceError("失效日期不能早于生效日期", field="effective_to")
    out["effective_from"], out["effective_to"] = start, end
    return out


def _enterprise_criteria(data: dict, prefix: str) -> dict:
    """industries, ownership (and for an alternative of `any_of` also sizes and tags), checked;
    `prefix` names the form fields an error goes beside."""
    from .. import vocab
    from .terms import OWNERSHIPS

    out = {}
    if prefix:
        for name in ("sizes", "tags"):
            values = [v for v in data.get(name) or () if v]
            bad = [v for v in values if v not in vocab.codes(ELIGIBILITY_VOCAB[name])]
            if bad:
                raise ServiceError(f"“{'、'.join(bad)}”不是有效的代码", field=prefix + name)
            if values:
                out[name] = values
    industries = [c.strip() for c in data.get("industries") or () if c.strip()]
    bad = [c for c in industries if not vocab.valid_industry(c)]
    if bad:
        raise ServiceError(f"“{'、'.join(bad)}”不是国民经济行业分类代码",
                           field=prefix + "industries")
    if industries:
        out["industries"] = industries
    ownership = [v for v in data.get("ownership") or () if v]
    if set(ownership) - set(OWNERSHIPS):
        raise ServiceError("请选择有效的控股类型", field=prefix + "ownership")
    if ownership:
        out["ownership"] = ownership
    return out


def _new_version(actor, program: SubsidyProgram) -> None:
    db.session.add(SubsidyProgramVersion(program_id=program.id, version=program.version,
                                         snapshot=program_snapshot(program),
                                         changed_by_id=actor.id if actor else None))
    db.session.flush()


@guarded(can_edit_policy, message=ADMINS_ONLY)
def create_program(actor, code: str, data: dict) -> SubsidyProgram:
    """A new programme (普惠小微绿色贷款贴息, 融资租赁奖补 …): a form, not a migration."""
    code = (code or "").strip()
    if not CODE_PATTERN.match(code):
        raise ServiceError("代码须为小写英文字母开头，由小写字母、数字和下划线组成（3–48位）",
                           field="code")
    if code in program_codes():
        raise ServiceError("已有相同代码的政策", field="code")
    values = _clean_program(data, None)
    program = SubsidyProgram(code=code, version=1, updated_by_id=actor.id if actor else None,
                             **values)
    db.session.add(program)
    db.session.flush()
    _new_version(actor, program)
    record(actor, "subsidy_program.created", program, code=code, version=1)
    signals.policy_changed.send(program, kind="programme", key=code, actor=actor,
                                day=clock.china_today())
    return program


@guarded(can_edit_policy, message=ADMINS_ONLY)
def edit_program(actor, program: SubsidyProgram, data: dict) -> SubsidyProgram:
    """Every field may change; each edit is a new version (its snapshot kept)."""
    values = _clean_program(data, program)
    before = program_snapshot(program)
    for name, value in values.items():
        setattr(program, name, value)
    return _commit_version(actor, program, before)


def _commit_version(actor, program: SubsidyProgram, before: dict) -> SubsidyProgram:
    program.version = (program.version or 1) + 1
    program.updated_by_id = actor.id if actor else None
    db.session.flush()
    _new_version(actor, program)
    record(actor, "subsidy_program.updated", program, code=program.code,
           version=program.version, before=before, after=program_snapshot(program))
    signals.policy_changed.send(program, kind="programme", key=program.code, actor=actor,
                                day=clock.china_today())
    return program


@guarded(can_edit_policy, message=ADMINS_ONLY)
def update_program(actor, program: SubsidyProgram, *, settings: dict, effective_from: date,
                   effective_to: date | None) -> SubsidyProgram:
    """Change a programme's figures and validity only (a new version as well)."""
    if effective_to is not None and effective_to < effective_from:
        raise ServiceError("失效日期不能早于生效日期", field="effective_to")
    before = program_snapshot(program)
    new_settings = dict(program.settings)
    for key, value in settings.items():
        new_settings[key] = _json_number(value)
    program.settings = new_settings  # a new dict: JSON columns do not track in-place changes
    program.effective_from = effective_from
    program.effective_to = effective_to
    return _commit_version(actor, program, before)


def _json_number(value):
    """Decimals go into JSON as int when whole, else float (JSON has no decimal type)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- the programme in words (the 政策明白卡, the admin list): rendered from the data ----------

def _num(value) -> str:
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def describe_program(program) -> dict:
    """Who qualifies, what it pays and to whom, in Chinese, from the programme's fields:
    the pages never carry a figure of their own."""
    from .. import vocab
    from .terms import BASES, OWNERSHIPS, PAYEES

    rules = program.eligibility or {}
    settings = program.settings or {}
    who = []
    labels = lambda kind, codes: "、".join(vocab.label(kind, c) for c in codes)
    if rules.get("industries"):
        who.append("制造业企业" if list(rules["industries"]) == ["C"]
                   else "行业：" + "、".join(rules["industries"]))
    if rules.get("sizes"):
        who.append(labels("sizes", rules["sizes"]) + "企业（按工信部联企业〔2011〕300号标准测算）")
    if rules.get("tags"):
        who.append("经组织方核验具备以下资质之一：" + labels("enterprise_tags", rules["tags"]))
    if rules.get("ownership"):
        who.append("、".join(OWNERSHIPS.get(o, o) for o in rules["ownership"]) + "企业")
    if rules.get("any_of"):
        from .terms import describe_alternative

        who.append("以下之一：" + "；".join(describe_alternative(alt)
                                           for alt in rules["any_of"]))
    if rules.get("purposes"):
        who.append("融资用途为" + labels("purposes", rules["purposes"]))
    if rules.get("loan_kinds"):
        who.append("贷款类型为" + labels("loan_kinds", rules["loan_kinds"]))
    if rules.get("institution_kinds"):
        who.append("通过" + labels("institution_kinds", rules["institution_kinds"]) + "的产品")
    if rules.get("product_purposes"):
        who.append("产品用途含" + labels("purposes", rules["product_purposes"]))
    pays = []
    if program.benefit == "rate_share" and "share_of_rate" in settings:
        pays.append(f"按不超过实际贷款利率的{_num(Decimal(str(settings['share_of_rate'])) * 100)}%贴息")
    if program.benefit == "rate_points" and "points" in settings:
        pays.append(f"贴息{_num(settings['points'])}个百分点（贴息后利率不低于0）")
    if program.benefit == "fee_share" and "share_of_fee" in settings:
        ceiling = settings.get("max_fee_rate")
        cond = f"年化担保费率不超过{_num(ceiling)}%的，" if ceiling is not None else ""
        pays.append(f"{cond}按不超过实际担保费率的"
                    f"{_num(Decimal(str(settings['share_of_fee'])) * 100)}%补助")
    if program.benefit == "use_fee":
        if settings.get("waiver_tags"):
            pays.append("经核验的" + labels("enterprise_tags", settings["waiver_tags"])
                        + "免收使用费")
        if settings.get("reduced_share") is not None:
            pays.append(f"中小微企业使用费减免{_num(Decimal(str(settings['reduced_share'])) * 100)}%")
        if settings.get("cap_wan") is not None:
            pays.append(f"单次最高{_num(settings['cap_wan'])}万元")
    if program.benefit != "use_fee" and settings.get("cap_wan") is not None:
        pays.append(f"最高不超过{_num(settings['cap_wan'])}万元")
    if settings.get("cap_wan_per_year") is not None:
        pays.append(f"每年不超过{_num(settings['cap_wan_per_year'])}万元")
    if settings.get("cap_wan_per_enterprise") is not None:
        pays.append(f"单户企业不超过{_num(settings['cap_wan_per_enterprise'])}万元")
    stacks = "、".join(vocab.label("subsidy_programs", c) for c in program.stacks_with or ())
    return {
        "who": who or ["不限"],
        "pays": pays,
        "payee": PAYEES.get(program.payee, program.payee),
        "basis": BASES.get(program.basis, program.basis),
        "stacking": f"可与{stacks}叠加享受" if stacks else "不与其他政策叠加享受",
        "dates": f"{program.effective_from} 起" + (f"，至 {program.effective_to}"
                                                   if program.effective_to else "，长期有效"),
    }


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


@guarded(can_confirm_programs, message=CONFIRMERS_ONLY)
def confirm_all_pending(actor, code: str) -> list[int]:
    """Confirm every product's pending declaration of programme `code` at once (after an
    upgrade, the declarations stored before confirmations existed all wait). One transaction:
    a confirmation and an audit entry per product, then one recompute of what they touch.
    Returns the products' ids."""
    program = db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.code == code))
    if program is None:
        raise ServiceError("没有这项政策", field="code")
    product_ids = [pid for pid, pending in pending_confirmations() if pending == code]
    if not product_ids:
        raise ServiceError(f"“{program.label}”没有待确认的申报", field="code")
    by = actor.id if actor else None
    db.session.add_all(ProgramConfirmation(product_id=pid, program_code=code, confirmed_by_id=by)
                       for pid in product_ids)
    db.session.flush()
    for obj in list(db.session.identity_map.values()):   # loaded products see them too
        if getattr(obj, "__tablename__", None) == "products" and obj.id in product_ids:
            db.session.expire(obj, ["confirmations"])
    for pid in product_ids:
        record(actor, "program_confirmation.created", _ProductSubject(pid), code=code,
               via="confirm_all", products=len(product_ids))
    signals.policy_changed.send(program, kind="confirmation", key=code, actor=actor,
                                day=clock.china_today(), product_ids=product_ids)
    log.info("programme %s confirmed for %s products at once", code, len(product_ids))
    return product_ids


class _ProductSubject:
    """A product named by id for the audit trail (policy sits below institutions)."""

    __tablename__ = "products"

    def __init__(self, product_id: int):
        self.id = product_id


def pending_counts() -> dict[str, int]:
    """Programme code -> how many products declare it without an organizer's confirmation."""
    counts: dict[str, int] = {}
    for _pid, code in pending_confirmations():
        counts[code] = counts.get(code, 0) + 1
    return counts


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
    if kind == "int" and value != int(value):
        raise ServiceError("请填写整数", field="value")
    value = int(value) if kind == "int" else _json_number(Decimal(value))
    row = db.session.get(Setting, key)
    before = row.value if row is not None else None
    if row is not None and before == value:
        return row  # saved as it was: nothing changed, so nothing to record or recompute
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
