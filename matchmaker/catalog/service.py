"""The 金融超市: filtering, sorting and tolerant name search over published products.

Filters run in SQL on indexed columns (product_terms (field, value) rows, the candidates
index); the name search runs in Python over the filtered names, because typo tolerance
(rapidfuzz) and pinyin (pypinyin) are not SQL. Pinyin keys are cached per name, so a search
over 5,000 products costs one narrow query and a few milliseconds of scoring.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, and_, exists, not_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from .. import clock, vocab
from .. import industries as industries_table
from ..extensions import db
from ..institutions.models import Institution, InstitutionDistrict, Product, ProductTerm
from ..institutions.subsidies import CostEstimate, estimate_cost
from ..matching import adapters
from ..matching.matcher import EnterpriseFacts, NeedFacts
from ..policy import service as policy_service
from ..policy.models import ProgramConfirmation
from ..textsearch import NameKeys, name_keys, name_score  # noqa: F401 (re-exported)

PER_PAGE = 20
SORTS = {
    "newest": "最新发布",
    "rate_asc": "利率从低到高",
    "amount_desc": "额度从高到低",
    "term_desc": "期限从长到短",
}
RELEVANCE = "relevance"
# a name search keeps names scoring at least this (0–100): one wrong character in a 6–7
# character name scores about 85, an unrelated name sharing one character about 50
FUZZY_CUTOFF = 75


@dataclass
class CatalogFilters:
    q: str = ""
    purpose: str | None = None
    loan_kind: str | None = None
    guarantee_mode: str | None = None
    institution_kind: str | None = None
    district: str | None = None
    tag: str | None = None
    amount_wan: Decimal | None = None
    term_months: int | None = None
    sort: str = "newest"
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def sort_choices(self) -> dict[str, str]:
        return ({RELEVANCE: "最相关"} | SORTS) if self.q else SORTS


# the filters drawn from the vocabulary: query argument -> (vocabulary, Chinese name)
CODE_FILTERS = {
    "purpose": ("purposes", "融资用途"),
    "loan_kind": ("loan_kinds", "贷款类型"),
    "guarantee_mode": ("guarantee_modes", "担保方式"),
    "institution_kind": ("institution_kinds", "机构类型"),
    "tag": ("enterprise_tags", "企业资质"),
}


def parse_filters(args) -> CatalogFilters:
    """Read the query string; a bad value is ignored and explained beside its field."""
    f = CatalogFilters(q=(args.get("q") or "").strip()[:50])
    for name, (vocab_name, label) in CODE_FILTERS.items():
        value = args.get(name) or None
        if value and value not in vocab.codes(vocab_name):
            f.errors[name] = f"无效的{label}"
        else:
            setattr(f, name, value)
    if args.get("district"):
        f.district = vocab.district_name(args["district"])
        if f.district is None:
            f.errors["district"] = "无效的区县"
    f.amount_wan = _positive(args.get("amount"), Decimal, "amount", "金额应为大于0的数字（万元）", f)
    f.term_months = _positive(args.get("term"), int, "term", "期限应为大于0的整数（月）", f)
    default_sort = RELEVANCE if f.q else "newest"
    f.sort = args.get("sort") if args.get("sort") in f.sort_choices else default_sort
    page = args.get("page", "1")
    f.page = int(page) if page.isdigit() and int(page) > 0 else 1
    return f


def _positive(raw, kind, name, message, f):
    if not raw:
        return None
    try:
        value = kind(raw.strip())
    except (ValueError, InvalidOperation):
        f.errors[name] = message
        return None
    if (kind is Decimal and not value.is_finite()) or not value > 0:
        f.errors[name] = message
        return None
    return value


def _has_term(field_name: str, value: str):
    return exists().where(ProductTerm.product_id == Product.id, ProductTerm.field == field_name,
                          ProductTerm.value == value)


def _has_any(field_name: str):
    return exists().where(ProductTerm.product_id == Product.id, ProductTerm.field == field_name)


def _covers_district(district: str):
    """Product districts if set, else the institution's, else all of Chongqing (spec rule 6)."""
    institution_has = exists().where(InstitutionDistrict.institution_id == Product.institution_id)
    institution_covers = exists().where(InstitutionDistrict.institution_id == Product.institution_id,
                                        InstitutionDistrict.value == district)
    return or_(_has_term("districts", district),
               and_(not_(_has_any("districts")),
                    or_(institution_covers, not_(institution_has))))


