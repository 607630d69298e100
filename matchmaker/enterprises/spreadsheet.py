"""Spreadsheet collection: a district 经信委 gathers its firms' needs in the platform's Excel
template, uploads it, reviews a preview and commits all rows or none.

The upload is read into plain rows of strings, kept until the commit (stash_rows); the commit
re-validates them against the database as it is then, with the organizer's merge/create
choices, and writes all rows or none.
"""
import io
import json
import logging
import re
import secrets
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import SimpleNamespace

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from openpyxl import Workbook, load_workbook
from openpyxl.reader import excel as openpyxl_excel
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from rapidfuzz import fuzz, process
from sqlalchemy import select

from .. import industries, signals, vocab
from .. import uscc as uscc_rules
from ..audit.service import record
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from ..institutions.models import Institution
from ..names import company_key, same_company
from ..policy.terms import OWNERSHIPS
from . import on_behalf, service, verification
from .models import Enterprise
from .permissions import can_import_enterprises, visible_enterprises

log = logging.getLogger(__name__)

SHEET = "融资需求"
CODE_SHEET = "代码表"
HELP_SHEET = "填写说明"
TEMPLATE_ROWS = 1000  # rows that carry the drop-down lists
MAX_ROWS = 2000
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
NAME_SIMILARITY = 90  # rapidfuzz ratio on company_key() of both names
PAYLOAD_MAX_AGE = 2 * 3600
MAX_ERRORS_SHOWN = 500


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # text, int, decimal, date, code, bool, industry, lender
    vocab: str | None = None
    required: bool = False
    width: int = 14
    note: str = ""


# 控股类型 is the platform's own list (policy.terms), not the exchange vocabulary
OWNERSHIP = "ownership"


def _labels(name: str) -> dict[str, str]:
    """code -> label of a code column's list."""
    return dict(OWNERSHIPS) if name == OWNERSHIP else vocab.labels(name)


GUARANTEE_COLUMNS = {f"gm_{code}": code for code in vocab.codes("guarantee_modes")}
TAG_COLUMNS = ("tag1", "tag2", "tag3")

COLUMNS = (
    Column("name", "企业名称", "text", required=True, width=30, note="与营业执照一致"),
    Column("uscc", "统一社会信用代码", "text", required=True, width=22, note="18位"),
    Column("district", "所在区县", "code", "districts", required=True, width=16),
    Column("industry", "行业代码", "industry", required=True, width=30,
           note="国民经济行业分类（GB/T 4754—2017）代码，任何门类均可：从列表选择，或直接填写代码如 C3670、I6513"),
    Column("cluster", "产业集群", "code", "clusters_33618", width=26),
    Column("employees", "从业人员（人）", "int", required=True),
    Column("revenue_wan", "上年营业收入（万元）", "decimal", required=True, width=18),
    Column("assets_wan", "资产总额（万元）", "decimal", width=16,
           note="建筑业、房地产开发经营、租赁和商务服务业按资产总额划分规模，须填写"),
    Column("founded", "成立日期", "date", required=True, note="YYYY-MM-DD"),
    Column("has_bank_loan", "有银行贷款", "bool", width=12, note="正在使用或曾获得：是；从未获得：否"),
    Column("tax_credit_grade", "纳税信用等级", "code", "tax_credit_grades", width=12),
    Column("tag1", "资质标签1", "code", "enterprise_tags", width=22),
    Column("tag2", "资质标签2", "code", "enterprise_tags", width=22),
    Column("tag3", "资质标签3", "code", "enterprise_tags", width=22),
    Column("declared_size", "企业规模", "code", "sizes", width=10,
           note="留空则按工信部联企业〔2011〕300号所属行业的标准测算"),
    Column("ownership", "控股类型", "code", OWNERSHIP, width=16,
           note="按控股出资人的经济类型；留空为不清楚（应急转贷资金支持大型民营企业时需要）"),
    Column("core_enterprise", "核心企业", "text", width=24, note="主要供货的大客户"),
    Column("contact_name", "联系人", "text", width=10),
    Column("contact_phone", "联系电话", "text", width=14),
    Column("purpose", "融资用途", "code", "purposes", width=28,
           note="不填融资需求的各列，则只登记企业"),
    Column("loan_kind", "贷款类型", "code", "loan_kinds", width=24,
           note="留空：无银行贷款为首贷，否则为新增"),
    Column("amount_wan", "融资金额（万元）", "decimal", width=16),
    Column("term_months", "期限（月）", "int", width=10, note="1–360"),
    *(Column(key, f"担保方式：{vocab.label('guarantee_modes', code)[:2]}", "bool", width=12)
      for key, code in GUARANTEE_COLUMNS.items()),
    Column("max_rate", "可接受最高年利率（%）", "decimal", width=14),
    Column("current_lender", "现贷款机构", "lender", width=24, note="续贷必填"),
    Column("renewal_due", "现贷款到期日", "date", width=14, note="续贷必填，YYYY-MM-DD"),
    Column("description", "需求说明", "text", width=36, note="技改、项目类必填（至少10个字）"),
    Column("consent_to_share", "同意向金融机构展示", "bool", width=14,
           note="填“是”：平台将本需求及企业必需信息提供给匹配的金融机构，须有企业的书面授权"),
    Column("consent_basis", "同意依据", "text", width=24,
           note="“同意向金融机构展示”填“是”时必填：企业书面授权的依据，如签署的授权书编号"),
)
BY_KEY = {c.key: c for c in COLUMNS}
BY_HEADER = {c.header: c for c in COLUMNS}
# columns added after organizers first downloaded the template: a file without them imports
ADDED_LATER = {"ownership", "consent_basis"}
NEED_KEYS = ("purpose", "loan_kind", "amount_wan", "term_months", *GUARANTEE_COLUMNS,
             "max_rate", "current_lender", "renewal_due", "description", "consent_to_share")
