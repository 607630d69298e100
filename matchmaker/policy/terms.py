"""The words of a subsidy programme (issue 15): what it can pay, to whom, on what basis, and
the settings it may hold. Plain data, shared by the calculator (institutions/subsidies.py) and
the administrators' form; no Flask, no database."""

BENEFITS = {
    "rate_points": "按百分点贴息",
    "rate_share": "按实际利率的一定比例贴息",
    "fee_share": "按担保费率的一定比例补助",
    "use_fee": "减免应急转贷资金使用费",
}
PAYEES = {"enterprise": "企业", "guarantor": "融资担保机构"}
BASES = {"year": "按年", "day": "按日（实际使用天数）"}
ELIGIBILITY_KEYS = ("purposes", "product_purposes", "institution_kinds", "loan_kinds",
                    "industries", "sizes", "tags", "ownership")
OWNERSHIPS = {"private": "民营", "state": "国有", "foreign": "外资", "collective": "集体"}
# settings a programme may hold; what each means is in the module docstring
SETTING_KEYS = ("share_of_rate", "points", "share_of_fee", "max_fee_rate", "cap_wan_per_year",
                "cap_wan", "cap_wan_per_enterprise", "waiver_tags", "reduced_share")

