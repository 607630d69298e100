"""The record shapes of `matchmaker-exchange/1` (see docs in the spec this project implements).

Each field has a checker that turns the JSON value into what the platform stores (Decimal
money, full district names, normalised USCC …) or raises Invalid with the reason twice: in
English, as the spec's error lines carry it (`enterprises E-07 uscc: check character should
be X`, the command line), and in Chinese for the people who read it on a page (the admin's
upload page: 企业 E-07「统一社会信用代码」：统一社会信用代码校验位错误，应为 X). Pure: no
database.
"""
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from .. import uscc as uscc_rules
from .. import vocab

FORMAT = "matchmaker-exchange/1"
SECTIONS = ("institutions", "products", "enterprises", "needs")
INT_LIMIT = 2**31 - 1  # the databases' INTEGER


class Invalid(ValueError):
    """One field's value breaks the format; the message is the error line's reason (English,
    the spec's wording) and `zh` the same reason in Chinese."""

    def __init__(self, reason: str, zh: str):
        super().__init__(reason)
        self.zh = zh


def _quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _quoted_zh(values) -> str:
    return "、".join(f"“{v}”" for v in values)


# the Chinese names a person reads beside a field (the admin's upload page)
SECTION_LABELS = {"institutions": "金融机构", "products": "金融产品", "enterprises": "企业",
                  "needs": "融资需求"}
VOCABULARY_LABELS = {"purposes": "融资用途", "loan_kinds": "贷款类型",
                     "guarantee_modes": "担保方式", "sizes": "企业规模",
                     "enterprise_tags": "资质标签", "tax_credit_grades": "纳税信用等级",
                     "institution_kinds": "机构类型", "subsidy_programs": "政策项目",
                     "clusters_33618": "产业集群"}
NOUN_LABELS = {"value": "值", "code": "代码", "district": "区县", "industry": "行业代码",
               "name": "名称"}


class Check:
    default = None

    def __init__(self, required: bool = False):
        self.required = required

    def __call__(self, value):
        raise NotImplementedError


class Text(Check):
    def __init__(self, max_len: int | None = None, required: bool = False):
        super().__init__(required)
        self.max_len = max_len

    def __call__(self, value):
        _string(value)
        if not value.strip():
            if self.required:
                raise Invalid("must not be empty", "不能为空")
            return None  # "" is the same as absent: export omits it
        if self.max_len and len(value) > self.max_len:
            raise Invalid(f"must be at most {self.max_len} characters",
                          f"不能超过{self.max_len}个字")
        return value


def _string(value) -> None:
    if not isinstance(value, str):
        raise Invalid("must be a string", "应为文本（字符串）")


NOT_A_NUMBER = ("must be a number", "应为数字")


class Number(Check):
    """A JSON number, kept exact: 3.45 becomes Decimal("3.45"), never 3.4499999…"""

    def __init__(self, required=False, places=2, below=Decimal("1e10"), minimum=None,
                 positive=False):
        super().__init__(required)
        self.places, self.below, self.minimum, self.positive = places, below, minimum, positive

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(*NOT_A_NUMBER)
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise Invalid(*NOT_A_NUMBER) from None
        if not number.is_finite():
            raise Invalid(*NOT_A_NUMBER)
        if self.positive and number <= 0:
            raise Invalid("must be greater than 0", "应大于0")
        if self.minimum is not None and number < self.minimum:
            raise Invalid(f"must be at least {self.minimum}", f"不能小于{self.minimum}")
        if abs(number) >= self.below:
            limit = json_number(self.below)
            raise Invalid(f"must be less than {limit}", f"应小于{limit}")
        if number.as_tuple().exponent < -self.places:  # the column would round it
            raise Invalid(f"must have at most {self.places} decimal places",
                          f"最多{self.places}位小数")
        return number


