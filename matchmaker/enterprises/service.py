"""Enterprises and their needs: the rules that need the database. Flush, never commit."""
import logging
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import clock, mobile, signals, sizes, vocab
from .. import uscc as uscc_rules
from ..accounts.service import create_user
from ..audit.models import AuditEntry
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..policy.terms import OWNERSHIPS
from ..types import utcnow
from . import members
from . import on_behalf as on_behalf_consent
from .models import NEED_STATUS_LABELS, Enterprise, EnterpriseTag, Need, derive_size
from .permissions import (
    EDITABLE_STATUSES,
    TRANSITIONS,
    can_create_need_for,
    can_edit_enterprise,
    can_verify_tag,
    is_need_owner,
    may_move_need,
    transition_allowed,
)

log = logging.getLogger(__name__)


def enterprise_ref_for(uscc: str) -> str:
    """Platform-registered enterprises take a ref derived from the USCC: stable and unique."""
    return f"E-{uscc}"


def register_enterprise(*, company_name: str, uscc: str, district: str, industry: str,
                        employees: int, revenue_wan, founded, name: str, email: str,
                        password: str, assets_wan=None, mobile_phone: str | None = None):
    """A finance manager registers the company and becomes its first (admin) user, and its
    contact (name and mobile) for the banks it later pushes needs to. With the USCC of an
    enterprise the platform already knows, nobody obtains it by typing its code: the account
    made holds no enterprise and asks to claim it (members.register_applicant); returns
    (None, the applicant) then."""
    if mobile_phone is not None and mobile.problem(mobile_phone):
        raise ServiceError(mobile.problem(mobile_phone), field="mobile")
    code = uscc_rules.normalize(uscc)
    message = uscc_rules.problem(code)
    if message:
        raise ServiceError(message, field="uscc")
    known = db.session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    if known is not None:
        user = members.register_applicant(known, company_name=company_name, name=name,
                                          email=email, password=password,
                                          mobile_phone=mobile_phone)
        return None, user
    enterprise = Enterprise(
        ref=enterprise_ref_for(code), name=company_name.strip(), uscc=code, district=district,
        industry=industry, employees=employees, revenue_wan=revenue_wan, founded=founded,
        assets_wan=assets_wan, contact_name=name.strip() if mobile_phone else None,
        contact_phone=mobile.normalize(mobile_phone) if mobile_phone else None,
        # nothing offline checks the name against the USCC: an organizer does (verification)
        verification="pending")
    try:
        # the unique index settles two registrations of one code submitted at the same moment
        with db.session.begin_nested():
            db.session.add(enterprise)
    except IntegrityError:
        raise ServiceError("该统一社会信用代码刚刚已被注册，请重新提交", field="uscc") from None
    user = create_user(email=email, name=name, password=password, role="enterprise",
                       enterprise_id=enterprise.id, is_enterprise_admin=True)
    if mobile_phone:
        user.phone = mobile.normalize(mobile_phone)
    record(user, "enterprise.created", enterprise, via="registration", verification="pending")
    record(user, "user.registered", user)
    return enterprise, user


CLAIM_MAIL = ("您填写的统一社会信用代码对应的企业已在平台登记。确认后，您的账号将作为该企业用户的申请，"
              "交由该企业的管理员或企业所在区县的经信部门审核；审核通过前，您的账号不能查看或办理"
              "该企业的任何业务。审核结果会通过站内消息和邮件通知您。")


def register_by_mail(*, company_name: str, uscc: str, district: str, industry: str,
                     employees: int, revenue_wan, founded, name: str, email: str,
                     password: str, assets_wan=None, mobile_phone: str | None = None,
                     confirm_url) -> None:
    """Registration that does not tell who is registered (issue 19): whatever the e-mail and
    the USCC, the registrant sees the same answer and hears the rest by mail, in the mailbox
    they typed. A new address: an inactive account and a confirmation link (`confirm_url`)
    that activates it — with a new company, its first user; with a known company's USCC, an
    applicant whose claim goes to the company's admin or its district's organizers once the
    link is opened (members). An address already registered: its owner is told someone
    tried. Each path costs one Argon2 hash, so the time does not tell either. A malformed
    USCC is still refused beside its field (that tells nothing about anyone)."""
    from ..accounts.passwords import hash_password
    from ..accounts.service import find_user_by_email, request_confirmation
    from ..mail import send_mail

    code = uscc_rules.normalize(uscc)
    message = uscc_rules.problem(code)
    if message:
        raise ServiceError(message, field="uscc")
    existing = find_user_by_email(email)
    if existing is not None:
        hash_password(password)  # the work a new account costs
        send_mail(existing.email, "【银企融资对接平台】有人用您的邮箱注册",
                  f"{existing.name}，您好：\n\n有人刚刚用您的邮箱在平台上注册企业账号。您的邮箱已有"
                  "账号，未作任何更改。\n如果是您本人，请直接登录；忘记密码可在登录页通过“忘记密码”"
                  "重设。\n如果不是您本人，请忽略此邮件。\n\n银企融资对接平台")
        log.info("registration for an existing address (user %s): owner told", existing.id)
        return
    try:
        enterprise, user = register_enterprise(
            company_name=company_name, uscc=code, district=district, industry=industry,
            employees=employees, revenue_wan=revenue_wan, founded=founded, name=name,
            email=email, password=password, assets_wan=assets_wan, mobile_phone=mobile_phone)
    except ServiceError:  # the same address or USCC registered a moment ago: say nothing
        log.info("registration lost a race for its address or USCC")
        return
    request_confirmation(user, confirm_url, then=CLAIM_MAIL if enterprise is None else "")


