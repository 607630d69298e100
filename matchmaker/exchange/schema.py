"""The record shapes of `matchmaker-exchange/1` (see docs in the spec this project implements).

Each field has a checker that turns the JSON value into what the platform stores (Decimal
money, full district names, normalised USCC …) or raises Invalid with the reason the spec's
error lines carry (`enterprises E-07 uscc: check character should be X`). Pure: no database.
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
    """One field's value breaks the format; the message is the error line's reason."""


def _quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


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
        if not isinstance(value, str):
            raise Invalid("must be a string")
        if not value.strip():
            if self.required:
                raise Invalid("must not be empty")
            return None  # "" is the same as absent: export omits it
        if self.max_len and len(value) > self.max_len:
            raise Invalid(f"must be at most {self.max_len} characters")
        return value


class Number(Check):
    """A JSON number, kept exact: 3.45 becomes Decimal("3.45"), never 3.4499999…"""

    def __init__(self, required=False, places=2, below=Decimal("1e10"), minimum=None,
                 positive=False):
        super().__init__(required)
        self.places, self.below, self.minimum, self.positive = places, below, minimum, positive

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise Invalid("must be a number") from None
        if not number.is_finite():
            raise Invalid("must be a number")
        if self.positive and number <= 0:
            raise Invalid("must be greater than 0")
        if self.minimum is not None and number < self.minimum:
            raise Invalid(f"must be at least {self.minimum}")
        if abs(number) >= self.below:
            raise Invalid(f"must be less than {json_number(self.below)}")
        if number.as_tuple().exponent < -self.places:  # the column would round it
            raise Invalid(f"must have at most {self.places} decimal places")
        return number


class Integer(Check):
    def __init__(self, required=False, minimum=None, maximum=INT_LIMIT):
        super().__init__(required)
        self.minimum, self.maximum = minimum, maximum

    def __call__(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid("must be an integer")
        if self.minimum is not None and value < self.minimum:
            raise Invalid("must be greater than 0" if self.minimum == 1
                          else f"must be at least {self.minimum}")
        if value > self.maximum:
            raise Invalid(f"must be at most {self.maximum}")
        return value


class Boolean(Check):
    def __init__(self, default: bool = False):
        super().__init__(False)
        self.default = default

    def __call__(self, value):
        if not isinstance(value, bool):
            raise Invalid("must be true or false")
        return value


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Day(Check):
    def __call__(self, value):
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise Invalid("must be a date YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Invalid(f"not a valid date: '{value}'") from None


class Code(Check):
    def __init__(self, vocabulary: str, required: bool = False):
        super().__init__(required)
        self.vocabulary = vocabulary

    def __call__(self, value):
        if not isinstance(value, str):
            raise Invalid("must be a string")
        if value not in vocab.codes(self.vocabulary):
            raise Invalid(f"unknown code '{value}' (not in {self.vocabulary})")
        return value


class District(Check):
    """Full name or the vocabulary's `short` form (永川 -> 永川区); stores the full name."""

    def __call__(self, value):
        if not isinstance(value, str):
            raise Invalid("must be a string")
        name = vocab.district_name(value)
        if name is None:
            raise Invalid(f"unknown district '{value}'")
        return name


class Industry(Check):
    """A GB/T 4754—2017 code of the table, any section. `detailed`: an enterprise's own code
    (a division or finer: C36, C3670, I6513), not the section letter alone a product may name."""

    def __init__(self, required: bool = False, detailed: bool = False):
        super().__init__(required)
        self.detailed = detailed

    def __call__(self, value):
        if not isinstance(value, str):
            raise Invalid("must be a string")
        if not vocab.valid_industry(value):
            raise Invalid(f"not a GB/T 4754—2017 code: '{value}'")
        if self.detailed and not vocab.valid_industry(value, detailed=True):
            raise Invalid(f"a section letter alone is not an enterprise's industry: '{value}' "
                          "(give its division, group or class, e.g. C36 or C3670)")
        return value


class Uscc(Check):
    def __call__(self, value):
        if not isinstance(value, str):
            raise Invalid("must be a string")
        problem = uscc_rules.problem_en(value)
        if problem:
            raise Invalid(problem)
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
            raise Invalid("must be a list")
        cleaned, problems = [], []
        for entry in value:
            try:
                cleaned.append(self.item(entry))
            except Invalid as err:
                problems.append(str(err))
        if problems:
            raise Invalid("; ".join(dict.fromkeys(problems)))
        if None in cleaned:  # Text gives None for a blank entry
            raise Invalid(f"must not contain an empty {self.noun}")
        doubles = [v for i, v in enumerate(cleaned) if v in cleaned[:i]]
        if doubles:
            raise Invalid(f"duplicate {self.noun} {_quoted(dict.fromkeys(doubles))}")
        if self.required and not cleaned:
            raise Invalid("must not be empty")
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

# (low, high): the low end must not exceed the high end
RANGES = {
    "products": (("amount_min_wan", "amount_max_wan"), ("term_min_months", "term_max_months"),
                 ("rate_min", "rate_max")),
}


def clean(section: str, record: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The record's stored values (absent optional fields at their defaults) and its
    problems as (field, reason), in the spec's field order, unknown fields last."""
    fields = FIELDS[section]
    values, problems = {}, []
    for name, check in fields.items():
        if name not in record or record[name] is None:
            if check.required:
                problems.append((name, "required"))
            values[name] = check.default
            continue
        try:
            values[name] = check(record[name])
        except Invalid as err:
            problems.append((name, str(err)))
    for low, high in RANGES.get(section, ()):
        bad = {name for name, _ in problems}
        if not bad & {low, high} and values[low] > values[high]:
            problems.append((low, f"must not exceed {high} ({json_value(values[high])})"))
    problems += [(name, "unknown field") for name in record if name not in fields]
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
