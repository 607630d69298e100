"""GB/T 4754—2017 《国民经济行业分类》: every code, its names, and finding a class as people type.

The table (data/gb4754_2017.csv, 20 sections, 97 divisions, 473 groups, 1,381 classes; see
its sources in shared/reference/README.md) is loaded once. Codes are written as the exchange
format writes them: section letter + 2, 3 or 4 digits (C36, C367, C3670, I6513).

`search()` serves the industry picker: an enterprise finds its 4-digit class by code ("3670",
"C3670"), by any part of its Chinese name ("汽车零部件"), by pinyin initials ("qclbj") or full
pinyin, and survives a typo. Pure: no database.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache

from .datafiles import DATA
from .textsearch import name_keys, name_score

LEVELS = {1: "门类", 2: "大类", 3: "中类", 4: "小类"}
# a code as typed: optional section letter, then up to 4 digits
_CODE_QUERY = re.compile(r"([A-Ta-t])?\s*(\d{1,4})|([A-Ta-t])")
NAME_CUTOFF = 80      # name_score below this is not shown (a loose typo match)


@dataclass(frozen=True, slots=True)
class Industry:
    code: str
    level: int
    name: str
    section: str
    parent: str | None

    @property
    def digits(self) -> str:
        return self.code[1:]


@cache
def table() -> dict[str, Industry]:
    with (DATA / "gb4754_2017.csv").open(encoding="utf-8") as fh:
        rows = [Industry(r["code"], int(r["level"]), r["name"], r["section"],
                         r["parent"] or None) for r in csv.DictReader(fh)]
    return {row.code: row for row in rows}


def get(code: str | None) -> Industry | None:
    return table().get(code or "")


def valid(code: str | None, detailed: bool = False) -> bool:
    """A code of the table; `detailed`: an enterprise's own code, a division or finer (the
    exchange format: letter + 2, 3 or 4 digits), never a section letter alone."""
    entry = get(code)
    return entry is not None and (not detailed or entry.level >= 2)


def name(code: str | None) -> str:
    entry = get(code)
    return entry.name if entry else (code or "")


@cache
def _by_digits() -> dict[str, str]:
    # division numbers 01–97 are unique across sections, so "3670" names exactly C3670
    return {e.digits: e.code for e in table().values() if e.level >= 2}


def normalize(text: str | None) -> str | None:
    """The table's code for what a person typed or pasted: "c3670", "3670", "C3670 汽车…"
    -> "C3670"; None when it names no division, group or class."""
    token = (text or "").strip().split(" ")[0].split("\u3000")[0].upper()
    if token.isdigit():
        token = _by_digits().get(token, "")
    return token if valid(token, detailed=True) else None


def lineage(code: str | None) -> list[Industry]:
    """Section first, the code itself last: C3670 -> 制造业, 汽车制造业, 汽车零部件…, same."""
    out = []
    entry = get(code)
    while entry is not None:
        out.append(entry)
        entry = get(entry.parent)
    return out[::-1]


def path_text(code: str | None) -> str:
    """制造业 › 汽车制造业 › 汽车零部件及配件制造 (a class repeating its group's name once)."""
    names = []
    for entry in lineage(code):
        if not names or names[-1] != entry.name:
            names.append(entry.name)
    return " › ".join(names)


def divisions() -> list[Industry]:
    return [e for e in table().values() if e.level == 2]


@cache
def _warm() -> int:
    """Pinyin keys of every name, computed once per process (1,971 names, ~0.2 s)."""
    return sum(1 for e in table().values() if name_keys(e.name))


def search(query: str, limit: int = 20, min_level: int = 1) -> list[Industry]:
    """Entries matching what a person typed, best first: by code (exact, then the classes
    under it), else by name (substring, pinyin initials, full pinyin, typo-tolerant)."""
    q = (query or "").strip()
    if not q:
        return []
    entries = [e for e in table().values() if e.level >= min_level]
    found = _by_code(q, entries)
    if found is None:
        found = _by_name(q, entries)
    return found[:limit]


def _by_code(q: str, entries: list[Industry]) -> list[Industry] | None:
    m = _CODE_QUERY.fullmatch(q)
    if m is None:
        return None
    letter = (m.group(1) or m.group(3) or "").upper()
    digits = m.group(2) or ""
    hits = [e for e in entries if e.digits.startswith(digits)
            and (not letter or e.section == letter)]
    # the exact code first, then its children in code order (3670 -> C3670; 36 -> C36, C361 …)
    return sorted(hits, key=lambda e: (e.digits != digits, e.code))


def _by_name(q: str, entries: list[Industry]) -> list[Industry]:
    _warm()
    scored = []
    for e in entries:
        score = name_score(q, e.name)
        if score >= NAME_CUTOFF:
            # a class before its same-named group: the picker is for the 4-digit class
            scored.append((-score, len(e.name), -e.level, e.code, e))
    scored.sort()
    return [row[-1] for row in scored]


def as_json(entry: Industry) -> dict:
    return {"code": entry.code, "name": entry.name, "level": entry.level,
            "level_label": LEVELS[entry.level], "path": path_text(entry.code)}