# --- readable change summaries for the audit trail ------------------------------------------

ENTERPRISE_LABELS = {
    "name": "企业名称", "uscc": "统一社会信用代码", "district": "所在区县", "industry": "行业",
    "cluster": "产业集群", "employees": "从业人员", "revenue_wan": "上年营业收入",
    "assets_wan": "资产总额", "founded": "成立日期", "tax_credit_grade": "纳税信用等级", "has_bank_loan": "银行贷款情况",
    "core_enterprise": "核心企业", "declared_size": "申报企业规模", "ownership": "控股类型", "contact_name": "联系人",
    "contact_phone": "联系电话", "address": "地址", "tags": "资质标签",
}
# changed, but the audit row says only that: personal, credit or identifying data
ENTERPRISE_PRIVATE = {"name", "uscc", "revenue_wan", "assets_wan", "tax_credit_grade", "contact_name",
                      "contact_phone", "address"}

NEED_LABELS = {
    "purpose": "融资用途", "loan_kind": "贷款类型", "amount_wan": "融资金额",
    "term_months": "期限", "guarantee_modes": "担保方式", "max_rate": "可接受最高年利率",
    "current_lender": "现贷款机构", "renewal_due": "现贷款到期日", "description": "需求说明",
    "consent_to_share": "授权金融机构查看", "core_enterprise": "核心企业",
}
NEED_PRIVATE = {"description"}  # free text: may hold anything, so not copied


def _shown(field: str, value) -> str:
    """A value as a person reads it in the timeline."""
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if field == "purpose":
        return vocab.label("purposes", value)
    if field == "loan_kind":
        return vocab.label("loan_kinds", value)
    if field == "guarantee_modes":
        return "、".join(vocab.label("guarantee_modes", v) for v in value)
    if field == "cluster":
        return vocab.label("clusters_33618", value)
    if field == "declared_size":
        return vocab.label("sizes", value)
    if field == "ownership":
        return OWNERSHIPS.get(value, value)
    if field == "tags":
        return "、".join(vocab.label("enterprise_tags", v) for v in value)
    if field == "amount_wan":
        return f"{Decimal(value).normalize():f}万元"
    if field == "term_months":
        return f"{value}个月"
    if field == "max_rate":
        return f"{Decimal(value).normalize():f}%"
    if field == "employees":
        return f"{value}人"
    if field == "current_lender":
        return value.name
    return str(value)


def _diff(labels: dict, private: set, old: dict, new: dict) -> tuple[dict, str]:
    """The changed fields as {field: [old, new]} (shown values) and one Chinese sentence."""
    changes, parts = {}, []
    for field, label in labels.items():
        if field not in new or _same(old.get(field), new[field]):
            continue
        if field in private:
            changes[field] = "已修改"
            parts.append(f"{label}已修改")
        else:
            before, after = _shown(field, old.get(field)), _shown(field, new[field])
            changes[field] = [before, after]
            parts.append(f"{label}：{before} → {after}")
    return changes, "；".join(parts)


def _same(a, b) -> bool:
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return Decimal(str(a)) == Decimal(str(b))
    return (a if a != "" else None) == (b if b != "" else None)


# --- the profile --------------------------------------------------------------------------

def size_basis(enterprise: Enterprise) -> dict:
    """What the size shown comes from: the sector's 300号 rule with the figures it read, the
    band it gives, and a declared band (which wins when given)."""
    sector = sizes.sector_of(enterprise.industry)
    derived = derive_size(enterprise.industry, enterprise.employees, enterprise.revenue_wan,
                          enterprise.assets_wan)
    given = {"employees": enterprise.employees, "revenue_wan": enterprise.revenue_wan,
             "assets_wan": enterprise.assets_wan}
    figures = [(sizes.MEASURE_LABELS[m], given[m], sizes.MEASURE_UNITS[m])
               for m in sector.measures]
    missing = [sizes.MEASURE_LABELS[m] for m in sector.measures if given[m] is None]
    return {"size": enterprise.size, "derived": derived, "declared": enterprise.declared_size,
            "sector": sector.label, "figures": figures, "missing": missing,
            "rule": sizes.rule_text(sector), "source": sizes.source(),
            "overridden": bool(enterprise.declared_size and derived
                               and enterprise.declared_size != derived)}


