"""Institutions and their products: the rules that need the database. Flush, never commit."""
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rapidfuzz import fuzz
from sqlalchemy import func, select

from .. import clock, signals, vocab
from .. import uscc as uscc_rules
from ..audit.service import record
from ..enterprises.models import Enterprise
from ..errors import ServiceError
from ..exchange.schema import FIELDS, to_exchange
from ..extensions import db
from ..guards import guarded
from ..names import company_key, same_company
from ..policy import service as policy_service
from ..policy.permissions import can_edit_policy
from ..types import utcnow
from .models import (
    PRODUCT_LIST_FIELDS,
    CoreEnterprise,
    CoreEnterpriseAlias,
    CoreEnterpriseGroup,
    CoreEnterpriseGroupAlias,
    Institution,
    Product,
    ProductVersion,
)
from .permissions import (
    TRANSITIONS,
    administers_product,
    can_edit_institution,
    can_manage_core_enterprises,
)

PRODUCT_ADMINS = "只有本机构的管理员可以管理该产品"
CORE_LIST_KEEPERS = "只有组织方和平台管理员可以维护核心企业名单库"

log = logging.getLogger(__name__)


def product_record(product: Product) -> dict:
    """The product's current terms as its matchmaker-exchange/1 record."""
    values = {name: getattr(product, name) for name in FIELDS["products"]
              if name not in ("institution_ref", "active")}
    values["institution_ref"] = product.institution.ref
    values["active"] = product.status == "published"
    return to_exchange("products", values)


def publish_version(product: Product, actor) -> ProductVersion:
    """Publish the current terms as a new numbered version; earlier versions stay frozen, so a
    match or lead keeps the terms it was made under."""
    product.status = "published"
    product.version = (product.version or 0) + 1
    product.published_at = utcnow()
    version = ProductVersion(product=product, version=product.version,
                             terms=product_record(product), published_at=product.published_at,
                             published_by_id=actor.id if actor is not None else None)
    db.session.add(version)
    db.session.flush()
    record(actor, "product.published", product, version=product.version)
    return version


# --- product management, institution profile, core-enterprise list (issue 4) -----------------

SCALAR_TERMS = ("name", "description", "amount_min_wan", "amount_max_wan", "term_min_months",
                "term_max_months", "min_years", "min_revenue_wan", "existing_customers_only")
HUNDRED = Decimal(100)


@guarded(can_edit_institution, "institution", message="只有本机构的管理员可以新建产品")
def create_product(actor, institution: Institution, *, today: date | None = None,
                   **terms) -> Product:
    """A new draft of the institution's; published only by change_product_status."""
    # the institution id, not the relationship: the backref would put the half-built product
    # into the session, and the queries below would autoflush it
    product = Product(institution_id=institution.id, ref=_new_product_ref(institution),
                      status="draft", version=0)
    _apply_terms(product, terms, today or clock.china_today())
    db.session.add(product)
    db.session.flush()
    record(actor, "product.created", product, institution_id=institution.id)
    return product


@guarded(administers_product, "product", message=PRODUCT_ADMINS)
def update_product(actor, product: Product, *, version_seen: int | None = None,
                   today: date | None = None, **terms) -> Product:
    """Change the terms; on a published product a change is published at once as a new
    version (a match or lead keeps the version it was made under)."""
    if product.status == "retired":
        raise ServiceError("已下架的产品不能再修改")
    if version_seen is not None and version_seen != product.version:
        raise ServiceError(f"该产品已由他人发布了第{product.version}版，请刷新页面后再修改")
    before = product_record(product)
    _apply_terms(product, terms, today or clock.china_today())
    db.session.flush()
    changed = sorted(k for k, v in product_record(product).items() if before.get(k) != v)
    record(actor, "product.updated", product, changed=changed)
    if product.status == "published" and _differs_from_last_version(product):
        publish_version(product, actor)
        signals.product_published.send(product, actor=actor)
    return product


