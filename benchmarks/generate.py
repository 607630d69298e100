"""Realistic random platforms from a seed: institutions, products, enterprises, needs.

    python -m benchmarks.generate --seed 1 --products 5000 --needs 1000 --out platform.json

writes a `matchmaker-exchange/1` document; `generate_platform()` returns the matcher's
`ProductTerms` / `NeedFacts` directly. Shapes follow a city like Chongqing: most lenders and
products serve the whole city, a fifth are district banks and guarantors; purposes lean to
working capital and 技改; amounts are log-normal and round; products come from the archetypes
the policy texts name (技改专项贷, 渝链贷/订单贷, 知识价值信用贷, 专精特新贷, 首贷, 无还本续贷,
银税互动, 担保贷, 融资租赁, 应急转贷 …).
"""
from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from matchmaker import industries as industries_table
from matchmaker.matching.matcher import EnterpriseFacts, NeedFacts, ProductTerms

TODAY = date(2026, 10, 15)
LPR_1Y = Decimal("3.0")

# districts with much manufacturing come up more often (weights, not statistics)
DISTRICTS = {
    "两江新区": 14, "九龙坡区": 8, "渝北区": 7, "江津区": 7, "璧山区": 6, "永川区": 6,
    "涪陵区": 5, "长寿区": 5, "重庆高新区": 5, "沙坪坝区": 4, "巴南区": 4, "合川区": 4,
    "大足区": 3, "荣昌区": 3, "铜梁区": 3, "綦江区": 3, "南岸区": 3, "北碚区": 3,
    "万州区": 3, "潼南区": 2, "大渡口区": 2, "江北区": 2, "万盛经开区": 2, "南川区": 2,
    "梁平区": 1, "垫江县": 1, "开州区": 1, "黔江区": 1, "丰都县": 1, "忠县": 1,
    "武隆区": 1, "渝中区": 1, "云阳县": 1, "奉节县": 1, "石柱土家族自治县": 1,
}
DISTRICT_CODES = {
    "万州区": "500101", "涪陵区": "500102", "渝中区": "500103", "大渡口区": "500104",
    "江北区": "500105", "沙坪坝区": "500106", "九龙坡区": "500107", "南岸区": "500108",
    "北碚区": "500109", "綦江区": "500110", "大足区": "500111", "渝北区": "500112",
    "巴南区": "500113", "黔江区": "500114", "长寿区": "500115", "江津区": "500116",
    "合川区": "500117", "永川区": "500118", "南川区": "500119", "璧山区": "500120",
    "铜梁区": "500151", "潼南区": "500152", "荣昌区": "500153", "开州区": "500154",
    "梁平区": "500155", "武隆区": "500156", "垫江县": "500231", "丰都县": "500230",
    "忠县": "500233", "云阳县": "500235", "奉节县": "500236", "石柱土家族自治县": "500240",
}
# GB/T 4754 divisions by weight, with the 33618 cluster they mostly feed
INDUSTRIES = {
    "C36": (14, "intelligent_connected_nev"), "C39": (10, "electronic_information"),
    "C34": (8, "intelligent_equipment"), "C35": (7, "intelligent_equipment"),
    "C33": (7, "light_alloy"), "C38": (6, "new_energy_storage"),
    "C13": (5, "food_agri_processing"), "C14": (4, "food_agri_processing"),
    "C15": (2, "food_agri_processing"), "C26": (4, "advanced_materials"),
    "C27": (4, "biomedicine"), "C29": (4, "advanced_materials"),
    "C30": (4, "advanced_materials"), "C31": (2, "advanced_materials"),
    "C32": (3, "light_alloy"), "C37": (3, "high_end_motorcycle"),
    "C17": (2, "light_textile"), "C18": (2, "light_textile"), "C19": (1, "light_textile"),
    "C21": (2, None), "C22": (1, None), "C23": (1, None), "C24": (1, None),
    "C40": (2, "intelligent_equipment"), "C41": (1, None), "C42": (1, None),
    "C20": (1, None), "C25": (1, None), "C28": (1, "advanced_materials"),
}
PURPOSES = {"working_capital": 38, "tech_upgrade": 22, "supply_chain": 12, "project": 8,
            "rnd": 7, "green": 5, "trade": 4, "equipment_lease": 4}
