"""The words of a subsidy programme (issue 15): what it can pay, to whom, on what basis, and
the settings it may hold. Plain data, shared by the calculator (institutions/subsidies.py) and
the administrators' form; no Flask, no database."""
from collections.abc import Mapping
from typing import Any

BENEFITS = {
    "rate_points": "按百分点贴息",
    "rate_share": "按实际利率的一定比例贴息",
    "fee_share": "按担保费率的一定比例补助",
    "use_fee": "减免应急转贷资金使用费",
}
PAYEES = {"enterprise": "企业", "guarantor": "融资担保机构"}
BASES = {"year": "按年", "day": "按日（实际使用天数）"}
ELIGIBILITY_KEYS = ("purposes", "product_purposes", "institution_kinds", "loan_kinds",
                    "industries", "sizes", "tags", "ownership", "any_of")
# `any_of`: a list of alternatives, each a set of the enterprise's criteria below; besides the
# other keys (all of which must hold) at least one alternative must hold in full. It says "or"
# where a document does: 制造业中小微企业、双百企业中的大型民营企业 (7号 四（二）).
ALTERNATIVE_KEYS = ("industries", "sizes", "tags", "ownership")

# Who controls the enterprise (控股情况), after 国家统计局《关于统计上对公有和非公有控股经济的
# 分类办法》（国统字〔2005〕79号）: 110 国有控股, 120 集体控股, 210 私人控股, 220 港澳台商控股,
# 230 外商控股; "other" where none of them holds a controlling share. 民营 in the policy texts is
# 私人控股. Not part of the exchange format: an enterprise without it is unknown (NULL), which
# satisfies no programme condition on ownership.
OWNERSHIPS = {"private": "民营（私人控股）", "state": "国有控股", "collective": "集体控股",
              "hk_macao_taiwan": "港澳台商控股", "foreign": "外商控股", "other": "其他"}
OWNERSHIP_STAT_CODES = {"state": "110", "collective": "120", "private": "210",
                        "hk_macao_taiwan": "220", "foreign": "230"}
# settings a programme may hold; what each means is in the module docstring
SETTING_KEYS = ("share_of_rate", "points", "share_of_fee", "max_fee_rate", "cap_wan_per_year",
                "cap_wan", "cap_wan_per_enterprise", "waiver_tags", "reduced_share")


def _labels(kind: str, codes) -> str:
    from .. import vocab  # package data, loaded once

    return "、".join(vocab.label(kind, c) for c in codes)


def describe_alternative(rules: Mapping[str, Any]) -> str:
    """One alternative of `any_of` in Chinese: 制造业中型、小型、微型企业; 经组织方核验的“双百”
    企业中的大型民营（私人控股）企业."""
    text = ""
    if rules.get("tags"):
        text += "经组织方核验的" + _labels("enterprise_tags", rules["tags"]) + "中的"
    if rules.get("industries"):
        text += ("制造业" if list(rules["industries"]) == ["C"]
                 else "行业" + "、".join(rules["industries"]) + "的")
    if rules.get("sizes"):
        text += _labels("sizes", rules["sizes"])
    if rules.get("ownership"):
        text += "、".join(OWNERSHIPS.get(o, o) for o in rules["ownership"])
    return text + "企业"