@guarded(administers_product, "product", message=PRODUCT_ADMINS)
def change_product_status(actor, product: Product, action: str,
                          today: date | None = None) -> Product:
    """draft → published → paused → published …; any → retired, which is final."""
    starts, target = TRANSITIONS[action]
    if product.status not in starts:
        raise ServiceError(f"“{product.status_label}”状态的产品不能{ACTION_NAMES[action]}")
    if action == "publish":
        _publish(actor, product, today or clock.china_today())
    else:
        product.status = target
        db.session.flush()
        record(actor, f"product.{'paused' if action == 'pause' else 'retired'}", product,
               version=product.version)
    if product.status == "published":
        signals.product_published.send(product, actor=actor)
    else:
        signals.product_paused.send(product, status=product.status, actor=actor)
    return product


ACTION_NAMES = {"publish": "发布", "pause": "暂停", "retire": "下架"}


def _publish(actor, product: Product, today: date) -> Product:
    if not product.purposes or not product.guarantee_modes:
        raise ServiceError("发布前请填写融资用途和担保方式")
    if product.rate_basis != "fixed":
        product.rate_min, product.rate_max = _lpr_rates(
            product.rate_basis, product.spread_min_bp, product.spread_max_bp, today)
    if product.version == 0 or _differs_from_last_version(product):
        publish_version(product, actor)
    else:  # resumed after a pause with the terms of the last version: no new version
        product.status = "published"
        db.session.flush()
        record(actor, "product.resumed", product, version=product.version)
    return product


def _differs_from_last_version(product: Product) -> bool:
    last = db.session.scalar(select(ProductVersion.terms).where(
        ProductVersion.product_id == product.id, ProductVersion.version == product.version))
    if last is None:
        return True
    current = product_record(product)
    return {k: v for k, v in current.items() if k != "active"} != \
        {k: v for k, v in last.items() if k != "active"}


def product_version(product: Product, number: int) -> ProductVersion | None:
    return db.session.scalar(select(ProductVersion).where(
        ProductVersion.product_id == product.id, ProductVersion.version == number))


def _new_product_ref(institution: Institution) -> str:
    n = db.session.scalar(select(func.count(Product.id))
                          .where(Product.institution_id == institution.id)) or 0
    while True:
        n += 1
        ref = f"{institution.ref}-P{n:03d}"
        if not db.session.scalar(select(Product.id).where(Product.ref == ref)):
            return ref


def _apply_terms(product: Product, terms: dict, today: date) -> None:
    """Check every field against the exchange rules (also what the form checks: a caller
    other than the form must not get past them), then write them."""
    _check_ranges(terms)
    lists = {name: list(terms.get(name) or []) for name in PRODUCT_LIST_FIELDS}
    _check_codes(lists)
    lists["core_enterprises"] = _listed_core_enterprises(lists["core_enterprises"])
    basis = terms.get("rate_basis") or "fixed"
    if basis == "fixed":
        rate_min, rate_max = terms.get("rate_min"), terms.get("rate_max")
        spreads = (None, None)
    else:
        spreads = (terms.get("spread_min_bp"), terms.get("spread_max_bp"))
        rate_min, rate_max = _lpr_rates(basis, *spreads, today)
    for name in SCALAR_TERMS:
        setattr(product, name, terms.get(name))
    product.existing_customers_only = bool(terms.get("existing_customers_only"))
    product.rate_basis = basis
    product.rate_min, product.rate_max = rate_min, rate_max
    product.spread_min_bp, product.spread_max_bp = spreads
    for name, values in lists.items():
        setattr(product, name, values)