def profile_gaps(enterprise: Enterprise) -> list[str]:
    """What the profile still lacks, in the words the enterprise sees (exchange fields that
    matching uses, contact details, and a certificate year for each declared tag)."""
    gaps = []
    if len(enterprise.industry or "") < 5:
        gaps.append("行业小类（4位代码，如 C3670），目前只填了大类")
    for field, label in (("cluster", "所属产业集群"), ("tax_credit_grade", "纳税信用等级"),
                         ("contact_name", "联系人"), ("contact_phone", "联系电话"),
                         ("address", "地址")):
        if not getattr(enterprise, field):
            gaps.append(label)
    for row in enterprise.tag_rows:
        if row.certificate_year is None:
            gaps.append(f"“{vocab.label('enterprise_tags', row.value)}”的认定年份")
    return gaps


COMPLETENESS_ITEMS = 6  # industry class, cluster, grade, contact name, phone, address


def profile_completeness(enterprise: Enterprise) -> int:
    """Percent of the profile filled in (required registration fields count as done)."""
    gaps = profile_gaps(enterprise)
    total = 7 + COMPLETENESS_ITEMS + len(enterprise.tag_rows)  # 7 registration fields
    return round(100 * (total - len(gaps)) / total)


def _enterprise_values(enterprise: Enterprise) -> dict:
    values = {f: getattr(enterprise, f) for f in ENTERPRISE_LABELS if f != "tags"}
    values["tags"] = list(enterprise.tags)
    return values


@guarded(can_edit_enterprise, "enterprise", message="只有本企业的用户可以修改企业信息")
def update_profile(actor, enterprise: Enterprise, *, tags: dict[str, int | None],
                   **values) -> Enterprise:
    """Change the profile; tags maps each declared tag to its certificate year. A tag whose
    year changes loses its verification (what was checked is no longer what is declared)."""
    problems = enterprise_problems(values)
    for field in ("uscc", "district", "industry"):
        if field in problems:
            raise ServiceError(problems[field], field=field)
    if problems:
        field, message = next(iter(problems.items()))
        raise ServiceError(message, field=field)
    values["uscc"] = uscc_rules.normalize(values["uscc"])
    clash = db.session.scalar(select(Enterprise.id).where(
        Enterprise.uscc == values["uscc"], Enterprise.id != enterprise.id))
    if clash:
        raise ServiceError("该统一社会信用代码已被平台上另一家企业使用，请核对", field="uscc")
    old = _enterprise_values(enterprise)
    for field, value in values.items():
        setattr(enterprise, field, value)
    _set_tags(enterprise, tags)
    new = dict(values, tags=list(tags))
    changes, summary = _diff(ENTERPRISE_LABELS, ENTERPRISE_PRIVATE, old, new)
    if changes:
        enterprise.updated_at = utcnow()
        db.session.flush()
        record(actor, "enterprise.updated", enterprise, changes=changes, summary=summary)
        if set(changes) - UNRANKED_FIELDS:
            # what its needs are ranked by (size, industry, ownership, tags …) moved
            signals.enterprise_changed.send(enterprise)
    return enterprise


# profile fields no match or subsidy reads: changing them re-ranks nothing
UNRANKED_FIELDS = {"name", "uscc", "contact_name", "contact_phone", "address"}