def filtered(f: CatalogFilters, columns=None) -> Select:
    """Published products passing every filter (no order)."""
    query = (select(*columns) if columns else select(Product)).where(
        Product.status == "published")
    if f.purpose:
        query = query.where(_has_term("purposes", f.purpose))
    if f.guarantee_mode:
        query = query.where(_has_term("guarantee_modes", f.guarantee_mode))
    if f.loan_kind:  # empty loan_kinds = serves every kind of need
        query = query.where(or_(_has_term("loan_kinds", f.loan_kind), not_(_has_any("loan_kinds"))))
    if f.tag:  # products made for enterprises holding this qualification (专精特新贷 …)
        query = query.where(_has_term("tags_any", f.tag))
    if f.institution_kind:
        query = query.where(Product.institution_id.in_(
            select(Institution.id).where(Institution.kind == f.institution_kind)))
    if f.district:
        query = query.where(_covers_district(f.district))
    if f.amount_wan is not None:
        query = query.where(Product.amount_min_wan <= f.amount_wan,
                            Product.amount_max_wan >= f.amount_wan)
    if f.term_months is not None:
        query = query.where(Product.term_min_months <= f.term_months,
                            Product.term_max_months >= f.term_months)
    return query


ORDER = {
    "newest": (Product.published_at.desc(), Product.id.desc()),
    "rate_asc": (Product.rate_min, Product.rate_max, Product.id),
    "amount_desc": (Product.amount_max_wan.desc(), Product.id),
    "term_desc": (Product.term_max_months.desc(), Product.id),
}


def catalog_page(f: CatalogFilters, per_page: int = PER_PAGE) -> Pagination:
    """One page of the catalogue: SQL order without a search, relevance order with one."""
    if not f.q:
        query = filtered(f).options(*_page_loads()).order_by(*ORDER[f.sort])
        return db.paginate(query, page=f.page, per_page=per_page, error_out=False)
    ids = search_ids(f)
    return IdPagination(ids, page=f.page, per_page=per_page)


def _page_loads():
    return (joinedload(Product.institution).selectinload(Institution.district_rows),
            selectinload(Product.term_rows))


def search_ids(f: CatalogFilters) -> list[int]:
    """Ids of filtered products whose name (or institution's name) matches q, best first."""
    rows = db.session.execute(filtered(f, columns=(
        Product.id, Product.name, Institution.name.label("institution_name"), Product.rate_min,
        Product.amount_max_wan, Product.term_max_months, Product.published_at))
        .join(Institution, Institution.id == Product.institution_id)).all()
    texts = _search_texts([row.id for row in rows])
    scored = []
    for row in rows:
        score = max(name_score(f.q, row.name), institution_score(f.q, row.institution_name))
        if score < FUZZY_CUTOFF:
            score = max(score, text_score(f.q, texts.get(row.id, ())))
        if score >= FUZZY_CUTOFF:
            scored.append((score, row))
    scored.sort(key=_sort_key(f.sort))
    return [row.id for _score, row in scored]


def _search_texts(ids: list[int]) -> dict[int, list[str]]:
    """What else a search reads besides the names: each product's description, the core
    enterprises it serves (长安 finds a supply-chain loan for 长安's suppliers) and the names of
    the subsidy programmes its loans can draw (贴息): declared by the bank AND confirmed by an
    organizer, and in force today — a declaration alone is a request, and finds nothing."""
    if not ids:
        return {}
    texts: dict[int, list[str]] = {}
    for pid, description in db.session.execute(select(Product.id, Product.description)
                                               .where(Product.id.in_(ids))):
        if description:
            texts.setdefault(pid, []).append(description)
    for pid, value in db.session.execute(
            select(ProductTerm.product_id, ProductTerm.value)
            .where(ProductTerm.product_id.in_(ids), ProductTerm.field == "core_enterprises")):
        texts.setdefault(pid, []).append(value)
    programmes = {p.code: p.label
                  for p in policy_service.programs_in_force(clock.china_today())}
    for pid, code in db.session.execute(
            select(ProductTerm.product_id, ProductTerm.value)
            .join(ProgramConfirmation, and_(ProgramConfirmation.product_id ==
                                            ProductTerm.product_id,
                                            ProgramConfirmation.program_code == ProductTerm.value))
            .where(ProductTerm.product_id.in_(ids), ProductTerm.field == "subsidy_programs")):
        if code in programmes:
            texts.setdefault(pid, []).append(programmes[code])
    return texts