# fields of a need or enterprise as the services name them -> the column that carries them
FIELD_COLUMN = {"guarantee_modes": "gm_credit", "tags": "tag1"}


class SpreadsheetRejected(Exception):
    """The file as a whole cannot be read: nothing is previewed, nothing written."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


# --- the template ------------------------------------------------------------------------------

def _code_list(column: Column, lenders: list[str], district: str | None) -> list[str]:
    if column.kind == "bool":
        return ["是", "否"]
    if column.kind == "industry":
        return [f"{e.code} {e.name}" for e in industries.table().values() if e.level >= 2]
    if column.kind == "lender":
        return lenders
    if column.vocab == "districts" and district:
        return [district]
    return list(_labels(column.vocab).values())


def build_template(user) -> bytes:
    """The Excel template: one data sheet with a drop-down on every code column, the code
    lists on their own sheet, and the filling rules."""
    lenders = list(db.session.scalars(select(Institution.name).order_by(Institution.name)))
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    codes = wb.create_sheet(CODE_SHEET)
    _write_help(wb.create_sheet(HELP_SHEET))
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    list_column = 0
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if column.required:
            cell.fill = required_fill
        ws.column_dimensions[letter].width = column.width
        if column.kind == "date":
            for row in range(2, TEMPLATE_ROWS + 2):
                ws.cell(row=row, column=index).number_format = "yyyy-mm-dd"
        if column.kind in ("code", "bool", "industry", "lender"):
            values = _code_list(column, lenders, user.district)
            if not values:
                continue
            list_column += 1
            _add_list(ws, codes, column, letter, list_column, values)
        elif column.note:
            _add_prompt(ws, column, letter)
    ws.freeze_panes = "C2"
    ws.row_dimensions[1].height = 32
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _add_list(ws, codes, column: Column, letter: str, list_column: int, values: list[str]):
    code_letter = get_column_letter(list_column)
    codes.cell(row=1, column=list_column, value=column.header).font = Font(bold=True)
    for row, value in enumerate(values, start=2):
        codes.cell(row=row, column=list_column, value=value)
    codes.column_dimensions[code_letter].width = max(12, column.width)
    # lenders and 4-digit industry classes may be typed: a warning, not a stop
    free = column.kind in ("industry", "lender")
    dv = DataValidation(
        type="list", formula1=f"'{CODE_SHEET}'!${code_letter}$2:${code_letter}${len(values) + 1}",
        allow_blank=True, showErrorMessage=True, showInputMessage=bool(column.note),
        errorStyle="warning" if free else "stop", errorTitle="不在可选列表中",
        error="请从下拉列表中选择" + ("（也可直接填写）" if free else ""),
        promptTitle=column.header[:32] if column.note else None,
        prompt=column.note[:255] if column.note else None)
    dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
    ws.add_data_validation(dv)


def _add_prompt(ws, column: Column, letter: str):
    dv = DataValidation(type=None, allow_blank=True, showInputMessage=True,
                        promptTitle=column.header[:32], prompt=column.note[:255])
    dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
    ws.add_data_validation(dv)


HELP_LINES = (
    "填写说明",
    f"1. 在“{SHEET}”工作表第2行起每行填写一家企业（及其一笔融资需求），不要改动第1行的列名，不要删除或增加列。",
    "2. 红色列名为必填；代码类的列请从下拉列表中选择。",
    "3. 只登记企业、暂无融资需求时，“融资用途”及其后的各列留空即可。",
    "4. 请直接填写数值，不要使用公式（含公式的单元格会被拒绝）。",
    "5. 金额单位为万元，期限单位为月（不超过360个月），利率为年利率百分数（如 4.5）。",
    "6. 担保方式各列填“是”表示企业可以提供该方式；没有抵押和担保请在“信用”列填“是”。",
    "7. 续贷须填写现贷款机构和现贷款到期日；供应链融资须填写核心企业；技术改造、项目建设须填写需求说明。",
    "8. 文件不超过 5 MB，一次最多 2000 行；上传后先预览，确认无误再提交，任何一行有错都不会写入。",
    ("9. 统一社会信用代码与平台已有企业相同时将更新该企业（空白单元格不覆盖已有信息）；"
     "企业名称与已有企业相近时，请在预览页选择合并或新建。"),
    ("10. “同意向金融机构展示”填“是”，即由您代企业登记授权：须在“同意依据”填写企业书面授权的"
     "依据（如签署的授权书编号）。平台将记录登记人和依据并通知企业，企业可随时撤回；"
     "金融机构只会收到需求内容和企业必需信息（名称、区县、行业、规模、联系人）。"),
)


def _write_help(ws):
    for row, line in enumerate(HELP_LINES, start=1):
        ws.cell(row=row, column=1, value=line).font = Font(bold=row == 1)
    ws.column_dimensions["A"].width = 120


# --- reading an upload ---------------------------------------------------------------------------

def max_bytes() -> int:
    return int(current_app.config.get("SPREADSHEET_MAX_BYTES", DEFAULT_MAX_BYTES))


def size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def too_large_message(size: int | None) -> str:
    limit = size_text(max_bytes())
    got = f"（{size_text(size)}）" if size else ""
    return (f"文件过大{got}：上传的 Excel 文件不能超过 {limit}。请删除多余的工作表、图片和空行，"
            "或把企业分成几批分别导入。")


# what openpyxl raises for a zip that is not a workbook, or a workbook with damaged parts
UNREADABLE = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError,
              OSError, SyntaxError)


def read_upload(filename: str, data: bytes) -> list[dict]:
    """The data rows of an uploaded template as {"row": n, "cells": {key: str | None},
    "formulas": [key, ...]}; SpreadsheetRejected when the file as a whole is wrong.

    Bounded work whatever the file: the zip's declared sizes and entry count are checked before
    any XML is parsed (zipfile stops a member at its declared size, so a lying header only
    truncates it), the sheet is streamed (openpyxl read-only), the headers are checked on the
    first row, and reading stops at the row cap instead of loading the workbook whole."""
    if len(data) > max_bytes():
        raise SpreadsheetRejected([too_large_message(len(data))])
    name = (filename or "").lower()
    if name.endswith((".xls", ".et")):
        raise SpreadsheetRejected(["不支持旧版 .xls 格式，请在 Excel/WPS 中另存为 .xlsx 后上传"])
    if not name.endswith(".xlsx") or not zipfile.is_zipfile(io.BytesIO(data)):
        raise SpreadsheetRejected(["文件不是 Excel（.xlsx）文件，请下载平台模板填写后上传"])
    _check_zip(data)
    wb = None
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        return _read_rows(wb)
    except UNREADABLE:
        log.info("unreadable xlsx upload")
        raise SpreadsheetRejected(["文件已损坏或不是有效的 Excel（.xlsx）文件"]) from None
    finally:
        if wb is not None:
            wb.close()


MAX_ZIP_ENTRIES = 200  # the template has about a dozen parts
MAX_UNPACKED_BYTES = 32 * 1024 * 1024  # a full 2,000-row sheet unpacks to a few MB
MAX_PART_BYTES = 8 * 1024 * 1024  # any part but a sheet: shared strings and styles are read whole
MAX_SCANNED_ROWS = 10 * MAX_ROWS  # rows read, blank ones included
MAX_COLUMNS = len(COLUMNS) + 20  # room for a few unknown columns to name in the message


class _BoundedReadOnlyWorksheet(ReadOnlyWorksheet):
    """openpyxl's read-only sheet looks for <dimension> by parsing until it finds it, or until
    </sheetData> when it is missing: a sheet without it (any generator may leave it out) would
    be parsed whole before the first row is read. Excel, WPS and openpyxl write it in the first
    bytes; look there only."""

    def _get_size(self):
        with self._get_source() as src:
            head = src.read(64 * 1024)
        if b"<dimension" not in head and b":dimension" not in head:
            return
        super()._get_size()


# every read-only workbook in the process gets the bounded sheet (behaviour is unchanged for a
# sheet that has its <dimension> at the start, i.e. every sheet Excel, WPS or openpyxl writes)
openpyxl_excel.ReadOnlyWorksheet = _BoundedReadOnlyWorksheet


def _check_zip(data: bytes) -> None:
    """Refuse a zip bomb from its directory alone, before openpyxl parses a byte of XML."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SpreadsheetRejected(["文件已损坏或不是有效的 Excel（.xlsx）文件"]) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise SpreadsheetRejected([(f"文件结构异常：包含 {len(entries)} 个内部部件（上限 "
                                   f"{MAX_ZIP_ENTRIES}）。请使用平台模板重新填写后上传")])
    unpacked = sum(entry.file_size for entry in entries)
    whole = [e for e in entries if not e.filename.startswith("xl/worksheets/")]  # read at once
    if unpacked > MAX_UNPACKED_BYTES or any(e.file_size > MAX_PART_BYTES for e in whole):
        log.warning("xlsx upload refused: %d bytes unpacked declared", unpacked)
        raise SpreadsheetRejected([(f"文件解压后过大（{size_text(unpacked)}，其中任一部件不超过 "
                                   f"{size_text(MAX_PART_BYTES)}、合计不超过 "
                                   f"{size_text(MAX_UNPACKED_BYTES)}），可能含有大量空行、格式或"
                                   "隐藏内容。请把数据复制到新的平台模板中再上传")])