@guarded(can_edit_enterprise, "enterprise", message="只有本企业的用户可以修改企业信息")
def set_contact(actor, enterprise: Enterprise, name: str, phone: str) -> Enterprise:
    """The person and mobile number banks call about the enterprise's needs (the needs form
    and registration ask for them; a claimed lead shows them with a tel: link)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("请填写联系人", field="contact_name")
    message = mobile.problem(phone)
    if message:
        raise ServiceError(message, field="contact_phone")
    phone = mobile.normalize(phone)
    if (enterprise.contact_name, enterprise.contact_phone) != (name, phone):
        old = _enterprise_values(enterprise)
        enterprise.contact_name, enterprise.contact_phone = name, phone
        changes, summary = _diff(ENTERPRISE_LABELS, ENTERPRISE_PRIVATE, old, {
            "contact_name": name, "contact_phone": phone})
        enterprise.updated_at = utcnow()
        db.session.flush()
        record(actor, "enterprise.updated", enterprise, changes=changes, summary=summary)
    return enterprise


def erase_contact_of(account, name: str | None, phone: str | None, by) -> Enterprise | None:
    """An erased account (accounts.erase_account, by the `user_erased` signal) was its
    enterprise's contact when the contact mobile is the account's mobile or the contact
    person bears its name: the contact person and mobile are erased too (issue 19), and the
    next need asks for a new contact. Another colleague named as the contact stays."""
    enterprise = db.session.get(Enterprise, account.enterprise_id) if account.enterprise_id \
        else None
    if enterprise is None or not (enterprise.contact_name or enterprise.contact_phone):
        return None
    same_phone = bool(phone and enterprise.contact_phone
                      and mobile.normalize(phone) == mobile.normalize(enterprise.contact_phone))
    same_name = bool(name and enterprise.contact_name
                     and name.strip() == enterprise.contact_name.strip())
    if not (same_phone or same_name):
        return None
    enterprise.contact_name = enterprise.contact_phone = None
    enterprise.updated_at = utcnow()
    db.session.flush()
    # the audit row names the fields, never their values (audit.service.PERSONAL)
    record(by, "enterprise.contact_erased", enterprise, account_id=account.id,
           fields=["contact_name", "contact_phone"])
    return enterprise


def _set_tags(enterprise: Enterprise, tags: dict[str, int | None]) -> None:
    enterprise.tags = list(tags)
    for row in enterprise.tag_rows:
        year = tags.get(row.value)
        if row.certificate_year != year:
            row.certificate_year = year
            row.verified_at = None
            row.verified_by_id = None


def enterprise_problems(values: dict) -> dict[str, str]:
    """Every field error of an enterprise record, in Chinese (profile form and spreadsheet)."""
    problems = {}
    if "name" in values and not (values["name"] or "").strip():
        problems["name"] = "请填写企业名称"
    if "uscc" in values:
        message = uscc_rules.problem(values["uscc"])
        if message:
            problems["uscc"] = message
    if "district" in values and vocab.district_name(values["district"]) is None:
        problems["district"] = "请选择有效的区县"
    if "industry" in values and not vocab.valid_industry(values["industry"], detailed=True):
        problems["industry"] = ("行业代码无效，应为国民经济行业分类（GB/T 4754—2017）的大类、"
                                "中类或小类代码，如 C36、C3670、I6513")
    if values.get("cluster") and values["cluster"] not in vocab.codes("clusters_33618"):
        problems["cluster"] = "产业集群无效"
    if "employees" in values and (values["employees"] is None or values["employees"] < 0):
        problems["employees"] = "从业人员应为不小于0的整数"
    if "revenue_wan" in values and (values["revenue_wan"] is None or values["revenue_wan"] < 0):
        problems["revenue_wan"] = "营业收入应为不小于0的数（万元）"
    problems.update(_assets_problems(values))
    if "founded" in values:
        if values["founded"] is None:
            problems["founded"] = "请填写成立日期"
        elif values["founded"] > clock.china_today():
            problems["founded"] = "成立日期不能晚于今天"
    grade = values.get("tax_credit_grade")
    if grade and grade not in vocab.codes("tax_credit_grades"):
        problems["tax_credit_grade"] = "纳税信用等级应为 A、B、M、C、D 之一"
    size = values.get("declared_size")
    if size and size not in vocab.codes("sizes"):
        problems["declared_size"] = "企业规模无效"
    if values.get("ownership") and values["ownership"] not in OWNERSHIPS:
        problems["ownership"] = "控股类型无效"
    return problems


def _assets_problems(values: dict) -> dict[str, str]:
    """资产总额: never negative; required where the sector's size rule reads it, unless a
    size is declared (then nothing is derived)."""
    if "assets_wan" not in values:
        return {}
    assets = values["assets_wan"]
    if assets is not None and assets < 0:
        return {"assets_wan": "资产总额应为不小于0的数（万元）"}
    if assets is None and not values.get("declared_size") \
            and sizes.needs_assets(values.get("industry")):
        sector = sizes.sector_of(values.get("industry"))
        return {"assets_wan": f"{sector.label}按资产总额划分企业规模，请填写资产总额（万元）"}
    return {}


@guarded(can_verify_tag, "enterprise", message="只有辖区内的组织方可以核验企业资质")
def set_tag_verified(actor, enterprise: Enterprise, code: str, verified: bool) -> EnterpriseTag:
    """An organizer confirms (or withdraws confirmation of) a declared qualification."""
    row = next((r for r in enterprise.tag_rows if r.value == code), None)
    if row is None:
        raise ServiceError("该企业未申报此资质")
    row.verified_at = utcnow() if verified else None
    row.verified_by_id = actor.id if verified else None
    label = vocab.label("enterprise_tags", code)
    record(actor, "enterprise.tag_verified" if verified else "enterprise.tag_unverified",
           enterprise, tag=code,
           summary=f"{label}{'已核验' if verified else '撤销核验'}")
    signals.enterprise_changed.send(enterprise)    # a verified tag counts in the ranking's fit
    return row


@guarded(can_verify_tag, "enterprise", message="只有辖区内的组织方可以填写企业的控股类型")
def set_ownership(actor, enterprise: Enterprise, ownership: str | None) -> Enterprise:
    """An organizer states the firm's 控股类型 (programmes read it: 7号 四（二）'s 大型民营企业),
    for a firm that has not stated it itself, or to correct it."""
    if ownership is not None and ownership not in OWNERSHIPS:
        raise ServiceError("控股类型无效", field="ownership")
    if enterprise.ownership == ownership:
        return enterprise
    old = _enterprise_values(enterprise)
    enterprise.ownership = ownership
    changes, summary = _diff(ENTERPRISE_LABELS, ENTERPRISE_PRIVATE, old, {"ownership": ownership})
    enterprise.updated_at = utcnow()
    db.session.flush()
    record(actor, "enterprise.updated", enterprise, changes=changes, summary=summary,
           by="organizer")
    signals.enterprise_changed.send(enterprise)
    return enterprise


# --- needs: validation -----------------------------------------------------------------------

AMOUNT_MAX_WAN = Decimal(1000000)  # 100亿元: above it the figure was typed in 元
TERM_MAX_MONTHS = 360  # 30 years, as the needs table's CHECK
RATE_MAX = Decimal(24)
DESCRIPTION_MIN = 10
PROJECT_PURPOSES = ("tech_upgrade", "project")


def need_defaults(enterprise: Enterprise) -> dict:
    """What the needs form starts with, so an owner types as little as possible: the loan
    kind from the profile (首贷 without a bank loan), the core enterprise from the profile,
    and from the company's last need its purpose, term, guarantee modes and consent (the
    amount and the description are this need's own)."""
    defaults = {"loan_kind": default_loan_kind(enterprise),
                "core_enterprise": enterprise.core_enterprise}
    last = db.session.scalar(select(Need).where(Need.enterprise_id == enterprise.id)
                             .order_by(Need.created_at.desc(), Need.id.desc()).limit(1))
    if last is not None:
        defaults.update(purpose=last.purpose, term_months=last.term_months,
                        guarantee_modes=list(last.guarantee_modes),
                        consent_to_share=last.consent_to_share)
    return defaults


