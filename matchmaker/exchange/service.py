"""matchmaker-exchange/1 import and export.

An import validates the whole document first (every invalid record becomes one Problem:
the spec's `section ref field: reason` line for the command line, and its Chinese reading
for the admin's page) and writes nothing unless all of it is valid; then it upserts by ref,
leaving unchanged records untouched, so a second import of the same file changes nothing.
Flushes, never commits: the command or view commits once.

A need whose `consent_to_share` the file turns on (a new need with it, or a stored one without
it) is a consent recorded on the enterprise's behalf: whoever imports states its basis (the
upload page's field, `matchmaker import --consent-basis`), and enterprises/on_behalf.py
records it and tells the firm.
"""
import json
import logging
import re
import secrets
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock, sizes
from .. import uscc as uscc_rules
from ..audit.service import record
from ..enterprises import on_behalf
from ..enterprises.models import Enterprise, Need
from ..extensions import BULK, db, refresh_statistics
from ..guards import guarded
from ..institutions.models import Institution, Product
from ..institutions.service import product_record, publish_version
from ..names import same_company
from ..policy import service as policy_service
from . import bulk, schema
from .permissions import can_exchange_data
from .schema import FIELDS, FORMAT, SECTIONS

log = logging.getLogger(__name__)

MODELS = {"institutions": Institution, "products": Product, "enterprises": Enterprise,
          "needs": Need}
NOUNS = {"institutions": "institution", "products": "product", "enterprises": "enterprise",
         "needs": "need"}
