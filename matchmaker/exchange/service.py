"""matchmaker-exchange/1 import and export.

An import validates the whole document first (every invalid record becomes one
`section ref field: reason` line) and writes nothing unless all of it is valid; then it upserts
by ref, leaving unchanged records untouched, so a second import of the same file changes
nothing. Flushes, never commits: the command or view commits once.
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
from ..enterprises.models import Enterprise, Need
from ..extensions import BULK, db, refresh_statistics
from ..guards import guarded
from ..institutions.models import Institution, Product
from ..institutions.service import product_record, publish_version
from ..policy import service as policy_service
from . import bulk, schema
from .permissions import can_exchange_data
from .schema import FIELDS, FORMAT, SECTIONS

log = logging.getLogger(__name__)

MODELS = {"institutions": Institution, "products": Product, "enterprises": Enterprise,
          "needs": Need}
NOUNS = {"institutions": "institution", "products": "product", "enterprises": "enterprise",
         "needs": "need"}
SECTION_LABELS = {"institutions": "金融机构", "products": "金融产品", "enterprises": "企业",
                  "needs": "融资需求"}
ACTIONS = ("created", "updated", "unchanged")
ACTION_LABELS = {"created": "新增", "updated": "更新", "unchanged": "不变"}


class ImportRejected(Exception):
    """The document is invalid; `errors` holds every `section ref field: reason` line."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s) in the exchange document")
        self.errors = list(errors)


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
    errors: list[str] = field(default_factory=list)

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
    limit = max_document_bytes()
    return ImportRejected([(f"format: document is {size / 2**20:.1f} MB, over the "
                           f"{limit / 2**20:.0f} MB limit (split it by section or by district)")])


def load_document(raw: bytes | str) -> dict:
    """Parse a file's bytes; ImportRejected (a `document:` or `format:` line) when it is not
    UTF-8 JSON, or is larger or nested deeper than a matchmaker-exchange/1 document can be."""
    if len(raw) > max_document_bytes():
        raise too_large(len(raw))
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise ImportRejected(["document: not UTF-8 text"]) from None
    too_deep = ImportRejected([(f"format: nested deeper than {MAX_DEPTH} levels (a {FORMAT} "
                               "document nests 4: document, section, record, a list of codes)")])
    try:
        doc = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except RecursionError:  # the C parser nests by recursion: a deep document must not crash
        raise too_deep from None
    except _DuplicateKey as err:
        raise ImportRejected([f"document: duplicate key '{err}' in one object"]) from None
    except json.JSONDecodeError as err:
        raise ImportRejected(
            [f"document: not valid JSON ({err.msg}, line {err.lineno} column {err.colno})"]
        ) from None
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
        return _Plan(ImportReport(errors=["document: must be a JSON object"]), {})
    errors = []
    if doc.get("format") != FORMAT:
        errors.append(f'format: must be "{FORMAT}"')
    errors += [f"{key}: unknown section" for key in doc if key not in ("format", *SECTIONS)]
    sections = {}
    for section in SECTIONS:
        records = doc.get(section, [])
        if not isinstance(records, list):
            errors.append(f"{section}: must be a list")
            records = []
        sections[section] = records
    plan = _Plan(ImportReport(errors=errors), _load_stored(sections))
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
        plan.report.errors.append(f"{section} {label}: must be an object")
        return
    values, problems = schema.clean(section, raw)
    if label in plan.seen[section]:
        problems.append(("ref", "duplicate ref in this file"))
    # checks across records run on the fields that are valid on their own
    problems += CROSS_CHECKS[section](plan, label, values, {name for name, _ in problems})
    plan.report.errors += [f"{section} {label} {name}: {reason}" for name, reason in problems]
    if label != f"#{index}":
        plan.seen[section].setdefault(label, None if problems else values)
    if not problems:
        plan.report.changes.append(_change(plan, section, label, values))


def _known(plan: _Plan, section: str, ref: str) -> bool:
    return ref in plan.seen[section] or ref in plan.stored[section]


RETIRED = ("the product is retired on the platform and cannot be reactivated; "
           "send it under a new ref")


def _unknown(noun: str, ref: str) -> str:
    return f"unknown {noun} '{ref}' (not in this file nor on the platform)"


def _check_product(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple[str, str]]:
    problems = []
    if "institution_ref" not in bad and not _known(plan, "institutions",
                                                   values["institution_ref"]):
        problems.append(("institution_ref", _unknown("institution", values["institution_ref"])))
    stored = plan.stored["products"].get(ref)
    if stored is not None and stored.status == "retired" and values.get("active"):
        # retired is final on the platform (institutions.permissions.TRANSITIONS)
        problems.append(("active", RETIRED))
    return problems


def _check_enterprise(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple[str, str]]:
    return _size_problems(values, bad) + _uscc_problems(plan, ref, values, bad)


def _size_problems(values: dict, bad: set) -> list[tuple[str, str]]:
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
    return [("size", reason)]


def _uscc_problems(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple[str, str]]:
    if "uscc" in bad:
        return []
    code = values["uscc"]
    first = plan.usccs.setdefault(code, ref)
    if first != ref:
        return [("uscc", f"already used by enterprise {first} in this file")]
    holder = plan.stored_usccs.get(code)
    # a stored holder that this file moves to another code frees this one
    if holder is not None and holder.ref != ref and plan.file_usccs.get(
            holder.ref, holder.uscc) == code:
        return [("uscc", f"already used by enterprise {holder.ref}")]
    return []


def _check_need(plan: _Plan, ref: str, values: dict, bad: set) -> list[tuple[str, str]]:
    problems = []
    enterprise_ref, lender_ref = values.get("enterprise_ref"), values.get("current_lender_ref")
    if "enterprise_ref" not in bad and not _known(plan, "enterprises", enterprise_ref):
        problems.append(("enterprise_ref", _unknown("enterprise", enterprise_ref)))
    if "current_lender_ref" not in bad and lender_ref is not None \
            and not _known(plan, "institutions", lender_ref):
        problems.append(("current_lender_ref", _unknown("institution", lender_ref)))
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
        problems.append(("loan_kind", reason))
    elif kind == "renewal" and not has_loan:
        reason = (f"renewal is not possible: enterprise {enterprise_ref} has no bank loan"
                  " (has_bank_loan false)")
        problems.append(("loan_kind", reason))
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


# --- writing ------------------------------------------------------------------------------

class _ExchangeSubject:
    """audit.record() names its subject by table; an import or export has no row of its own."""

    __tablename__ = "exchange"
    id = None


def preview_document(doc) -> ImportReport:
    """What import_document would create, update and leave unchanged, and every error.
    Reads only: nothing is written."""
    return _plan(doc).report


def import_document(doc) -> ImportReport:
    """The platform's own import (`matchmaker import`, the seeds): see import_for."""
    return _import(doc, None)


@guarded(can_exchange_data, system=True, message="只有平台管理员可以导入数据")
def import_for(actor, doc) -> ImportReport:
    """Validate everything; raise ImportRejected (having written nothing) or upsert by ref.
    Unchanged records are not touched: no updated_at, no version, no audit row."""
    return _import(doc, actor)


def _import(doc, actor) -> ImportReport:
    plan = _plan(doc)
    report = plan.report
    if report.errors:
        log.info("exchange import rejected: %d error(s)", len(report.errors))
        raise ImportRejected(report.errors)
    from ..matching.service import everything_after

    with everything_after(actor) if report.changed else nullcontext():
        _write_all(plan, report, actor)
    log.info("exchange import: %s", report.counts())
    return report


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