TERMS = {
    "working_capital": {6: 2, 12: 6, 24: 1, 36: 1}, "tech_upgrade": {12: 1, 24: 2, 36: 4, 60: 2},
    "supply_chain": {3: 2, 6: 4, 12: 3}, "project": {36: 2, 60: 4, 96: 1, 120: 1},
    "rnd": {12: 3, 24: 2, 36: 2}, "green": {24: 2, 36: 3, 60: 2},
    "trade": {3: 2, 6: 3, 12: 3}, "equipment_lease": {24: 2, 36: 4, 60: 2},
}
# 核心企业 as products list them, and as suppliers write them
CORE_ENTERPRISES = {
    "长安汽车": ["重庆长安汽车股份有限公司", "长安汽车", "重庆长安汽车"],
    "赛力斯": ["赛力斯集团股份有限公司", "赛力斯集团", "赛力斯"],
    "京东方": ["重庆京东方光电科技有限公司", "京东方光电科技"],
    "力帆科技": ["力帆科技（集团）股份有限公司", "力帆科技"],
    "隆鑫通用": ["隆鑫通用动力股份有限公司", "隆鑫通用动力"],
    "宗申动力": ["重庆宗申动力机械股份有限公司", "宗申动力机械"],
    "重庆钢铁": ["重庆钢铁股份有限公司", "重庆钢铁"],
    "惠科金渝": ["重庆惠科金渝光电科技有限公司", "惠科金渝光电"],
    "庆铃汽车": ["庆铃汽车股份有限公司", "庆铃汽车"],
    "中国汽车工程研究院": ["中国汽车工程研究院股份有限公司", "中国汽车工程研究院"],
}
TAGS = {"specialized_sme": 0.12, "little_giant": 0.02, "single_champion": 0.004,
        "innovative_sme": 0.12, "high_tech": 0.15, "tech_sme": 0.2, "gazelle": 0.02,
        "unicorn": 0.001, "double_hundred": 0.005, "chain_leader": 0.005, "listed": 0.01,
        "listing_pipeline": 0.02, "green_factory": 0.04, "foreign_trade": 0.08}
KINDS = {"bank": 58, "guarantee": 15, "leasing": 8, "microcredit": 6, "factoring": 4,
         "insurance": 3, "fund": 3, "bridge_fund": 3}
NICE = (1, 2, 3, 5)


def _class_of(division: str, tens: int, units: int) -> str:
    """A real GB/T 4754 class of the division, picked by the two random digits (the same rng
    calls as when the digits were the code itself, so a seed still gives the same platform)."""
    classes = _classes(division)
    return classes[(tens * 10 + units) % len(classes)]


@cache
def _classes(division: str) -> list[str]:
    return [e.code for e in industries_table.table().values()
            if e.level == 4 and e.code.startswith(division)]


def derive_size(employees: int, revenue_wan: Decimal) -> str:
    """工信部联企业〔2011〕300号, 工业 (the generator makes manufacturers only: B/C/D)."""
    if employees >= 1000 and revenue_wan >= 40000:
        return "large"
    if employees >= 300 and revenue_wan >= 2000:
        return "medium"
    if employees >= 20 and revenue_wan >= 300:
        return "small"
    return "micro"


def nice(x: float) -> Decimal:
    """Round to 1, 2, 3 or 5 × a power of ten, as lenders and enterprises write amounts."""
    if x <= 0:
        return Decimal(1)
    exp = math.floor(math.log10(x))
    best = min((abs(math.log(x / (n * 10 ** exp))), n) for n in NICE + (10,))
    value = best[1] * Decimal(10) ** exp
    return max(Decimal(1), value.quantize(Decimal(1)) if value >= 1 else Decimal(1))


def pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


@dataclass
class Institution:
    id: int
    ref: str
    name: str
    kind: str
    districts: tuple[str, ...]


@dataclass
class Platform:
    institutions: list[Institution]
    products: list[ProductTerms]
    enterprises: list[EnterpriseFacts]
    needs: list[NeedFacts]
    names: dict            # enterprise id -> name, product id -> name


def _institutions(rng: random.Random, n: int) -> list[Institution]:
    local_districts = list(DISTRICTS)
    out = []
    for i in range(1, n + 1):
        kind = pick(rng, KINDS)
        local = rng.random() < (0.35 if kind in ("bank", "guarantee", "microcredit") else 0.1)
        districts = ()
        if local:
            k = 1 if rng.random() < 0.7 else rng.randint(2, 3)
            districts = tuple(sorted(set(rng.choices(
                local_districts, weights=[DISTRICTS[d] for d in local_districts], k=k))))
        prefix = districts[0][:-1] if districts else "重庆"
        noun = {"bank": "银行", "guarantee": "融资担保有限公司", "leasing": "金融租赁有限公司",
                "microcredit": "小额贷款有限公司", "factoring": "商业保理有限公司",
                "insurance": "财产保险股份有限公司", "fund": "产业投资基金",
                "bridge_fund": "应急转贷资金"}[kind]
        out.append(Institution(i, f"I-{i:04d}", f"{prefix}示例{i}号{noun}", kind, districts))
    return out


def _amount_range(rng, median_min: float, widen: tuple[float, float]) -> tuple[Decimal, Decimal]:
    lo = nice(rng.lognormvariate(math.log(median_min), 0.8))
    hi = nice(float(lo) * math.exp(rng.uniform(math.log(widen[0]), math.log(widen[1]))))
    return lo, max(hi, lo)


def _rates(rng, base: float, spread: tuple[float, float]) -> tuple[Decimal, Decimal]:
    lo = max(0.0, base + rng.gauss(0, 0.35))
    hi = lo + rng.uniform(*spread)
    step = Decimal("0.05")
    return ((Decimal(str(lo)) / step).quantize(Decimal(1)) * step,
            (Decimal(str(hi)) / step).quantize(Decimal(1)) * step)


