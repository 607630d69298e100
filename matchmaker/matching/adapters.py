"""ORM rows -> the pure matcher's and subsidy calculator's plain dataclasses.

The matcher (matcher.py) and the subsidy calculator (institutions/subsidies.py) never see a
session; everything that needs the database to build their inputs lives here.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import or_, select

from ..enterprises.models import Enterprise, Need, derive_size
from ..institutions.models import (
    CoreEnterprise,
    CoreEnterpriseAlias,
    CoreEnterpriseGroup,
    CoreEnterpriseGroupAlias,
    Product,
)
from ..institutions.subsidies import SubsidyProgram
from ..names import company_key, same_company
from ..policy.models import SubsidyProgram as SubsidyProgramRow
from ..policy.models import SubsidyProgramVersion
from .matcher import EnterpriseFacts, NeedFacts, ProductTerms


def product_terms(product: Product) -> ProductTerms:
    """The product's current terms; districts are the EFFECTIVE coverage (spec rule 6: the
    product's own if set, else its institution's, empty = all of Chongqing). The same
    construction as load_product_terms, from the ORM object's attributes."""
    institution = product.institution
    row = SimpleNamespace(**{column.key: getattr(product, column.key)
                             for column in _PRODUCT_COLUMNS},
                          institution_ref=institution.ref, institution_kind=institution.kind)
    return _terms_of(row, {name: getattr(product, name) for name in _TERM_LISTS},
                     {product.institution_id: institution.districts},
                     # a bank's declaration is a request: only what an organizer confirmed
                     {product.id: {c.program_code for c in product.confirmations}})


# the list-valued fields of ProductTerms, as ProductTerm.field names them
_TERM_LISTS = ("purposes", "guarantee_modes", "sizes", "tags_any", "industries", "districts",
               "tax_credit_grades", "loan_kinds", "core_enterprises", "subsidy_programs")


def load_product_terms(session) -> list[ProductTerms]:
    """product_terms() of every published product, by id, in four queries: the matcher is
    built after every catalogue change, and loading 5,000 products as ORM objects with their
    code lists took 1.4 of its 1.7 s."""
    from ..institutions.models import Institution, InstitutionDistrict, ProductTerm
    from ..policy.models import ProgramConfirmation

    published = Product.status == "published"
    lists: dict[int, dict[str, list[str]]] = {}
    for product_id, name, value in session.execute(
            select(ProductTerm.product_id, ProductTerm.field, ProductTerm.value)
            .join(Product, Product.id == ProductTerm.product_id).where(published)
            .order_by(ProductTerm.product_id, ProductTerm.field, ProductTerm.position)):
        lists.setdefault(product_id, {}).setdefault(name, []).append(value)
    covered: dict[int, list[str]] = {}
    for institution_id, value in session.execute(
            select(InstitutionDistrict.institution_id, InstitutionDistrict.value)
            .order_by(InstitutionDistrict.institution_id, InstitutionDistrict.position)):
        covered.setdefault(institution_id, []).append(value)
    confirmed: dict[int, set[str]] = {}
    for product_id, code in session.execute(
            select(ProgramConfirmation.product_id, ProgramConfirmation.program_code)):
        confirmed.setdefault(product_id, set()).add(code)
    rows = session.execute(select(*_PRODUCT_COLUMNS, Institution.ref.label("institution_ref"),
                                  Institution.kind.label("institution_kind"))
                           .join(Institution, Institution.id == Product.institution_id)
                           .where(published).order_by(Product.id))
    return [_terms_of(p, lists.get(p.id, {}), covered, confirmed) for p in rows]


_PRODUCT_COLUMNS = (Product.id, Product.ref, Product.institution_id, Product.version,
                    Product.name, Product.status, Product.amount_min_wan, Product.amount_max_wan,
                    Product.term_min_months, Product.term_max_months, Product.rate_min,
                    Product.rate_max, Product.min_years, Product.min_revenue_wan,
                    Product.existing_customers_only)