def _check_ranges(terms: dict) -> None:
    if not (terms.get("name") or "").strip():
        raise ServiceError("请填写产品名称", field="name")
    low, high = terms.get("amount_min_wan"), terms.get("amount_max_wan")
    if low is None or low <= 0:
        raise ServiceError("金额必须大于0", field="amount_min_wan")
    if high is None or low > high:
        raise ServiceError("最高额度不能低于最低额度", field="amount_max_wan")
    low, high = terms.get("term_min_months"), terms.get("term_max_months")
    if low is None or low < 1:
        raise ServiceError("期限应在1到360个月之间", field="term_min_months")
    if high is None or low > high:
        raise ServiceError("最长期限不能短于最短期限", field="term_max_months")
    if (terms.get("rate_basis") or "fixed") == "fixed":
        low, high = terms.get("rate_min"), terms.get("rate_max")
        if low is None or low < 0:
            raise ServiceError("利率不能为负数", field="rate_min")
        if high is None or low > high:
            raise ServiceError("最高利率不能低于最低利率", field="rate_max")
    for name, label in (("min_years", "成立年限"), ("min_revenue_wan", "营业收入要求")):
        if terms.get(name) is not None and terms[name] < 0:
            raise ServiceError(f"{label}不能为负数", field=name)


def _check_codes(lists: dict) -> None:
    for name, vocabulary in PRODUCT_LIST_FIELDS.items():
        if vocabulary is None:
            continue
        known = vocab.codes(vocabulary)
        bad = [v for v in lists[name] if v not in known]
        if bad:
            raise ServiceError(f"“{'、'.join(bad)}”不是有效的代码（不在词表中）", field=name)
    if lists["subsidy_programs"]:
        known = policy_service.program_codes()
        bad = [c for c in lists["subsidy_programs"] if c not in known]
        if bad:
            raise ServiceError(f"“{'、'.join(bad)}”不是平台上的政策项目", field="subsidy_programs")
    bad = [c for c in lists["industries"] if not vocab.valid_industry(c)]
    if bad:
        raise ServiceError(f"“{'、'.join(bad)}”不是国民经济行业分类（GB/T 4754—2017）代码"
                           "（如 C、C36、C3670、I65）", field="industries")
    if not lists["purposes"]:
        raise ServiceError("请至少选择一项融资用途", field="purposes")
    if not lists["guarantee_modes"]:
        raise ServiceError("请至少选择一种担保方式", field="guarantee_modes")


def _listed_core_enterprises(names: list[str]) -> list[str]:
    """The canonical list names for the given ones; a name not on the list is refused."""
    canonical, unknown = [], []
    for name in names:
        entry = recognise_core_enterprise(name) or recognise_core_group(name)
        if entry is None:
            unknown.append(name)
        else:
            canonical.append(entry.name)
    if unknown:
        raise ServiceError(f"“{'、'.join(unknown)}”不在核心企业名单库中，请联系组织方先录入",
                           field="core_enterprises")
    return list(dict.fromkeys(canonical))


def _lpr_rates(basis: str, spread_min_bp, spread_max_bp, today: date) -> tuple[Decimal, Decimal]:
    """LPR in force today plus the spreads (1 bp = 0.01 percentage point)."""
    if spread_min_bp is None or spread_max_bp is None:
        raise ServiceError("LPR加点定价请填写最低和最高加点", field="spread_min_bp")
    if spread_min_bp > spread_max_bp:
        raise ServiceError("最高加点不能低于最低加点", field="spread_max_bp")
    lpr = policy_service.lpr_on(today, basis)
    if lpr is None:
        raise ServiceError("平台尚未录入该期限品种的LPR报价，请联系平台管理员", field="rate_basis")
    low = lpr + Decimal(spread_min_bp) / HUNDRED
    high = lpr + Decimal(spread_max_bp) / HUNDRED
    if low < 0:
        raise ServiceError(f"按当前LPR {lpr}% 计算的最低利率为负数，请调整加点",
                           field="spread_min_bp")
    return low, high