def _archetype(rng: random.Random, kind: str) -> dict:
    """A product's shape by institution kind: purposes, modes, money and extras."""
    lpr = float(LPR_1Y)
    if kind == "guarantee":
        a = {"name": "担保贷", "purposes": {"working_capital"} | (
            {"tech_upgrade"} if rng.random() < 0.5 else set()), "modes": {"guarantee"},
            "amount": _amount_range(rng, 20, (10, 100)), "term": (rng.choice((3, 6)), rng.choice((12, 24, 36))),
            "rate": _rates(rng, lpr + 0.9, (0.5, 2.0))}
        if rng.random() < 0.7:
            a["programs"] = ["guarantee_fee_subsidy"]
        if rng.random() < 0.5:
            a["sizes"] = {"small", "micro"} | ({"medium"} if rng.random() < 0.5 else set())
        if rng.random() < 0.3:
            a["loan_kinds"] = {"first_loan"}
        return a
    if kind == "leasing":
        a = {"name": "设备融资租赁", "purposes": {"equipment_lease"} | (
            {"tech_upgrade"} if rng.random() < 0.6 else set()),
            "modes": {"mortgage", "guarantee"} | ({"credit"} if rng.random() < 0.3 else set()),
            "amount": _amount_range(rng, 100, (20, 200)), "term": (12, rng.choice((36, 60, 84))),
            "rate": _rates(rng, lpr + 2.0, (1.0, 3.0))}
        if rng.random() < 0.3:
            a["programs"] = ["equipment_renewal_relending"]
        return a
    if kind == "microcredit":
        return {"name": "小额经营贷", "purposes": {"working_capital"}, "modes": {"credit", "guarantee"},
                    "amount": _amount_range(rng, 5, (10, 60)), "term": (1, rng.choice((12, 24))),
                    "rate": _rates(rng, 9.0, (2.0, 6.0))}
    if kind == "factoring":
        a = {"name": "应收账款保理", "purposes": {"supply_chain"}, "modes": {"pledge", "credit"},
                 "amount": _amount_range(rng, 20, (20, 200)), "term": (1, 12),
                 "rate": _rates(rng, lpr + 2.5, (1.0, 3.0))}
        if rng.random() < 0.6:
            a["core"] = rng.sample(list(CORE_ENTERPRISES), rng.randint(1, 3))
        return a
    if kind == "insurance":
        return {"name": "贷款保证保险", "purposes": {"working_capital", "rnd"}, "modes": {"credit"},
                    "amount": _amount_range(rng, 20, (10, 50)), "term": (6, 12),
                    "rate": _rates(rng, lpr + 1.5, (0.5, 2.0)),
                    "tags": rng.choice([None, {"tech_sme", "high_tech", "innovative_sme"}])}
    if kind == "fund":
        return {"name": "产业基金股权投资", "purposes": {"rnd", "project"}, "modes": {"credit"},
                    "amount": _amount_range(rng, 1000, (5, 30)), "term": (36, 96),
                    "rate": _rates(rng, 8.0, (2.0, 6.0)),
                    "tags": {"specialized_sme", "little_giant", "gazelle", "unicorn",
                          "listing_pipeline"}}
    if kind == "bridge_fund":
        return {"name": "应急转贷", "purposes": {"working_capital"}, "modes": {"credit", "guarantee"},
                    "amount": _amount_range(rng, 50, (20, 100)), "term": (1, 12),
                    "rate": _rates(rng, 3.6, (0.2, 1.0)), "loan_kinds": {"renewal"},
                    "programs": ["bridge_fee_waiver"]}
    return _bank_archetype(rng)