def text_score(query: str, texts) -> float:
    """A product's description, core enterprises or programmes containing the query: ranked
    below a name hit (88, or 80 for the same sound typed with another character)."""
    q = name_keys(query)
    if len(q.text) < 2:
        return 0.0
    best = 0.0
    for text in texts:
        keys = name_keys(text[:2000])
        if q.text in keys.text:
            return 88.0
        if len(q.text) >= 3 and len(q.full) >= 6 and q.full in keys.full:
            best = 80.0
    return best


def _sort_key(sort: str):
    newest = lambda r: -(r.published_at.timestamp() if r.published_at else 0)
    keys = {
        RELEVANCE: lambda s, r: (-s, r.rate_min, r.id),
        "newest": lambda s, r: (newest(r), -r.id),
        "rate_asc": lambda s, r: (r.rate_min, r.id),
        "amount_desc": lambda s, r: (-r.amount_max_wan, r.id),
        "term_desc": lambda s, r: (-r.term_max_months, r.id),
    }
    key = keys[sort]
    return lambda pair: key(*pair)


def warm_search_cache() -> int:
    """Compute the pinyin keys of every published name now (wsgi.py, when a worker starts),
    so that the first name search of the process does not pay for them."""
    published = db.session.scalars(select(Product.name).where(Product.status == "published"))
    return sum(1 for name in published if name_keys(name))


def institution_score(query: str, institution_name: str) -> float:
    """An institution's name matches only as a whole substring (农商行 finds its products)."""
    q = name_keys(query).text
    return 90.0 if len(q) >= 2 and q in name_keys(institution_name).text else 0.0


class IdPagination(Pagination):
    """A page over an already ordered list of product ids (the search results)."""

    def __init__(self, ids: list[int], page: int, per_page: int):
        self._ids = ids
        super().__init__(page=page, per_page=per_page, max_per_page=None, error_out=False,
                         count=True)

    def _query_items(self) -> list:
        wanted = self._ids[self._query_offset:self._query_offset + self.per_page]
        if not wanted:
            return []
        products = db.session.scalars(select(Product).where(Product.id.in_(wanted))
                                      .options(*_page_loads())).unique().all()
        by_id = {p.id: p for p in products}
        return [by_id[i] for i in wanted if i in by_id]

    def _query_count(self) -> int:
        return len(self._ids)


# --- conditions in plain Chinese ------------------------------------------------------------

def _num(value) -> str:
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _labels(name: str, codes) -> str:
    return "、".join(vocab.label(name, c) for c in codes)


def describe_terms(terms: dict, product: Product | None = None) -> list[tuple[str, str]]:
    """(heading, sentence) pairs for an exchange-format product record: the current terms
    (institutions.service.product_record) or a frozen ProductVersion's."""
    lines = [
        ("融资用途", _labels("purposes", terms.get("purposes", []))),
        ("贷款额度", f"{_num(terms['amount_min_wan'])}万元至{_num(terms['amount_max_wan'])}万元"),
        ("贷款期限", f"{terms['term_min_months']}至{terms['term_max_months']}个月"),
        ("年利率", _rate_sentence(terms, product)),
        ("担保方式", "接受" + "或".join(vocab.label("guarantee_modes", c)
                                       for c in terms.get("guarantee_modes", []))),
    ]
    lines += [line for line in _eligibility(terms) if line]
    if product is not None and not terms.get("districts"):
        served = product.institution.districts
        lines = [("服务区域", ("、".join(served) + "（机构服务区域）") if served else "重庆全市")
                 if heading == "服务区域" else (heading, text) for heading, text in lines]
    if terms.get("subsidy_programs"):
        labels = {p.code: p.label for p in policy_service.programs()}
        confirmed = set(product.confirmed_programs) if product is not None else None
        names = [labels.get(c, vocab.label("subsidy_programs", c))
                 + ("" if confirmed is None or c in confirmed else "（银行申报，待组织方确认）")
                 for c in terms["subsidy_programs"]]
        lines.append(("可享政策", "可申请" + "、".join(names)))
    return lines


