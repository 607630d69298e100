"""工信部联企业〔2011〕300号 by sector (issue 14): every sector mapped, and for 工业,
软件和信息技术服务业, 批发业, 零售业 and 建筑业 both sides of every boundary on every measure."""
from decimal import Decimal

import pytest

from matchmaker import industries, sizes

D = Decimal


def cases(code, upper, medium, small, below):
    """Both sides of each band's boundary: at the thresholds (all measures), and one unit
    below on each measure in turn. `below` is how much under a threshold is "just below"."""
    out = []
    for band, thresholds, lower in (("large", upper, "medium"), ("medium", medium, "small"),
                                    ("small", small, "micro")):
        out.append((code, dict(thresholds), band))
        for measure in thresholds:
            figures = dict(thresholds)
            figures[measure] = figures[measure] - below[measure]
            # falling under one measure drops to the next band only if the others still hold
            expected = lower if _meets(figures, _next(lower, medium, small)) else "micro"
            out.append((code, figures, expected))
    return out


def _next(band, medium, small):
    return {"medium": medium, "small": small, "micro": {}}[band]


def _meets(figures, minimums):
    return all(figures[m] >= v for m, v in minimums.items())


ONE = {"employees": 1, "revenue_wan": D("0.01"), "assets_wan": D("0.01")}

SECTOR_CASES = (
    # 工业: 从业人员 1000/300/20, 营业收入 40000/2000/300 万元
    cases("C3670", {"employees": 1000, "revenue_wan": D(40000)},
          {"employees": 300, "revenue_wan": D(2000)}, {"employees": 20, "revenue_wan": D(300)}, ONE)
    # 软件和信息技术服务业: 300/100/10 人, 10000/1000/50 万元
    + cases("I6513", {"employees": 300, "revenue_wan": D(10000)},
            {"employees": 100, "revenue_wan": D(1000)}, {"employees": 10, "revenue_wan": D(50)},
            ONE)
    # 批发业: 200/20/5 人, 40000/5000/1000 万元
    + cases("F5171", {"employees": 200, "revenue_wan": D(40000)},
            {"employees": 20, "revenue_wan": D(5000)}, {"employees": 5, "revenue_wan": D(1000)},
            ONE)
    # 零售业: 300/50/10 人, 20000/500/100 万元
    + cases("F5211", {"employees": 300, "revenue_wan": D(20000)},
            {"employees": 50, "revenue_wan": D(500)}, {"employees": 10, "revenue_wan": D(100)},
            ONE)
    # 建筑业: 营业收入 80000/6000/300, 资产总额 80000/5000/300 万元
    + cases("E4790", {"revenue_wan": D(80000), "assets_wan": D(80000)},
            {"revenue_wan": D(6000), "assets_wan": D(5000)},
            {"revenue_wan": D(300), "assets_wan": D(300)}, ONE)
)


@pytest.mark.parametrize("code,figures,band", SECTOR_CASES)
def test_every_threshold(code, figures, band):
    figures = {"employees": 0, "revenue_wan": D(0), "assets_wan": None} | figures
    assert sizes.derive(code, figures["employees"], figures["revenue_wan"],
                        figures["assets_wan"]) == band


def test_the_cases_cover_both_sides_of_every_boundary():
    # 5 sectors × 3 boundaries × (at + one below per measure (2)) = 45 cases
    assert len(SECTOR_CASES) == 45
    assert {band for _, _, band in SECTOR_CASES} == {"large", "medium", "small", "micro"}


@pytest.mark.parametrize("code,sector", [
    ("C3670", "industry"), ("B0610", "industry"), ("D4411", "industry"), ("C", "industry"),
    ("I6513", "software"), ("I65", "software"), ("I6311", "telecom"), ("F5171", "wholesale"),
    ("F5211", "retail"), ("E4790", "construction"), ("K7010", "real_estate_development"),
    ("K7020", "property_management"), ("K7090", "other"), ("L7111", "leasing_business_services"),
    ("G5810", "transport"), ("G5910", "warehousing"), ("G6010", "postal"),
    ("H6110", "accommodation"), ("H6210", "catering"), ("A0111", "agriculture"),
    ("M7310", "other"), ("", "other"), (None, "other"),
])
def test_sector_by_longest_prefix(code, sector):
    assert sizes.sector_of(code).code == sector


def test_all_sixteen_sectors_are_reachable_from_real_codes():
    assert len(sizes.sectors()) == 16
    reached = {sizes.sector_of(code).code for code in industries.table()}
    assert reached == {s.code for s in sizes.sectors()}


def test_a_rule_reading_assets_needs_them():
    with pytest.raises(sizes.MissingMeasure) as caught:
        sizes.derive("E4790", 10, D(500))
    assert caught.value.measures == ["assets_wan"] and caught.value.sector.label == "建筑业"
    assert sizes.needs_assets("L7111") and sizes.needs_assets("K7010")
    assert not sizes.needs_assets("C3670") and not sizes.needs_assets("K7020")
    # 工业 does not read assets: giving them changes nothing
    assert sizes.derive("C3670", 20, D(300), D(1)) == "small"


def test_rule_text_quotes_the_sector():
    text = sizes.rule_text(sizes.sector_of("I6513"))
    assert text == ("软件和信息技术服务业：从业人员300人及以上且营业收入10000万元及以上为大型；"
                    "从业人员100人及以上且营业收入1000万元及以上为中型；"
                    "从业人员10人及以上且营业收入50万元及以上为小型；其余为微型")