def _bank_archetype(rng: random.Random) -> dict:
    lpr = float(LPR_1Y)
    shape = pick(rng, {"working": 26, "tech": 16, "chain": 10, "knowledge": 7, "sme_tags": 6,
                       "first": 6, "renewal": 6, "tax": 6, "project": 6, "green": 4,
                       "trade": 3, "broad": 8})
    if shape == "working":
        return {"name": "流动资金贷", "purposes": {"working_capital"} | (
            {"trade"} if rng.random() < 0.2 else set()),
            "modes": set(rng.sample(["credit", "mortgage", "guarantee", "pledge"], rng.randint(1, 3))),
            "amount": _amount_range(rng, 30, (10, 100)), "term": (rng.choice((1, 3, 6)), rng.choice((12, 24, 36))),
            "rate": _rates(rng, lpr + 0.8, (0.5, 2.5)),
            "min_years": rng.choice([None, None, Decimal(1), Decimal(2)])}
    if shape == "tech":
        a = {"name": "技改专项贷", "purposes": {"tech_upgrade"} | (
            {"project"} if rng.random() < 0.3 else set()),
            "modes": {"mortgage", "guarantee"} | ({"credit"} if rng.random() < 0.2 else set()),
            "amount": _amount_range(rng, 100, (10, 100)), "term": (12, rng.choice((36, 60, 96))),
            "rate": _rates(rng, lpr + 0.4, (0.6, 1.8)),
            "industries": rng.choice([None, ("C",), ("C",), ("C36", "C39", "C34", "C35")]),
            "min_years": rng.choice([None, Decimal(2), Decimal(3)])}
        a["programs"] = [p for p, share in (("tech_upgrade_interest", 0.7),
                                            ("equipment_renewal_relending", 0.2))
                         if rng.random() < share]
        return a
    if shape == "chain":
        a = {"name": rng.choice(["渝链贷", "订单贷", "应收账款质押贷", "仓单质押贷"]),
                 "purposes": {"supply_chain"}, "modes": {"credit", "pledge"},
                 "amount": _amount_range(rng, 20, (20, 100)), "term": (3, 12),
                 "rate": _rates(rng, lpr + 0.7, (0.6, 1.6))}
        if rng.random() < 0.6:
            a["core"] = rng.sample(list(CORE_ENTERPRISES), rng.randint(1, 3))
        return a
    if shape == "knowledge":
        return {"name": "知识价值信用贷", "purposes": {"rnd", "working_capital"}, "modes": {"credit"},
                    "amount": _amount_range(rng, 20, (10, 50)), "term": (6, 36),
                    "rate": _rates(rng, lpr + 0.6, (0.5, 1.5)),
                    "tags": {"tech_sme", "high_tech", "innovative_sme"}}
    if shape == "sme_tags":
        return {"name": rng.choice(["专精特新贷", "瞪羚贷", "小巨人贷"]),
                    "purposes": {"working_capital", "tech_upgrade", "rnd"}, "modes": {"credit", "pledge"},
                    "amount": _amount_range(rng, 100, (10, 50)), "term": (6, 36),
                    "rate": _rates(rng, lpr + 0.3, (0.5, 1.5)),
                    "tags": rng.choice([{"specialized_sme", "little_giant"}, {"gazelle", "unicorn"},
                                     {"little_giant", "single_champion"}])}
    if shape == "first":
        return {"name": "首贷通", "purposes": {"working_capital"}, "modes": {"credit", "guarantee"},
                    "amount": _amount_range(rng, 10, (10, 50)), "term": (6, 12),
                    "rate": _rates(rng, lpr + 0.9, (0.5, 1.5)), "loan_kinds": {"first_loan"},
                    "sizes": {"small", "micro"}}
    if shape == "renewal":
        return {"name": "无还本续贷", "purposes": {"working_capital"},
                    "modes": {"credit", "mortgage", "guarantee"},
                    "amount": _amount_range(rng, 50, (10, 100)), "term": (6, 36),
                    "rate": _rates(rng, lpr + 0.6, (0.5, 1.5)), "loan_kinds": {"renewal"},
                    "eco": rng.random() < 0.7}
    if shape == "tax":
        return {"name": "银税互动贷", "purposes": {"working_capital"}, "modes": {"credit"},
                    "amount": _amount_range(rng, 10, (10, 30)), "term": (6, 12),
                    "rate": _rates(rng, lpr + 0.8, (0.5, 1.5)),
                    "grades": rng.choice([{"A"}, {"A", "B"}, {"A", "B", "M"}]),
                    "min_years": Decimal(rng.choice((1, 2)))}
    if shape == "project":
        return {"name": "制造业中长期项目贷", "purposes": {"project", "tech_upgrade"},
                    "modes": {"mortgage", "guarantee"},
                    "amount": _amount_range(rng, 500, (10, 100)), "term": (36, rng.choice((96, 120, 180))),
                    "rate": _rates(rng, float(LPR_1Y) + 0.5, (0.5, 1.5)),
                    "min_revenue": nice(rng.lognormvariate(math.log(3000), 0.8))}
    if shape == "green":
        return {"name": rng.choice(["碳汇贷", "绿色技改贷"]), "purposes": {"green", "tech_upgrade"},
                    "modes": {"mortgage", "credit", "pledge"},
                    "amount": _amount_range(rng, 100, (10, 50)), "term": (12, 60),
                    "rate": _rates(rng, lpr + 0.3, (0.5, 1.2)),
                    "tags": rng.choice([None, {"green_factory"}])}
    if shape == "trade":
        return {"name": "外贸信保融资", "purposes": {"trade", "working_capital"},
                    "modes": {"credit", "pledge"}, "amount": _amount_range(rng, 50, (10, 50)),
                    "term": (3, 12), "rate": _rates(rng, lpr + 0.6, (0.5, 1.5)),
                    "tags": rng.choice([None, {"foreign_trade"}])}
    return {"name": "综合授信", "purposes": set(rng.sample(list(PURPOSES), rng.randint(4, 6))),
                "modes": set(rng.sample(["credit", "mortgage", "guarantee", "pledge"], rng.randint(2, 4))),
                "amount": _amount_range(rng, 50, (20, 200)), "term": (1, rng.choice((36, 60))),
                "rate": _rates(rng, lpr + 1.0, (1.0, 3.0))}