def _read_rows(wb) -> list[dict]:
    if SHEET not in wb.sheetnames:
        found = "、".join(wb.sheetnames)
        raise SpreadsheetRejected([f"找不到名为“{SHEET}”的工作表（文件中的工作表：{found}）。"
                                   + "请使用平台模板，不要重命名工作表"])
    lines = wb[SHEET].iter_rows(max_row=MAX_SCANNED_ROWS + 2, max_col=MAX_COLUMNS,
                                values_only=True)
    keys = _header_keys(next(lines, ()))
    rows = []
    for number, values in enumerate(lines, 2):
        if number > MAX_SCANNED_ROWS + 1:
            raise SpreadsheetRejected([(f"“{SHEET}”工作表超过 {MAX_SCANNED_ROWS} 行（含空行），"
                                       "请删除多余的空行，或把企业分成几批分别导入")])
        raw = _raw_row(number, values, keys)
        if raw is None:
            continue
        rows.append(raw)
        if len(rows) > MAX_ROWS:
            raise SpreadsheetRejected([(f"一次最多导入 {MAX_ROWS} 行，本文件超过 {MAX_ROWS} 行，"
                                       "请分批导入")])
    if not rows:
        raise SpreadsheetRejected([f"“{SHEET}”工作表中没有数据（从第2行起每行填写一家企业）"])
    return rows


