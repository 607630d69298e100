"""The exchange vocabulary (codes and Chinese labels), loaded once from data/vocabulary.json."""
import json
from functools import cache

from .datafiles import DATA

CODE_LISTS = (
    "purposes", "loan_kinds", "guarantee_modes", "sizes", "enterprise_tags",
    "tax_credit_grades", "institution_kinds", "subsidy_programs", "clusters_33618",
    "decline_reasons",
)


@cache
def _raw() -> dict:
    return json.loads((DATA / "vocabulary.json").read_text(encoding="utf-8"))


@cache
def codes(name: str) -> tuple[str, ...]:
    if name == "districts":
        return tuple(d["name"] for d in _raw()["districts"])
    if name == "industry_divisions":
        return tuple(row["code"] for row in industry_divisions())
    return tuple(entry["code"] for entry in _raw()[name])


@cache
def labels(name: str) -> dict[str, str]:
    if name == "districts":
        return {d["name"]: d["name"] for d in _raw()["districts"]}
    if name == "industry_divisions":
        return {row["code"]: row["name"] for row in industry_divisions()}
    if name == "industries":
        from . import industries
        return {code: e.name for code, e in industries.table().items()}
    return {entry["code"]: entry["label"] for entry in _raw()[name]}


def label(name: str, code: str | None) -> str:
    if code is None:
        return ""
    return labels(name).get(code, code)


def choices(name: str, blank: str | None = None) -> list[tuple[str, str]]:
    items = list(labels(name).items())
    return ([("", blank)] if blank is not None else []) + items


def sql_in(column: str, name: str) -> str:
    """A CHECK expression admitting exactly the vocabulary's codes."""
    quoted = ", ".join("'" + c.replace("'", "''") + "'" for c in codes(name))
    return f"{column} IN ({quoted})"


def sql_in_values(column: str, values) -> str:
    """A CHECK expression admitting exactly these values (states, sources …)."""
    quoted = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


def entries(name: str) -> list[dict]:
    return list(_raw()[name])


def reference_rates() -> dict:
    return dict(_raw()["reference_rates"])


@cache
def _district_aliases() -> dict[str, str]:
    aliases = {}
    for d in _raw()["districts"]:
        aliases[d["name"]] = d["name"]
        if d.get("short"):
            aliases[d["short"]] = d["name"]
    return aliases


def district_name(value: str | None) -> str | None:
    """Full district name for a full or short form (永川 -> 永川区); None when unknown."""
    if value is None:
        return None
    return _district_aliases().get(value.strip())


def industry_divisions() -> tuple[dict, ...]:
    """The 97 GB/T 4754—2017 divisions (大类) of every section, as {code, name}."""
    from . import industries
    return tuple({"code": e.code, "name": e.name} for e in industries.divisions())


def valid_industry(code: str | None, detailed: bool = False) -> bool:
    """A GB/T 4754—2017 code of the table (any section); `detailed`: 2–4 digits, as an
    enterprise's own code must be (a product's prefix may be a section letter)."""
    from . import industries
    return industries.valid(code, detailed)


def size_rule() -> str:
    return _raw()["size_rule"]