def _products(rng: random.Random, n: int, institutions: list[Institution]) -> tuple[list, dict]:
    weights = [{"bank": 8, "guarantee": 3, "leasing": 3}.get(i.kind, 1) * rng.paretovariate(1.5)
               for i in institutions]
    names = {}
    out = []
    for pid in range(1, n + 1):
        inst = rng.choices(institutions, weights=weights)[0]
        a = _archetype(rng, inst.kind)
        districts = frozenset(inst.districts)
        if not districts and rng.random() < 0.08:
            districts = frozenset(rng.sample(list(DISTRICTS), rng.randint(1, 4)))
        lo, hi = a["amount"]
        tmin, tmax = a["term"]
        rmin, rmax = a["rate"]
        core = tuple(rng.choice([k, CORE_ENTERPRISES[k][0]]) for k in a.get("core", ()))
        sizes = a.get("sizes")
        if sizes is None and rng.random() < 0.1:
            sizes = {"medium", "small", "micro"}
        min_years = a.get("min_years")
        if min_years is None and rng.random() < 0.15:
            min_years = Decimal(rng.choice((1, 2, 3)))
        p = ProductTerms(
            id=pid, ref=f"P-{pid:05d}", institution_id=inst.id, institution_ref=inst.ref,
            institution_kind=inst.kind, version=1, name=f"{a['name']}{pid}",
            active=rng.random() < 0.95, purposes=frozenset(a["purposes"]),
            guarantee_modes=frozenset(a["modes"]), amount_min_wan=lo, amount_max_wan=hi,
            term_min_months=tmin, term_max_months=max(tmin, tmax), rate_min=rmin, rate_max=rmax,
            sizes=frozenset(sizes or ()), tags_any=frozenset(a.get("tags") or ()),
            industries=tuple(a.get("industries") or ()), districts=districts,
            min_years=min_years, min_revenue_wan=a.get("min_revenue") or (
                nice(rng.lognormvariate(math.log(500), 1.0)) if rng.random() < 0.1 else None),
            tax_credit_grades=frozenset(a.get("grades") or ()),
            loan_kinds=frozenset(a.get("loan_kinds") or ()),
            existing_customers_only=bool(a.get("eco")), core_enterprises=core,
            subsidy_programs=tuple(a.get("programs") or ()))
        names[pid] = p.name
        out.append(p)
    return out, names


def _enterprises(rng: random.Random, n: int) -> tuple[list[EnterpriseFacts], dict]:
    districts = list(DISTRICTS)
    dweights = [DISTRICTS[d] for d in districts]
    industries = list(INDUSTRIES)
    iweights = [INDUSTRIES[c][0] for c in industries]
    out, names = [], {}
    for eid in range(1, n + 1):
        division = rng.choices(industries, weights=iweights)[0]
        industry = _class_of(division, rng.randint(1, 9), rng.randint(0, 9)) \
            if rng.random() < 0.7 else division
        cluster = INDUSTRIES[division][1] if rng.random() < 0.8 else None
        employees = max(1, int(rng.lognormvariate(math.log(60), 1.1)))
        revenue = nice(employees * rng.lognormvariate(math.log(45), 0.7))
        founded = TODAY - timedelta(days=int(rng.expovariate(1 / (9 * 365))) + 30)
        tags = frozenset(t for t, share in TAGS.items()
                         if rng.random() < share * (2.5 if employees > 100 else 1))
        grade = rng.choices(["A", "B", "M", "C", None], weights=[30, 35, 15, 3, 17])[0]
        size = derive_size(employees, revenue)
        core = None
        if rng.random() < (0.45 if division in ("C36", "C39", "C37", "C38", "C33") else 0.12):
            core = rng.choice(CORE_ENTERPRISES[rng.choice(list(CORE_ENTERPRISES))])
        e = EnterpriseFacts(
            id=eid, ref=f"E-{eid:06d}", district=rng.choices(districts, weights=dweights)[0],
            industry=industry, cluster=cluster, size=size,
            employees=employees, revenue_wan=revenue, founded=founded, tags=tags,
            tax_credit_grade=grade, has_bank_loan=rng.random() < 0.7, core_enterprise=core,
            derived_size=size)     # the 300号 size the subsidy programmes read
        names[eid] = f"重庆示例{eid}号{'精密机械' if division in ('C34', 'C35') else '制造'}有限公司"
        out.append(e)
    return out, names