def _header_keys(values) -> list[str | None]:
    headers = [(_text(value) or "").rstrip("*＊ ") for value in values]
    found = {h for h in headers if h}
    missing = [c.header for c in COLUMNS if c.header not in found and c.key not in ADDED_LATER]
    unknown = [h for h in headers if h and h not in BY_HEADER]
    problems = []
    if missing:
        problems.append(f"缺少列：{'、'.join(missing)}。请使用平台模板，不要删除或改名列")
    if unknown:
        problems.append(f"无法识别的列：{'、'.join(unknown)}。请删除这些列或使用平台模板")
    duplicated = sorted({h for h in headers if h and headers.count(h) > 1})
    if duplicated:
        problems.append(f"重复的列：{'、'.join(duplicated)}")
    if problems:
        raise SpreadsheetRejected(problems)
    return [BY_HEADER[h].key if h else None for h in headers]


FORMULAS = (ArrayFormula, DataTableFormula)  # read-only mode: a plain formula is "=…" text


def _raw_row(number: int, cells, keys) -> dict | None:
    values, formulas = {}, []
    for index, key in enumerate(keys):
        if key is None:
            continue
        value = cells[index] if index < len(cells) else None
        if isinstance(value, FORMULAS) or (isinstance(value, str) and value.startswith("=")):
            formulas.append(key)
            values[key] = None
            continue
        values[key] = _text(value)
    if not formulas and not any(values.values()):
        return None
    return {"row": number, "cells": values, "formulas": formulas}


