"""Enterprise size by 工信部联企业〔2011〕300号 《中小企业划型标准规定》 article 4, per sector.

The 16 sectors and their thresholds come from data/size_rule_300.json (a copy of
shared/reference/size_rule_300.json, with its source and reading). An enterprise's sector is
the one whose GB/T 4754 prefix is the longest that its industry code starts with (工业 for
B/C/D, 软件和信息技术服务业 for I65, 房地产开发经营 for K7010 …); a code no sector names
falls under 其他未列明行业.

Reading (the file's `reading`, which is 300号's wording): large when at or above `sme_upper`
on ALL of the sector's measures; else medium when it meets every `medium` minimum, else small
when it meets every `small` minimum, else micro. Pure: no database.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from .datafiles import DATA

MEASURES = ("employees", "revenue_wan", "assets_wan")
MEASURE_LABELS = {"employees": "从业人员", "revenue_wan": "营业收入", "assets_wan": "资产总额"}
MEASURE_UNITS = {"employees": "人", "revenue_wan": "万元", "assets_wan": "万元"}
BANDS = ("large", "medium", "small", "micro")
BAND_LABELS = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}


@dataclass(frozen=True, slots=True)
class Sector:
    code: str
    label: str
    prefixes: tuple[str, ...]
    sme_upper: dict
    medium: dict
    small: dict

    @property
    def measures(self) -> tuple[str, ...]:
        """The measures the sector's rule reads, in MEASURES order."""
        named = set(self.sme_upper) | set(self.medium) | set(self.small)
        return tuple(m for m in MEASURES if m in named)


class MissingMeasure(ValueError):
    """The sector's rule needs a figure the enterprise has not given (assets_wan)."""

    def __init__(self, sector: Sector, measures: list[str]):
        self.sector, self.measures = sector, measures
        super().__init__(", ".join(measures))


@dataclass(frozen=True, slots=True)
class SizeBasis:
    """What a derived size comes from: the sector, its band, and the figures it read."""
    sector: Sector
    size: str
    figures: dict                   # measure -> the enterprise's figure
    rule_text: str                  # the sector's thresholds, in Chinese


@cache
def _document() -> dict:
    return json.loads((DATA / "size_rule_300.json").read_text(encoding="utf-8"))


def source() -> str:
    return _document()["source"]


@cache
def sectors() -> tuple[Sector, ...]:
    return tuple(Sector(s["code"], s["label"], tuple(s["gbt4754"]), dict(s["sme_upper"]),
                        dict(s["medium"]), dict(s["small"]))
                 for s in _document()["sectors"])


@cache
def sector_of(industry: str | None) -> Sector:
    """The sector of a GB/T 4754 code: the longest prefix wins; unnamed codes are 'other'."""
    code = industry or ""
    best, best_len = None, -1
    for sector in sectors():
        for prefix in sector.prefixes:
            if code.startswith(prefix) and len(prefix) > best_len:
                best, best_len = sector, len(prefix)
    return best or next(s for s in sectors() if not s.prefixes)


def needs_assets(industry: str | None) -> bool:
    return "assets_wan" in sector_of(industry).measures


def missing_measures(industry: str | None, figures: dict) -> list[str]:
    return [m for m in sector_of(industry).measures if figures.get(m) is None]


def _meets(figures: dict, minimums: dict) -> bool:
    return all(Decimal(figures[m]) >= Decimal(str(v)) for m, v in minimums.items())


def derive(industry: str | None, employees: int | None, revenue_wan, assets_wan=None) -> str:
    """The size band of 300号 for the code's sector; MissingMeasure when a figure the rule
    reads is absent (建筑业, 房地产开发经营, 租赁和商务服务业 read assets_wan)."""
    sector = sector_of(industry)
    figures = {"employees": employees, "revenue_wan": revenue_wan, "assets_wan": assets_wan}
    missing = [m for m in sector.measures if figures[m] is None]
    if missing:
        raise MissingMeasure(sector, missing)
    if _meets(figures, sector.sme_upper):
        return "large"
    if _meets(figures, sector.medium):
        return "medium"
    if _meets(figures, sector.small):
        return "small"
    return "micro"


def basis(industry: str | None, employees, revenue_wan, assets_wan=None) -> SizeBasis:
    """derive() with what decided it, for the profile page."""
    sector = sector_of(industry)
    size = derive(industry, employees, revenue_wan, assets_wan)
    given = {"employees": employees, "revenue_wan": revenue_wan, "assets_wan": assets_wan}
    return SizeBasis(sector, size, {m: given[m] for m in sector.measures}, rule_text(sector))


def _threshold(minimums: dict, joiner: str, comparison: str) -> str:
    return joiner.join(f"{MEASURE_LABELS[m]}{_num(v)}{MEASURE_UNITS[m]}{comparison}"
                       for m, v in minimums.items())


def rule_text(sector: Sector) -> str:
    """300号's sentence for the sector: 大型 = …及以上; 中型 …; 小型 …; 其余微型."""
    return (f"{sector.label}：{_threshold(sector.sme_upper, '且', '及以上')}为大型；"
            f"{_threshold(sector.medium, '且', '及以上')}为中型；"
            f"{_threshold(sector.small, '且', '及以上')}为小型；其余为微型")


def _num(value) -> str:
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