@guarded(can_edit_policy, system=True, message="只有平台管理员可以按LPR重新定价")
def reprice_lpr_products(actor, today: date) -> int:
    """Recompute LPR-priced products at the quote in force `today`; a published product whose
    rates moved is published as a new version (the old version keeps the old rates)."""
    products = db.session.scalars(select(Product).where(
        Product.rate_basis != "fixed", Product.status != "retired")).all()
    repriced = 0
    for product in products:
        try:
            low, high = _lpr_rates(product.rate_basis, product.spread_min_bp,
                                   product.spread_max_bp, today)
        except ServiceError:
            log.warning("product %s keeps its rates: no valid LPR price", product.id)
            continue
        if (low, high) == (product.rate_min, product.rate_max):
            continue
        product.rate_min, product.rate_max = low, high
        repriced += 1
        db.session.flush()
        if product.status == "published":
            publish_version(product, actor)
            signals.product_published.send(product, actor=actor)
    return repriced


# --- institution profile ---------------------------------------------------------------------

PROFILE_FIELDS = ("kind", "contact_name", "contact_phone", "contact_email", "address",
                  "description")


@guarded(can_edit_institution, "institution", message="只有本机构的管理员可以修改机构信息")
def update_institution(actor, institution: Institution, *, districts: list[str],
                       **fields) -> Institution:
    if fields.get("kind") not in vocab.codes("institution_kinds"):
        raise ServiceError("请选择有效的机构类型", field="kind")
    bad = [d for d in districts if vocab.district_name(d) != d]
    if bad:
        raise ServiceError(f"“{'、'.join(bad)}”不是有效的区县", field="districts")
    changed = [name for name in PROFILE_FIELDS
               if (getattr(institution, name) or None) != (fields.get(name) or None)]
    if list(institution.districts) != list(districts):
        changed.append("districts")
    institution.kind = fields["kind"]
    for name in PROFILE_FIELDS[1:]:
        setattr(institution, name, (fields.get(name) or "").strip() or None)
    institution.districts = districts
    db.session.flush()
    record(actor, "institution.updated", institution, changed=changed)  # names, never values
    return institution


# --- core-enterprise list (核心企业名单库, 渝金议〔2018〕1号) ----------------------------------

def core_enterprises() -> list[CoreEnterprise]:
    return list(db.session.scalars(select(CoreEnterprise).order_by(CoreEnterprise.name)))


def confirmed_alias_keys() -> dict[str, str]:
    """company_key(alias) -> company_key(listed name), as `same_company(aliases=)` takes it."""
    rows = db.session.execute(select(CoreEnterpriseAlias.alias, CoreEnterprise.name)
                              .join(CoreEnterprise)
                              .where(CoreEnterpriseAlias.confirmed.is_(True))).all()
    return {company_key(alias): company_key(name) for alias, name in rows}


def recognise_core_enterprise(stated: str | None,
                              entries: list[CoreEnterprise] | None = None,
                              aliases: dict[str, str] | None = None) -> CoreEnterprise | None:
    """The listed entry a written name means (长安汽车 = 重庆长安汽车股份有限公司), if any:
    the same key, a confirmed alias, or the tolerant rule of matchmaker.names."""
    if not stated or not stated.strip():
        return None
    entries = core_enterprises() if entries is None else entries
    aliases = confirmed_alias_keys() if aliases is None else aliases
    key = company_key(stated)
    target = aliases.get(key, key)
    for entry in entries:
        if company_key(entry.name) == target:
            return entry
    found = [e for e in entries if same_company(stated, e.name, aliases)]
    return found[0] if len(found) == 1 else None


@dataclass
class StatedName:
    """An enterprise's stated core enterprise the organizer has not confirmed."""
    name: str
    enterprises: int
    status: str                      # "unconfirmed": a tolerant match; "unrecognised": none
    suggestion: CoreEnterprise | None


# a loose similarity, only to suggest an entry to the organizer (never to match)
SUGGEST_CUTOFF = 60