def _rate_sentence(terms: dict, product: Product | None) -> str:
    span = f"{_num(terms['rate_min'])}%至{_num(terms['rate_max'])}%"
    if product is None or product.rate_basis == "fixed":
        return span
    kind = "1年期LPR" if product.rate_basis == "lpr_1y" else "5年期以上LPR"
    return (f"{kind}加{product.spread_min_bp}至{product.spread_max_bp}个基点"
            f"（按当前LPR计为{span}，随LPR调整）")


def _eligibility(terms: dict) -> list[tuple[str, str] | None]:
    industries = terms.get("industries") or []
    return [
        ("企业规模", _labels("sizes", terms["sizes"]) + "企业") if terms.get("sizes") else
        ("企业规模", "不限"),
        ("企业资质", "须具备以下资质之一：" + _labels("enterprise_tags", terms["tags_any"]))
        if terms.get("tags_any") else None,
        ("所属行业", "仅限：" + "、".join(f"{c} {industries_table.name(c)}" for c in industries))
        if industries else ("所属行业", "不限"),
        ("服务区域", "、".join(terms["districts"])) if terms.get("districts") else
        ("服务区域", "按机构服务区域"),
        ("成立年限", f"成立满{_num(terms['min_years'])}年") if terms.get("min_years") else None,
        ("营业收入", f"上年营业收入不低于{_num(terms['min_revenue_wan'])}万元")
        if terms.get("min_revenue_wan") else None,
        ("纳税信用", "纳税信用等级为" + "或".join(
            vocab.label("tax_credit_grades", c) for c in terms["tax_credit_grades"]))
        if terms.get("tax_credit_grades") else None,
        ("贷款类型", "适用于" + _labels("loan_kinds", terms["loan_kinds"]))
        if terms.get("loan_kinds") else None,
        ("存量客户", "仅限本机构现有贷款客户申请（如无还本续贷）")
        if terms.get("existing_customers_only") else None,
        ("核心企业", "须为以下核心企业的上下游配套企业：" + "、".join(terms["core_enterprises"]))
        if terms.get("core_enterprises") else None,
    ]


# --- worked example: the yearly cost of a typical loan, before and after each program ----------

TYPICAL_TERM_MONTHS = 12


def typical_loan(product: Product) -> tuple[Decimal, int]:
    """The geometric middle of the amount range (ranges span orders of magnitude: 10–1000万元
    gives 100万元), rounded to two significant figures; 12 months, or the nearest term the
    product offers."""
    middle = (product.amount_min_wan * product.amount_max_wan).sqrt()
    amount = Decimal(f"{middle:.2g}").quantize(Decimal(1)) if middle >= 10 else middle.quantize(
        Decimal("0.1"))
    amount = min(max(amount, product.amount_min_wan), product.amount_max_wan)
    term = min(max(TYPICAL_TERM_MONTHS, product.term_min_months), product.term_max_months)
    return amount, term


@dataclass
class ExampleCase:
    title: str          # who the case is: 技术改造用途的贷款 …
    estimate: CostEstimate
    notes: list[str]    # why a program of this case did not apply, in Chinese


@dataclass
class WorkedExample:
    amount_wan: Decimal
    term_months: int
    baseline: CostEstimate           # without any program
    cases: list[ExampleCase]


PROGRAM_TITLES = {"rate_share": "用于{purposes}的贷款", "rate_points": "用于{purposes}的贷款",
                  "fee_share": "由融资担保机构担保的{purposes}贷款", "use_fee": "{tags}"}


