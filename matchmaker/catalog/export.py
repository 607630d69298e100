"""The printed 产品手册: the product pool as an Excel workbook, grouped by purpose or by cluster.

渝经信规范〔2024〕7号 三.一 asks for a 产品资源池 compiled and pushed by category. A product
appears under every group it serves.

Cluster (33618) grouping: products carry no cluster of their own, so one is derived, in this
order of evidence:
1. its industries (GB/T 4754 prefixes, longest prefix wins: C3974 显示器件 → 新型显示,
   C36 汽车制造 → 智能网联新能源汽车; see INDUSTRY_CLUSTERS);
2. the clusters of the core enterprises it names, recognised on the 核心企业名单库 however
   they are written (a 长安汽车 supply-chain product serves the automotive cluster);
a product with neither (no industry restriction, or just "C" = all manufacturing, and no
core enterprise) serves every cluster alike and is listed once under "通用产品（不限行业）"
rather than repeated thirteen times; one restricted to industries outside every cluster
(C21 家具 …) goes under "其他制造业".

Every text cell is written as text: a value starting with = + - @ (or a tab / carriage return)
would be a formula to Excel, so it is prefixed with an apostrophe (OWASP "CSV injection").
"""
from __future__ import annotations

import io
import re
from collections import defaultdict

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from .. import clock, vocab
from ..extensions import db
from ..institutions.models import CoreEnterprise, Institution, Product
from ..matching import adapters
from ..policy import service as policy_service
from .service import name_keys

GROUPINGS = {"purpose": "按融资用途", "cluster": "按“33618”产业集群"}
GENERAL = "通用产品（不限行业）"
OTHER_INDUSTRIES = "其他制造业"