SECTION_LABELS = schema.SECTION_LABELS
ACTIONS = ("created", "updated", "unchanged")
ACTION_LABELS = {"created": "新增", "updated": "更新", "unchanged": "不变"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (section, ref, field; the document itself when
    all are None, e.g. `format`), the spec's English reason and the Chinese one."""

    section: str | None
    ref: str | None
    field: str | None
    reason: str
    zh: str

    @property
    def path(self) -> str:
        return " ".join(p for p in (self.section, self.ref, self.field) if p)

    @property
    def line(self) -> str:
        """The spec's error line: `enterprises E-07 uscc: check character should be X`."""
        return f"{self.path}: {self.reason}"

    @property
    def line_zh(self) -> str:
        """The same path, the reason in Chinese (`matchmaker import --lang zh`)."""
        return f"{self.path}: {self.zh}"

    @property
    def where_zh(self) -> str:
        """Where a person finds it: 融资需求 N-01「贷款类型（loan_kind）」."""
        if self.section in SECTIONS:
            place = SECTION_LABELS[self.section] + (f" {self.ref}" if self.ref else "数据段")
            return place + (f"「{schema.field_label(self.section, self.field)}」"
                            if self.field else "")
        return DOCUMENT_PLACES.get(self.field, f"“{self.field}”") if self.field else "文件"

    @property
    def message(self) -> str:
        """The Chinese line the upload page shows."""
        return f"{self.where_zh}：{self.zh}"


DOCUMENT_PLACES = {"document": "文件", "format": "文件格式（format）",
                   "consent_basis": "授权依据"}


def document_problem(where: str, reason: str, zh: str) -> Problem:
    return Problem(None, None, where, reason, zh)


def _as_problem(item) -> Problem:
    # a plain "where: reason" line (the seeds' users file): the same text both ways
    if isinstance(item, Problem):
        return item
    where, _, reason = str(item).partition(": ")
    return Problem(None, None, where, reason, reason)


class ImportRejected(Exception):
    """The document is invalid: `problems` holds every Problem, `errors` their spec lines."""

    def __init__(self, problems: list):
        self.problems = [_as_problem(p) for p in problems]
        super().__init__(f"{len(self.problems)} error(s) in the exchange document")

    @property
    def errors(self) -> list[str]:
        return [p.line for p in self.problems]


@dataclass
class Change:
    """What an import does (or would do) to one record."""

    section: str
    ref: str
    action: str  # created | updated | unchanged
    fields: list[str] = field(default_factory=list)  # the fields an update changes
    values: dict = field(default_factory=dict, repr=False)
    obj: object = field(default=None, repr=False)  # the stored row, None when created


@dataclass
class ImportReport:
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """The spec's error lines (the command line prints them)."""
        return [p.line for p in self.problems]

    @property
    def messages(self) -> list[str]:
        """The same problems in Chinese (the upload page shows them)."""
        return [p.message for p in self.problems]

    @property
    def consents(self) -> list[Change]:
        """Needs whose consent_to_share this import turns on: consents recorded on the
        enterprises' behalf, which need a stated basis."""
        return [c for c in self.changes if c.section == "needs" and c.values.get(
            "consent_to_share") and (c.action == "created" or "consent_to_share" in c.fields)]

    @property
    def renamed(self) -> list[Change]:
        """Enterprises stored under another company's name (names.same_company) than the one
        the file gives for their ref: the preview shows both (a mistyped USCC or ref, or a
        firm someone registered under a name that is not its own)."""
        return [c for c in self.of("enterprises", "updated") if "name" in c.fields
                and not same_company(c.values.get("name"), c.obj.name)]

    def of(self, section: str, action: str) -> list[Change]:
        return [c for c in self.changes if c.section == section and c.action == action]

    def counts(self) -> dict[str, dict[str, int]]:
        return {s: {a: len(self.of(s, a)) for a in ACTIONS} for s in SECTIONS}

    @property
    def changed(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def summary(self) -> str:
        return "; ".join(f"{s}: " + ", ".join(f"{n} {a}" for a, n in counts.items())
                         for s, counts in self.counts().items())

    def summary_zh(self) -> str:
        return "；".join(
            f"{SECTION_LABELS[s]} " + " ".join(f"{ACTION_LABELS[a]}{n}" for a, n in c.items())
            for s, c in self.counts().items())


# --- reading a document -------------------------------------------------------------------

class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs):
    # json.loads keeps the last of two equal keys: a silently dropped value
    keys = [k for k, _ in pairs]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise _DuplicateKey(key)
    return dict(pairs)


MAX_DEPTH = 16  # a document nests 4 deep (document, section, record, a list of codes)
DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # a city's 100,000 needs with their firms are ~100 MB


def max_document_bytes() -> int:
    if not has_app_context():
        return DEFAULT_MAX_BYTES
    return int(current_app.config.get("EXCHANGE_MAX_BYTES", DEFAULT_MAX_BYTES))


def too_large(size: int) -> ImportRejected:
    limit = max_document_bytes() / 2**20
    return ImportRejected([document_problem(
        "format", f"document is {size / 2**20:.1f} MB, over the {limit:.0f} MB limit "
                  "(split it by section or by district)",
        f"文件大小 {size / 2**20:.1f} MB，超过 {limit:.0f} MB 的上限（请按数据段或区县拆分）")])


def load_document(raw: bytes | str) -> dict:
    """Parse a file's bytes; ImportRejected (a `document:` or `format:` line) when it is not
    UTF-8 JSON, or is larger or nested deeper than a matchmaker-exchange/1 document can be."""
    if len(raw) > max_document_bytes():
        raise too_large(len(raw))
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise ImportRejected([document_problem("document", "not UTF-8 text",
                                               "不是 UTF-8 编码的文本文件")]) from None
    too_deep = ImportRejected([document_problem(
        "format", f"nested deeper than {MAX_DEPTH} levels (a {FORMAT} document nests 4: "
                  "document, section, record, a list of codes)",
        f"嵌套超过 {MAX_DEPTH} 层（{FORMAT} 文件只有 4 层：文件、数据段、记录、代码列表）")])
    try:
        doc = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except RecursionError:  # the C parser nests by recursion: a deep document must not crash
        raise too_deep from None
    except _DuplicateKey as err:
        raise ImportRejected([document_problem(
            "document", f"duplicate key '{err}' in one object",
            f"同一个对象中键“{err}”出现了两次")]) from None
    except json.JSONDecodeError as err:
        raise ImportRejected([document_problem(
            "document", f"not valid JSON ({err.msg}, line {err.lineno} column {err.colno})",
            f"不是有效的 JSON（第 {err.lineno} 行第 {err.colno} 列：{err.msg}）")]) from None
    if _deeper_than(doc, MAX_DEPTH):
        raise too_deep
    return doc


def _deeper_than(doc, limit: int) -> bool:
    """Without recursion: whatever nests deeper is refused before anything walks it."""
    level = [doc]
    for _ in range(limit):
        level = [child for value in level if isinstance(value, dict | list)
                 for child in (value.values() if isinstance(value, dict) else value)]
        if not level:
            return False
    return any(isinstance(value, dict | list) for value in level)


# --- validation and planning --------------------------------------------------------------

@dataclass
class _Plan:
    report: ImportReport
    stored: dict  # section -> {ref: row}, every stored row the document names
    seen: dict = field(default_factory=lambda: {s: {} for s in SECTIONS})  # ref -> values|None
    usccs: dict = field(default_factory=dict)  # uscc -> first ref in the file
    file_usccs: dict = field(default_factory=dict)  # ref -> uscc as the file sets it
    stored_usccs: dict = field(default_factory=dict)  # uscc -> stored enterprise


def _plan(doc) -> _Plan:
    if not isinstance(doc, dict):
        return _Plan(ImportReport(problems=[document_problem(
            "document", "must be a JSON object", "应为一个 JSON 对象（{…}）")]), {})
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(document_problem("format", f'must be "{FORMAT}"',
                                         f"应为 \"{FORMAT}\"（文件开头的 format 字段）"))
    problems += [document_problem(key, "unknown section",
                                  "无法识别的数据段（只能是 institutions、products、"
                                  "enterprises、needs）")
                 for key in doc if key not in ("format", *SECTIONS)]
    sections = {}
    for section in SECTIONS:
        records = doc.get(section, [])
        if not isinstance(records, list):
            problems.append(Problem(section, None, None, "must be a list", "应为列表（[…]）"))
            records = []
        sections[section] = records
    plan = _Plan(ImportReport(problems=problems), _load_stored(sections))
    _index_usccs(plan, sections["enterprises"])
    for section in SECTIONS:  # in order: a reference always points to an earlier section
        for index, raw in enumerate(sections[section], 1):
            _plan_record(plan, section, index, raw)
    return plan


def _text_values(records, name) -> set[str]:
    return {r[name] for r in records if isinstance(r, dict) and isinstance(r.get(name), str)}


def _load_stored(sections: dict) -> dict:
    refs = {s: _text_values(sections[s], "ref") for s in SECTIONS}
    refs["institutions"] |= _text_values(sections["products"], "institution_ref")
    refs["institutions"] |= _text_values(sections["needs"], "current_lender_ref")
    refs["enterprises"] |= _text_values(sections["needs"], "enterprise_ref")
    return {s: {row.ref: row for row in _rows_where(MODELS[s].ref, refs[s])} for s in SECTIONS}


def _rows_where(column, values, chunk: int = 500) -> list:
    """Rows whose column is one of values, in chunks (SQLite caps bound parameters)."""
    values, rows = sorted(values), []
    for start in range(0, len(values), chunk):
        model = column.class_
        rows += db.session.scalars(
            select(model).where(column.in_(values[start:start + chunk]))).all()
    return rows


def _index_usccs(plan: _Plan, enterprises: list) -> None:
    for raw in enterprises:
        if isinstance(raw, dict) and isinstance(raw.get("ref"), str) \
                and isinstance(raw.get("uscc"), str):
            plan.file_usccs.setdefault(raw["ref"], uscc_rules.normalize(raw["uscc"]))
    plan.stored_usccs = {e.uscc: e for e in _rows_where(Enterprise.uscc,
                                                        set(plan.file_usccs.values()))}


def _plan_record(plan: _Plan, section: str, index: int, raw) -> None:
    ref = raw.get("ref") if isinstance(raw, dict) else None
    label = ref if isinstance(ref, str) and ref.strip() else f"#{index}"
    if not isinstance(raw, dict):
        plan.report.problems.append(Problem(section, label, None, "must be an object",
                                            "每条记录应为一个 JSON 对象（{…}）"))
        return
    values, problems = schema.clean(section, raw)
    stored = plan.stored[section].get(label)
    if stored is not None and not problems:
        _keep_recorded_funding(section, values, stored)
    if label in plan.seen[section]:
        problems.append(("ref", "duplicate ref in this file", "编号在本文件中重复"))
    # checks across records run on the fields that are valid on their own
    problems += CROSS_CHECKS[section](plan, label, values, {name for name, _, _ in problems})
    plan.report.problems += [Problem(section, label, name, reason, zh)
                             for name, reason, zh in problems]
    if label != f"#{index}":
        plan.seen[section].setdefault(label, None if problems else values)
    if not problems:
        plan.report.changes.append(_change(plan, section, label, values))


def _known(plan: _Plan, section: str, ref: str) -> bool:
    return ref in plan.seen[section] or ref in plan.stored[section]


RETIRED = (("the product is retired on the platform and cannot be reactivated; send it under "
            "a new ref"),
           "该产品已在平台下架，不能重新上架；请以新的编号发送")
NOUNS_ZH = {"institution": "金融机构", "enterprise": "企业"}


def _unknown(noun: str, ref: str) -> tuple[str, str]:
    return (f"unknown {noun} '{ref}' (not in this file nor on the platform)",
            f"本文件和平台上都没有编号为“{ref}”的{NOUNS_ZH[noun]}")


def _check_product(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple]:
    problems = []
    if "institution_ref" not in bad and not _known(plan, "institutions",
                                                   values["institution_ref"]):
        problems.append(("institution_ref", *_unknown("institution", values["institution_ref"])))
    stored = plan.stored["products"].get(ref)
    if stored is not None and stored.status == "retired" and values.get("active"):
        # retired is final on the platform (institutions.permissions.TRANSITIONS)
        problems.append(("active", *RETIRED))
    return problems


def _check_enterprise(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple]:
    return _size_problems(values, bad) + _uscc_problems(plan, ref, values, bad)


def _size_problems(values: dict, bad: set) -> list[tuple]:
    """No size given: the platform derives it by the sector's 300号 rule, which must have
    every figure it reads (建筑业, 房地产开发经营, 租赁和商务服务业 read assets_wan)."""
    if values.get("size") is not None or bad & {"size", "industry", "employees",
                                                "revenue_wan", "assets_wan"}:
        return []
    missing = sizes.missing_measures(values["industry"], values)
    if not missing:
        return []
    sector = sizes.sector_of(values["industry"])
    named = " and ".join(missing)
    reason = (f"required: the 300号 size rule of {sector.label} ({sector.code}, industry "
              f"{values['industry']}) reads {named}; give {named} or size")
    named_zh = "和".join(f"{schema.FIELD_LABELS['enterprises'][m]}（{m}）" for m in missing)
    zh = (f"必填：行业 {values['industry']} 属于{sector.label}，按工信部联企业〔2011〕300号须用"
          f"{named_zh}划分规模；请填写{named_zh}，或直接填写企业规模（size）")
    return [("size", reason, zh)]


def _uscc_problems(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple]:
    if "uscc" in bad:
        return []
    code = values["uscc"]
    first = plan.usccs.setdefault(code, ref)
    if first != ref:
        return [("uscc", f"already used by enterprise {first} in this file",
                 f"与本文件中的企业 {first} 重复")]
    holder = plan.stored_usccs.get(code)
    # a stored holder that this file moves to another code frees this one
    if holder is not None and holder.ref != ref and plan.file_usccs.get(
            holder.ref, holder.uscc) == code:
        return [("uscc", f"already used by enterprise {holder.ref}",
                 f"已被平台上的企业 {holder.ref} 使用" + _named(holder, values))]
    return []


def _named(holder: Enterprise, values: dict) -> str:
    """Both names, when the stored holder of a USCC is another company by its name."""
    if "name" in values and not same_company(values["name"], holder.name):
        return f"（平台登记名称“{holder.name}”，文件中为“{values['name']}”）"
    return ""


def _check_need(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple]:
    problems = []
    enterprise_ref, lender_ref = values.get("enterprise_ref"), values.get("current_lender_ref")
    if "enterprise_ref" not in bad and not _known(plan, "enterprises", enterprise_ref):
        problems.append(("enterprise_ref", *_unknown("enterprise", enterprise_ref)))
    if "current_lender_ref" not in bad and lender_ref is not None \
            and not _known(plan, "institutions", lender_ref):
        problems.append(("current_lender_ref", *_unknown("institution", lender_ref)))
    has_loan = None if "enterprise_ref" in bad else _has_bank_loan(plan, enterprise_ref)
    if has_loan is None or "loan_kind" in bad:
        return problems
    kind = values["loan_kind"]
    if kind is None:  # the spec's default
        values["loan_kind"] = "new" if has_loan else "first_loan"
    elif kind == "first_loan" and has_loan and values.get("funded_on") is None:
        # with funded_on, the first loan it brought is why the enterprise now has one
        reason = (f"first_loan is not possible: enterprise {enterprise_ref} has a bank loan"
                  " (has_bank_loan true)")
        zh = (f"企业 {enterprise_ref} 已有银行贷款（has_bank_loan 为 true），不能是首贷"
              "（first_loan）；首贷已放款的，请填写放款日期（funded_on）")
        problems.append(("loan_kind", reason, zh))
    elif kind == "renewal" and not has_loan:
        reason = (f"renewal is not possible: enterprise {enterprise_ref} has no bank loan"
                  " (has_bank_loan false)")
        zh = (f"企业 {enterprise_ref} 没有银行贷款（has_bank_loan 为 false），不能是续贷"
              "（renewal）")
        problems.append(("loan_kind", reason, zh))
    return problems


def _has_bank_loan(plan: _Plan, enterprise_ref: str) -> bool | None:
    """As the enterprise will be after this import; None when unknown (its record is invalid
    or missing, which is reported on its own)."""
    if enterprise_ref in plan.seen["enterprises"]:
        values = plan.seen["enterprises"][enterprise_ref]
        return None if values is None else values["has_bank_loan"]
    stored = plan.stored["enterprises"].get(enterprise_ref)
    return None if stored is None else stored.has_bank_loan


CROSS_CHECKS = {"institutions": lambda *args: [], "products": _check_product,
                "enterprises": _check_enterprise, "needs": _check_need}


def _change(plan: _Plan, section: str, ref: str, values: dict) -> Change:
    stored = plan.stored[section].get(ref)
    if section == "needs" and values["created"] is None:
        # default: the import day, for a new need only (a re-import must not move it)
        values["created"] = stored.created if stored is not None else clock.china_today()
    if stored is None:
        return Change(section, ref, "created", list(FIELDS[section]), values)
    current, _ = schema.clean(section, RECORDS[section](stored))
    fields = [name for name in FIELDS[section] if values[name] != current.get(name)]
    return Change(section, ref, "updated" if fields else "unchanged", fields, values, stored)


def _keep_recorded_funding(section: str, values: dict, stored) -> None:
    """A file that does not say a need was funded does not undo a funding the platform
    recorded (a re-run `matchmaker seed`, an older export): funded_on stays, and so does the
    bank loan the funding gave the enterprise. A file that states a funding still wins."""
    if section == "needs" and values.get("funded_on") is None and stored.funded_on is not None:
        values["funded_on"] = stored.funded_on
    elif (section == "enterprises" and stored.has_bank_loan and not values.get("has_bank_loan")
          and any(n.funded_on is not None for n in stored.needs)):
        values["has_bank_loan"] = True


# --- writing ------------------------------------------------------------------------------

class _ExchangeSubject:
    """audit.record() names its subject by table; an import or export has no row of its own."""

    __tablename__ = "exchange"
    id = None


def preview_document(doc) -> ImportReport:
    """What import_document would create, update and leave unchanged, and every error.
    Reads only: nothing is written."""
    return _plan(doc).report


def import_document(doc, consent_basis: str | None = None, *,
                    basis_required: bool = False) -> ImportReport:
    """The platform's own import (`matchmaker import`, the seeds): see import_for. The
    command line requires the basis of the consents a file records (`basis_required`); the
    seeds state theirs; other callers of the platform's own (tests, benchmarks) may leave it
    out, and such consents then name no basis."""
    return _import(doc, None, consent_basis, basis_required)


@guarded(can_exchange_data, system=True, message="只有平台管理员可以导入数据")
def import_for(actor, doc, consent_basis: str | None = None) -> ImportReport:
    """Validate everything; raise ImportRejected (having written nothing) or upsert by ref.
    Unchanged records are not touched: no updated_at, no version, no audit row. A file that
    turns on needs' consent_to_share records consents on the enterprises' behalf: the
    administrator states its basis (e.g. the signed forms' reference), else nothing is written."""
    return _import(doc, actor, consent_basis, True)


def consent_basis_problem(report: ImportReport, basis: str | None) -> Problem | None:
    """A document-level problem when the import records consents without a usable basis."""
    count = len(report.consents)
    problem = on_behalf.basis_problem(basis) if count else None
    if problem is None:
        return None
    return document_problem(
        "consent_basis",
        f"{count} need(s) set consent_to_share on their enterprises' behalf: state the basis "
        f"of that consent (e.g. the signed forms' reference; --consent-basis TEXT, at most "
        f"{on_behalf.BASIS_MAX} characters)",
        f"文件中有 {count} 条融资需求同意向金融机构展示（consent_to_share 为 true），即代企业"
        f"登记授权：{problem}")


def _import(doc, actor, consent_basis: str | None, basis_required: bool) -> ImportReport:
    plan = _plan(doc)
    report = plan.report
    if not report.problems and basis_required:
        missing = consent_basis_problem(report, consent_basis)
        report.problems += [missing] if missing else []
    if report.problems:
        log.info("exchange import rejected: %d error(s)", len(report.problems))
        raise ImportRejected(report.problems)
    from ..matching.service import everything_after

    with everything_after(actor) if report.changed else nullcontext():
        _write_all(plan, report, actor)
        _record_consents(report, actor, consent_basis)
    log.info("exchange import: %s", report.counts())
    return report


def _record_consents(report: ImportReport, actor, basis: str | None) -> None:
    """The needs whose consent_to_share this import turned on name its basis and recorder,
    and their enterprises are told (before any consent is granted: the recompute runs after)."""
    if not report.consents or not (basis or "").strip():
        return
    refs = [c.ref for c in report.consents]
    ids = [i for chunk in range(0, len(refs), 500) for i in db.session.scalars(
        select(Need.id).where(Need.ref.in_(refs[chunk:chunk + 500])))]
    on_behalf.record_on_behalf(actor, ids, basis, "import")


def _write_all(plan: _Plan, report: ImportReport, actor) -> None:
    found = {s: dict(plan.stored[s]) for s in SECTIONS}  # ref -> row, for the ORM writers
    ids = {s: {ref: row.id for ref, row in plan.stored[s].items()} for s in SECTIONS}
    for section in SECTIONS:
        changes = [c for c in report.changes if c.section == section and c.action != "unchanged"]
        # new records in bulk (bulk.py); updates one by one: they compare and version rows
        created = [c for c in changes if c.action == "created" and section in bulk.MODELS]
        one_by_one = [c for c in changes if not (c.action == "created" and section in bulk.MODELS)]
        for change in one_by_one:
            change.obj = WRITERS[section](change, _Found(found, ids))
            found[section][change.ref] = change.obj
        db.session.flush()
        for change in one_by_one:
            ids[section][change.ref] = change.obj.id
            _audit_change(change, actor)
        if created:
            ids[section].update(bulk.insert_created(section, created, ids, actor))
    if sum(c.action == "created" for c in report.changes) > BULK:
        refresh_statistics(*(MODELS[s].__tablename__ for s in SECTIONS))
    if report.changed:
        # an import may change any product or need: one job recomputes every need at the end
        # (its parts run in parallel on the workers); until then they show "正在更新"
        record(actor, "exchange.imported", _ExchangeSubject(), **report.counts())


@dataclass
class _Found:
    """The rows a record refers to: ORM rows when loaded or written here, else by id (a
    record written in bulk has no ORM object)."""

    rows: dict
    ids: dict

    def __call__(self, section: str, ref: str):
        row = self.rows[section].get(ref)
        return row if row is not None else db.session.get(MODELS[section], self.ids[section][ref])


def _assign(obj, values: dict, fields: list[str], renamed: dict | None = None) -> None:
    for name in fields:
        if name != "ref":
            setattr(obj, (renamed or {}).get(name, name), values[name])


def _write_institution(change: Change, found: "_Found") -> Institution:
    institution = change.obj or Institution(ref=change.ref)
    _assign(institution, change.values, change.fields)
    db.session.add(institution)
    return institution


def _write_product(change: Change, found: "_Found") -> Product:
    values = change.values
    product = change.obj or Product(ref=change.ref, status="paused", version=0)
    product.institution = found("institutions", values["institution_ref"])
    _assign(product, values, [f for f in change.fields if f not in ("institution_ref", "active")])
    if {"rate_min", "rate_max"} & set(change.fields):
        # the file's rates are plain numbers: an LPR spread entered on the platform is replaced
        product.rate_basis, product.spread_min_bp, product.spread_max_bp = "fixed", None, None
    db.session.add(product)
    return product


def _write_enterprise(change: Change, found: "_Found") -> Enterprise:
    enterprise = change.obj or Enterprise(ref=change.ref)
    _assign(enterprise, change.values, change.fields, {"size": "declared_size"})
    db.session.add(enterprise)
    return enterprise


def _write_need(change: Change, found: "_Found") -> Need:
    values = change.values
    need = change.obj or Need(ref=change.ref,
                              status="funded" if values.get("funded_on") else "published")
    need.enterprise = found("enterprises", values["enterprise_ref"])
    lender = values["current_lender_ref"]
    need.current_lender = found("institutions", lender) if lender else None
    _assign(need, values, [f for f in change.fields
                           if f not in ("enterprise_ref", "current_lender_ref")])
    if not need.consent_to_share:  # a consent recorded on the firm's behalf ends with the flag
        need.consent_basis = need.consent_recorded_by_id = need.consent_recorded_at = None
    db.session.add(need)
    return need


WRITERS = {"institutions": _write_institution, "products": _write_product,
           "enterprises": _write_enterprise, "needs": _write_need}


def _audit_change(change: Change, actor) -> None:
    details = {"via": "import"}
    if change.section != "enterprises":  # a registered enterprise's ref embeds its USCC
        details["ref"] = change.ref
    if change.action == "updated":
        details["fields"] = change.fields
    record(actor, f"{NOUNS[change.section]}.{change.action}", change.obj, **details)
    if change.section == "products":
        # the import is the administrator's: the programmes the file declares are confirmed
        policy_service.confirm_imported(actor, change.obj)
        _settle_product_status(change, actor)


def _settle_product_status(change: Change, actor) -> None:
    """`active` true: published, with a new version whenever the terms changed (or it was
    not published); false: a published product is paused, a draft, paused or never-published
    one keeps its status and its terms."""
    product = change.obj
    if change.values["active"]:
        publish_version(product, actor)  # only changed products get here
    elif product.status == "published":
        product.status = "paused"
        db.session.flush()
        record(actor, "product.paused", product, via="import", ref=change.ref)


# --- export -------------------------------------------------------------------------------

def institution_record(institution: Institution) -> dict:
    return schema.to_exchange("institutions", {
        "ref": institution.ref, "name": institution.name, "kind": institution.kind,
        "districts": institution.districts})


def enterprise_record(enterprise: Enterprise) -> dict:
    values = {name: getattr(enterprise, name) for name in FIELDS["enterprises"] if name != "size"}
    values["size"] = enterprise.declared_size  # a derived size is not data: leave it out
    return schema.to_exchange("enterprises", values)


def need_record(need: Need) -> dict:
    values = {name: getattr(need, name) for name in FIELDS["needs"]
              if name not in ("enterprise_ref", "current_lender_ref")}
    values["enterprise_ref"] = need.enterprise.ref
    values["current_lender_ref"] = need.current_lender.ref if need.current_lender else None
    return schema.to_exchange("needs", values)


RECORDS = {"institutions": institution_record, "products": product_record,
           "enterprises": enterprise_record, "needs": need_record}
EAGER = {"needs": (selectinload(Need.current_lender),)}


def parse_sections(text: str | None) -> tuple[str, ...]:
    """`institutions,products` -> the sections in the format's order; ValueError if unknown."""
    if not text:
        return SECTIONS
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    unknown = wanted - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s): {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(SECTIONS)}")
    return tuple(s for s in SECTIONS if s in wanted)