def stated_names_to_confirm(enterprise_query) -> list[StatedName]:
    """Names enterprises wrote that are neither a listed name nor a confirmed alias, with the
    entry to suggest; `enterprise_query` scopes the enterprises (a district organizer's)."""
    sub = enterprise_query.where(Enterprise.core_enterprise.is_not(None)).subquery()
    counts = db.session.execute(select(sub.c.core_enterprise, func.count())
                                .group_by(sub.c.core_enterprise)
                                .order_by(func.count().desc(), sub.c.core_enterprise)).all()
    entries = core_enterprises()
    aliases = confirmed_alias_keys()
    exact = {company_key(e.name) for e in entries} | set(aliases)
    result = []
    for name, count in counts:
        if not name.strip() or company_key(name) in exact:
            continue
        match = recognise_core_enterprise(name, entries, aliases)
        status = "unconfirmed" if match else "unrecognised"
        result.append(StatedName(name, count, status, match or _suggest(name, entries)))
    return result


def _suggest(name: str, entries: list[CoreEnterprise]) -> CoreEnterprise | None:
    key = company_key(name)
    best, best_score = None, SUGGEST_CUTOFF
    for entry in entries:
        for written in [entry.name] + [a.alias for a in entry.aliases]:
            score = fuzz.WRatio(key, company_key(written))
            if score > best_score:
                best, best_score = entry, score
    return best


@guarded(can_manage_core_enterprises, message=CORE_LIST_KEEPERS)
def confirm_alias(actor, entry: CoreEnterprise, alias: str) -> CoreEnterpriseAlias:
    """The organizer says this written name means this listed enterprise."""
    alias = alias.strip()
    if not alias:
        raise ServiceError("缺少名称", field="alias")
    row = db.session.scalar(select(CoreEnterpriseAlias).where(CoreEnterpriseAlias.alias == alias))
    if row is not None and row.confirmed and row.core_enterprise_id != entry.id:
        raise ServiceError(f"“{alias}”已确认为“{row.core_enterprise.name}”的别名", field="alias")
    if row is None:
        row = CoreEnterpriseAlias(alias=alias, core_enterprise=entry)
        db.session.add(row)
    row.core_enterprise = entry
    row.confirmed = True
    db.session.flush()
    record(actor, "core_enterprise.alias_confirmed", entry, alias_id=row.id)
    return row


