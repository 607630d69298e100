"""A district's whitelist spreadsheet: the needs template of enterprises/spreadsheet.py (same
columns, same drop-downs, same checks, same all-or-nothing commit), plus the whitelist's own
rules on top; every row's need becomes an entry of the batch.

The template's "同意向金融机构展示" column is read as the enterprise's consent to be PUSHED
by the whitelist (the programme's application form), not as the exchange format's
consent_to_share: written as such, the importer would share the new need with every matching
institution at once — exactly the flood the allocation exists to prevent. So the column
sets the entry's consent, and the needs are written with consent_to_share off. Either way the
organizer records it on the firm's behalf: a 是 names its basis in 同意依据, refused beside
the column otherwise (the needs importer's own check), and the entry keeps basis and recorder.
"""
import copy
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..audit.service import record
from ..enterprises import spreadsheet
from ..enterprises.models import Enterprise, Need
from ..errors import ServiceError
from ..extensions import db
from ..guards import guarded
from . import rules, service
from .models import Whitelist
from .permissions import can_edit_whitelist

CONSENT_KEY = "consent_to_share"


@dataclass
class ImportPlan:
    preview: spreadsheet.Preview
    extra_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    consents: dict[int, bool] = field(default_factory=dict)  # row -> consent to be pushed
    bases: dict[int, str | None] = field(default_factory=dict)  # row -> its 同意依据

    @property
    def errors(self) -> list[str]:
        return self.preview.errors + self.extra_errors

    @property
    def ok(self) -> bool:
        return not self.errors and not self.preview.pending_choices

    @property
    def entry_count(self) -> int:
        return sum(1 for p in self.preview.plans if p.need_values is not None and not p.errors)


def plan_import(actor, whitelist: Whitelist, rows: list[dict],
                choices: dict[int, str] | None = None) -> ImportPlan:
    """The enterprises importer's preview, and the whitelist's rules for each row."""
    preview = spreadsheet.plan_rows(actor, rows, choices)
    plan = ImportPlan(preview)
    existing = {p.row: p.existing for p in preview.plans if p.existing is not None}
    flags = rules.live_flags([e.id for e in existing.values()])
    seen: dict[str, int] = {}
    for row in preview.plans:
        _check_row(whitelist, plan, row, flags, seen)
    return plan


def _check_row(whitelist: Whitelist, plan: ImportPlan, row, flags, seen: dict) -> None:
    where = f"第{row.row}行"
    if row.need_values is None:
        plan.extra_errors.append(f"{where}：白名单每行须填写一笔融资需求（融资用途、金额、期限等）")
        return
    plan.consents[row.row] = bool(row.need_values.get(CONSENT_KEY))
    plan.bases[row.row] = row.consent_basis
    district = row.enterprise_values.get("district")
    if whitelist.owner_district and district and district != whitelist.owner_district:
        plan.extra_errors.append(f"{where}「所在区县」：本批白名单属于{whitelist.owner_district}，"
                                 "只能列入该区县的企业")
    if whitelist.kind == "key_projects" and not (row.need_values.get("description") or "").strip():
        plan.extra_errors.append(f"{where}「需求说明」：重点项目白名单请填写项目名称和内容")
    if not plan.consents[row.row]:
        plan.warnings.append(f"{where}：企业未同意推送，将列入名单但不会推送给金融机构")
    if row.existing is not None and row.existing.id in flags:
        plan.warnings.append(f"{where}：企业已标记为困难企业，将列入名单但不会推送")
    if row.uscc in seen:
        plan.warnings.append(f"{where}：与第{seen[row.uscc]}行为同一企业，本批将有两条需求")
    elif row.uscc:
        seen[row.uscc] = row.row


def _without_share_consent(rows: list[dict]) -> list[dict]:
    stripped = copy.deepcopy(rows)
    for row in stripped:
        row["cells"][CONSENT_KEY] = None
        row["cells"]["consent_basis"] = None
    return stripped


@guarded(can_edit_whitelist, "whitelist", message=service.EDITING)
def commit_import(actor, whitelist: Whitelist, rows: list[dict], choices: dict[int, str],
                  recommender: str) -> list:
    """Write the enterprises and needs (the enterprises importer, all or nothing) and list
    every row's need on the batch. SpreadsheetRejected: nothing may be kept (the caller rolls
    back)."""
    if not (recommender or "").strip():
        raise spreadsheet.SpreadsheetRejected(["请填写推荐单位"])
    plan = plan_import(actor, whitelist, rows, choices)
    if not plan.ok:
        raise spreadsheet.SpreadsheetRejected(plan.errors or ["请为名称相近的企业选择合并或新建"])
    first_new = (db.session.scalar(select(func.max(Need.id))) or 0) + 1
    preview = spreadsheet.commit_rows(actor, _without_share_consent(rows), choices)
    # commit_rows creates the rows' needs one by one, in row order, inside this transaction:
    # the needs with ids from first_new on are exactly the rows' needs, in the same order
    needs = list(db.session.scalars(select(Need).where(Need.id >= first_new)
                                    .order_by(Need.id)))
    planned = [p for p in preview.plans if p.need_values is not None]
    if len(needs) != len(planned) or any(
            not _same_enterprise(p, n.enterprise) for p, n in zip(planned, needs)):
        raise spreadsheet.SpreadsheetRejected(["导入时数据发生变化，请重新上传"])
    entries = []
    for row, need in zip(planned, needs):
        try:
            entries.append(service.add_entry(
                actor, whitelist, need, recommender=recommender,
                consent=plan.consents.get(row.row, False),
                consent_basis=plan.bases.get(row.row), source="spreadsheet",
                project_name=_project_name(whitelist, need)))
        except ServiceError as err:
            raise spreadsheet.SpreadsheetRejected([f"第{row.row}行：{err.message}"]) from None
    record(actor, "whitelist.imported", whitelist, rows=len(rows), entries=len(entries))
    return entries


def _project_name(whitelist: Whitelist, need: Need) -> str | None:
    """A key project is named by its description's first line (the template has no
    project-name column: it is the needs template, unchanged)."""
    if whitelist.kind != "key_projects":
        return None
    first_line = (need.description or "").strip().splitlines()[0:1]
    return first_line[0][:128] if first_line else None


def _same_enterprise(row, enterprise: Enterprise) -> bool:
    if row.existing is not None:
        return row.existing.id == enterprise.id
    if (row.choice or "").startswith("merge:"):
        return int(row.choice.removeprefix("merge:")) == enterprise.id
    return row.uscc == enterprise.uscc