def default_loan_kind(enterprise: Enterprise) -> str:
    """Exchange rule: first_loan when the enterprise has no bank loan, else new."""
    return "new" if enterprise.has_bank_loan else "first_loan"


def loan_kind_problem(enterprise: Enterprise, loan_kind: str | None) -> str | None:
    if loan_kind == "first_loan" and enterprise.has_bank_loan:
        return ("企业信息中登记为已有银行贷款，不能选择“首贷”；请选择“新增贷款”或“续贷”"
                "（如登记有误，请先修改企业信息）")
    if loan_kind == "renewal" and not enterprise.has_bank_loan:
        return ("续贷须有正在使用的银行贷款，企业信息中登记为无银行贷款；请选择“首贷”，"
                "或先在企业信息中更新贷款情况")
    return None


def need_problems(enterprise: Enterprise, values: dict, today: date | None = None) -> dict:
    """Every field error of a need, in Chinese: the form, the services and the spreadsheet
    all ask this one function."""
    today = today or clock.china_today()
    problems = {}
    purpose, kind = values.get("purpose"), values.get("loan_kind")
    if purpose not in vocab.codes("purposes"):
        problems["purpose"] = "请选择融资用途"
    if kind not in vocab.codes("loan_kinds"):
        problems["loan_kind"] = "请选择贷款类型"
    elif loan_kind_problem(enterprise, kind):
        problems["loan_kind"] = loan_kind_problem(enterprise, kind)
    _check_amount_term_rate(values, problems)
    modes = values.get("guarantee_modes") or []
    if not modes:
        problems["guarantee_modes"] = "请至少选择一种可提供的担保方式（没有抵押和担保请选“信用”）"
    elif set(modes) - set(vocab.codes("guarantee_modes")):
        problems["guarantee_modes"] = "担保方式无效"
    if kind == "renewal":
        _check_renewal(values, today, problems)
    if purpose == "supply_chain" and not (values.get("core_enterprise") or "").strip():
        problems["core_enterprise"] = "供应链融资请填写核心企业（您主要供货的大客户）"
    description = (values.get("description") or "").strip()
    if purpose in PROJECT_PURPOSES and len(description) < DESCRIPTION_MIN:
        problems["description"] = (f"请简要说明项目（至少{DESCRIPTION_MIN}个字）："
                                   "如设备或工程内容、总投资、建设周期")
    elif len(description) > 2000:
        problems["description"] = "说明不超过2000字"
    return problems


def _check_amount_term_rate(values: dict, problems: dict) -> None:
    amount, term, rate = values.get("amount_wan"), values.get("term_months"), values.get("max_rate")
    if amount is None:
        problems["amount_wan"] = "请填写融资金额"
    elif amount <= 0:
        problems["amount_wan"] = "融资金额必须大于0"
    elif amount > AMOUNT_MAX_WAN:
        problems["amount_wan"] = "金额过大（上限100亿元），请确认以“万元”为单位填写"
    if term is None:
        problems["term_months"] = "请填写融资期限"
    elif term < 1:
        problems["term_months"] = "期限至少1个月"
    elif term > TERM_MAX_MONTHS:
        problems["term_months"] = "期限不能超过360个月（30年）"
    if rate is not None and not (0 < rate <= RATE_MAX):
        problems["max_rate"] = "可接受的最高年利率应大于0且不超过24%"


def _check_renewal(values: dict, today: date, problems: dict) -> None:
    if values.get("current_lender") is None:
        problems["current_lender"] = "续贷请选择现贷款机构（现在这笔贷款是哪家机构发放的）"
    due = values.get("renewal_due")
    if due is None:
        problems["renewal_due"] = "续贷请填写现贷款到期日"
    elif due < today:
        problems["renewal_due"] = "现贷款到期日已过；逾期后不再按续贷办理，请联系原贷款机构"