def _text(value) -> str | None:
    """A cell's value as the string the organizer meant (dates as YYYY-MM-DD)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


# --- parsing and checking rows ------------------------------------------------------------

class CellError(ValueError):
    pass


_TRUE, _FALSE = {"是", "y", "yes", "true", "1", "有"}, {"否", "n", "no", "false", "0", "无"}


def _parse(column: Column, text: str | None, lenders: dict):
    if text is None:
        return None
    if column.kind == "text":
        return text
    if column.kind == "int":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError("应为整数") from None
        if number != number.to_integral_value():
            raise CellError("应为整数")
        return int(number)
    if column.kind == "decimal":
        try:
            return Decimal(text.replace(",", "").removesuffix("%"))
        except InvalidOperation:
            raise CellError("应为数字") from None
    if column.kind == "date":
        try:
            return date.fromisoformat(text.replace("/", "-").replace(".", "-")[:10])
        except ValueError:
            raise CellError("日期格式应为 YYYY-MM-DD") from None
    if column.kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise CellError("请填写“是”或“否”")
    if column.kind == "industry":
        code = industries.normalize(text)
        if code is None:
            raise CellError("行业代码无效，应为国民经济行业分类（GB/T 4754—2017）的大类、中类或"
                            "小类代码，如 C36、C3670、I6513")
        return code
    if column.kind == "lender":
        lender = lenders.get(text) or lenders.get(company_key(text))
        if lender is None:
            raise CellError(f"平台上没有名为“{text}”的金融机构，请从下拉列表中选择")
        return lender
    return _parse_code(column, text)


def _parse_code(column: Column, text: str):
    if column.vocab == "districts":
        name = vocab.district_name(text)
        if name is None:
            raise CellError(f"“{text}”不是重庆市的区县，请从下拉列表中选择")
        return name
    labels = _labels(column.vocab)
    by_label = {label: code for code, label in labels.items()}
    if text in by_label:
        return by_label[text]
    if text in labels or text.upper() in labels:
        return text if text in labels else text.upper()
    raise CellError(f"“{text}”不在可选列表中，请从下拉列表中选择")


@dataclass
class RowPlan:
    """What one row would do: its errors, or the enterprise it creates/updates and its need."""

    row: int
    name: str | None
    uscc: str | None
    errors: list[str] = field(default_factory=list)
    enterprise_values: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    need_values: dict | None = None
    existing: Enterprise | None = None  # same USCC: updated
    # the stored name of `existing` when the row names another company (names.same_company)
    name_on_file: str | None = None
    similar: list[tuple[Enterprise, int]] = field(default_factory=list)  # name close: choose
    same_as_row: int | None = None  # an earlier row of this file names the same USCC
    choice: str | None = None  # "create" or "merge:<enterprise id>" for a similar-name row
    consent_basis: str | None = None  # 同意依据, whether or not the row has a need

    @property
    def confirms(self) -> bool:
        """The row confirms a self-registered firm awaiting its check: same USCC, same name."""
        return (self.existing is not None and self.existing.verification == "pending"
                and not self.name_on_file and bool(self.name))

    @property
    def action(self) -> str:
        if self.errors:
            return "error"
        if self.existing is not None or self.same_as_row:
            return "update"
        if self.similar and (self.choice or "").startswith("merge:"):
            return "merge"
        if self.similar and self.choice != "create":
            return "choose"
        return "create"

    def error(self, column_key: str | None, message: str) -> None:
        where = f"「{BY_KEY[column_key].header}」" if column_key else ""
        self.errors.append(f"第{self.row}行{where}：{message}")


@dataclass
class Preview:
    plans: list[RowPlan]

    @property
    def errors(self) -> list[str]:
        return [e for p in self.plans for e in p.errors]

    @property
    def pending_choices(self) -> list[RowPlan]:
        return [p for p in self.plans if p.action == "choose"]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.pending_choices

    def count(self, action: str) -> int:
        return sum(1 for p in self.plans if p.action == action)

    @property
    def need_count(self) -> int:
        return sum(1 for p in self.plans if p.need_values is not None and not p.errors)


def plan_rows(user, rows: list[dict], choices: dict[int, str] | None = None) -> Preview:
    """Check every row against the vocabulary, the need rules and the platform's enterprises;
    nothing is written. The 同意 column is the firm's consent recorded on its behalf (here
    the exchange's consent_to_share; for the whitelist import its consent to be pushed), so
    a 是 needs its 同意依据 either way."""
    choices = choices or {}
    lenders = _lender_index()
    visible = {e.id: e for e in db.session.scalars(visible_enterprises(user))}
    keys = {e.id: company_key(e.name) for e in visible.values()}
    seen_uscc: dict[str, RowPlan] = {}
    plans = []
    for raw in rows:
        plan = _plan_row(user, raw, lenders, visible, keys)
        plan.choice = choices.get(plan.row)
        _check_duplicate(plan, raw, seen_uscc)
        _check_need(plan)
        _check_consent_basis(plan)
        _check_choice(plan)
        plans.append(plan)
    return Preview(plans)


def _lender_index() -> dict:
    index = {}
    for institution in db.session.scalars(select(Institution)):
        index[institution.name] = institution
        index.setdefault(company_key(institution.name), institution)
    return index


def _plan_row(user, raw: dict, lenders: dict, visible: dict, keys: dict) -> RowPlan:
    cells = raw["cells"]
    plan = RowPlan(row=raw["row"], name=cells.get("name"), uscc=cells.get("uscc"))
    for key in raw.get("formulas", []):
        plan.error(key, "含公式，请改为直接填写数值（复制后“选择性粘贴 → 数值”）")
    parsed = {}
    for column in COLUMNS:
        if column.key in raw.get("formulas", []):
            continue
        try:
            parsed[column.key] = _parse(column, cells.get(column.key), lenders)
        except CellError as err:
            plan.error(column.key, str(err))
            parsed[column.key] = None
    _enterprise_part(plan, parsed, raw)
    _need_part(plan, parsed)
    plan.consent_basis = (parsed.get("consent_basis") or "").strip() or None
    _find_existing(user, plan, visible, keys)
    return plan


ENTERPRISE_KEYS = ("name", "uscc", "district", "industry", "cluster", "employees", "revenue_wan",
                   "assets_wan", "founded", "has_bank_loan", "tax_credit_grade", "declared_size",
                   "ownership", "core_enterprise", "contact_name", "contact_phone")


TEXT_LIMITS = {"name": 128, "core_enterprise": 128, "contact_name": 64, "contact_phone": 32}
NOT_SHARED = "填写了同意依据，但“同意向金融机构展示”不是“是”：请填“是”，或清空同意依据"


def _enterprise_part(plan: RowPlan, parsed: dict, raw: dict) -> None:
    values = {k: parsed.get(k) for k in ENTERPRISE_KEYS}
    for column in COLUMNS:
        if column.required and column.key in ENTERPRISE_KEYS and values[column.key] is None \
                and column.key not in raw.get("formulas", []) and not _has_error(plan, column):
            plan.error(column.key, "必填")
    if values["uscc"]:
        values["uscc"] = uscc_rules.normalize(values["uscc"])
        plan.uscc = values["uscc"]
    present = {k: v for k, v in values.items() if v is not None}
    if values["industry"]:   # the sector's size rule may need 资产总额: a blank is checked too
        present["assets_wan"] = values["assets_wan"]
    for key, message in service.enterprise_problems(present).items():
        if not _has_error(plan, BY_KEY[key]):
            plan.error(key, message)
    for key, limit in TEXT_LIMITS.items():
        if values.get(key) and len(values[key]) > limit:
            plan.error(key, f"不超过{limit}个字")
    plan.enterprise_values = values
    plan.tags = list(dict.fromkeys(parsed[k] for k in TAG_COLUMNS if parsed.get(k)))


def _has_error(plan: RowPlan, column: Column) -> bool:
    return any(f"「{column.header}」" in e for e in plan.errors)


def _need_part(plan: RowPlan, parsed: dict) -> None:
    if all(parsed.get(k) in (None, False) for k in NEED_KEYS):
        return  # an enterprise-only row
    modes = [code for key, code in GUARANTEE_COLUMNS.items() if parsed.get(key)]
    plan.need_values = {
        "purpose": parsed.get("purpose"), "loan_kind": parsed.get("loan_kind"),
        "amount_wan": parsed.get("amount_wan"), "term_months": parsed.get("term_months"),
        "guarantee_modes": modes, "max_rate": parsed.get("max_rate"),
        "current_lender": parsed.get("current_lender"),
        "renewal_due": parsed.get("renewal_due"), "description": parsed.get("description"),
        "consent_to_share": bool(parsed.get("consent_to_share")),
        "consent_basis": (parsed.get("consent_basis") or "").strip() or None,
        "core_enterprise": parsed.get("core_enterprise"),
    }


def _find_existing(user, plan: RowPlan, visible: dict, keys: dict) -> None:
    """Same USCC: the row updates that enterprise. Otherwise names whose company_key is
    rapidfuzz-close (>= NAME_SIMILARITY) are offered for merging."""
    values = plan.enterprise_values
    if user.district and values.get("district") and values["district"] != user.district:
        plan.error("district", f"您只能导入本区县（{user.district}）的企业")
    if values.get("uscc") and not uscc_rules.problem(values["uscc"]):
        existing = db.session.scalar(select(Enterprise).where(Enterprise.uscc == values["uscc"]))
        if existing is not None and existing.id not in visible:
            plan.error("uscc", "该企业已在平台登记于其他区县，不能由本区县更新，请联系市级组织方")
            return
        plan.existing = existing
        if existing is not None and values.get("name") \
                and not same_company(values["name"], existing.name):
            plan.name_on_file = existing.name
            if existing.verification == "pending":
                plan.error("name", f"该统一社会信用代码已由他人自行注册为“{existing.name}”（待核验），"
                                   "与本行的企业名称不一致：请先在该企业页面核验或拒绝这一注册，"
                                   "再导入本行")
    if plan.existing is None and values.get("name") and company_key(values["name"]):
        close = process.extract(company_key(values["name"]), keys, scorer=fuzz.ratio,
                                score_cutoff=NAME_SIMILARITY, limit=3)
        plan.similar = [(visible[enterprise_id], round(score))
                        for _key, score, enterprise_id in close]


def _check_duplicate(plan: RowPlan, raw: dict, seen: dict) -> None:
    """Two rows of one file for the same USCC: one enterprise with two needs, so its columns
    must agree."""
    if not plan.uscc or uscc_rules.problem(plan.uscc):
        return
    first = seen.get(plan.uscc)
    if first is None:
        seen[plan.uscc] = plan
        return
    plan.same_as_row = first.row
    plan.similar = []
    differing = [BY_KEY[k].header for k in ENTERPRISE_KEYS
                 if plan.enterprise_values.get(k) != first.enterprise_values.get(k)]
    if differing:
        plan.error(None, f"与第{first.row}行统一社会信用代码相同，但企业信息不一致"
                         f"（{'、'.join(differing)}），请核对")


def _check_need(plan: RowPlan) -> None:
    if plan.need_values is None:
        return
    if plan.need_values.get("loan_kind") is None:
        plan.need_values["loan_kind"] = service.default_loan_kind(_merged(plan))
    values = dict(plan.need_values)
    if values["loan_kind"] != "renewal":
        values["current_lender"] = values["renewal_due"] = None
    for key, message in service.need_problems(_merged(plan), values).items():
        column = BY_KEY[FIELD_COLUMN.get(key, key)]
        if not _has_error(plan, column):
            plan.error(column.key, message)


def _check_consent_basis(plan: RowPlan) -> None:
    """同意 = 是 is the firm's consent recorded on its behalf: it names its basis."""
    if _has_error(plan, BY_KEY["consent_basis"]):
        return
    basis = plan.consent_basis
    if plan.need_values is not None and plan.need_values["consent_to_share"]:
        problem = on_behalf.basis_problem(basis)
        if problem:
            plan.error("consent_basis", problem)
    elif basis:
        plan.error("consent_basis", NOT_SHARED)