AMOUNT_MEDIAN = {"micro": 40, "small": 200, "medium": 1000, "large": 5000}


def _needs(rng: random.Random, n: int, enterprises: list[EnterpriseFacts],
           institutions: list[Institution]) -> list[NeedFacts]:
    lenders = [i.id for i in institutions if i.kind == "bank"] or [institutions[0].id]
    out = []
    for nid in range(1, n + 1):
        e = rng.choice(enterprises)
        purpose = pick(rng, PURPOSES)
        if e.core_enterprise and rng.random() < 0.4:
            purpose = "supply_chain"
        if e.has_bank_loan:
            kind = "renewal" if rng.random() < 0.25 else "new"
        else:
            kind = "first_loan"
        lender = rng.choice(lenders) if kind == "renewal" else None
        amount = nice(rng.lognormvariate(math.log(AMOUNT_MEDIAN[e.size]), 0.8))
        modes = {m for m, share in (("credit", 0.55), ("mortgage", 0.4), ("pledge", 0.25),
                                    ("guarantee", 0.45)) if rng.random() < share} or {"credit"}
        max_rate = None
        if rng.random() < 0.35:
            max_rate = LPR_1Y + Decimal(rng.randint(5, 35)) / 10
        created = TODAY - timedelta(days=rng.randint(0, 280))
        out.append(NeedFacts(
            id=nid, ref=f"N-{nid:06d}", enterprise=e, purpose=purpose, loan_kind=kind,
            amount_wan=amount, term_months=pick(rng, TERMS[purpose]),
            guarantee_modes=frozenset(modes), max_rate=max_rate, current_lender_id=lender,
            created=created,
            renewal_due=created + timedelta(days=rng.randint(15, 90)) if lender else None))
    return out


def generate(seed: int, n_institutions: int = 150, n_products: int = 5000,
             n_enterprises: int | None = None, n_needs: int = 1000) -> Platform:
    rng = random.Random(seed)
    institutions = _institutions(rng, n_institutions)
    products, pnames = _products(rng, n_products, institutions)
    enterprises, enames = _enterprises(rng, n_enterprises or max(1, int(n_needs * 0.7)))
    needs = _needs(rng, n_needs, enterprises, institutions)
    return Platform(institutions, products, enterprises, needs,
                    {"products": pnames, "enterprises": enames})


def generate_platform(seed: int, n_institutions: int = 150, n_products: int = 5000,
                      n_enterprises: int | None = None,
                      n_needs: int = 1000) -> tuple[list[ProductTerms], list[NeedFacts]]:
    """(products, needs) of a random platform; the same seed gives the same platform."""
    platform = generate(seed, n_institutions, n_products, n_enterprises, n_needs)
    return platform.products, platform.needs


# --------------------------------------------------------------------------- exchange file