def _raise_first(problems: dict) -> None:
    if problems:
        field, message = next(iter(problems.items()))
        raise ServiceError(message, field=field)


# --- needs: create and edit -------------------------------------------------------------------

NEED_FIELDS = ("purpose", "loan_kind", "amount_wan", "term_months", "guarantee_modes",
               "max_rate", "current_lender", "renewal_due", "description", "consent_to_share")


def next_need_ref(day: date) -> str:
    """N-YYYYMMDD-NNNN: the day the platform received the need, then that day's count."""
    prefix = f"N-{day:%Y%m%d}-"
    last = db.session.scalar(
        select(Need.ref).where(Need.ref.like(prefix + "%"))
        .order_by(func.length(Need.ref).desc(), Need.ref.desc()).limit(1))
    number = int(last.removeprefix(prefix)) + 1 if last and last.removeprefix(prefix).isdigit() \
        else 1
    return f"{prefix}{number:04d}"


def _need_values(need: Need) -> dict:
    values = {f: getattr(need, f) for f in NEED_FIELDS}
    values["guarantee_modes"] = list(need.guarantee_modes)
    values["core_enterprise"] = need.enterprise.core_enterprise \
        if need.purpose == "supply_chain" else None
    return values


def _clean_need_values(values: dict) -> dict:
    """Fields that do not apply to this loan kind or purpose are emptied, not kept stale."""
    values = dict(values)
    if values.get("loan_kind") != "renewal":
        values["current_lender"], values["renewal_due"] = None, None
    if values.get("purpose") != "supply_chain":
        values["core_enterprise"] = None
    values["description"] = (values.get("description") or "").strip() or None
    if values.get("core_enterprise"):
        values["core_enterprise"] = values["core_enterprise"].strip()
    return values


@guarded(can_create_need_for, "enterprise",
         message="只有本企业的用户或辖区内的组织方可以为该企业登记需求")
def create_need(actor, enterprise: Enterprise, *, publish: bool, via: str = "form",
                consent_basis: str | None = None, **values) -> Need:
    """A new need, as a draft or published at once; its ref is unique (retried on a race).
    An organizer who records the firm's consent_to_share records it on the firm's behalf:
    `consent_basis` (the signed form's reference) is then required, and the firm is told."""
    values = _clean_need_values(values)
    values.setdefault("consent_to_share", False)
    if not values.get("loan_kind"):
        values["loan_kind"] = default_loan_kind(enterprise)
    _raise_first(need_problems(enterprise, values))
    on_behalf = values["consent_to_share"] and actor.role != "enterprise"
    if on_behalf and on_behalf_consent.basis_problem(consent_basis):
        raise ServiceError(on_behalf_consent.basis_problem(consent_basis), field="consent_basis")
    core = values.pop("core_enterprise", None)
    # by id, not relationship: the need joins the session in _insert_with_ref's savepoint
    need = Need(enterprise_id=enterprise.id, created=clock.china_today(), status="draft",
                **{f: v for f, v in values.items() if f != "guarantee_modes"})
    need.guarantee_modes = values["guarantee_modes"]
    _insert_with_ref(need)
    _remember_core_enterprise(actor, enterprise, core)
    record(actor, "need.created", need, via=via, ref=need.ref,
           summary=_need_summary(values, core))
    if on_behalf:  # before publishing: the consents the flag grants copy the basis
        on_behalf_consent.record_on_behalf(actor, [need.id], consent_basis, via)
    if publish:
        change_status(actor, need, "published")
    else:
        signals.need_changed.send(need)
    return need


def _need_summary(values: dict, core: str | None) -> str:
    """One line saying what was asked for: 流动资金 · 新增贷款 · 300万元 · 12个月 · 担保：信用."""
    parts = [_shown(f, values[f]) for f in ("purpose", "loan_kind", "amount_wan", "term_months")]
    parts.append("担保：" + _shown("guarantee_modes", values["guarantee_modes"]))
    if values.get("max_rate") is not None:
        parts.append("最高年利率 " + _shown("max_rate", values["max_rate"]))
    if values.get("current_lender") is not None:
        parts.append(f"现贷款机构：{values['current_lender'].name}，到期日 {values['renewal_due']}")
    if core:
        parts.append(f"核心企业：{core}")
    return " · ".join(parts)


def _insert_with_ref(need: Need) -> None:
    for _attempt in range(5):
        need.ref = next_need_ref(need.created)
        try:
            with db.session.begin_nested():  # a clash on the ref undoes this insert only
                db.session.add(need)
                db.session.flush()
            return
        except IntegrityError:
            log.info("need ref %s taken, retrying", need.ref)
    raise ServiceError("生成需求编号时发生冲突，请重新提交")


def _remember_core_enterprise(actor, enterprise: Enterprise, core: str | None) -> None:
    """The exchange format keeps the core enterprise on the enterprise: the needs form is
    where the enterprise states it, so the profile follows."""
    if core and core != enterprise.core_enterprise:
        old = enterprise.core_enterprise
        enterprise.core_enterprise = core
        changes, summary = _diff(ENTERPRISE_LABELS, ENTERPRISE_PRIVATE,
                                 {"core_enterprise": old}, {"core_enterprise": core})
        record(actor, "enterprise.updated", enterprise, changes=changes, summary=summary,
               via="need_form")