def _merged(plan: RowPlan):
    """The has_bank_loan the need rules see: the row's value, else the existing enterprise's."""
    value = plan.enterprise_values.get("has_bank_loan")
    if value is None and plan.existing is not None:
        value = plan.existing.has_bank_loan
    return SimpleNamespace(has_bank_loan=bool(value))


def _check_choice(plan: RowPlan) -> None:
    if not plan.similar or not plan.choice or plan.choice == "create":
        return
    ids = {f"merge:{e.id}" for e, _ in plan.similar}
    if plan.choice not in ids:
        plan.error(None, "合并对象无效，请重新选择")


# --- committing ---------------------------------------------------------------------------------

@guarded(can_import_enterprises, message="只有组织方可以导入企业和需求")
def commit_rows(actor, rows: list[dict], choices: dict[int, str]) -> Preview:
    """Write every row, or raise SpreadsheetRejected and write nothing (the caller rolls
    back). Blank cells never erase what an enterprise already holds."""
    preview = plan_rows(actor, rows, choices)
    if preview.errors:
        raise SpreadsheetRejected(preview.errors)
    if preview.pending_choices:
        raise SpreadsheetRejected([f"第{p.row}行：企业名称与已有企业相近，请选择合并或新建"
                                   for p in preview.pending_choices])
    by_uscc: dict[str, Enterprise] = {}
    for plan in preview.plans:
        enterprise = _write_enterprise(actor, plan, by_uscc)
        if plan.need_values is not None:
            try:
                service.create_need(actor, enterprise, publish=True, via="spreadsheet",
                                    **plan.need_values)
            except ServiceError as err:  # the database changed since the check
                raise SpreadsheetRejected([f"第{plan.row}行：{err.message}"]) from None
    log.info("spreadsheet import by user %s: %s rows", actor.id, len(preview.plans))
    return preview


