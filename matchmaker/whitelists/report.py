"""A batch's progress at a glance (figures, the chart's data) and the Excel report to 市经信委.

Counting rule (the tests compute the same figures by hand):
- per institution, each sent push counts once: pushed; contacted (a first contact or any
  outcome); granted (approved, disbursed included) with the approved amounts; disbursed with
  the disbursed amounts;
- per district, per cluster and in total, an ENTRY counts once in each column where at least
  one of its pushes does; amounts are summed over its pushes (two banks' credit is two
  credits).
"""
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .. import vocab
from .answers import Answer, answer_of
from .models import Whitelist, WhitelistEntry
from .rules import entry_problems

ZERO = Decimal(0)


@dataclass
class Row:
    key: str
    label: str
    entries: int = 0
    asked_wan: Decimal = ZERO
    pushed: int = 0
    contacted: int = 0
    granted: int = 0
    granted_wan: Decimal = ZERO
    disbursed: int = 0
    disbursed_wan: Decimal = ZERO

    def add_answers(self, answers: list[Answer], *, per_entry: bool) -> None:
        sent = [a for a in answers if a.stage != "proposed"]
        if per_entry:
            self.pushed += bool(sent)
            self.contacted += any(a.contacted for a in sent)
            self.granted += any(a.granted for a in sent)
            self.disbursed += any(a.stage == "disbursed" for a in sent)
        else:
            self.pushed += len(sent)
            self.contacted += sum(a.contacted for a in sent)
            self.granted += sum(a.granted for a in sent)
            self.disbursed += sum(a.stage == "disbursed" for a in sent)
        self.granted_wan += sum((a.granted_wan or ZERO for a in sent if a.granted), ZERO)
        self.disbursed_wan += sum((a.disbursed_wan or ZERO for a in sent
                                   if a.stage == "disbursed"), ZERO)


@dataclass
class Progress:
    total: Row
    by_institution: list[Row] = field(default_factory=list)
    by_district: list[Row] = field(default_factory=list)
    by_cluster: list[Row] = field(default_factory=list)

    def chart(self) -> dict:
        """The chart's data, one dataset per dimension (static/js/whitelists.js draws it)."""
        return {name: {"categories": [r.label for r in rows],
                       "series": [{"name": label, "data": [getattr(r, key) for r in rows]}
                                  for key, label in CHART_SERIES]}
                for name, rows in (("institution", self.by_institution),
                                   ("district", self.by_district),
                                   ("cluster", self.by_cluster))}


CHART_SERIES = (("pushed", "已推送"), ("contacted", "已对接"), ("granted", "已授信"),
                ("disbursed", "已放款"))


def progress(whitelist: Whitelist) -> Progress:
    total = Row("total", "合计")
    institutions: dict[int, Row] = {}
    districts: dict[str, Row] = {}
    clusters: dict[str, Row] = {}
    for entry in whitelist.entries:
        answers = [(push, answer_of(push)) for push in entry.pushes]
        only = [a for _p, a in answers]
        district = entry.enterprise.district
        cluster = entry.cluster or ""
        for row in (total, districts.setdefault(district, Row(district, district)),
                    clusters.setdefault(cluster, Row(cluster, _cluster_label(cluster)))):
            row.entries += 1
            row.asked_wan += entry.amount_wan
            row.add_answers(only, per_entry=True)
        for push, answer in answers:
            if push.status != "sent":
                continue
            row = institutions.setdefault(push.institution_id, Row(
                str(push.institution_id), push.institution.name))
            row.entries += 1
            row.asked_wan += entry.amount_wan
            row.add_answers([answer], per_entry=False)
    return Progress(total, _sorted(institutions), _sorted(districts), _sorted(clusters))


def _cluster_label(code: str) -> str:
    return vocab.label("clusters_33618", code) if code else "未填写产业集群"


def _sorted(rows: dict) -> list[Row]:
    return sorted(rows.values(), key=lambda r: (-r.pushed, -r.entries, r.label))


# --- the Excel report ----------------------------------------------------------------------------

HEADERS = ("序号", "企业名称", "统一社会信用代码", "所在区县", "产业集群", "融资需求（万元）",
           "推送机构", "对接情况", "授信金额", "放款金额", "利率", "期限", "备注")
WIDTHS = (6, 30, 22, 12, 22, 14, 24, 22, 12, 12, 8, 8, 30)
ENTRY_COLUMNS = (1, 2, 3, 4, 5, 6, 13)  # merged over an entry's push rows
MONEY = "#,##0.00"
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def reporting_unit(user) -> str:
    """填报单位: the organizer's organization, else the 经信委 it works for."""
    if getattr(user, "organization", None):
        return user.organization
    return f"{user.district}经济和信息化委员会" if user.district else "重庆市经济和信息化委员会"