@guarded(is_need_owner, "need", message="只有需求所属企业可以修改需求")
def update_need(actor, need: Need, **values) -> Need:
    """Change what a draft, published or expired need asks for; the change is recorded."""
    if need.status not in EDITABLE_STATUSES:
        raise ServiceError(f"需求当前状态为“{need.status_label}”，不能修改")
    values = _clean_need_values(values)
    _raise_first(need_problems(need.enterprise, values))
    old = _need_values(need)
    core = values.pop("core_enterprise", None)
    for field, value in values.items():
        setattr(need, field, value)
    if not need.consent_to_share:  # the firm turned off a consent recorded on its behalf
        need.consent_basis = need.consent_recorded_by_id = need.consent_recorded_at = None
    changes, summary = _diff(NEED_LABELS, NEED_PRIVATE, old, dict(values, core_enterprise=core))
    _remember_core_enterprise(actor, need.enterprise, core)
    if changes:
        need.updated_at = utcnow()  # guarantee rows alone would not touch the need row
        db.session.flush()
        record(actor, "need.updated", need, changes=changes, summary=summary)
        signals.need_changed.send(need)
    return need


# --- needs: lifecycle -------------------------------------------------------------------------

REASON_REQUIRED = ("withdrawn", "closed")
ENDED_STATUSES = ("withdrawn", "closed", "expired", "funded")  # off the market for good
TRANSITION_VERBS = {"published": "发布", "in_progress": "开始对接", "funded": "确认已放款",
                    "closed": "关闭", "withdrawn": "撤回", "expired": "过期"}


def next_statuses(actor, need: Need, *, has_leads: bool) -> list[str]:
    """The moves offered on the need page. An enterprise whose need is with a lender
    (`has_leads`) confirms the loan on that lead (with its rating), not with a bare button."""
    return [to for (frm, to) in TRANSITIONS if frm == need.status
            and transition_allowed(actor, frm, to)
            and not (to == "funded" and getattr(actor, "role", None) == "enterprise" and has_leads)]


@guarded(may_move_need, "need", system=True, message="您不能变更该需求的状态")
def change_status(actor, need: Need, to: str, reason: str | None = None) -> Need:
    """Move a need along the TRANSITIONS table, with the reason where one is owed."""
    frm = need.status
    if (frm, to) not in TRANSITIONS:
        raise ServiceError(f"需求不能从“{NEED_STATUS_LABELS[frm]}”变为"
                           f"“{NEED_STATUS_LABELS.get(to, to)}”")
    if not transition_allowed(actor, frm, to):
        raise ServiceError("您不能进行此操作")
    reason = (reason or "").strip() or None
    if to in REASON_REQUIRED and not reason:
        raise ServiceError(f"请填写{TRANSITION_VERBS[to]}原因", field="reason")
    if to == "published" and frm in ("draft", "expired"):
        _raise_first(need_problems(need.enterprise, _need_values(need)))
    need.status, need.status_reason = to, reason
    need.updated_at = utcnow()
    db.session.flush()
    summary = f"状态：{NEED_STATUS_LABELS[frm]} → {NEED_STATUS_LABELS[to]}"
    record(actor, "need.status_changed", need, **{"from": frm, "to": to}, reason=reason,
           summary=summary + (f"（原因：{reason}）" if reason else ""))
    if to == "funded":
        need.funded_on = need.funded_on or clock.china_today()
        _mark_has_bank_loan(actor, need.enterprise)
    if to in ENDED_STATUSES:
        signals.need_ended.send(need, status=to)
    if to == "published":
        signals.need_published.send(need)
    log.info("need %s %s -> %s", need.id, frm, to)
    return need


def _mark_has_bank_loan(actor, enterprise: Enterprise) -> None:
    """A funded need makes a 首贷户 an enterprise with a bank loan."""
    if not enterprise.has_bank_loan:
        enterprise.has_bank_loan = True
        record(actor, "enterprise.updated", enterprise, via="need_funded",
               changes={"has_bank_loan": ["否", "是"]}, summary="银行贷款情况：否 → 是（需求已放款）")


# Expiry rule (run daily by `matchmaker needs expire`): a published need expires when
#  - it is a renewal whose current loan fell due before today (a renewal after the due date
#    is no longer a renewal: 无还本续贷 must be settled before the loan falls due), or
#  - nobody touched it for NEED_STALE_DAYS days (the enterprise may republish it).
# Needs in progress never expire: a lender is working on them.
NEED_STALE_DAYS = 180


def needs_to_expire(today: date | None = None) -> list[Need]:
    today = today or clock.china_today()
    stale_before = clock.china_midnight(today) - timedelta(days=NEED_STALE_DAYS)
    return list(db.session.scalars(
        select(Need).where(Need.status == "published", or_(
            (Need.loan_kind == "renewal") & (Need.renewal_due < today),
            Need.updated_at < stale_before)).order_by(Need.id)))