def _case_of(program, product: Product) -> tuple[str, dict]:
    """The need a programme asks for (from its eligibility), so each row shows a loan that
    can draw it, and what to call that need."""
    rules = dict(program.eligibility)
    if rules.get("any_of"):     # "or": the first kind of enterprise it names
        first = rules["any_of"][0]
        rules.update({k: first[k] for k in ("sizes", "tags", "ownership", "industries")
                      if first.get(k) and not rules.get(k)})
    facts: dict = {}
    if rules.get("ownership"):
        facts["ownership"] = rules["ownership"][0]
    if rules.get("industries"):
        facts["industry"] = rules["industries"][0]
    wanted = [p for p in rules.get("purposes") or () if p in product.purposes]
    if wanted:
        facts["purposes"] = tuple(wanted)
    tags = list(rules.get("tags") or ()) or list(program.settings.get("waiver_tags") or ())
    if tags:
        facts["tags"] = {tags[0]}
    if program.benefit == "fee_share":
        facts["modes"] = {"guarantee"}
    if rules.get("sizes"):
        facts["size"] = rules["sizes"][-1]
    purposes = _labels("purposes", wanted or rules.get("purposes") or product.purposes[:1])
    title = PROGRAM_TITLES.get(program.benefit, "{purposes}").format(
        purposes=purposes, tags=(_labels("enterprise_tags", tags[:1]) + "（经核验）") if tags
        else "中小微企业")
    return title, facts


def worked_example(product: Product, today) -> WorkedExample:
    """Yearly cost of a typical loan under the product, before and after each programme it
    carries (declared by the bank and confirmed by an organizer) that is in force today
    (settings from the database), each rule named in Chinese."""
    terms = adapters.product_terms(product)
    programs = [p for p in adapters.subsidy_records(db.session, today)
                if p.code in terms.subsidy_programs]
    fee = Decimal(str(policy_service.setting("guarantee_fee_rate", "1.0")))
    amount, term = typical_loan(product)
    plain = _example_need(product, amount, term, {})
    baseline = estimate_cost(plain, terms, [], today, fee)
    cases = []
    for program in programs:
        title, facts = _case_of(program, product)
        need = _example_need(product, amount, term, facts)
        estimate = estimate_cost(need, terms, [program], today, fee)
        # the calculator lists every programme of the product; this row is about one of them
        notes = [n for n in estimate.not_applied + estimate.notes
                 if n.startswith(program.label + "：")]
        cases.append(ExampleCase(title, estimate, notes))
    if sum(1 for c in cases if c.estimate.applied) > 1:
        facts = {}
        for program in programs:
            case_facts = _case_of(program, product)[1]
            facts = {**facts, **case_facts}
        need = _example_need(product, amount, term, facts)
        estimate = estimate_cost(need, terms, programs, today, fee)
        cases.append(ExampleCase("同时符合以上各项条件", estimate,
                                 [_named(note) for note in estimate.not_applied]))
    return WorkedExample(amount, term, baseline, cases)


def _named(note: str) -> str:
    """The calculator names a program that is not in force by its code: use its label."""
    code, _sep, rest = note.partition("：")
    return f"{vocab.label('subsidy_programs', code)}：{rest}" if rest else note


def _example_need(product: Product, amount: Decimal, term: int, facts: dict):
    purposes = product.purposes
    wanted = [p for p in facts.get("purposes", ()) if p in purposes]
    purpose = (wanted or purposes or ["working_capital"])[0]
    modes = facts.get("modes") or {product.guarantee_modes[0] if product.guarantee_modes
                                   else "credit"}
    tags = frozenset(facts.get("tags", ()))
    size = facts.get("size", "small")
    enterprise = EnterpriseFacts(id=0, ref="example", district="",
                                 industry=facts.get("industry", "C"), cluster=None,
                                 size=size, employees=50, revenue_wan=Decimal(3000),
                                 founded=date(2015, 1, 1), tags=tags, verified_tags=tags,
                                 derived_size=size, ownership=facts.get("ownership"))
    return NeedFacts(id=0, ref="example", enterprise=enterprise, purpose=purpose, loan_kind="new",
                     amount_wan=amount, term_months=term, guarantee_modes=frozenset(modes))