def _terms_of(p, lists: dict[str, list[str]], covered: dict[int, list[str]],
              confirmed: dict[int, set[str]]) -> ProductTerms:
    """ProductTerms from a product's row (_PRODUCT_COLUMNS and its institution's ref and kind)
    and its code lists: what product_terms() reads through the relationships."""
    def codes(name: str) -> list[str]:
        return lists.get(name, [])
    declared, ok = codes("subsidy_programs"), confirmed.get(p.id, set())
    return ProductTerms(
        id=p.id, ref=p.ref, institution_id=p.institution_id, institution_ref=p.institution_ref,
        institution_kind=p.institution_kind, version=p.version, name=p.name,
        active=p.status == "published", purposes=frozenset(codes("purposes")),
        guarantee_modes=frozenset(codes("guarantee_modes")),
        amount_min_wan=_dec(p.amount_min_wan), amount_max_wan=_dec(p.amount_max_wan),
        term_min_months=p.term_min_months, term_max_months=p.term_max_months,
        rate_min=_stored(p.rate_min, RATE_PLACES), rate_max=_stored(p.rate_max, RATE_PLACES),
        sizes=frozenset(codes("sizes")), tags_any=frozenset(codes("tags_any")),
        industries=tuple(codes("industries")),
        districts=frozenset(codes("districts") or covered.get(p.institution_id, ())),
        min_years=_dec(p.min_years), min_revenue_wan=_dec(p.min_revenue_wan),
        tax_credit_grades=frozenset(codes("tax_credit_grades")),
        loan_kinds=frozenset(codes("loan_kinds")),
        existing_customers_only=bool(p.existing_customers_only),
        core_enterprises=tuple(codes("core_enterprises")),
        subsidy_programs=tuple(code for code in declared if code in ok),
    )


RATE_PLACES = Decimal("0.001")  # the rate columns (types.RATE): what a reload would give


def _stored(value, places: Decimal) -> Decimal | None:
    """As the database keeps it: an unflushed float-born Decimal (3.2999…) must rank as the
    3.300 every later read sees, or a product's own job and a full recompute differ."""
    value = _dec(value)
    return value.quantize(places) if value is not None else None