@guarded(can_manage_core_enterprises, system=True, message=CORE_LIST_KEEPERS)
def save_core_enterprise(actor, entry: CoreEnterprise | None, *, name: str, uscc: str | None,
                         cluster: str | None, aliases: list[str]) -> CoreEnterprise:
    """Create (entry None) or update a listed core enterprise; aliases typed by the organizer
    are confirmed ones."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("请填写企业全称", field="name")
    code = uscc_rules.normalize(uscc) or None
    if code and uscc_rules.problem(code):
        raise ServiceError(uscc_rules.problem(code), field="uscc")
    if cluster and cluster not in vocab.codes("clusters_33618"):
        raise ServiceError("请选择有效的产业集群", field="cluster")
    _check_unique_core(entry, name, code)
    created = entry is None
    if created:
        entry = CoreEnterprise(name=name)
        db.session.add(entry)
    entry.name, entry.uscc, entry.cluster = name, code, cluster or None
    db.session.flush()
    _set_aliases(entry, aliases)
    db.session.flush()
    record(actor, "core_enterprise.created" if created else "core_enterprise.updated", entry,
           cluster=entry.cluster, aliases=len(entry.aliases))
    return entry


def _check_unique_core(entry, name: str, code: str | None) -> None:
    other = db.session.scalar(select(CoreEnterprise).where(CoreEnterprise.name == name))
    if other is not None and other is not entry:
        raise ServiceError("名单库中已有同名企业", field="name")
    if code:
        other = db.session.scalar(select(CoreEnterprise).where(CoreEnterprise.uscc == code))
        if other is not None and other is not entry:
            raise ServiceError(f"该统一社会信用代码已属于“{other.name}”", field="uscc")


def _set_aliases(entry: CoreEnterprise, aliases: list[str]) -> None:
    wanted = list(dict.fromkeys(a.strip() for a in aliases if a.strip() and a.strip() != entry.name))
    for alias in wanted:
        row = db.session.scalar(select(CoreEnterpriseAlias)
                                .where(CoreEnterpriseAlias.alias == alias))
        if row is not None and row.core_enterprise_id not in (None, entry.id):
            raise ServiceError(f"别名“{alias}”已属于“{row.core_enterprise.name}”", field="aliases")
    keep = [a for a in entry.aliases if a.alias in wanted]
    have = {a.alias for a in keep}
    entry.aliases = keep + [CoreEnterpriseAlias(alias=a, confirmed=True)
                            for a in wanted if a not in have]
    for row in entry.aliases:
        row.confirmed = True


@guarded(can_manage_core_enterprises, system=True, message=CORE_LIST_KEEPERS)
def load_core_enterprises(actor, records: list[dict]) -> tuple[int, int]:
    """Upsert the list from plain records {name, uscc?, cluster?, aliases?}: (created, updated)."""
    created = updated = 0
    for number, data in enumerate(records, start=1):
        entry = db.session.scalar(select(CoreEnterprise)
                                  .where(CoreEnterprise.name == data.get("name", "").strip()))
        try:
            save_core_enterprise(actor, entry, name=data.get("name", ""), uscc=data.get("uscc"),
                                 cluster=data.get("cluster"),
                                 aliases=list(data.get("aliases") or []) +
                                 ([a.alias for a in entry.aliases] if entry else []))
        except ServiceError as err:
            raise ServiceError(f"第{number}条（{data.get('name', '')}）：{err.message}",
                               field=err.field) from None
        created, updated = (created + 1, updated) if entry is None else (created, updated + 1)
    return created, updated


# --- core-enterprise groups (集团) ------------------------------------------------------------
# A bank lending on a group's orders treats its subsidiaries as one core enterprise: a product
# listing 京东方 serves a supplier of 重庆京东方光电科技有限公司 (matching.adapters).

def core_groups() -> list[CoreEnterpriseGroup]:
    return list(db.session.scalars(select(CoreEnterpriseGroup).order_by(CoreEnterpriseGroup.name)))


def recognise_core_group(stated: str | None) -> CoreEnterpriseGroup | None:
    """The group a written name means: its name or an alias, compared by company_key."""
    key = company_key(stated or "")
    if not key:
        return None
    for group in core_groups():
        if key in {company_key(group.name)} | {company_key(a.alias) for a in group.aliases}:
            return group
    return None


@guarded(can_manage_core_enterprises, system=True, message=CORE_LIST_KEEPERS)
def save_core_group(actor, group: CoreEnterpriseGroup | None, *, name: str, aliases: list[str],
                    member_ids: list[int], note: str | None = None) -> CoreEnterpriseGroup:
    """Create (group None) or update a group: its name, aliases and listed member companies.
    A company belongs to one group at most; an alias names one group and no other entry."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("请填写集团名称", field="name")
    other = db.session.scalar(select(CoreEnterpriseGroup).where(CoreEnterpriseGroup.name == name))
    if other is not None and other is not group:
        raise ServiceError("已有同名集团", field="name")
    members = _group_members(group, member_ids)
    wanted = list(dict.fromkeys(a.strip() for a in aliases if a.strip() and a.strip() != name))
    _check_group_aliases(group, wanted, members)
    created = group is None
    if created:
        group = CoreEnterpriseGroup(name=name)
        db.session.add(group)
    before = {m.id for m in group.members}
    group.name, group.note = name, (note or "").strip() or None
    keep = [a for a in group.aliases if a.alias in wanted]
    group.aliases = keep + [CoreEnterpriseGroupAlias(alias=a) for a in wanted
                            if a not in {k.alias for k in keep}]
    group.members = members
    group.updated_at = utcnow()
    db.session.flush()
    after = {m.id for m in members}
    record(actor, "core_enterprise_group.created" if created else "core_enterprise_group.updated",
           group, aliases=len(group.aliases), members=sorted(after),
           added=sorted(after - before), removed=sorted(before - after))
    return group