def export_xlsx(whitelist: Whitelist, user, today: date) -> bytes:
    """The batch as a report to 市经信委: a title row, 填报单位 and date, one row per entry ×
    institution, a totals row. Every text cell is written as text, never as a formula."""
    wb = Workbook()
    ws = wb.active
    ws.title = "对接情况"
    last = get_column_letter(len(HEADERS))
    _text(ws, 1, 1, f"{whitelist.title}（第{whitelist.version}版）对接情况表")
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 28
    _text(ws, 2, 1, f"填报单位：{reporting_unit(user)}")
    ws.merge_cells("A2:G2")
    _text(ws, 2, 8, f"填报日期：{today:%Y年%m月%d日}")
    ws.merge_cells(f"H2:{last}2")
    _text(ws, 3, 1, f"白名单类型：{whitelist.kind_label}；印发单位：{whitelist.issuing_body}；"
                    f"印发日期：{whitelist.issued_on:%Y-%m-%d}；反馈截止：{whitelist.answer_deadline:%Y-%m-%d}；"
                    "金额单位：万元，利率：年化%，期限：月")
    ws.merge_cells(f"A3:{last}3")
    for column, (header, width) in enumerate(zip(HEADERS, WIDTHS), start=1):
        cell = _text(ws, 4, column, header)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BOX
        ws.column_dimensions[get_column_letter(column)].width = width
    row = _write_entries(ws, whitelist, 5)
    _write_totals(ws, whitelist, row)
    ws.freeze_panes = "C5"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _text(ws, row: int, column: int, value):
    """A text cell stays text: openpyxl would store "=..." as a formula (formula injection)."""
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _number(ws, row: int, column: int, value, fmt: str | None = None):
    cell = ws.cell(row=row, column=column, value=value)
    if fmt and value is not None:
        cell.number_format = fmt
    return cell


def _write_entries(ws, whitelist: Whitelist, row: int) -> int:
    problems = entry_problems(whitelist)
    for number, entry in enumerate(whitelist.entries, start=1):
        pushes = entry.sent_pushes
        first = row
        for push in pushes or [None]:
            _entry_cells(ws, row, number, entry)
            _push_cells(ws, row, entry, push, problems.get(entry.id, []))
            for column in range(1, len(HEADERS) + 1):
                ws.cell(row=row, column=column).border = BOX
                ws.cell(row=row, column=column).alignment = Alignment(vertical="center",
                                                                      wrap_text=True)
            row += 1
        if row - first > 1:
            for column in ENTRY_COLUMNS:
                letter = get_column_letter(column)
                ws.merge_cells(f"{letter}{first}:{letter}{row - 1}")
    return row


def _entry_cells(ws, row: int, number: int, entry: WhitelistEntry) -> None:
    enterprise = entry.enterprise
    _number(ws, row, 1, number)
    _text(ws, row, 2, enterprise.name)
    _text(ws, row, 3, enterprise.uscc)
    _text(ws, row, 4, enterprise.district)
    _text(ws, row, 5, vocab.label("clusters_33618", entry.cluster) if entry.cluster else "")
    _number(ws, row, 6, entry.amount_wan, MONEY)
    notes = []
    if entry.project_name:
        notes.append(f"项目：{entry.project_name}")
    notes.append(f"推荐单位：{entry.recommender}")
    if entry.note:
        notes.append(entry.note)
    _text(ws, row, 13, "；".join(notes))


def _push_cells(ws, row: int, entry: WhitelistEntry, push, problems) -> None:
    if push is None:
        reason = next((p.message for p in problems if p.blocking), None)
        _text(ws, row, 8, f"未推送：{reason}" if reason else "未推送")
        return
    answer = answer_of(push)
    _text(ws, row, 7, push.institution.name)
    shown = answer.label
    if answer.stage == "not_suitable" and answer.reason:
        shown += f"：{answer.reason_label}"
    _text(ws, row, 8, shown)
    _number(ws, row, 9, answer.granted_wan if answer.granted else None, MONEY)
    _number(ws, row, 10, answer.disbursed_wan if answer.stage == "disbursed" else None, MONEY)
    _number(ws, row, 11, answer.rate if answer.granted else None, "0.00")
    _number(ws, row, 12, answer.term_months if answer.granted else None)


def _write_totals(ws, whitelist: Whitelist, row: int) -> None:
    figures = progress(whitelist).total
    _text(ws, row, 1, "合计")
    _text(ws, row, 2, f"共{figures.entries}户，推送{figures.pushed}户，对接{figures.contacted}户，"
                      f"授信{figures.granted}户，放款{figures.disbursed}户")
    ws.merge_cells(f"B{row}:E{row}")
    _number(ws, row, 6, figures.asked_wan, MONEY)
    _number(ws, row, 9, figures.granted_wan, MONEY)
    _number(ws, row, 10, figures.disbursed_wan, MONEY)
    for column in range(1, len(HEADERS) + 1):
        cell = ws.cell(row=row, column=column)
        cell.font = Font(bold=True)
        cell.border = BOX