def _write_enterprise(actor, plan: RowPlan, by_uscc: dict) -> Enterprise:
    values = {k: v for k, v in plan.enterprise_values.items() if v is not None}
    target = plan.existing or by_uscc.get(plan.uscc)
    if target is None and plan.action == "merge":
        target = db.session.get(Enterprise, int(plan.choice.removeprefix("merge:")))
        # a merge keeps the enterprise's registered identity: the organizer said it is the same
        values.pop("name", None)
        values.pop("uscc", None)
    if target is None:
        enterprise = Enterprise(ref=service.enterprise_ref_for(values["uscc"]),
                                has_bank_loan=values.pop("has_bank_loan", False), **values)
        enterprise.tags = plan.tags
        db.session.add(enterprise)
        db.session.flush()
        record(actor, "enterprise.created", enterprise, via="spreadsheet", row=plan.row)
        by_uscc[enterprise.uscc] = enterprise
        return enterprise
    _merge_into(actor, target, values, plan)
    if plan.confirms and target is plan.existing and target.verification == "pending":
        verification.confirm_registration(actor, target, via="spreadsheet")
    by_uscc[target.uscc] = target
    by_uscc[plan.uscc] = target  # a later row of this file with the row's own USCC
    return target


def _merge_into(actor, enterprise: Enterprise, values: dict, plan: RowPlan) -> None:
    old = service._enterprise_values(enterprise)
    for key, value in values.items():
        setattr(enterprise, key, value)
    new_tags = [t for t in plan.tags if t not in enterprise.tags]
    if new_tags:
        enterprise.tags = list(enterprise.tags) + new_tags
    changes, summary = service._diff(service.ENTERPRISE_LABELS, service.ENTERPRISE_PRIVATE,
                                     old, dict(values, tags=list(enterprise.tags)))
    if changes:
        db.session.flush()
        record(actor, "enterprise.updated", enterprise, via="spreadsheet", row=plan.row,
               changes=changes, summary=summary)
        if set(changes) - service.UNRANKED_FIELDS:
            # what its open needs are ranked by (size figures, ownership …) moved
            signals.enterprise_changed.send(enterprise)