def _group_members(group, member_ids: list[int]) -> list[CoreEnterprise]:
    ids = list(dict.fromkeys(int(i) for i in member_ids))
    members = list(db.session.scalars(select(CoreEnterprise).where(CoreEnterprise.id.in_(ids))
                                      .order_by(CoreEnterprise.name))) if ids else []
    if len(members) != len(ids):
        raise ServiceError("成员企业须为核心企业名单库中的企业", field="members")
    taken = [m for m in members if m.group_id is not None and (group is None or m.group_id != group.id)]
    if taken:
        raise ServiceError(f"“{taken[0].name}”已属于“{taken[0].group.name}”集团，一家企业只能属于"
                           "一个集团", field="members")
    return members


def _check_group_aliases(group, wanted: list[str], members: list[CoreEnterprise]) -> None:
    """An alias of this group must not already name another group, or a listed company outside
    it (长安 cannot mean both 长安汽车集团 and a company of another group)."""
    mine = {m.id for m in members}
    for alias in wanted:
        row = db.session.scalar(select(CoreEnterpriseGroupAlias)
                                .where(CoreEnterpriseGroupAlias.alias == alias))
        if row is not None and (group is None or row.group_id != group.id):
            raise ServiceError(f"别名“{alias}”已属于“{row.group.name}”集团", field="aliases")
        entry = recognise_core_enterprise(alias)
        if entry is not None and entry.id not in mine \
                and company_key(alias) in _written_keys(entry):
            raise ServiceError(f"“{alias}”是名单库中“{entry.name}”的名称或别名，请先将该企业"
                               "加入本集团", field="aliases")


def _written_keys(entry: CoreEnterprise) -> set[str]:
    return {company_key(entry.name)} | {company_key(a.alias) for a in entry.aliases if a.confirmed}


@guarded(can_manage_core_enterprises, message=CORE_LIST_KEEPERS)
def delete_core_group(actor, group: CoreEnterpriseGroup) -> None:
    """Remove a group: its companies stay on the list, each on its own again."""
    record(actor, "core_enterprise_group.deleted", group, name=group.name,
           members=[m.id for m in group.members])
    for member in list(group.members):
        member.group = None
    db.session.delete(group)
    db.session.flush()


@guarded(can_manage_core_enterprises, system=True, message=CORE_LIST_KEEPERS)
def load_core_groups(actor, records: list[dict]) -> tuple[int, int]:
    """Upsert groups from plain records {name, aliases?, members: [listed names], note?}:
    (created, updated). Members must already be on the list (load_core_enterprises first)."""
    created = updated = 0
    for number, data in enumerate(records, start=1):
        name = (data.get("name") or "").strip()
        group = db.session.scalar(select(CoreEnterpriseGroup).where(CoreEnterpriseGroup.name == name))
        ids, missing = [], []
        for member in data.get("members") or []:
            entry = db.session.scalar(select(CoreEnterprise).where(CoreEnterprise.name == member))
            (ids.append(entry.id) if entry is not None else missing.append(member))
        try:
            if missing:
                raise ServiceError(f"成员“{'、'.join(missing)}”不在核心企业名单库中", field="members")
            save_core_group(actor, group, name=name, aliases=list(data.get("aliases") or []),
                            member_ids=ids, note=data.get("note"))
        except ServiceError as err:
            raise ServiceError(f"集团第{number}条（{name}）：{err.message}", field=err.field) from None
        created, updated = (created + 1, updated) if group is None else (created, updated + 1)
    return created, updated
