"""Hostile files, generated (never committed as binaries): the spreadsheets and exchange
documents of issue 19, used by tests/security/ at small scale and by
benchmarks/bench_hostile_uploads.py at the size the issue reports.

An xlsx here is the platform's own template skeleton (its sheet 融资需求 with the template's
headers, written by openpyxl) with the sheet's XML replaced by streamed rows, so that a
622 MB sheet never sits in memory while it is written.
"""
import io
import zipfile
from collections.abc import Iterator

from openpyxl import Workbook

from matchmaker.enterprises.spreadsheet import COLUMNS, SHEET

SHEET_PART = "xl/worksheets/sheet1.xml"
_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         "<sheetData>")
_TAIL = "</sheetData></worksheet>"


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(col: int, row: int, text: str) -> str:
    return f'<c r="{_column(col)}{row}" t="inlineStr"><is><t>{text}</t></is></c>'


def _row(number: int, texts) -> str:
    cells = "".join(_cell(i, number, t) for i, t in enumerate(texts) if t is not None)
    return f'<row r="{number}">{cells}</row>'


def header_row(headers=None) -> str:
    return _row(1, headers or [c.header for c in COLUMNS])


def _skeleton() -> bytes:
    wb = Workbook()
    wb.active.title = SHEET
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx(chunks: Iterator[str], level: int = 9) -> bytes:
    """An .xlsx whose sheet 融资需求 is the XML text `chunks` make (streamed through deflate)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_skeleton())) as skeleton, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        for entry in skeleton.infolist():
            if entry.filename == SHEET_PART:
                continue
            target.writestr(entry, skeleton.read(entry))
        with target.open(SHEET_PART, "w", force_zip64=True) as sheet:
            buffer = []
            size = 0
            for chunk in chunks:
                buffer.append(chunk)
                size += len(chunk)
                if size > 1 << 20:
                    sheet.write("".join(buffer).encode())
                    buffer, size = [], 0
            sheet.write("".join(buffer).encode())
    return out.getvalue()


def bomb(unpacked_mb: int = 622) -> bytes:
    """A small xlsx whose one sheet unpacks to `unpacked_mb` MB of XML (the issue's: 1.4 MB →
    622 MB): the template's headers, then rows of one long repeated text."""
    target = unpacked_mb * 1024 * 1024
    filler = "重" * 2000

    def chunks():
        yield _HEAD + header_row()
        size, number = 0, 2
        while size < target:
            text = _row(number, [filler])
            size += len(text.encode())
            number += 1
            yield text
        yield _TAIL

    return xlsx(chunks())


def many_rows(rows: int = 200_000, headers=None, broken_after: int | None = None) -> bytes:
    """The template's headers and `rows` plausible data rows (the issue's: 200,000 rows in
    4.9 MB); `broken_after=N` cuts the XML off after row N, so a reader that goes past it
    fails: one that stops at the row cap never sees the damage."""
    def chunks():
        yield _HEAD + header_row(headers)
        for n in range(2, rows + 2):
            yield _row(n, [f"重庆测试{n}号机械有限公司", None, "永川区", "C34", None,
                           str(n % 300), None, None, "是", None, None, "刘会计"])
            if broken_after and n > broken_after:
                yield '<row r="'  # unterminated: a parser reaching this fails
                return
        yield _TAIL

    return xlsx(chunks())


def nested_json(depth: int = 10_000) -> bytes:
    """An exchange document nested `depth` levels deep (RecursionError in json before issue 19)."""
    return ('{"format": "matchmaker-exchange/1", "needs": [' + "[" * depth + "]" * depth
            + "]}").encode()