# --- keeping rows between the preview and the commit ----------------------------------------
# The rows wait in a JSON file under instance/imports (SPREADSHEET_UPLOAD_DIR) named by a random
# key; the preview page carries only a signed token naming the key and the organizer. (Carrying
# the rows themselves in the page would hit Flask's 500 KB limit on a form field.)

def _stash_dir() -> Path:
    path = Path(current_app.config.get("SPREADSHEET_UPLOAD_DIR")
                or Path(current_app.instance_path) / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="enterprise-import")


def stash_rows(user, filename: str, rows: list[dict]) -> str:
    """Keep the rows read from an upload; returns the signed token the preview page carries."""
    _sweep()
    key = secrets.token_hex(16)
    (_stash_dir() / f"{key}.json").write_text(
        json.dumps({"u": user.id, "f": filename, "rows": rows}, ensure_ascii=False),
        encoding="utf-8")
    return _serializer().dumps({"u": user.id, "k": key})


def load_rows(user, token: str) -> tuple[str, str, list[dict]]:
    """(key, filename, rows) of a stashed upload, for the organizer who uploaded it."""
    try:
        data = _serializer().loads(token, max_age=PAYLOAD_MAX_AGE)
    except SignatureExpired:
        raise SpreadsheetRejected(["预览已超过2小时，请重新上传文件"]) from None
    except BadSignature:
        raise SpreadsheetRejected(["预览数据无效，请重新上传文件"]) from None
    key = str(data.get("k", ""))
    path = _stash_dir() / f"{key}.json"
    if data.get("u") != user.id or not re.fullmatch(r"[0-9a-f]{32}", key) or not path.exists():
        raise SpreadsheetRejected(["预览数据无效或已提交，请重新上传文件"])
    stashed = json.loads(path.read_text(encoding="utf-8"))
    return key, stashed.get("f", ""), stashed["rows"]


def discard_rows(key: str) -> None:
    (_stash_dir() / f"{key}.json").unlink(missing_ok=True)


def _sweep() -> None:
    """Previews nobody committed are deleted once their token has expired."""
    limit = time.time() - PAYLOAD_MAX_AGE
    for path in _stash_dir().glob("*.json"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