# GB/T 4754-2017 prefix -> 33618 cluster; the longest matching prefix decides
INDUSTRY_CLUSTERS = {
    "C13": "food_agri_processing", "C14": "food_agri_processing", "C15": "food_agri_processing",
    "C17": "light_textile", "C18": "light_textile", "C19": "light_textile",
    "C26": "advanced_materials", "C28": "advanced_materials", "C29": "advanced_materials",
    "C30": "advanced_materials", "C31": "advanced_materials",
    "C32": "light_alloy",                       # 有色金属冶炼和压延加工: 铝、镁合金
    "C27": "biomedicine",
    "C33": "intelligent_equipment", "C34": "intelligent_equipment",
    "C35": "intelligent_equipment", "C37": "intelligent_equipment",
    "C38": "intelligent_equipment", "C40": "intelligent_equipment",
    "C43": "intelligent_equipment",
    "C36": "intelligent_connected_nev",
    "C375": "high_end_motorcycle",              # 摩托车制造
    "C384": "new_energy_storage",               # 电池制造
    "C39": "electronic_information",
    "C3974": "new_display",                     # 显示器件制造
}
COLUMNS = (("产品名称", 24), ("金融机构", 20), ("机构类型", 12), ("融资用途", 24),
           ("担保方式", 16), ("额度（万元）", 14), ("期限（月）", 10), ("年利率（%）", 12),
           ("适用企业", 30), ("服务区域", 20), ("可享政策", 24), ("产品说明", 40),
           ("产品编号", 16), ("版本", 6))
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\\/*?:\[\]]")


def safe_text(value) -> str:
    """Text that Excel will never evaluate: a leading = + - @ gets an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def industry_cluster(code: str) -> str | None:
    best = max((p for p in INDUSTRY_CLUSTERS if code.startswith(p)), key=len, default=None)
    return INDUSTRY_CLUSTERS[best] if best else None


def product_groups(product: Product, grouping: str, core_cluster) -> list[str]:
    """Labels of the groups this product appears under; `core_cluster(name)` gives the
    cluster of a listed core enterprise however the product writes it."""
    if grouping == "purpose":
        return [vocab.label("purposes", p) for p in product.purposes]
    # "C" alone (all of manufacturing) restricts nothing: such a product is general
    industries = [c for c in product.industries if len(c) > 1]
    clusters = [industry_cluster(c) for c in industries]
    clusters += [core_cluster(name) for name in product.core_enterprises]
    found = list(dict.fromkeys(vocab.label("clusters_33618", c) for c in clusters if c))
    if found:
        return found
    return [OTHER_INDUSTRIES] if industries else [GENERAL]


def _core_clusters():
    """name -> cluster of the 核心企业名单库 entry it means (长安汽车 -> the 重庆长安汽车… entry)."""
    resolve = adapters.core_resolver(db.session)
    by_id = {str(i): c for i, c in db.session.execute(
        select(CoreEnterprise.id, CoreEnterprise.cluster)).all()}
    return lambda name: by_id.get(resolve(name) or "")


def group_order(grouping: str) -> list[str]:
    if grouping == "purpose":
        return [label for _code, label in vocab.choices("purposes")]
    return [label for _code, label in vocab.choices("clusters_33618")] + [OTHER_INDUSTRIES,
                                                                            GENERAL]


def grouped_products(grouping: str) -> dict[str, list[Product]]:
    products = db.session.scalars(
        select(Product).where(Product.status == "published")
        .options(joinedload(Product.institution).selectinload(Institution.district_rows),
                 selectinload(Product.term_rows))
        .order_by(Product.id)).unique().all()
    core_cluster = _core_clusters()
    groups: dict[str, list[Product]] = defaultdict(list)
    for product in products:
        for label in product_groups(product, grouping, core_cluster):
            groups[label].append(product)
    # a printed handbook is read in pinyin order, whatever the database's collation
    return {label: sorted(groups[label], key=lambda p: (name_keys(p.name).full, p.id))
            for label in group_order(grouping) if groups.get(label)}


def product_pool_workbook(grouping: str) -> bytes:
    """One sheet per group (in vocabulary order), plus a 目录 sheet counting them."""
    groups = grouped_products(grouping)
    # a programme that ended, or was renamed, must not be printed as it was (issue 15)
    in_force = {p.code: p.label
                for p in policy_service.programs_in_force(clock.china_today())}
    book = Workbook()
    index = book.active
    index.title = "目录"
    _write_row(index, 1, ["产品手册 · " + GROUPINGS[grouping]], bold=True)
    _write_row(index, 2, ["分组", "产品数"], bold=True)
    used = set()
    for number, (label, products) in enumerate(groups.items(), start=3):
        _write_row(index, number, [label, len(products)])
        sheet = book.create_sheet(_sheet_title(label, used))
        _write_row(sheet, 1, [label], bold=True)
        _write_row(sheet, 2, [c for c, _w in COLUMNS], bold=True)
        for row, product in enumerate(products, start=3):
            _write_row(sheet, row, product_row(product, in_force))
        for col, (_title, width) in enumerate(COLUMNS, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = width
        sheet.freeze_panes = "A3"
    index.column_dimensions["A"].width = 36
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(label: str, used: set) -> str:
    base = _SHEET_BAD.sub("", label)[:28]
    title, n = base, 2
    while title in used:
        title, n = f"{base}{n}", n + 1
    used.add(title)
    return title


def _write_row(sheet, row: int, values: list, bold: bool = False) -> None:
    for col, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=col)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            cell.value = value
        else:
            cell.value = safe_text(value)
            cell.data_type = "s"   # never "f", whatever the text looks like
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True)


def _num(value) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def product_row(product: Product, in_force: dict[str, str]) -> list:
    """One product's line; `in_force` maps the programmes in force today to their labels."""
    who = []
    if product.sizes:
        who.append("规模：" + "、".join(vocab.label("sizes", s) for s in product.sizes))
    if product.tags_any:
        who.append("资质：" + "、".join(vocab.label("enterprise_tags", t) for t in product.tags_any))
    if product.industries:
        who.append("行业：" + "、".join(product.industries))
    if product.core_enterprises:
        who.append("核心企业：" + "、".join(product.core_enterprises))
    if product.loan_kinds:
        who.append("类型：" + "、".join(vocab.label("loan_kinds", k) for k in product.loan_kinds))
    districts = product.districts or product.institution.districts
    return [
        product.name, product.institution.name, product.institution.kind_label,
        "、".join(vocab.label("purposes", p) for p in product.purposes),
        "、".join(vocab.label("guarantee_modes", m) for m in product.guarantee_modes),
        f"{_num(product.amount_min_wan)}–{_num(product.amount_max_wan)}",
        f"{product.term_min_months}–{product.term_max_months}",
        f"{_num(product.rate_min)}–{_num(product.rate_max)}",
        "；".join(who) or "不限",
        "、".join(districts) or "重庆全市",
        # only what an organizer confirmed (a declaration is a request: issue 15), in force
        "、".join(in_force[s] for s in product.confirmed_programs if s in in_force),
        product.description or "", product.ref, product.version,
    ]