def expire_needs(today: date | None = None) -> list[Need]:
    today = today or clock.china_today()
    expired = []
    for need in needs_to_expire(today):
        overdue = need.loan_kind == "renewal" and need.renewal_due and need.renewal_due < today
        reason = ("现贷款已到期，续贷需求失效" if overdue
                  else f"超过{NEED_STALE_DAYS}天未更新")
        change_status(None, need, "expired", reason)
        expired.append(need)
    return expired


def need_timeline(need: Need) -> list[AuditEntry]:
    """Everything that happened to the need, oldest first (its audit entries)."""
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.subject_type == Need.__tablename__,
                                 AuditEntry.subject_id == need.id)
        .order_by(AuditEntry.created_at, AuditEntry.id)))


# --- organizer search ------------------------------------------------------------------------

ENTERPRISE_SORTS = {"updated": Enterprise.updated_at.desc(), "name": Enterprise.name,
                    "district": Enterprise.district, "revenue": Enterprise.revenue_wan.desc()}
NEED_SORTS = {"updated": Need.updated_at.desc(), "created": Need.created_at.desc(),
              "amount": Need.amount_wan.desc(), "ref": Need.ref}


def filter_enterprises(query, *, q=None, district=None, cluster=None, purpose=None,
                       status=None, sort="updated"):
    """Narrow a visible_enterprises() query: name or USCC (forgiving, see _search), district,
    cluster, and whether the enterprise has a need with this purpose / status."""
    if district:
        query = query.where(Enterprise.district == district)
    if cluster:
        query = query.where(Enterprise.cluster == cluster)
    if purpose or status:
        needs = select(Need.id).where(Need.enterprise_id == Enterprise.id)
        if purpose:
            needs = needs.where(Need.purpose == purpose)
        if status:
            needs = needs.where(Need.status == status)
        query = query.where(needs.exists())
    if q:
        query = _search(query, q)
    return query.order_by(ENTERPRISE_SORTS.get(sort, ENTERPRISE_SORTS["updated"]), Enterprise.id)


# the forgiving search scores at most this many names in Python (a district's firms; a city
# organizer's typo over more firms than this is looked for among the most recently updated)
FUZZY_SCAN = 20000
FUZZY_CUTOFF = 75


def _search(query, q: str):
    """As typed first (a part of the name, the USCC's start, a need's ref); when that finds
    nothing, forgiving: a typo, a homophone, pinyin or its initials (长按汽车, changan, caqc
    find 重庆长安汽车), scored by textsearch over the names the other filters left."""
    text = q.strip()
    code = uscc_rules.normalize(text)
    exact = [Enterprise.name.ilike(f"%{text}%"), Enterprise.uscc.like(f"{code}%")]
    if any(column.table is Need.__table__ for column in query.selected_columns):
        exact.append(Need.ref == text)
    as_typed = query.where(or_(*exact))
    if db.session.scalar(as_typed.with_only_columns(Enterprise.id).limit(1)) is not None:
        return as_typed
    from ..textsearch import name_score

    names = db.session.execute(
        query.with_only_columns(Enterprise.id, Enterprise.name).distinct()
        .order_by(None).limit(FUZZY_SCAN)).all()
    ids = [eid for eid, name in names if name_score(text, name) >= FUZZY_CUTOFF]
    return query.where(Enterprise.id.in_(ids or [0]))


def filter_needs(query, *, q=None, district=None, cluster=None, purpose=None, status=None,
                 sort="updated"):
    """Narrow a visible_needs() query (already joined to Enterprise)."""
    if district:
        query = query.where(Enterprise.district == district)
    if cluster:
        query = query.where(Enterprise.cluster == cluster)
    if purpose:
        query = query.where(Need.purpose == purpose)
    if status:
        query = query.where(Need.status == status)
    if q:
        query = _search(query, q)
    return query.order_by(NEED_SORTS.get(sort, NEED_SORTS["updated"]), Need.id.desc())


# --- core-enterprise suggestions ---------------------------------------------------------------

def suggest_core_enterprises(text: str, limit: int = 8) -> list[dict]:
    """Names from the core-enterprise list (and their aliases) that fit what was typed:
    the typed key inside a name's key first, then rapidfuzz similarity."""
    from rapidfuzz import fuzz

    from ..institutions.models import CoreEnterprise
    from ..names import company_key

    key = company_key(text or "")
    if len(key) < 1:
        return []
    scored = []
    for core in db.session.scalars(select(CoreEnterprise)):
        best = None
        for written in [core.name] + [a.alias for a in core.aliases]:
            other = company_key(written)
            score = 100 + len(key) / max(len(other), 1) if key in other \
                else fuzz.partial_ratio(key, other)
            if best is None or score > best[0]:
                best = (score, written)
        if best and best[0] >= 70:
            scored.append((best[0], core.name, best[1]))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [{"name": name, "matched": written if written != name else None}
            for _, name, written in scored[:limit]]