def _num(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def _uscc(rng: random.Random, district: str) -> str:
    from stdnum.cn import uscc

    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + DISTRICT_CODES.get(district, "500000") + "".join(
        rng.choice(chars) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def to_exchange(platform: Platform, seed: int) -> dict:
    rng = random.Random(seed * 7919 + 1)
    inst_by_id = {i.id: i for i in platform.institutions}
    doc = {"format": "matchmaker-exchange/1", "institutions": [], "products": [],
           "enterprises": [], "needs": []}
    for i in platform.institutions:
        row = {"ref": i.ref, "name": i.name, "kind": i.kind}
        if i.districts:
            row["districts"] = list(i.districts)
        doc["institutions"].append(row)
    for p in platform.products:
        row = {"ref": p.ref, "institution_ref": p.institution_ref, "name": p.name,
               "purposes": sorted(p.purposes), "guarantee_modes": sorted(p.guarantee_modes),
               "amount_min_wan": _num(p.amount_min_wan), "amount_max_wan": _num(p.amount_max_wan),
               "term_min_months": p.term_min_months, "term_max_months": p.term_max_months,
               "rate_min": _num(p.rate_min), "rate_max": _num(p.rate_max)}
        inst_districts = set(inst_by_id[p.institution_id].districts)
        optional = {
            "sizes": sorted(p.sizes), "tags_any": sorted(p.tags_any),
            "industries": list(p.industries),
            "districts": sorted(p.districts) if set(p.districts) != inst_districts else [],
            "tax_credit_grades": sorted(p.tax_credit_grades), "loan_kinds": sorted(p.loan_kinds),
            "core_enterprises": list(p.core_enterprises),
            "subsidy_programs": list(p.subsidy_programs)}
        row.update({k: v for k, v in optional.items() if v})
        if p.min_years is not None:
            row["min_years"] = _num(p.min_years)
        if p.min_revenue_wan is not None:
            row["min_revenue_wan"] = _num(p.min_revenue_wan)
        if p.existing_customers_only:
            row["existing_customers_only"] = True
        if not p.active:
            row["active"] = False
        doc["products"].append(row)
    for e in platform.enterprises:
        row = {"ref": e.ref, "name": platform.names["enterprises"][e.id],
               "uscc": _uscc(rng, e.district), "district": e.district, "industry": e.industry,
               "employees": e.employees, "revenue_wan": _num(e.revenue_wan),
               "founded": e.founded.isoformat(), "has_bank_loan": e.has_bank_loan}
        if e.cluster:
            row["cluster"] = e.cluster
        if e.tags:
            row["tags"] = sorted(e.tags)
        if e.tax_credit_grade:
            row["tax_credit_grade"] = e.tax_credit_grade
        if e.core_enterprise:
            row["core_enterprise"] = e.core_enterprise
        doc["enterprises"].append(row)
    for n in platform.needs:
        row = {"ref": n.ref, "enterprise_ref": n.enterprise.ref, "purpose": n.purpose,
               "loan_kind": n.loan_kind, "amount_wan": _num(n.amount_wan),
               "term_months": n.term_months, "guarantee_modes": sorted(n.guarantee_modes),
               "created": n.created.isoformat(), "consent_to_share": rng.random() < 0.8}
        if n.max_rate is not None:
            row["max_rate"] = _num(n.max_rate)
        if n.current_lender_id is not None:
            row["current_lender_ref"] = inst_by_id[n.current_lender_id].ref
        if n.renewal_due is not None:
            row["renewal_due"] = n.renewal_due.isoformat()
        doc["needs"].append(row)
    return doc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--institutions", type=int, default=150)
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--enterprises", type=int, default=None)
    parser.add_argument("--needs", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="write a matchmaker-exchange/1 file")
    args = parser.parse_args(argv)
    platform = generate(args.seed, args.institutions, args.products, args.enterprises, args.needs)
    if args.out:
        doc = to_exchange(platform, args.seed)
        args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {args.out}: {len(doc['institutions'])} institutions, "
              f"{len(doc['products'])} products, {len(doc['enterprises'])} enterprises, "
              f"{len(doc['needs'])} needs")
    else:
        print(f"{len(platform.products)} products, {len(platform.needs)} needs "
              "(pass --out FILE to write them)")


if __name__ == "__main__":
    main()