def _dec(value) -> Decimal | None:
    """Decimal, whatever a caller assigned before the row was reloaded (a float stays a float
    on the instance until then, and the matcher's arithmetic is Decimal)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def enterprise_facts(enterprise: Enterprise) -> EnterpriseFacts:
    return EnterpriseFacts(
        id=enterprise.id, ref=enterprise.ref, district=enterprise.district,
        industry=enterprise.industry, cluster=enterprise.cluster, size=enterprise.size,
        employees=enterprise.employees, revenue_wan=_dec(enterprise.revenue_wan),
        founded=enterprise.founded, tags=frozenset(enterprise.tags),
        tax_credit_grade=enterprise.tax_credit_grade,
        has_bank_loan=bool(enterprise.has_bank_loan),
        core_enterprise=enterprise.core_enterprise or None,
        verified_tags=frozenset(r.value for r in enterprise.tag_rows if r.verified_at),
        derived_size=derive_size(enterprise.industry, enterprise.employees,
                                 enterprise.revenue_wan, enterprise.assets_wan),
        ownership=enterprise.ownership,
    )


def need_facts(need: Need) -> NeedFacts:
    return NeedFacts(
        id=need.id, ref=need.ref, enterprise=enterprise_facts(need.enterprise),
        purpose=need.purpose, loan_kind=need.loan_kind, amount_wan=_dec(need.amount_wan),
        term_months=need.term_months, guarantee_modes=frozenset(need.guarantee_modes),
        max_rate=_dec(need.max_rate), current_lender_id=need.current_lender_id,
        created=need.created, renewal_due=need.renewal_due,
    )


def subsidy_program(row: SubsidyProgramRow) -> SubsidyProgram:
    return SubsidyProgram(code=row.code, label=row.label, source=row.source,
                          settings=dict(row.settings or {}), effective_from=row.effective_from,
                          effective_to=row.effective_to, benefit=row.benefit, payee=row.payee,
                          basis=row.basis, eligibility=dict(row.eligibility or {}),
                          stacks_with=tuple(row.stacks_with or ()), quote=row.quote or "",
                          how_to_apply=row.how_to_apply or "", version=row.version)


def subsidy_program_versions(session, code: str, before: int | None) -> tuple:
    """(the programme as version `before` said it, as it says now): either None when there
    was none (a new programme) or is none."""
    row = session.scalar(select(SubsidyProgramRow).where(SubsidyProgramRow.code == code))
    now = subsidy_program(row) if row is not None else None
    snapshot = session.scalar(
        select(SubsidyProgramVersion.snapshot).where(
            SubsidyProgramVersion.program_id == row.id,
            SubsidyProgramVersion.version == before)) if row is not None and before else None
    return (_from_snapshot(snapshot, before) if snapshot else None), now


def _from_snapshot(snap: dict, version: int) -> SubsidyProgram:
    """A version's snapshot (policy.service.program_snapshot) as the calculator's programme."""
    end = snap.get("effective_to")
    return SubsidyProgram(code=snap["code"], label=snap["label"], source=snap.get("source") or "",
                          settings=dict(snap.get("settings") or {}),
                          effective_from=date.fromisoformat(snap["effective_from"]),
                          effective_to=date.fromisoformat(end) if end else None,
                          benefit=snap["benefit"], payee=snap["payee"], basis=snap["basis"],
                          eligibility=dict(snap.get("eligibility") or {}),
                          stacks_with=tuple(snap.get("stacks_with") or ()),
                          quote=snap.get("quote") or "",
                          how_to_apply=snap.get("how_to_apply") or "", version=version)


def subsidy_records(session, today: date) -> list[SubsidyProgram]:
    """The programs in force on `today`, as administrators last set them."""
    rows = session.scalars(
        select(SubsidyProgramRow)
        .where(SubsidyProgramRow.effective_from <= today,
               or_(SubsidyProgramRow.effective_to.is_(None),
                   SubsidyProgramRow.effective_to >= today))
        .order_by(SubsidyProgramRow.id))
    return [subsidy_program(row) for row in rows]


def core_aliases(session) -> dict[str, str]:
    """company_key(confirmed alias) -> company_key(listed name): MatchContext.core_aliases."""
    rows = session.execute(select(CoreEnterpriseAlias.alias, CoreEnterprise.name)
                           .join(CoreEnterprise)
                           .where(CoreEnterpriseAlias.confirmed.is_(True))).all()
    return {company_key(alias): company_key(name) for alias, name in rows}


def core_resolver(session, by_group: bool = False) -> Callable[[str], str | None]:
    """name -> the 核心企业名单库 entry's id (as text) it means, or None.

    `by_group` (MatchContext.core_resolver): a member of a group (集团) and the group itself
    (its name or an alias) resolve to "g<group id>", so a product listing 京东方 serves a
    supplier of 重庆京东方光电科技有限公司. Loads the list once; answers are cached per name."""
    entries = session.execute(select(CoreEnterprise.id, CoreEnterprise.name,
                                     CoreEnterprise.group_id)).all()
    aliases = core_aliases(session)
    target = {str(i): (f"g{g}" if by_group and g is not None else str(i)) for i, _, g in entries}
    by_key = {company_key(name): str(entry_id) for entry_id, name, _ in entries}
    names = [(name, str(i)) for i, name, _ in entries]
    if by_group:
        for name, group_id in group_names(session):
            by_key.setdefault(company_key(name), f"g{group_id}")
            target[f"g{group_id}"] = f"g{group_id}"
            names.append((name, f"g{group_id}"))
    cache: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if not name:
            return None
        if name not in cache:
            key = company_key(name)
            found = by_key.get(aliases.get(key, key))
            if found is None:
                hits = {target[t] for listed, t in names if same_company(name, listed, aliases)}
                found = hits.pop() if len(hits) == 1 else None
            cache[name] = target.get(found) if found is not None else None
        return cache[name]

    return resolve


def group_names(session) -> list[tuple[str, int]]:
    """(name, group id) for every group's name and alias."""
    rows = list(session.execute(select(CoreEnterpriseGroup.name, CoreEnterpriseGroup.id)).all())
    rows += session.execute(select(CoreEnterpriseGroupAlias.alias,
                                   CoreEnterpriseGroupAlias.group_id)).all()
    return [(name, group_id) for name, group_id in rows]


def core_describer(session) -> Callable[[str, str], str | None]:
    """(stated, listed) -> how a group links them, in Chinese, when it does
    (MatchContext.core_describe): the reason must say which member matched the listing."""
    resolve_entry = core_resolver(session)
    resolve_group = core_resolver(session, by_group=True)
    entry_names = dict(session.execute(select(CoreEnterprise.id, CoreEnterprise.name)).all())
    group_rows = session.execute(select(CoreEnterpriseGroup.id, CoreEnterpriseGroup.name)).all()
    group_name = {f"g{i}": name for i, name in group_rows}

    def describe(stated: str, listed: str) -> str | None:
        group = resolve_group(stated)
        if group is None or group not in group_name or resolve_group(listed) != group:
            return None
        stated_entry, listed_entry = resolve_entry(stated), resolve_entry(listed)
        if stated_entry is not None and stated_entry == listed_entry:
            return None                     # the same company: no group needed to link them
        member = entry_names.get(int(stated_entry)) if stated_entry else None
        who = f"{stated}（{member}）" if member and company_key(member) != company_key(stated) \
            else stated
        return f"{who}属{group_name[group]}集团，产品名单中的“{listed}”涵盖该集团成员企业"

    return describe