class Integer(Check):
    def __init__(self, required=False, minimum=None, maximum=INT_LIMIT):
        super().__init__(required)
        self.minimum, self.maximum = minimum, maximum

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid("must be an integer", "应为整数")
        if self.minimum is not None and value < self.minimum:
            if self.minimum == 1:
                raise Invalid("must be greater than 0", "应大于0")
            raise Invalid(f"must be at least {self.minimum}", f"不能小于{self.minimum}")
        if value > self.maximum:
            raise Invalid(f"must be at most {self.maximum}", f"不能大于{self.maximum}")
        return value


class Boolean(Check):
    def __init__(self, default: bool = False):
        super().__init__(False)
        self.default = default

    def __call__(self, value):
        if not isinstance(value, bool):
            raise Invalid("must be true or false", "应为 true 或 false")
        return value


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Day(Check):
    def __call__(self, value):
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise Invalid("must be a date YYYY-MM-DD", "应为日期，格式 YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Invalid(f"not a valid date: '{value}'", f"“{value}”不是有效的日期") from None


class Code(Check):
    def __init__(self, vocabulary: str, required: bool = False):
        super().__init__(required)
        self.vocabulary = vocabulary

    def __call__(self, value):
        _string(value)
        if value not in vocab.codes(self.vocabulary):
            name = VOCABULARY_LABELS.get(self.vocabulary, self.vocabulary)
            raise Invalid(f"unknown code '{value}' (not in {self.vocabulary})",
                          f"代码“{value}”不在{name}代码表（{self.vocabulary}）中")
        return value


class District(Check):
    """Full name or the vocabulary's `short` form (永川 -> 永川区); stores the full name."""

    def __call__(self, value):
        _string(value)
        name = vocab.district_name(value)
        if name is None:
            raise Invalid(f"unknown district '{value}'", f"“{value}”不是重庆市的区县")
        return name


class Industry(Check):
    """A GB/T 4754—2017 code of the table, any section. `detailed`: an enterprise's own code
    (a division or finer: C36, C3670, I6513), not the section letter alone a product may name."""

    def __init__(self, required: bool = False, detailed: bool = False):
        super().__init__(required)
        self.detailed = detailed

    def __call__(self, value):
        _string(value)
        if not vocab.valid_industry(value):
            raise Invalid(f"not a GB/T 4754—2017 code: '{value}'",
                          f"“{value}”不是国民经济行业分类（GB/T 4754—2017）代码")
        if self.detailed and not vocab.valid_industry(value, detailed=True):
            raise Invalid(f"a section letter alone is not an enterprise's industry: '{value}' "
                          "(give its division, group or class, e.g. C36 or C3670)",
                          f"企业的行业不能只填门类字母“{value}”，请填写大类、中类或小类代码，"
                          "如 C36、C3670")
        return value


class Uscc(Check):
    def __call__(self, value):
        _string(value)
        problem = uscc_rules.problem_en(value)
        if problem:
            raise Invalid(problem, uscc_rules.problem(value))
        return uscc_rules.normalize(value)


class ListOf(Check):
    """A list whose items one checker admits; bad items are all named in one reason."""

    def __init__(self, item: Check, required: bool = False, noun: str = "value"):
        super().__init__(required)
        self.item, self.noun = item, noun

    @property
    def default(self):
        return []

    def __call__(self, value):
        if not isinstance(value, list):
            raise Invalid("must be a list", "应为列表")
        cleaned, problems = [], []
        for entry in value:
            try:
                cleaned.append(self.item(entry))
            except Invalid as err:
                problems.append((str(err), err.zh))
        if problems:
            problems = list(dict.fromkeys(problems))
            raise Invalid("; ".join(en for en, _ in problems), "；".join(zh for _, zh in problems))
        noun_zh = NOUN_LABELS.get(self.noun, self.noun)
        if None in cleaned:  # Text gives None for a blank entry
            raise Invalid(f"must not contain an empty {self.noun}", f"不能含有空的{noun_zh}")
        doubles = list(dict.fromkeys(v for i, v in enumerate(cleaned) if v in cleaned[:i]))
        if doubles:
            raise Invalid(f"duplicate {self.noun} {_quoted(doubles)}",
                          f"{noun_zh}重复：{_quoted_zh(doubles)}")
        if self.required and not cleaned:
            raise Invalid("must not be empty", "不能为空")
        return cleaned


def codes(vocabulary: str, required: bool = False) -> ListOf:
    return ListOf(Code(vocabulary), required, noun="code")


REF = Text(64, required=True)
MONEY = Number(required=True, minimum=0)
RATE = Number(required=True, places=3, below=Decimal(1000), minimum=0)

# field order is the spec's table order, which is also the order export writes
FIELDS: dict[str, dict[str, Check]] = {
    "institutions": {
        "ref": REF,
        "name": Text(128, required=True),
        "kind": Code("institution_kinds", required=True),
        "districts": ListOf(District(), noun="district"),
    },
    "products": {
        "ref": REF,
        "institution_ref": REF,
        "name": Text(128, required=True),
        "purposes": codes("purposes", required=True),
        "guarantee_modes": codes("guarantee_modes", required=True),
        "amount_min_wan": Number(required=True, positive=True),
        "amount_max_wan": Number(required=True, positive=True),
        "term_min_months": Integer(required=True, minimum=1),
        "term_max_months": Integer(required=True, minimum=1),
        "rate_min": RATE,
        "rate_max": RATE,
        "sizes": codes("sizes"),
        "tags_any": codes("enterprise_tags"),
        "industries": ListOf(Industry(), noun="industry"),
        "districts": ListOf(District(), noun="district"),
        "min_years": Number(places=2, below=Decimal(1000), minimum=0),
        "min_revenue_wan": Number(minimum=0),
        "tax_credit_grades": codes("tax_credit_grades"),
        "loan_kinds": codes("loan_kinds"),
        "existing_customers_only": Boolean(),
        "core_enterprises": ListOf(Text(128), noun="name"),
        "subsidy_programs": codes("subsidy_programs"),
        "description": Text(),
        "active": Boolean(default=True),
    },
    "enterprises": {
        "ref": REF,
        "name": Text(128, required=True),
        "uscc": Uscc(required=True),
        "district": District(required=True),
        "industry": Industry(required=True, detailed=True),
        "cluster": Code("clusters_33618"),
        "employees": Integer(required=True, minimum=0),
        "revenue_wan": MONEY,
        "assets_wan": Number(minimum=0),
        "founded": Day(required=True),
        "tags": codes("enterprise_tags"),
        "tax_credit_grade": Code("tax_credit_grades"),
        "has_bank_loan": Boolean(),
        "core_enterprise": Text(128),
        "size": Code("sizes"),
    },
    "needs": {
        "ref": REF,
        "enterprise_ref": REF,
        "purpose": Code("purposes", required=True),
        "loan_kind": Code("loan_kinds"),
        "current_lender_ref": Text(64),
        "renewal_due": Day(),
        "amount_wan": Number(required=True, positive=True),
        "term_months": Integer(required=True, minimum=1, maximum=360),  # ck_needs_term
        "guarantee_modes": codes("guarantee_modes", required=True),
        "max_rate": Number(places=3, below=Decimal(1000), minimum=0),
        "created": Day(),
        "description": Text(),
        "consent_to_share": Boolean(),
        "funded_on": Day(),
    },
}

# each field's Chinese name, as the platform's forms call it
FIELD_LABELS: dict[str, dict[str, str]] = {
    "institutions": {"ref": "编号", "name": "机构名称", "kind": "机构类型", "districts": "服务区县"},
    "products": {
        "ref": "编号", "institution_ref": "所属机构编号", "name": "产品名称", "purposes": "融资用途",
        "guarantee_modes": "担保方式", "amount_min_wan": "最低额度（万元）",
        "amount_max_wan": "最高额度（万元）", "term_min_months": "最短期限（月）",
        "term_max_months": "最长期限（月）", "rate_min": "最低年利率（%）",
        "rate_max": "最高年利率（%）", "sizes": "企业规模", "tags_any": "资质要求",
        "industries": "行业", "districts": "服务区县", "min_years": "最低成立年限",
        "min_revenue_wan": "最低上年营业收入（万元）", "tax_credit_grades": "纳税信用等级",
        "loan_kinds": "贷款类型", "existing_customers_only": "仅限存量客户",
        "core_enterprises": "核心企业", "subsidy_programs": "适用政策",
        "description": "产品说明", "active": "是否上架"},
    "enterprises": {
        "ref": "编号", "name": "企业名称", "uscc": "统一社会信用代码", "district": "所在区县",
        "industry": "行业代码", "cluster": "产业集群", "employees": "从业人员（人）",
        "revenue_wan": "上年营业收入（万元）", "assets_wan": "资产总额（万元）",
        "founded": "成立日期", "tags": "资质标签", "tax_credit_grade": "纳税信用等级",
        "has_bank_loan": "有银行贷款", "core_enterprise": "核心企业", "size": "企业规模"},
    "needs": {
        "ref": "编号", "enterprise_ref": "企业编号", "purpose": "融资用途", "loan_kind": "贷款类型",
        "current_lender_ref": "现贷款机构编号", "renewal_due": "现贷款到期日",
        "amount_wan": "融资金额（万元）", "term_months": "期限（月）", "guarantee_modes": "担保方式",
        "max_rate": "可接受最高年利率（%）", "created": "提交日期", "description": "需求说明",
        "consent_to_share": "同意向金融机构展示", "funded_on": "放款日期"},
}


def field_label(section: str, name: str) -> str:
    """「融资用途（purpose）」: the Chinese name, and the format's own beside it to find it in
    the file; a field the format does not have keeps its name as written."""
    label = FIELD_LABELS.get(section, {}).get(name)
    return f"{label}（{name}）" if label else name


# (low, high): the low end must not exceed the high end
RANGES = {
    "products": (("amount_min_wan", "amount_max_wan"), ("term_min_months", "term_max_months"),
                 ("rate_min", "rate_max")),
}


def clean(section: str, record: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    """The record's stored values (absent optional fields at their defaults) and its
    problems as (field, reason, Chinese reason), in the spec's field order, unknown fields
    last."""
    fields = FIELDS[section]
    values, problems = {}, []
    for name, check in fields.items():
        if name not in record or record[name] is None:
            if check.required:
                problems.append((name, "required", "必填，文件中缺少此项"))
            values[name] = check.default
            continue
        try:
            values[name] = check(record[name])
        except Invalid as err:
            problems.append((name, str(err), err.zh))
    for low, high in RANGES.get(section, ()):
        bad = {name for name, _, _ in problems}
        if not bad & {low, high} and values[low] > values[high]:
            limit = json_value(values[high])
            problems.append((low, f"must not exceed {high} ({limit})",
                             f"不能大于{FIELD_LABELS[section][high]}（{limit}）"))
    problems += [(name, "unknown field", "格式中没有这个字段（请检查拼写；未知字段不会被忽略）")
                 for name in record if name not in fields]
    return values, problems


def json_number(value: Decimal) -> int | float:
    """Decimal -> JSON number: an int when integral, else the float whose shortest repr is
    the decimal itself (Decimal("3.45") -> 3.45)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def json_value(value):
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return value


def to_exchange(section: str, values: dict) -> dict:
    """The exchange record of stored values: spec field order, optional fields omitted where
    empty or at their default (so export -> import -> export is the identity)."""
    record = {}
    for name, check in FIELDS[section].items():
        value = values.get(name)
        if not check.required and value in (None, "", [], check.default):
            continue
        record[name] = json_value(value)
    return record