def export_document(sections=None, progress=None) -> dict:
    """The platform's data as a matchmaker-exchange/1 document: sections in the format's
    order, records sorted by ref (in Python: database collations differ). `progress(pct,
    message)` hears of each section (an export job shows it)."""
    doc = {"format": FORMAT}
    for n, section in enumerate(SECTIONS):
        if sections is None or section in sections:
            if progress is not None:
                progress(10 + 70 * n / len(SECTIONS), f"正在读取{SECTION_LABELS[section]}")
            rows = db.session.scalars(select(MODELS[section]).options(*EAGER.get(section, ())))
            doc[section] = [RECORDS[section](row) for row in sorted(rows, key=lambda r: r.ref)]
    return doc


@guarded(can_exchange_data, message="只有平台管理员可以导出数据")
def export_for(actor, sections=None, progress=None) -> dict:
    """An export that someone takes away (a download): audited, as it carries personal data."""
    doc = export_document(sections, progress)
    record(actor, "exchange.exported", _ExchangeSubject(),
           **{s: len(doc[s]) for s in SECTIONS if s in doc})
    return doc


def dump_document(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


# --- uploads waiting for confirmation -----------------------------------------------------

UPLOAD_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
UPLOAD_MAX_AGE = 24 * 3600  # an unconfirmed upload older than this is deleted


def _upload_dir() -> Path:
    configured = current_app.config.get("EXCHANGE_UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def _upload_path(token: str) -> Path | None:
    if not isinstance(token, str) or not UPLOAD_TOKEN.fullmatch(token):
        return None  # only our own tokens: no path can be smuggled in
    return _upload_dir() / f"{token}.json"


def store_upload(raw: bytes) -> str:
    """Keep an uploaded file until the admin confirms the import; returns its token."""
    directory = _upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.json"):
        if time.time() - old.stat().st_mtime > UPLOAD_MAX_AGE:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]
    _upload_path(token).write_bytes(raw)
    return token


def read_upload(token: str) -> bytes | None:
    path = _upload_path(token)
    return path.read_bytes() if path is not None and path.is_file() else None


def discard_upload(token: str) -> None:
    path = _upload_path(token)
    if path is not None:
        path.unlink(missing_ok=True)