# --- in bulk: Core rows, no ORM objects (a job reads up to every need on the platform) ---------

_ENTERPRISE_COLUMNS = (Enterprise.id, Enterprise.ref, Enterprise.district, Enterprise.industry,
                       Enterprise.cluster, Enterprise.declared_size, Enterprise.employees,
                       Enterprise.revenue_wan, Enterprise.founded, Enterprise.tax_credit_grade,
                       Enterprise.has_bank_loan, Enterprise.core_enterprise,
                       Enterprise.assets_wan, Enterprise.ownership)
_NEED_COLUMNS = (Need.id, Need.ref, Need.enterprise_id, Need.purpose, Need.loan_kind,
                 Need.amount_wan, Need.term_months, Need.max_rate, Need.current_lender_id,
                 Need.created, Need.renewal_due, Need.status)


def load_need_facts(session, *conditions) -> tuple[list[NeedFacts], dict[int, str]]:
    """NeedFacts of the needs matching `conditions` (all when none), by id, and each need's
    status: the same facts as need_facts(), in four queries whatever the count."""
    from ..enterprises.models import EnterpriseTag, NeedGuaranteeMode

    rows = session.execute(select(*_NEED_COLUMNS).where(*conditions).order_by(Need.id)).all()
    if not rows:
        return [], {}
    lo, hi = rows[0][0], rows[-1][0]
    modes: dict[int, set[str]] = {}
    for need_id, mode in session.execute(
            select(NeedGuaranteeMode.need_id, NeedGuaranteeMode.value)
            .where(NeedGuaranteeMode.need_id.between(lo, hi))):
        modes.setdefault(need_id, set()).add(mode)
    enterprise_ids = {row[2] for row in rows}
    enterprises = {}
    tags: dict[int, set[str]] = {}
    verified: dict[int, set[str]] = {}
    for chunk in _chunks(sorted(enterprise_ids)):
        for enterprise_id, value, verified_at in session.execute(
                select(EnterpriseTag.enterprise_id, EnterpriseTag.value, EnterpriseTag.verified_at)
                .where(EnterpriseTag.enterprise_id.between(chunk[0], chunk[-1]))):
            tags.setdefault(enterprise_id, set()).add(value)
            if verified_at is not None:
                verified.setdefault(enterprise_id, set()).add(value)
        for (eid, ref, district, industry, cluster, declared, employees, revenue, founded,
             grade, has_loan, core, assets, ownership) in session.execute(
                select(*_ENTERPRISE_COLUMNS).where(Enterprise.id.between(chunk[0], chunk[-1]))):
            if eid in enterprise_ids:
                derived = derive_size(industry, employees, revenue, assets)
                enterprises[eid] = EnterpriseFacts(
                    id=eid, ref=ref, district=district, industry=industry, cluster=cluster,
                    size=declared or derived, derived_size=derived,
                    employees=employees,
                    revenue_wan=_dec(revenue), founded=founded,
                    tags=frozenset(tags.get(eid, ())), tax_credit_grade=grade,
                    has_bank_loan=bool(has_loan), core_enterprise=core or None,
                    verified_tags=frozenset(verified.get(eid, ())), ownership=ownership)
    facts, status = [], {}
    for (nid, ref, eid, purpose, kind, amount, term, max_rate, lender, created, due,
         need_status) in rows:
        facts.append(NeedFacts(
            id=nid, ref=ref, enterprise=enterprises[eid], purpose=purpose, loan_kind=kind,
            amount_wan=_dec(amount), term_months=term,
            guarantee_modes=frozenset(modes.get(nid, ())), max_rate=_dec(max_rate),
            current_lender_id=lender, created=created, renewal_due=due))
        status[nid] = need_status
    return facts, status


def _chunks(ids: list[int], size: int = 20_000):
    # contiguous id windows (BETWEEN on the primary key) rather than huge IN lists
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
