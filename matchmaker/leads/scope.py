"""What an institution receives under a consent: the need itself, plus the enterprise profile
fields the enterprise ticked.

个人信息保护法 第十四条/第二十三条: the enterprise is told, per recipient, exactly which data
goes; the push page renders SCOPE_FIELDS and the bank's lead page renders only the fields in
the consent's scope (consented_profile). REQUIRED fields are what a bank needs to know who
to call and whether the firm is in its remit; the rest the enterprise may withhold.
"""
from collections.abc import Callable
from dataclasses import dataclass

from .. import vocab
from ..enterprises.models import Enterprise


@dataclass(frozen=True)
class ScopeField:
    code: str
    label: str
    required: bool
    value: Callable[[Enterprise], str]


def _tags(e: Enterprise) -> str:
    return "、".join(vocab.label("enterprise_tags", t) for t in e.tags) or "无"


def _contacts(e: Enterprise) -> str:
    parts = [p for p in (e.contact_name, e.contact_phone) if p]
    return " ".join(parts) or "（企业尚未填写联系人）"


def _revenue(e: Enterprise) -> str:
    return f"{e.revenue_wan:,.2f}".rstrip("0").rstrip(".") + " 万元"


SCOPE_FIELDS: tuple[ScopeField, ...] = (
    ScopeField("name", "企业名称", True, lambda e: e.name),
    ScopeField("district", "所在区县", True, lambda e: e.district),
    ScopeField("industry", "行业代码", True, lambda e: e.industry),
    ScopeField("size", "企业规模", True, lambda e: e.size_label),
    ScopeField("contacts", "联系人及电话", True, _contacts),
    ScopeField("uscc", "统一社会信用代码", False, lambda e: e.uscc),
    ScopeField("address", "地址", False, lambda e: e.address or "—"),
    ScopeField("founded", "成立日期", False, lambda e: e.founded.isoformat()),
    ScopeField("employees", "从业人员", False, lambda e: f"{e.employees} 人"),
    ScopeField("revenue", "上年营业收入", False, _revenue),
    ScopeField("tags", "资质标签（专精特新等）", False, _tags),
    ScopeField("tax_credit_grade", "纳税信用等级", False,
               lambda e: e.tax_credit_grade or "—"),
    ScopeField("has_bank_loan", "是否已有银行贷款", False,
               lambda e: "有" if e.has_bank_loan else "无（首贷户）"),
    ScopeField("core_enterprise", "核心企业（供应链）", False,
               lambda e: e.core_enterprise or "—"),
)
BY_CODE = {f.code: f for f in SCOPE_FIELDS}
REQUIRED = tuple(f.code for f in SCOPE_FIELDS if f.required)
OPTIONAL = tuple(f.code for f in SCOPE_FIELDS if not f.required)
FULL = tuple(f.code for f in SCOPE_FIELDS)
# the need's own fields always travel with it: without them there is nothing to answer
NEED_PART = "融资需求内容（用途、金额、期限、担保方式、利率上限、续贷到期日、需求说明）"


def normalize(codes) -> list[str]:
    """The scope as stored: required fields always, known codes only, in display order."""
    wanted = set(codes or ()) | set(REQUIRED)
    return [f.code for f in SCOPE_FIELDS if f.code in wanted]


def labels(codes) -> list[str]:
    return [BY_CODE[c].label for c in codes if c in BY_CODE]


def consented_profile(enterprise: Enterprise, codes) -> list[tuple[str, str]]:
    """(label, value) for exactly the fields in the scope."""
    allowed = set(codes)
    return [(f.label, f.value(enterprise)) for f in SCOPE_FIELDS if f.code in allowed]
