#!/usr/bin/env python3
"""Generate the demo data set ``seeds/demo.json`` (format ``matchmaker-exchange/1``)
and the demo logins ``seeds/users.json``.

Deterministic: the same script always writes the same files (random.Random(20261126)).
Uses only the standard library and python-stdnum.  Run from anywhere:

    python seeds/generate_demo.py

All data is fictitious.  Institution names are real Chongqing institutions (used as
realistic labels only); enterprise names, USCCs, products' terms and needs are invented.
At the end the script checks its own output against the exchange-format spec and prints
how many needs have at least one eligible product under the spec's hard rules 1-9.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
from collections import Counter
from pathlib import Path

from stdnum.cn import uscc as stdnum_uscc

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# the project's own copies of the vocabulary and the GB/T 4754 divisions
SPEC_DIRS = [REPO / "matchmaker" / "data"]
REF_DIRS = [REPO / "matchmaker" / "data"]

rng = random.Random(20261126)


# --------------------------------------------------------------------------- vocabulary

def _find(dirs: list[Path], name: str) -> Path | None:
    for d in dirs:
        if (d / name).is_file():
            return d / name
    return None


VOCAB_PATH = _find(SPEC_DIRS, "vocabulary.json")
if VOCAB_PATH is None:
    sys.exit("vocabulary.json not found in matchmaker/data")
VOCAB = json.loads(VOCAB_PATH.read_text(encoding="utf-8"))


def codes(section: str) -> list[str]:
    return [item["code"] for item in VOCAB[section]]


PURPOSES = codes("purposes")
LOAN_KINDS = codes("loan_kinds")
GMODES = codes("guarantee_modes")
SIZES = codes("sizes")
TAGS = codes("enterprise_tags")
GRADES = codes("tax_credit_grades")
INST_KINDS = codes("institution_kinds")
SUBSIDIES = codes("subsidy_programs")
CLUSTERS = codes("clusters_33618")
DISTRICTS = {d["name"]: d for d in VOCAB["districts"]}

GB_PATH = _find(REF_DIRS, "gb4754_2017.csv")
if GB_PATH is not None:
    with GB_PATH.open(encoding="utf-8") as fh:
        DIVISIONS = {row["code"] for row in csv.DictReader(fh)
                     if row["section"] == "C" and row["level"] == "2"}
else:  # GB/T 4754-2017 section C: divisions 13..43
    DIVISIONS = {f"C{n}" for n in range(13, 44)}


# --------------------------------------------------------------------------- helpers

def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def rand_date(a: str, b: str) -> dt.date:
    da, db = d(a), d(b)
    return da + dt.timedelta(days=rng.randint(0, (db - da).days))


def round_amount(x: float) -> int:
    step = 5 if x < 100 else 10 if x < 1000 else 50 if x < 5000 else 100
    return int(max(step, round(x / step) * step))


def derive_size(employees: int, revenue: float) -> str:
    """工信部联企业〔2011〕300号, 工业 (as in vocabulary.json size_rule)."""
    if employees >= 1000 and revenue >= 40000:
        return "large"
    if employees >= 300 and revenue >= 2000:
        return "medium"
    if employees >= 20 and revenue >= 300:
        return "small"
    return "micro"


# GB 11714 organization code: 8 body characters + check character.
_ORG_VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# characters allowed in a USCC (no I, O, Z, S, V)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_LETTERS = "ABCDEFGHJKLMNPQRTUWXY"


def org_check(body8: str) -> str:
    total = sum(_ORG_VALUES[c] * w for c, w in zip(body8, _ORG_WEIGHTS))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


# region part of the USCC for the functional zones (which have no administrative code)
ZONE_REGION = {"两江新区": ["500112", "500105", "500109"],
               "重庆高新区": ["500106", "500107"],
               "万盛经开区": ["500110"]}

_used_uscc: set[str] = set()


def make_uscc(district: str, founded: dt.date) -> str:
    code = DISTRICTS[district]["code"]
    region = code if code else rng.choice(ZONE_REGION[district])
    while True:
        if founded >= dt.date(2015, 10, 1):
            # codes issued since the 2015 reform: MA + 6 characters + check, e.g. MA5U1234x
            body = "MA" + rng.choice(["5U", "5Y", "60", "61", "AC", "BM", "D0", "EG"]) + "".join(
                rng.choice("0123456789" + _USCC_LETTERS) for _ in range(4))
        else:
            # pre-reform organization codes were numeric
            body = rng.choice("25677") + "".join(rng.choice("0123456789") for _ in range(7))
        chk = org_check(body)
        if chk not in _USCC_ALPHABET:
            continue
        stem = "91" + region + body + chk
        code18 = stem + stdnum_uscc.calc_check_digit(stem)
        if code18 not in _used_uscc:
            _used_uscc.add(code18)
            return code18


def norm_core(name: str) -> str:
    """Core-enterprise names compared after stripping 重庆/重庆市 and company suffixes."""
    s = (name or "").strip()
    for p in ("重庆市", "重庆"):
        if s.startswith(p):
            s = s[len(p):]
            break
    changed = True
    while changed:
        changed = False
        for suf in ("股份有限公司", "有限责任公司", "有限公司", "集团"):
            if s.endswith(suf) and len(s) > len(suf):
                s = s[: -len(suf)]
                changed = True
    return s


# --------------------------------------------------------------------------- institutions

MAIN_CITY = ["渝中区", "江北区", "沙坪坝区", "九龙坡区", "南岸区", "北碚区", "渝北区", "巴南区",
             "大渡口区", "两江新区", "重庆高新区"]

INSTITUTIONS = [
    {"ref": "I-CQRCB", "name": "重庆农村商业银行", "kind": "bank"},
    {"ref": "I-CQBANK", "name": "重庆银行", "kind": "bank"},
    {"ref": "I-SXBANK", "name": "重庆三峡银行", "kind": "bank"},
    {"ref": "I-ICBC", "name": "工商银行重庆市分行", "kind": "bank"},
    {"ref": "I-CCB", "name": "建设银行重庆市分行", "kind": "bank"},
    {"ref": "I-BOC", "name": "中国银行重庆市分行", "kind": "bank"},
    {"ref": "I-CMB", "name": "招商银行重庆分行", "kind": "bank", "districts": MAIN_CITY},
    {"ref": "I-BSVB", "name": "重庆璧山工银村镇银行", "kind": "bank", "districts": ["璧山区"]},
    {"ref": "I-SXGUAR", "name": "重庆三峡融资担保集团", "kind": "guarantee"},
    {"ref": "I-EXIMGUAR", "name": "重庆进出口融资担保有限公司", "kind": "guarantee"},
    {"ref": "I-YCGUAR", "name": "重庆市永川区中小企业融资担保有限公司", "kind": "guarantee",
     "districts": ["永川区"]},
    {"ref": "I-YNSLEASE", "name": "渝农商金融租赁有限责任公司", "kind": "leasing"},
    {"ref": "I-YHLEASE", "name": "重庆银海融资租赁有限公司", "kind": "leasing",
     "districts": MAIN_CITY + ["璧山区", "江津区", "永川区", "长寿区", "涪陵区", "合川区"]},
    {"ref": "I-PICC", "name": "中国人民财产保险股份有限公司重庆市分公司", "kind": "insurance"},
    {"ref": "I-SINOSURE", "name": "中国出口信用保险公司重庆分公司", "kind": "insurance"},
    {"ref": "I-BRIDGE", "name": "重庆市中小微企业应急转贷资金", "kind": "bridge_fund"},
    {"ref": "I-LJFACTOR", "name": "重庆两江商业保理有限公司", "kind": "factoring"},
]
INST_BY_REF = {i["ref"]: i for i in INSTITUTIONS}

# --------------------------------------------------------------------------- products

TECH_TAGS = ["high_tech", "tech_sme", "innovative_sme", "specialized_sme", "little_giant"]
CORE_AUTO = ["长安汽车", "赛力斯", "长安福特汽车", "理想汽车"]
CORE_ELEC = ["京东方", "京东方科技", "京东方光电科技", "惠科", "惠科金渝光电科技", "达丰（重庆）电脑"]
CORE_MOTO = ["隆鑫通用", "隆鑫通用动力", "宗申动力", "宗申动力机械"]

_PRODUCT_SPECS: list[tuple] = [
    # (institution, name, purposes, guarantee_modes, (amt), (term), (rate), description, extra)
    ("I-CQRCB", "知识价值信用贷款", ["rnd", "working_capital"], ["credit"],
     (10, 500), (6, 36), (3.45, 4.35),
     "面向科技型企业，依据知识价值信用评价结果给予纯信用授信，无需抵押担保。",
     {"tags_any": ["tech_sme", "high_tech", "innovative_sme", "specialized_sme"]}),
    ("I-CQRCB", "商业价值信用贷款", ["working_capital", "rnd"], ["credit"],
     (10, 1000), (6, 36), (3.55, 4.60),
     "以企业经营数据和商业价值评价为依据发放的信用贷款，支持轻资产制造企业。",
     {"sizes": ["medium", "small", "micro"], "min_years": 2, "min_revenue_wan": 300}),
    ("I-CQRCB", "技改专项贷", ["tech_upgrade"], ["mortgage", "guarantee"],
     (100, 3000), (12, 60), (3.10, 4.20),
     "支持制造业企业设备购置、产线智能化改造，符合条件的可申请市级技改贷款贴息。",
     {"industries": ["C"], "min_years": 2, "subsidy_programs": ["tech_upgrade_interest"]}),
    ("I-CQRCB", "首贷通", ["working_capital"], ["credit", "guarantee"],
     (10, 300), (6, 12), (3.65, 4.80),
     "为从未获得银行贷款的小微制造企业提供首笔贷款，客户经理上门服务、简化审批。",
     {"sizes": ["small", "micro"], "loan_kinds": ["first_loan"]}),
    ("I-CQRCB", "无还本续贷", ["working_capital", "supply_chain"],
     ["credit", "mortgage", "guarantee"], (10, 2000), (12, 36), (3.45, 4.60),
     "本行存量贷款到期前提出申请，无需先还本即可续贷，免除过桥资金成本。",
     {"loan_kinds": ["renewal"], "existing_customers_only": True}),
    ("I-CQRCB", "制造业流动资金贷款", ["working_capital", "supply_chain"],
     ["mortgage", "guarantee"], (50, 5000), (6, 36), (3.35, 4.80),
     "满足制造业企业原材料采购、日常生产经营周转的流动资金需求。",
     {"industries": ["C"]}),
    ("I-CQRCB", "信用贷（永川区风险补偿基金）", ["working_capital"], ["credit"],
     (10, 500), (6, 24), (3.80, 5.00),
     "依托永川区6500万元风险补偿基金，以纯信用方式支持区内中小微企业。",
     {"sizes": ["small", "micro"], "districts": ["永川区"]}),
    ("I-CQRCB", "复工复产专项贷", ["working_capital"], ["credit", "guarantee"],
     (10, 1000), (6, 12), (3.05, 3.85),
     "2020年疫情期间复工复产专项信贷产品，专项额度已使用完毕，现已停办。",
     {"active": False}),
    ("I-CQRCB", "绿色信贷（碳减排支持）", ["green", "tech_upgrade"],
     ["mortgage", "pledge", "guarantee"], (100, 10000), (12, 96), (3.15, 4.10),
     "支持节能降碳改造、清洁能源利用项目，可运用碳减排支持工具给予优惠利率。",
     {"min_years": 1}),

    ("I-CQBANK", "专精特新贷", ["working_capital", "rnd", "tech_upgrade"],
     ["credit", "pledge", "guarantee"], (50, 3000), (12, 36), (3.20, 4.30),
     "面向专精特新中小企业、“小巨人”企业的专属授信，信用额度最高可达3000万元。",
     {"tags_any": ["specialized_sme", "little_giant", "single_champion"]}),
    ("I-CQBANK", "渝链贷（汽车产业链）", ["supply_chain"], ["credit", "pledge"],
     (20, 2000), (3, 12), (3.50, 4.80),
     "依托渝链贷平台核心企业确权的应付账款，为汽车产业链上游供应商提供线上融资。",
     {"core_enterprises": CORE_AUTO}),
    ("I-CQBANK", "渝链贷（电子信息产业链）", ["supply_chain"], ["credit", "pledge"],
     (20, 2000), (3, 12), (3.50, 4.80),
     "面向显示面板、笔电整机等核心企业的上游配套企业，凭确权应收账款线上放款。",
     {"core_enterprises": CORE_ELEC}),
    ("I-CQBANK", "无还本续贷", ["working_capital"], ["credit", "mortgage", "guarantee", "pledge"],
     (10, 3000), (12, 36), (3.50, 4.70),
     "本行流动资金贷款到期后仍有需求的，提前审批、到期无缝续贷。",
     {"loan_kinds": ["renewal"], "existing_customers_only": True}),
    ("I-CQBANK", "中长期项目贷款", ["project", "tech_upgrade"], ["mortgage", "guarantee"],
     (1000, 30000), (36, 120), (3.30, 4.50),
     "支持制造业新建、扩建项目及重点项目白名单企业的中长期资金需求。",
     {"industries": ["C"], "min_years": 3, "min_revenue_wan": 3000}),
    ("I-CQBANK", "好企首贷", ["working_capital", "tech_upgrade"],
     ["credit", "guarantee", "mortgage"], (20, 500), (6, 36), (3.70, 4.90),
     "首贷户专属产品，纳入首贷续贷服务中心名单的企业优先审批。",
     {"loan_kinds": ["first_loan"], "min_years": 1}),
    ("I-CQBANK", "抗疫保供贷", ["working_capital"], ["credit"],
     (10, 500), (3, 12), (3.15, 3.95),
     "保供企业阶段性专项产品，政策到期后已停止受理。",
     {"active": False}),

    ("I-SXBANK", "应收账款质押贷", ["supply_chain"], ["pledge"],
     (20, 3000), (3, 12), (3.70, 5.20),
     "对下游客户的应收账款在中登网办理质押登记，按账款金额的一定比例发放贷款。",
     {"min_years": 1}),
    ("I-SXBANK", "碳汇贷", ["green"], ["pledge", "mortgage", "guarantee"],
     (50, 5000), (12, 60), (3.20, 4.30),
     "以碳排放权、林业碳汇等环境权益质押，支持企业绿色低碳转型。", {}),
    ("I-SXBANK", "知识产权质押贷", ["rnd", "working_capital"], ["pledge"],
     (20, 1000), (12, 36), (3.40, 4.60),
     "以专利权、商标权质押，支持科技成果转化和研发投入，可叠加知识产权质押融资风险补偿。",
     {"tags_any": TECH_TAGS}),
    ("I-SXBANK", "无还本续贷", ["working_capital", "tech_upgrade"],
     ["credit", "mortgage", "guarantee"], (10, 2000), (12, 36), (3.60, 4.80),
     "本行存量客户贷款到期续贷，不需归还本金，减轻企业过桥负担。",
     {"loan_kinds": ["renewal"], "existing_customers_only": True}),
    ("I-SXBANK", "渝链贷（摩托车产业链）", ["supply_chain"], ["credit", "pledge"],
     (20, 1500), (3, 12), (3.60, 5.00),
     "面向摩托车整车企业上游零部件配套商，凭核心企业确权的应收账款融资。",
     {"core_enterprises": CORE_MOTO}),
    ("I-SXBANK", "订单贷", ["supply_chain", "working_capital"], ["credit", "pledge", "guarantee"],
     (20, 1000), (3, 12), (3.80, 5.20),
     "凭与下游客户签订的有效订单，提供订单执行期间的采购与生产资金，回款自动还款。",
     {"min_years": 2}),

    ("I-ICBC", "经营快贷", ["working_capital"], ["credit"],
     (10, 300), (1, 12), (3.30, 4.35),
     "基于纳税、结算等数据线上审批的信用贷款，随借随还，按日计息。",
     {"min_years": 2, "min_revenue_wan": 200}),
    ("I-ICBC", "制造业中长期贷款", ["project", "tech_upgrade"], ["mortgage", "guarantee"],
     (1000, 50000), (36, 120), (3.20, 4.40),
     "支持制造业企业固定资产投资、产能扩张和重大技改，期限最长10年。",
     {"sizes": ["large", "medium"]}),
    ("I-ICBC", "绿色信贷（节能降碳技改）", ["green", "tech_upgrade"],
     ["mortgage", "guarantee", "pledge"], (200, 20000), (24, 96), (3.05, 4.00),
     "支持绿色工厂建设、余热回收、分布式光伏等节能降碳项目。", {}),
    ("I-ICBC", "设备更新贷", ["tech_upgrade"], ["mortgage", "guarantee", "credit"],
     (100, 5000), (12, 60), (2.90, 3.80),
     "设备更新改造专项再贷款支持项目，符合条件的可享中央财政贴息2.5个百分点。",
     {"industries": ["C"], "min_years": 1, "min_revenue_wan": 1000,
      "subsidy_programs": ["equipment_renewal_relending"]}),

    ("I-CCB", "银税互动贷（云税贷）", ["working_capital"], ["credit"],
     (10, 300), (3, 12), (3.45, 4.50),
     "依据纳税信用等级和纳税数据线上核定额度，纳税信用A级、B级企业可申请。",
     {"min_years": 2, "tax_credit_grades": ["A", "B"]}),
    ("I-CCB", "善新贷", ["rnd", "working_capital"], ["credit", "pledge"],
     (50, 2000), (12, 36), (3.30, 4.30),
     "以科技创新能力评价为核心的科技型企业专属信用贷款。",
     {"tags_any": TECH_TAGS}),
    ("I-CCB", "技改专项贷（设备更新）", ["tech_upgrade"], ["mortgage", "guarantee"],
     (200, 8000), (24, 60), (2.95, 3.90),
     "支持企业大规模设备更新，纳入再贷款支持清单的项目可享财政贴息。",
     {"industries": ["C"], "min_years": 2,
      "subsidy_programs": ["equipment_renewal_relending"]}),
    ("I-CCB", "e信通（供应链）", ["supply_chain"], ["credit"],
     (10, 3000), (1, 12), (3.40, 4.50),
     "核心企业签发电子债权凭证，上游供应商可拆分、流转、在线融资。",
     {"core_enterprises": ["长安汽车", "重庆钢铁", "涪陵榨菜", "智飞生物制品"]}),

    ("I-BOC", "外贸贷", ["trade", "working_capital"], ["credit", "pledge", "guarantee"],
     (20, 3000), (3, 12), (3.30, 4.60),
     "面向外贸企业的出口订单备货、进口采购及跨境结算融资。",
     {"tags_any": ["foreign_trade"]}),
    ("I-BOC", "出口信保融资", ["trade"], ["pledge"],
     (50, 5000), (1, 12), (3.10, 4.20),
     "以出口信用保险项下应收账款权益转让为保障的贸易融资。", {}),
    ("I-BOC", "中银绿色信贷", ["green", "project"], ["mortgage", "guarantee", "pledge"],
     (200, 20000), (12, 120), (3.00, 4.10),
     "支持清洁生产、节能环保及新能源项目建设的中长期绿色贷款。",
     {"min_years": 2}),

    ("I-CMB", "瞪羚贷", ["rnd", "working_capital"], ["credit", "pledge"],
     (100, 3000), (12, 36), (3.25, 4.20),
     "面向瞪羚企业、“小巨人”企业的成长期信用贷款，可配套认股选择权。",
     {"tags_any": ["gazelle", "little_giant"]}),
    ("I-CMB", "科创贷", ["rnd"], ["credit", "pledge"],
     (50, 2000), (12, 36), (3.35, 4.40),
     "支持高新技术企业、科技型中小企业研发投入和科技成果转化。",
     {"tags_any": ["high_tech", "tech_sme"], "min_years": 1}),
    ("I-CMB", "独角兽企业贷", ["rnd", "project", "working_capital"], ["credit"],
     (500, 10000), (12, 60), (3.00, 3.90),
     "面向独角兽及拟上市企业的大额信用贷款，投贷联动。",
     {"tags_any": ["unicorn", "listing_pipeline"]}),

    ("I-BSVB", "小微企业经营贷", ["working_capital", "tech_upgrade"],
     ["credit", "mortgage", "guarantee"], (5, 500), (3, 36), (4.20, 6.50),
     "服务璧山区小微企业的经营周转与设备购置，审批快、手续简。", {}),
    ("I-BSVB", "园区厂房按揭贷", ["project"], ["mortgage"],
     (200, 3000), (36, 120), (4.00, 5.20),
     "璧山高新区标准厂房按揭贷款，本年度额度已满，暂停受理。",
     {"active": False}),

    ("I-SXGUAR", "技改担保贷", ["tech_upgrade"], ["guarantee"],
     (100, 3000), (12, 60), (3.50, 4.80),
     "联合合作银行为技改项目提供担保，担保费率不超过1%，可申请担保费补助和技改贴息。",
     {"subsidy_programs": ["guarantee_fee_subsidy", "tech_upgrade_interest"]}),
    ("I-SXGUAR", "专精特新担保贷", ["working_capital", "rnd"], ["guarantee"],
     (100, 2000), (12, 36), (3.60, 4.80),
     "为专精特新、创新型中小企业提供低费率担保，批量对接合作银行。",
     {"tags_any": ["specialized_sme", "little_giant", "innovative_sme"],
      "subsidy_programs": ["guarantee_fee_subsidy"]}),
    ("I-SXGUAR", "制造业中长期担保贷", ["project"], ["guarantee"],
     (1000, 10000), (36, 96), (3.50, 4.60),
     "为制造业重点项目中长期贷款提供政策性担保增信。",
     {"min_years": 3, "subsidy_programs": ["guarantee_fee_subsidy"]}),

    ("I-EXIMGUAR", "外贸担保贷", ["trade", "working_capital"], ["guarantee"],
     (50, 3000), (6, 24), (3.60, 5.00),
     "为进出口企业的贸易融资提供担保，担保费率1%以内。",
     {"tags_any": ["foreign_trade"], "subsidy_programs": ["guarantee_fee_subsidy"]}),
    ("I-EXIMGUAR", "首贷担保贷", ["working_capital"], ["guarantee"],
     (10, 500), (6, 12), (3.80, 5.50),
     "为首次申请银行贷款的小微企业提供担保，帮助建立信贷记录。",
     {"sizes": ["small", "micro"], "loan_kinds": ["first_loan"],
      "subsidy_programs": ["guarantee_fee_subsidy"]}),

    ("I-YCGUAR", "担保贷（永川区风险补偿基金）", ["working_capital", "tech_upgrade"],
     ["guarantee"], (10, 1000), (6, 36), (3.80, 5.20),
     "政银担风险共担，支持永川区中小微企业流动资金和技改融资。",
     {"subsidy_programs": ["guarantee_fee_subsidy"]}),

    ("I-YNSLEASE", "设备融资租赁（直租）", ["equipment_lease", "tech_upgrade"],
     ["credit", "guarantee", "mortgage"], (50, 5000), (12, 60), (4.50, 6.50),
     "企业选定设备、租赁公司购买后出租，以租赁物所有权为主要保障，分期支付租金。",
     {"industries": ["C"], "subsidy_programs": ["equipment_renewal_relending"]}),
    ("I-YNSLEASE", "售后回租", ["equipment_lease", "working_capital"], ["guarantee", "mortgage"],
     (100, 10000), (24, 60), (4.80, 6.50),
     "以企业自有设备售后回租方式盘活存量资产，补充中长期营运资金。",
     {"min_years": 3, "min_revenue_wan": 2000}),
    ("I-YNSLEASE", "新能源汽车产业链设备租赁", ["equipment_lease"], ["credit", "guarantee"],
     (100, 3000), (24, 60), (4.20, 5.80),
     "面向汽车、电池、电子零部件企业的生产设备直租，配套设备更新再贷款贴息。",
     {"industries": ["C36", "C38", "C39"],
      "subsidy_programs": ["equipment_renewal_relending"]}),
    ("I-YHLEASE", "设备融资租赁", ["equipment_lease"], ["guarantee", "mortgage", "pledge"],
     (30, 3000), (12, 48), (5.00, 6.50),
     "中小企业设备融资租赁，首付比例低，可按生产周期设计租金。", {}),

    ("I-PICC", "小微企业贷款保证保险", ["working_capital"], ["guarantee"],
     (10, 500), (6, 12), (4.20, 6.00),
     "由保险公司为小微企业贷款提供保证保险，替代抵押担保，对接合作银行放款。",
     {"sizes": ["small", "micro"], "min_years": 1}),
    ("I-PICC", "首台（套）保险增信贷", ["tech_upgrade", "rnd"], ["guarantee"],
     (100, 5000), (12, 36), (3.60, 4.80),
     "对首台（套）重大技术装备提供质量与责任保险，并以保单增信对接合作银行贷款。",
     {"tags_any": ["high_tech", "specialized_sme", "little_giant", "single_champion"]}),
    ("I-SINOSURE", "信保保单融资", ["trade"], ["pledge", "credit"],
     (20, 3000), (3, 12), (3.40, 4.60),
     "投保短期出口信用保险的企业，可凭保单及出口应收账款对接合作银行融资。",
     {"tags_any": ["foreign_trade"]}),

    ("I-BRIDGE", "应急转贷", ["working_capital"], ["credit", "mortgage", "guarantee", "pledge"],
     (10, 8000), (1, 12), (3.00, 4.50),
     "为银行已同意续贷、原贷款即将到期的企业提供短期过桥资金，专精特新企业免收使用费。",
     {"loan_kinds": ["renewal"], "subsidy_programs": ["bridge_fee_waiver"]}),

    ("I-LJFACTOR", "供应链保理（应收账款转让）", ["supply_chain"], ["credit", "pledge"],
     (50, 5000), (3, 12), (4.80, 6.50),
     "供应商将对核心企业的应收账款转让给保理公司，提前回笼资金。",
     {"core_enterprises": ["长安汽车", "赛力斯", "理想汽车", "重庆钢铁", "京东方"]}),
    ("I-LJFACTOR", "反向保理", ["supply_chain"], ["credit"],
     (20, 3000), (1, 6), (4.50, 6.20),
     "由核心企业发起、确认应付账款，为其上游中小供应商提供无追索保理融资。",
     {"core_enterprises": ["隆鑫通用", "宗申动力", "涪陵榨菜", "西南铝业"]}),
]

PRODUCT_FIELD_ORDER = ["sizes", "tags_any", "industries", "districts", "min_years",
                       "min_revenue_wan", "tax_credit_grades", "loan_kinds",
                       "existing_customers_only", "core_enterprises", "subsidy_programs"]

PRODUCTS = []
for n, (inst, name, purposes, gmodes, amt, term, rate, desc, extra) in enumerate(
        _PRODUCT_SPECS, start=1):
    p = {"ref": f"P-{n:04d}", "institution_ref": inst, "name": name, "purposes": purposes,
         "guarantee_modes": gmodes, "amount_min_wan": amt[0], "amount_max_wan": amt[1],
         "term_min_months": term[0], "term_max_months": term[1],
         "rate_min": rate[0], "rate_max": rate[1]}
    for key in PRODUCT_FIELD_ORDER:
        if key in extra:
            p[key] = extra[key]
    p["description"] = desc
    if "active" in extra:
        p["active"] = extra["active"]
    PRODUCTS.append(p)

# --------------------------------------------------------------------------- enterprises

# cluster -> ([(GB/T 4754 class, name words), ...], equipment, raw materials)
CLUSTER_PROFILE = {
    "intelligent_connected_nev": (
        [("C3670", ["汽车零部件", "精密机械", "汽车电子", "汽车饰件", "传动科技", "新能源汽车部件"]),
         ("C3670", ["汽车零部件", "汽车座椅", "汽车线束", "汽车底盘件"]),
         ("C3660", ["车身模具", "专用车"]),
         ("C3484", ["精密机械", "齿轮"])],
        ["五轴加工中心", "压铸岛", "焊装机器人", "伺服冲压线"], ["钢板", "铝锭", "工程塑料粒子"]),
    "electronic_information": (
        [("C3982", ["电子电路", "电路科技"]), ("C3981", ["电子元件", "电子科技"]),
         ("C3912", ["电脑配件", "电子科技"]), ("C3972", ["半导体", "微电子"]),
         ("C3922", ["通信设备", "智能终端"]), ("C3976", ["光电科技"])],
        ["SMT贴片线", "AOI光学检测设备", "自动插件机", "回流焊设备"], ["芯片", "覆铜板", "电子元器件"]),
    "advanced_materials": (
        [("C2929", ["塑料制品", "高分子材料"]), ("C2661", ["化工", "化学助剂"]),
         ("C3091", ["碳材料", "石墨"]), ("C3061", ["玻纤", "复合材料"]),
         ("C2651", ["新材料", "合成树脂"])],
        ["双螺杆挤出生产线", "连续纤维浸渍线", "反应釜"], ["树脂", "玻璃纤维", "化工原料"]),
    "intelligent_equipment": (
        [("C3484", ["精密机械", "机械零部件"]), ("C3421", ["机床"]),
         ("C3491", ["机器人", "智能装备"]), ("C3443", ["阀门"]),
         ("C3599", ["专用设备", "智能装备"]), ("C4011", ["自动化设备", "自动化控制"])],
        ["数控龙门铣床", "激光切割机", "三坐标测量机", "柔性加工单元"], ["钢材", "铸件", "伺服电机"]),
    "food_agri_processing": (
        [("C1469", ["火锅食品", "调味品"]), ("C1353", ["肉制品", "食品"]),
         ("C1431", ["食品", "米面食品"]), ("C1530", ["茶业"]), ("C1512", ["酒业"]),
         ("C1331", ["粮油"]), ("C1371", ["榨菜食品", "蔬菜食品"])],
        ["自动化灌装线", "冷链仓储设备", "炒料自动化生产线", "无菌包装机"],
        ["牛油", "辣椒花椒", "茶青", "高粱", "青菜头"]),
    "software_information_services": (
        [("C3914", ["工业互联网科技", "工控科技"]), ("C3915", ["信息安全科技"]),
         ("C3919", ["数智科技", "信息技术"])],
        ["服务器及测试平台", "嵌入式产线测试台", "边缘计算设备"], ["服务器", "通信模组", "传感器"]),
    "new_display": (
        [("C3974", ["显示科技", "触控科技"]), ("C3976", ["光电"]), ("C3985", ["光学材料"])],
        ["真空镀膜设备", "模组贴合线", "洁净车间设备"], ["偏光片", "玻璃基板", "背光模组"]),
    "high_end_motorcycle": (
        [("C3752", ["摩托车配件", "机车部件", "动力机械"]), ("C3751", ["摩托车"])],
        ["发动机装配线", "曲轴加工线", "涂装生产线"], ["钢材", "铝合金铸件", "轮胎"]),
    "light_alloy": (
        [("C3252", ["铝业", "铝型材"]), ("C3240", ["轻合金", "镁合金科技"]),
         ("C3392", ["压铸", "精密铸造"]), ("C3216", ["铝业"])],
        ["熔铸炉", "铝型材挤压机", "高压压铸机"], ["铝锭", "镁锭", "合金添加剂"]),
    "light_textile": (
        [("C1810", ["服饰"]), ("C1711", ["纺织"]), ("C1951", ["鞋业"]), ("C2110", ["家具"]),
         ("C2231", ["包装"])],
        ["智能缝制单元", "自动裁床", "喷气织机", "瓦楞纸板生产线"], ["棉纱", "面料", "板材", "原纸"]),
    "biomedicine": (
        [("C2720", ["药业", "制药"]), ("C2740", ["中药", "药业"]),
         ("C2761", ["生物科技", "生物医药"]), ("C3581", ["医疗器械"]), ("C2710", ["化学制药"])],
        ["冻干机", "GMP洁净车间设备", "全自动灯检机"], ["药用辅料", "中药材", "原料药"]),
    "new_energy_storage": (
        [("C3841", ["新能源科技", "电池"]), ("C3825", ["光伏科技"]), ("C3849", ["储能科技"]),
         ("C3824", ["电源科技"])],
        ["电芯化成分容设备", "储能柜装配线", "激光焊接设备"], ["正极材料", "电芯", "光伏组件"]),
    "emerging_18": (
        [("C3744", ["航空科技"]), ("C3749", ["无人机"]), ("C3849", ["氢能科技"]),
         ("C3491", ["智能机器人"])],
        ["复合材料热压罐", "无人机总装测试线", "燃料电池测试台"], ["碳纤维预浸料", "电机", "储氢瓶"]),
    None: (
        [("C3130", ["钢材", "钢铁制品"]), ("C3311", ["钢结构"]), ("C3021", ["建材", "水泥制品"]),
         ("C2221", ["纸业"]), ("C3360", ["表面处理"])],
        ["数控折弯机", "自动焊接生产线", "环保处理设备"], ["钢材", "水泥", "废纸浆"]),
}

CLUSTER_WEIGHTS = {
    "intelligent_connected_nev": 16, "electronic_information": 11, "advanced_materials": 8,
    "intelligent_equipment": 11, "food_agri_processing": 9, "software_information_services": 3,
    "new_display": 3, "high_end_motorcycle": 6, "light_alloy": 5, "light_textile": 6,
    "biomedicine": 6, "new_energy_storage": 5, "emerging_18": 3, None: 6,
}

# where each cluster tends to sit (full district names)
CLUSTER_DISTRICTS = {
    "intelligent_connected_nev": ["两江新区", "渝北区", "璧山区", "永川区", "江津区", "九龙坡区",
                                  "铜梁区", "綦江区", "大足区", "巴南区"],
    "electronic_information": ["两江新区", "重庆高新区", "沙坪坝区", "永川区", "璧山区", "江津区",
                               "大足区", "铜梁区", "南岸区"],
    "advanced_materials": ["长寿区", "涪陵区", "江津区", "万州区", "大渡口区", "綦江区", "万盛经开区"],
    "intelligent_equipment": ["九龙坡区", "永川区", "璧山区", "江津区", "北碚区", "沙坪坝区", "大足区",
                              "巴南区"],
    "food_agri_processing": ["涪陵区", "江津区", "荣昌区", "梁平区", "石柱土家族自治县", "万州区",
                             "潼南区", "南川区", "秀山土家族苗族自治县", "垫江县"],
    "software_information_services": ["两江新区", "渝北区", "南岸区", "重庆高新区", "渝中区"],
    "new_display": ["两江新区", "巴南区", "重庆高新区"],
    "high_end_motorcycle": ["九龙坡区", "巴南区", "璧山区", "綦江区", "北碚区", "江津区"],
    "light_alloy": ["九龙坡区", "南川区", "綦江区", "万盛经开区", "江津区"],
    "light_textile": ["荣昌区", "璧山区", "合川区", "开州区", "梁平区", "潼南区", "垫江县"],
    "biomedicine": ["巴南区", "两江新区", "荣昌区", "长寿区", "重庆高新区", "北碚区"],
    "new_energy_storage": ["两江新区", "铜梁区", "潼南区", "长寿区", "永川区", "涪陵区"],
    "emerging_18": ["两江新区", "重庆高新区", "九龙坡区", "永川区"],
    None: ["大渡口区", "合川区", "綦江区", "万州区", "开州区", "潼南区", "南川区", "垫江县"],
}

BRANDS = ["渝达", "嘉陵", "金渝", "鼎盛", "华创", "川渝", "瑞丰", "恒通", "宏图", "缙云", "山城",
          "巴渝", "聚能", "德信", "天沛", "中元", "博奥", "凯斯特", "泰和", "汇隆", "森源", "铭扬",
          "锦程", "佳禾", "新驰", "骏捷", "华宇", "科瑞", "合信", "渝丰", "景明", "昌盛", "智锐",
          "星辰", "领航", "东升", "同创", "众诚", "弘毅", "启航", "澜图", "青木", "润泽", "百川",
          "立信", "格林", "蓝海", "凌云", "达润", "开物", "朗晖", "卓远", "贝源", "金桥", "旭腾",
          "富川", "安诺", "晟达", "精诚", "云帆", "海岳", "宇澄", "铁马", "巴山", "翠屏", "龙腾",
          "正川", "久源", "明德", "盛泰", "博联", "德润", "鸿升", "恒睿", "宏程", "永昌", "中研",
          "九鼎", "天毅", "华昇", "睿驰", "浩宇", "美亚", "金凯", "高晟", "钰鑫", "皓月", "长旭",
          "渝江", "沐阳", "汇渝", "鑫瑞", "伟业", "嘉润", "天府", "宏达信", "腾跃", "锐思",
          "联祥", "德宝", "渝康", "兴渝", "川东", "华蓥", "乾丰", "鼎钰", "茂源", "诚远"]

# core enterprises as suppliers write them (several forms of one buyer)
CORE_FORMS = {
    "intelligent_connected_nev": ["重庆长安汽车股份有限公司", "长安汽车", "赛力斯集团股份有限公司",
                                  "赛力斯", "长安福特汽车有限公司", "重庆理想汽车有限公司",
                                  "赛力斯汽车有限公司", "阿维塔科技（重庆）有限公司"],
    "electronic_information": ["重庆京东方光电科技有限公司", "京东方", "达丰（重庆）电脑有限公司",
                               "京东方科技集团股份有限公司"],
    "new_display": ["重庆惠科金渝光电科技有限公司", "京东方"],
    "high_end_motorcycle": ["隆鑫通用动力股份有限公司", "隆鑫通用", "重庆宗申动力机械股份有限公司",
                            "宗申动力"],
    "advanced_materials": ["重庆钢铁股份有限公司", "重钢"],
    "light_alloy": ["西南铝业（集团）有限责任公司", "重庆钢铁"],
    "food_agri_processing": ["重庆市涪陵榨菜集团股份有限公司"],
    "biomedicine": ["重庆智飞生物制品股份有限公司"],
    "intelligent_equipment": ["重庆长安汽车股份有限公司", "赛力斯"],
    "new_energy_storage": ["长安汽车"],
}

_used_names: set[str] = set()
_used_brands: set[str] = {"鼎盛", "瑞丰", "嘉陵"}  # the showcase enterprises' brands


def make_name(words: list[str], district: str, size: str) -> str:
    dist_short = DISTRICTS[district].get("short") or district
    for _ in range(1000):
        # one brand per enterprise while brands last (avoids look-alike names)
        fresh = [b for b in BRANDS if b not in _used_brands]
        brand = rng.choice(fresh or BRANDS)
        word = rng.choice(words)
        r = rng.random()
        if r < 0.45:
            prefix = "重庆"
        elif r < 0.75:
            prefix = "重庆市"
        elif DISTRICTS[district]["code"] and district.endswith(("区", "县")) and r < 0.9:
            prefix = "重庆市" + district  # e.g. 重庆市永川区
        elif DISTRICTS[district]["code"]:
            prefix = "重庆" + dist_short  # e.g. 重庆璧山
        else:
            prefix = "重庆"
        if size in ("large", "medium") and rng.random() < 0.4:
            suffix = "股份有限公司"
        elif rng.random() < 0.1:
            suffix = "有限责任公司"
        else:
            suffix = "有限公司"
        if word in ("精密机械", "铝业", "药业", "纺织", "服饰", "鞋业", "食品", "电子元件") \
                and rng.random() < 0.3:
            word = word + "科技"
        name = prefix + brand + word + suffix
        if name not in _used_names:
            _used_names.add(name)
            _used_brands.add(brand)
            return name
    raise RuntimeError("could not make a unique name")


def make_financials(size: str) -> tuple[int, float]:
    """Employees and last year's revenue (万元) consistent with the size class and with a
    plausible revenue per employee (about 10-70万元 in manufacturing)."""
    if size == "micro":
        if rng.random() < 0.7:
            emp = rng.randint(8, 19)
            rev = min(max(emp * rng.uniform(8, 35), 80), 800)
        else:
            emp = rng.randint(20, 40)
            rev = rng.uniform(80, 290)
    elif size == "small":
        emp = int(rng.triangular(20, 299, 60))
        rev = min(max(emp * rng.uniform(12, 70), 300), 16000)
    elif size == "medium":
        emp = int(rng.triangular(300, 980, 400)) if rng.random() < 0.88 else rng.randint(1000, 1500)
        rev = min(max(emp * rng.uniform(15, 55), 2000), 39000)
    else:
        emp = rng.randint(1000, 2500)
        rev = min(max(emp * rng.uniform(30, 60), 40000), 90000)
    rev = round(rev, 1) if rev < 1000 else float(round(rev))
    if rev == int(rev):
        rev = int(rev)
    return emp, rev


def make_tags(size: str, cluster, years: int, rev: float) -> list[str]:
    if rng.random() < 0.5:
        return []
    pool = []
    if size in ("small", "medium") and years >= 3:
        pool += ["specialized_sme"] * 4 + ["innovative_sme"] * 2
        if size == "medium" or rev > 5000:
            pool += ["little_giant"] * 2
    if size == "micro" or (years < 4 and size != "large"):
        pool += ["tech_sme"] * 2 + ["innovative_sme"]
    if years >= 2:
        pool += ["high_tech"] * 4
    if size != "large":
        pool += ["tech_sme"] * 2
    if cluster in ("electronic_information", "light_textile", "food_agri_processing",
                   "high_end_motorcycle", "intelligent_equipment", "light_alloy"):
        pool += ["foreign_trade"] * 5
    if cluster in ("advanced_materials", "light_alloy", "new_energy_storage",
                   "intelligent_connected_nev", None):
        pool += ["green_factory"] * 2
    if rev > 3000 and years <= 12:
        pool += ["gazelle"]
    if size in ("medium", "large"):
        pool += ["listing_pipeline", "double_hundred"]
    if size == "large":
        pool += ["listed", "chain_leader", "single_champion"]
    if cluster in ("emerging_18", "new_energy_storage", "intelligent_connected_nev") \
            and size in ("medium", "large") and years <= 10:
        pool += ["unicorn"]
    k = rng.choice([1, 1, 1, 2, 2, 3])
    tags: list[str] = []
    while len(tags) < k and pool:
        t = rng.choice(pool)
        pool = [x for x in pool if x != t]
        tags.append(t)
    # keep the hierarchy plausible: a 小巨人 is also 专精特新
    if "little_giant" in tags and "specialized_sme" not in tags:
        tags = ["specialized_sme"] + [t for t in tags if t != "specialized_sme"][:2]
        if "little_giant" not in tags:
            tags[-1] = "little_giant"
    return [t for t in TAGS if t in tags]  # vocabulary order


ENTERPRISE_FIELD_ORDER = ["ref", "name", "uscc", "district", "industry", "cluster", "employees",
                          "revenue_wan", "founded", "tags", "tax_credit_grade", "has_bank_loan",
                          "core_enterprise", "size"]


def finish_enterprise(e: dict) -> dict:
    return {k: e[k] for k in ENTERPRISE_FIELD_ORDER if k in e}


ENTERPRISES: list[dict] = []

# three showcase enterprises used by the demo logins
_showcase = [
    {"name": "重庆鼎盛精密汽车零部件有限公司", "district": "永川区", "industry": "C3670",
     "cluster": "intelligent_connected_nev", "employees": 186, "revenue_wan": 12800,
     "founded": "2012-04-16", "tags": ["specialized_sme", "high_tech"], "tax_credit_grade": "A",
     "has_bank_loan": True, "core_enterprise": "重庆长安汽车股份有限公司", "size": "small"},
    {"name": "重庆市璧山区瑞丰电子科技有限公司", "district": "璧山区", "industry": "C3982",
     "cluster": "electronic_information", "employees": 46, "revenue_wan": 1350,
     "founded": "2019-08-22", "tags": ["tech_sme"], "tax_credit_grade": "B", "has_bank_loan": False,
     "core_enterprise": "京东方"},
    {"name": "重庆嘉陵轻合金科技股份有限公司", "district": "江津区", "industry": "C3252",
     "cluster": "light_alloy", "employees": 620, "revenue_wan": 38600, "founded": "2006-11-03",
     "tags": ["specialized_sme", "little_giant", "green_factory", "foreign_trade"],
     "tax_credit_grade": "A", "has_bank_loan": True, "size": "medium"},
]
for s in _showcase:
    _used_names.add(s["name"])
    e = {"ref": f"E-{len(ENTERPRISES) + 1:04d}", **s}
    e["uscc"] = make_uscc(e["district"], d(e["founded"]))
    ENTERPRISES.append(finish_enterprise(e))

N_ENTERPRISES = 96
cluster_keys = list(CLUSTER_WEIGHTS)
cluster_seq = [c for c in CLUSTERS]  # guarantee every cluster once
rng.shuffle(cluster_seq)
size_pool = ["micro"] * 16 + ["small"] * 42 + ["medium"] * 27 + ["large"] * 8
rng.shuffle(size_pool)
core_budget = 23  # plus the two showcase ones
while len(ENTERPRISES) < N_ENTERPRISES:
    if cluster_seq:
        cluster = cluster_seq.pop()
    else:
        cluster = rng.choices(cluster_keys, weights=[CLUSTER_WEIGHTS[k] for k in cluster_keys])[0]
    industry, words = rng.choice(CLUSTER_PROFILE[cluster][0])
    # 2/3 in the cluster's home districts, the rest anywhere manufacturing happens
    r = rng.random()
    if r < 0.07:
        district = "永川区"
    elif r < 0.11:
        district = "璧山区"
    elif rng.random() < 0.7:
        district = rng.choice(CLUSTER_DISTRICTS[cluster])
    else:
        district = rng.choice(["江津区", "合川区", "永川区", "长寿区", "涪陵区", "万州区", "大足区",
                               "荣昌区", "铜梁区", "潼南区", "璧山区", "綦江区", "南川区", "梁平区",
                               "开州区", "巴南区", "北碚区", "渝北区", "九龙坡区", "沙坪坝区",
                               "江北区", "忠县", "垫江县", "丰都县", "武隆区", "黔江区"])
    size = size_pool.pop()
    emp, rev = make_financials(size)
    assert derive_size(emp, rev) == size, (size, emp, rev)
    if size == "large":
        founded = rand_date("1995-01-01", "2014-12-31")
    elif size == "medium":
        founded = rand_date("1995-01-01", "2020-12-31")
    elif size == "small":
        founded = rand_date("2000-01-01", "2025-03-31")
    else:
        founded = rand_date("2016-01-01", "2025-10-31")
    years = (d("2026-09-01") - founded).days // 365
    e = {"ref": f"E-{len(ENTERPRISES) + 1:04d}",
         "name": make_name(words, district, size),
         "uscc": make_uscc(district, founded),
         "district": district,
         "industry": industry,
         "employees": emp, "revenue_wan": rev, "founded": founded.isoformat()}
    if cluster is not None:
        e["cluster"] = cluster
    tags = make_tags(size, cluster, years, rev)
    if tags:
        e["tags"] = tags
    elif rng.random() < 0.3:
        e["tags"] = []
    g = rng.random()
    if years >= 1 and g < 0.78:
        e["tax_credit_grade"] = rng.choices(["A", "B", "M", "C", "D"], [36, 33, 14, 4, 1])[0]
    elif years < 1 and g < 0.5:
        e["tax_credit_grade"] = "M"  # new taxpayers are graded M
    p_loan = {"micro": 0.35, "small": 0.68, "medium": 0.88, "large": 0.97}[size]
    has_loan = rng.random() < p_loan
    if has_loan or rng.random() < 0.8:
        e["has_bank_loan"] = has_loan  # sometimes omitted: default false
    if core_budget > 0 and cluster in CORE_FORMS and size != "large" and rng.random() < 0.45:
        e["core_enterprise"] = rng.choice(CORE_FORMS[cluster])
        core_budget -= 1
    if rng.random() < 0.4:
        e["size"] = size
    ENTERPRISES.append(finish_enterprise(e))

ENT_BY_REF = {e["ref"]: e for e in ENTERPRISES}


def ent_size(e: dict) -> str:
    return e.get("size") or derive_size(e["employees"], e["revenue_wan"])


# --------------------------------------------------------------------------- needs

PURPOSE_TERMS = {
    "working_capital": ([12] * 8 + [6, 24, 36], (30, 1000)),
    "tech_upgrade": ([24, 36, 36, 48, 60], (200, 3000)),
    "supply_chain": ([3, 6, 6, 9, 12, 12], (20, 2000)),
    "project": ([60, 72, 84, 96, 120], (1000, 20000)),
    "rnd": ([12, 24, 24, 36], (50, 1500)),
    "green": ([24, 36, 48, 60, 84, 96], (100, 5000)),
    "trade": ([3, 6, 6, 12, 12], (30, 2000)),
    "equipment_lease": ([24, 36, 36, 48, 60], (50, 3000)),
}

# share of revenue a need of this purpose typically asks for
PURPOSE_SHARE = {"working_capital": (0.04, 0.25), "tech_upgrade": (0.05, 0.4),
                 "supply_chain": (0.03, 0.2), "project": (0.15, 0.8), "rnd": (0.03, 0.3),
                 "green": (0.05, 0.4), "trade": (0.04, 0.3), "equipment_lease": (0.04, 0.35)}

GMODE_PREF = {
    "working_capital": [("credit",), ("guarantee", "credit"), ("mortgage",),
                        ("mortgage", "guarantee"), ("credit", "guarantee", "mortgage")],
    "tech_upgrade": [("mortgage",), ("mortgage", "guarantee"), ("guarantee",),
                     ("credit", "mortgage"), ("mortgage", "pledge", "guarantee")],
    "supply_chain": [("pledge",), ("credit", "pledge"), ("credit",), ("pledge", "guarantee")],
    "project": [("mortgage",), ("mortgage", "guarantee"), ("mortgage", "pledge", "guarantee")],
    "rnd": [("credit",), ("pledge",), ("credit", "pledge"), ("guarantee", "credit")],
    "green": [("mortgage",), ("pledge", "mortgage"), ("guarantee",), ("credit",)],
    "trade": [("credit",), ("pledge",), ("credit", "pledge"), ("guarantee", "pledge")],
    "equipment_lease": [("credit",), ("guarantee",), ("guarantee", "mortgage"),
                        ("credit", "guarantee")],
}

MARKETS = ["东盟", "中亚", "欧洲", "中东", "拉美", "俄罗斯", "非洲"]
GREEN_ITEMS = ["屋顶分布式光伏", "余热回收系统", "燃煤锅炉“煤改气”", "空压机系统节能改造",
               "VOCs废气治理设施", "废水零排放改造", "能源管理中心建设"]
RND_TOPICS = {
    "intelligent_connected_nev": ["线控底盘零部件", "一体化压铸车身结构件", "800V高压连接器"],
    "electronic_information": ["车规级功率模组", "高密度互连电路板", "MEMS传感器封装"],
    "advanced_materials": ["高性能改性工程塑料", "碳纤维复合材料", "电子级化学品"],
    "intelligent_equipment": ["协作机器人减速器", "五轴联动数控系统", "智能仓储物流装备"],
    "food_agri_processing": ["火锅底料风味稳定工艺", "预制菜冷链保鲜技术", "低盐榨菜发酵工艺"],
    "software_information_services": ["工业互联网平台", "设备预测性维护系统", "工业控制安全网关"],
    "new_display": ["Micro LED背光模组", "车载曲面显示模组", "柔性触控传感器"],
    "high_end_motorcycle": ["大排量摩托车电喷系统", "电动摩托车驱动总成", "ABS制动系统"],
    "light_alloy": ["高强韧铝合金压铸材料", "镁合金轻量化部件", "再生铝保级利用"],
    "light_textile": ["功能性面料", "智能家居板式家具", "可降解包装材料"],
    "biomedicine": ["创新制剂一致性评价", "重组蛋白疫苗工艺", "中药配方颗粒"],
    "new_energy_storage": ["储能系统热管理", "钠离子电池", "光储一体化逆变器"],
    "emerging_18": ["工业无人机飞控系统", "氢燃料电池电堆", "卫星通信终端"],
    None: ["绿色建材新工艺", "高强度钢结构防腐", "无铬钝化表面处理"],
}

RENEWAL_LOAN_LABEL = {"working_capital": "流动资金贷款", "supply_chain": "应收账款融资",
                      "trade": "贸易融资", "tech_upgrade": "技改贷款"}


def core_display(e: dict) -> str:
    return e.get("core_enterprise") or rng.choice(["主要下游客户", "整车厂客户", "国企客户", "龙头企业"])


def describe(purpose: str, e: dict, amount: float, kind: str | None, lender: str | None,
             due: dt.date | None) -> str:
    cluster = e.get("cluster")
    _, equipment, materials = CLUSTER_PROFILE[cluster]
    if kind == "renewal":
        text = (f"在{INST_BY_REF[lender]['name']}的{RENEWAL_LOAN_LABEL[purpose]}将于"
                f"{due.year}年{due.month}月到期，企业经营正常，申请续贷{amount:g}万元")
        if purpose == "working_capital":
            return text + rng.choice(["，希望办理无还本续贷。", "，如需过桥希望对接应急转贷资金。",
                                      "，希望续贷期限延长至两年。"])
        return text + "。"
    if purpose == "working_capital":
        return rng.choice([
            f"采购{rng.choice(materials)}等原材料，补充日常生产流动资金。",
            "订单增长，需补充流动资金用于备货和发放工资。",
            f"旺季前集中采购{rng.choice(materials)}，资金缺口约{amount:g}万元。",
        ]) + ("首次申请银行贷款。" if kind == "first_loan" else "")
    if purpose == "tech_upgrade":
        item = rng.choice(equipment)
        qty = f"{rng.randint(1, 2)}条" if item.endswith("线") else f"{rng.randint(2, 8)}台（套）"
        return f"购置{item}{qty}，对现有产线进行智能化改造。"
    if purpose == "supply_chain":
        return rng.choice([
            f"为{core_display(e)}供货形成应收账款约{round_amount(amount * 1.3):g}万元，申请融资盘活资金。",
            f"承接{core_display(e)}新订单，需要订单执行期间的备料资金。",
        ])
    if purpose == "project":
        return (f"新建{rng.randint(2, 12)}万平方米厂房及配套生产线项目，"
                f"{rng.choice(['已列入区重点项目清单', '已完成立项和环评', '土地已摘牌'])}。")
    if purpose == "rnd":
        return f"开展{rng.choice(RND_TOPICS[cluster])}研发，资金用于样机试制、检测认证和研发人员投入。"
    if purpose == "green":
        item = rng.choice(GREEN_ITEMS)
        if item in ("VOCs废气治理设施", "废水零排放改造"):
            return f"建设{item}，满足新的排放标准，申报绿色工厂。"
        return f"实施{item}项目，预计年节约标准煤{rng.randint(3, 60) * 50}吨。"
    if purpose == "trade":
        return f"出口{rng.choice(MARKETS)}订单备货及跨境结算资金需求，回款周期约{rng.choice([60, 90, 120])}天。"
    if purpose == "equipment_lease":
        return f"拟通过融资租赁方式引进{rng.choice(equipment)}，缓解一次性购置资金压力。"
    raise ValueError(purpose)


# the mix of generated needs (besides the showcase ones): (purpose, renewal?) -> count
NEED_SLOTS = {
    ("working_capital", False): 34, ("tech_upgrade", False): 30, ("supply_chain", False): 15,
    ("project", False): 12, ("rnd", False): 16, ("green", False): 13, ("trade", False): 11,
    ("equipment_lease", False): 15,
    ("working_capital", True): 22, ("supply_chain", True): 5, ("trade", True): 3,
}
MACHINERY = ("C33", "C34", "C35", "C36", "C37", "C38", "C39", "C40")


def fit(e: dict, purpose: str, renewal: bool) -> float:
    """How plausible it is that this enterprise files a need of this kind."""
    has_loan = e.get("has_bank_loan", False)
    tags = set(e.get("tags", []))
    size = ent_size(e)
    if renewal:
        if not has_loan:
            return 0.0
        if purpose == "trade":
            return 1.0 if "foreign_trade" in tags else 0.0
        if purpose == "supply_chain":
            return 4.0 if e.get("core_enterprise") else 0.5
        return 1.0
    w = 1.0
    if purpose == "working_capital":
        w = 1.5 if not has_loan else 1.0
    elif purpose == "tech_upgrade":
        w = (1.6 if e["industry"].startswith(MACHINERY) else 1.0) * (0.4 if size == "micro" else 1)
    elif purpose == "supply_chain":
        w = 8.0 if e.get("core_enterprise") else 0.7
    elif purpose == "project":
        w = 1.0 if size in ("medium", "large") or e["revenue_wan"] > 3000 else 0.0
        w *= 1.0 if has_loan else 0.15
    elif purpose == "rnd":
        w = 5.0 if tags & set(TECH_TAGS) else 0.4
    elif purpose == "green":
        w = 4.0 if "green_factory" in tags or e.get("cluster") in (
            "advanced_materials", "light_alloy", "new_energy_storage", None) else 0.5
    elif purpose == "trade":
        w = 8.0 if "foreign_trade" in tags else 0.3
    elif purpose == "equipment_lease":
        w = 1.5 if size in ("micro", "small") else 1.0
    return w


def make_amount_term(purpose: str, e: dict, kind: str | None) -> tuple[float, int]:
    terms, (lo, hi) = PURPOSE_TERMS[purpose]
    share = rng.uniform(*PURPOSE_SHARE[purpose])
    amount = e["revenue_wan"] * share
    if kind == "first_loan":
        hi = min(hi, {"micro": 150, "small": 500}.get(ent_size(e), 800))
    if amount > hi:
        amount = hi * rng.uniform(0.55, 1.0)
    if amount < lo:
        amount = lo * rng.uniform(1.0, 1.6)
    if purpose == "project":
        amount = min(amount, e["revenue_wan"] * rng.uniform(0.6, 1.0))
        amount = max(amount, lo)
    elif rng.random() < 0.08:  # an occasional outsized request
        amount = min(amount * rng.uniform(2, 4), hi * 1.5)
    return round_amount(amount), rng.choice(terms)


NEEDS: list[dict] = []


def add_need(e: dict, purpose: str, kind: str | None, amount: float, term: int, gmodes,
             created: dt.date, *, write_kind: bool = True, lender: str | None = None,
             due: dt.date | None = None, max_rate: float | None = None,
             description: str | None = None, consent: bool | None = True) -> dict:
    n = {"ref": f"N-{len(NEEDS) + 1:04d}", "enterprise_ref": e["ref"], "purpose": purpose}
    if kind is not None and write_kind:
        n["loan_kind"] = kind
    if lender:
        n["current_lender_ref"] = lender
    if due:
        n["renewal_due"] = due.isoformat()
    n["amount_wan"] = amount
    n["term_months"] = term
    n["guarantee_modes"] = [g for g in GMODES if g in gmodes]
    if max_rate is not None:
        n["max_rate"] = max_rate
    n["created"] = created.isoformat()
    n["description"] = description or describe(purpose, e, amount, kind, lender, due)
    if consent is not None:
        n["consent_to_share"] = consent
    NEEDS.append(n)
    return n


# showcase needs
E1, E2, E3 = ENTERPRISES[0], ENTERPRISES[1], ENTERPRISES[2]
add_need(E1, "tech_upgrade", "new", 800, 36, ["mortgage"], d("2026-09-01"), max_rate=4.0,
         description="购置五轴加工中心两台、焊装机器人四台，扩建新能源车型转向节产线。")
add_need(E1, "supply_chain", None, 300, 6, ["credit"], d("2026-09-10"),
         description="为长安汽车供货形成应收账款约420万元，申请渝链贷盘活资金。")
add_need(E1, "working_capital", "renewal", 500, 12, ["mortgage", "guarantee"], d("2026-10-15"),
         lender="I-CQRCB", due=d("2026-12-20"),
         description="重庆农村商业银行500万元流动资金贷款将于2026年12月到期，申请无还本续贷。")
add_need(E2, "working_capital", None, 100, 12, ["credit", "guarantee"], d("2026-10-08"),
         description="首次申请银行贷款，用于采购覆铜板和芯片等原材料。")
add_need(E2, "rnd", "first_loan", 200, 24, ["pledge"], d("2026-10-20"), max_rate=4.5,
         description="以两项发明专利质押，开展车规级功率模组研发和可靠性认证。")
add_need(E3, "green", "new", 3000, 60, ["mortgage"], d("2026-07-12"),
         description="建设熔铸车间余热回收及6兆瓦屋顶分布式光伏，预计年节约标准煤2400吨。")
add_need(E3, "project", None, 8000, 96, ["mortgage", "guarantee"], d("2026-08-05"),
         description="新建年产3万吨新能源汽车用高强铝合金型材项目，已列入市级重点项目白名单。")
add_need(E3, "trade", "new", 1200, 6, ["credit", "pledge"], d("2026-11-02"), max_rate=3.6,
         description="出口东盟新能源汽车电池托盘订单备货，已投保出口信用保险。")

RENEWAL_LENDERS = ["I-CQRCB"] * 4 + ["I-CQBANK"] * 3 + ["I-SXBANK"] * 2 + \
    ["I-ICBC", "I-CCB", "I-BOC", "I-CMB", "I-BSVB"]
slots = [key for key, count in NEED_SLOTS.items() for _ in range(count)]
rng.shuffle(slots)
need_count = Counter(n["enterprise_ref"] for n in NEEDS)
pool = ENTERPRISES[3:]
for purpose, renewal in slots:
    # spread needs over enterprises: prefer those with none yet, rarely more than three
    weights = [fit(e, purpose, renewal) * (5.0 if need_count[e["ref"]] == 0 else
                                           1.0 / (1 + need_count[e["ref"]]) ** 2)
               for e in pool]
    e = rng.choices(pool, weights)[0]
    need_count[e["ref"]] += 1
    has_loan = e.get("has_bank_loan", False)
    if renewal:
        kind = "renewal"
        write_kind = True
    elif not has_loan:
        kind = "first_loan"
        write_kind = rng.random() < 0.7
    else:
        kind = "new"
        write_kind = rng.random() < 0.7
    amount, term = make_amount_term(purpose, e, kind)
    created = rand_date("2026-06-01", "2026-11-20")
    lender = due = None
    if kind == "renewal":
        lenders = RENEWAL_LENDERS
        if e["district"] != "璧山区":
            lenders = [x for x in lenders if x != "I-BSVB"]
        if e["district"] not in MAIN_CITY:
            lenders = [x for x in lenders if x != "I-CMB"]
        lender = rng.choice(lenders)
        due = rand_date("2026-12-01", "2027-06-30")
        term = rng.choice([12, 12, 12, 24, 36]) if purpose == "working_capital" \
            else rng.choice([6, 12])
    gmodes = list(rng.choice(GMODE_PREF[purpose]))
    if kind == "first_loan" and "mortgage" in gmodes and rng.random() < 0.6:
        gmodes = ["credit"] if rng.random() < 0.5 else ["credit", "guarantee"]
    max_rate = None
    if rng.random() < 0.35:
        max_rate = rng.choice([3.5, 3.8, 4.0, 4.0, 4.2, 4.5, 4.5, 5.0, 5.5])
        if rng.random() < 0.12:
            max_rate = rng.choice([2.6, 2.8])  # unrealistic expectation
    consent = rng.choices([True, False, None], [86, 10, 4])[0]
    add_need(e, purpose, kind, amount, term, gmodes, created, write_kind=write_kind,
             lender=lender, due=due, max_rate=max_rate, consent=consent)


DOC = {"format": "matchmaker-exchange/1", "institutions": INSTITUTIONS, "products": PRODUCTS,
       "enterprises": ENTERPRISES, "needs": NEEDS}

# --------------------------------------------------------------------------- users

USERS = {"users": [
    {"email": "qiye1@demo.matchmaker.local", "password": "demo-enterprise-2026", "name": "张建国",
     "role": "enterprise", "enterprise_ref": E1["ref"]},
    {"email": "qiye2@demo.matchmaker.local", "password": "demo-enterprise-2026", "name": "李晓燕",
     "role": "enterprise", "enterprise_ref": E2["ref"]},
    {"email": "qiye3@demo.matchmaker.local", "password": "demo-enterprise-2026", "name": "王志强",
     "role": "enterprise", "enterprise_ref": E3["ref"]},
    {"email": "cqrcb-admin@demo.matchmaker.local", "password": "demo-bank_admin-2026",
     "name": "陈立明", "role": "bank_admin", "institution_ref": "I-CQRCB"},
    {"email": "cqbank-admin@demo.matchmaker.local", "password": "demo-bank_admin-2026",
     "name": "刘静", "role": "bank_admin", "institution_ref": "I-CQBANK"},
    {"email": "sxguar-admin@demo.matchmaker.local", "password": "demo-bank_admin-2026",
     "name": "周海涛", "role": "bank_admin", "institution_ref": "I-SXGUAR"},
    {"email": "cqrcb-kh1@demo.matchmaker.local", "password": "demo-bank_manager-2026",
     "name": "赵敏", "role": "bank_manager", "institution_ref": "I-CQRCB"},
    {"email": "cqrcb-kh2@demo.matchmaker.local", "password": "demo-bank_manager-2026",
     "name": "孙伟", "role": "bank_manager", "institution_ref": "I-CQRCB"},
    {"email": "cqbank-kh1@demo.matchmaker.local", "password": "demo-bank_manager-2026",
     "name": "吴倩", "role": "bank_manager", "institution_ref": "I-CQBANK"},
    {"email": "jxw@demo.matchmaker.local", "password": "demo-organizer-2026", "name": "郑国平",
     "role": "organizer", "district": None, "organization": "重庆市经济和信息化委员会"},
    {"email": "yongchuan-jxw@demo.matchmaker.local", "password": "demo-organizer-2026",
     "name": "何丽", "role": "organizer", "district": "永川区",
     "organization": "永川区经济和信息化委员会"},
    {"email": "admin@demo.matchmaker.local", "password": "demo-admin-2026", "name": "平台管理员",
     "role": "admin"},
]}


# --------------------------------------------------------------------------- self-check

ALLOWED = {
    "institutions": {"ref", "name", "kind", "districts"},
    "products": {"ref", "institution_ref", "name", "purposes", "guarantee_modes",
                 "amount_min_wan", "amount_max_wan", "term_min_months", "term_max_months",
                 "rate_min", "rate_max", "sizes", "tags_any", "industries", "districts",
                 "min_years", "min_revenue_wan", "tax_credit_grades", "loan_kinds",
                 "existing_customers_only", "core_enterprises", "subsidy_programs",
                 "description", "active"},
    "enterprises": {"ref", "name", "uscc", "district", "industry", "cluster", "employees",
                    "revenue_wan", "founded", "tags", "tax_credit_grade", "has_bank_loan",
                    "core_enterprise", "size"},
    "needs": {"ref", "enterprise_ref", "purpose", "loan_kind", "current_lender_ref",
              "renewal_due", "amount_wan", "term_months", "guarantee_modes", "max_rate",
              "created", "description", "consent_to_share"},
}
REQUIRED = {
    "institutions": {"ref", "name", "kind"},
    "products": {"ref", "institution_ref", "name", "purposes", "guarantee_modes",
                 "amount_min_wan", "amount_max_wan", "term_min_months", "term_max_months",
                 "rate_min", "rate_max"},
    "enterprises": {"ref", "name", "uscc", "district", "industry", "employees", "revenue_wan",
                    "founded"},
    "needs": {"ref", "enterprise_ref", "purpose", "amount_wan", "term_months",
              "guarantee_modes"},
}


def need_kind(n: dict, e: dict) -> str:
    return n.get("loan_kind") or ("new" if e.get("has_bank_loan", False) else "first_loan")


def full_years(founded: dt.date, at: dt.date) -> int:
    return at.year - founded.year - ((at.month, at.day) < (founded.month, founded.day))


def eligible(p: dict, n: dict, e: dict) -> bool:
    inst = INST_BY_REF[p["institution_ref"]]
    if not p.get("active", True):                                           # 1
        return False
    if n["purpose"] not in p["purposes"]:                                   # 2
        return False
    if not p["amount_min_wan"] <= n["amount_wan"] <= p["amount_max_wan"]:   # 3
        return False
    if not p["term_min_months"] <= n["term_months"] <= p["term_max_months"]:  # 4
        return False
    if not set(p["guarantee_modes"]) & set(n["guarantee_modes"]):           # 5
        return False
    cover = p.get("districts") or inst.get("districts") or []               # 6
    if cover and e["district"] not in cover:
        return False
    if p.get("sizes") and ent_size(e) not in p["sizes"]:                    # 7
        return False
    if p.get("tags_any") and not set(p["tags_any"]) & set(e.get("tags", [])):
        return False
    if p.get("industries") and not any(e["industry"].startswith(i) for i in p["industries"]):
        return False
    created = d(n.get("created", "2026-11-26"))
    if p.get("min_years") is not None and full_years(d(e["founded"]), created) < p["min_years"]:
        return False
    if p.get("min_revenue_wan") is not None and e["revenue_wan"] < p["min_revenue_wan"]:
        return False
    if p.get("tax_credit_grades") and e.get("tax_credit_grade") not in p["tax_credit_grades"]:
        return False
    if p.get("loan_kinds") and need_kind(n, e) not in p["loan_kinds"]:
        return False
    if p.get("core_enterprises"):
        mine = norm_core(e.get("core_enterprise", ""))
        if not mine or mine not in {norm_core(c) for c in p["core_enterprises"]}:
            return False
    if n.get("max_rate") is not None and p["rate_min"] > n["max_rate"]:     # 8
        return False
    # 9
    return not (p.get("existing_customers_only")
                and n.get("current_lender_ref") != p["institution_ref"])


def self_check(doc: dict, users: dict) -> list[str]:
    errs: list[str] = []
    district_names = set(DISTRICTS)
    for section in ("institutions", "products", "enterprises", "needs"):
        refs = [r["ref"] for r in doc[section]]
        if len(refs) != len(set(refs)):
            errs.append(f"{section}: duplicate refs")
        for r in doc[section]:
            extra = set(r) - ALLOWED[section]
            missing = REQUIRED[section] - set(r)
            if extra:
                errs.append(f"{section} {r['ref']}: unknown fields {sorted(extra)}")
            if missing:
                errs.append(f"{section} {r['ref']}: missing fields {sorted(missing)}")
    for i in doc["institutions"]:
        if i["kind"] not in INST_KINDS:
            errs.append(f"institutions {i['ref']} kind")
        for x in i.get("districts", []):
            if x not in district_names:
                errs.append(f"institutions {i['ref']} district {x}")
    for p in doc["products"]:
        ref = p["ref"]
        if p["institution_ref"] not in INST_BY_REF:
            errs.append(f"products {ref} institution_ref")
        for key, vocab in (("purposes", PURPOSES), ("guarantee_modes", GMODES),
                           ("sizes", SIZES), ("tags_any", TAGS),
                           ("tax_credit_grades", GRADES), ("loan_kinds", LOAN_KINDS),
                           ("subsidy_programs", SUBSIDIES)):
            for c in p.get(key, []):
                if c not in vocab:
                    errs.append(f"products {ref} {key}: {c}")
        if not p["purposes"] or not p["guarantee_modes"]:
            errs.append(f"products {ref}: empty purposes/guarantee_modes")
        for x in p.get("districts", []):
            if x not in district_names:
                errs.append(f"products {ref} district {x}")
        for ind in p.get("industries", []):
            if not (ind == "C" or ind[:3] in DIVISIONS):
                errs.append(f"products {ref} industry {ind}")
        if not 0 < p["amount_min_wan"] <= p["amount_max_wan"]:
            errs.append(f"products {ref} amount range")
        if not 0 < p["term_min_months"] <= p["term_max_months"]:
            errs.append(f"products {ref} term range")
        if not 2.8 <= p["rate_min"] <= p["rate_max"] <= 6.5:
            errs.append(f"products {ref} rate range")
        if "guarantee_fee_subsidy" in p.get("subsidy_programs", []) and \
                INST_BY_REF[p["institution_ref"]]["kind"] != "guarantee":
            errs.append(f"products {ref}: guarantee_fee_subsidy outside a guarantee institution")
    names = [e["name"] for e in doc["enterprises"]]
    usccs = [e["uscc"] for e in doc["enterprises"]]
    if len(set(names)) != len(names):
        errs.append("enterprises: duplicate names")
    if len(set(usccs)) != len(usccs):
        errs.append("enterprises: duplicate USCCs")
    for e in doc["enterprises"]:
        ref = e["ref"]
        if not (len(e["uscc"]) == 18 and stdnum_uscc.is_valid(e["uscc"])):
            errs.append(f"enterprises {ref} uscc invalid")
        if org_check(e["uscc"][8:16]) != e["uscc"][16]:
            errs.append(f"enterprises {ref} uscc organization code check")
        if e["district"] not in district_names:
            errs.append(f"enterprises {ref} district")
        if not (e["industry"][:3] in DIVISIONS and len(e["industry"]) == 5):
            errs.append(f"enterprises {ref} industry")
        if "cluster" in e and e["cluster"] not in CLUSTERS:
            errs.append(f"enterprises {ref} cluster")
        for t in e.get("tags", []):
            if t not in TAGS:
                errs.append(f"enterprises {ref} tag {t}")
        if "tax_credit_grade" in e and e["tax_credit_grade"] not in GRADES:
            errs.append(f"enterprises {ref} grade")
        if "size" in e and e["size"] not in SIZES:
            errs.append(f"enterprises {ref} size")
        if not (8 <= e["employees"] <= 2500 and 80 <= e["revenue_wan"] <= 90000):
            errs.append(f"enterprises {ref} employees/revenue out of range")
        if not d("1995-01-01") <= d(e["founded"]) <= d("2025-12-31"):
            errs.append(f"enterprises {ref} founded")
    for n in doc["needs"]:
        ref = n["ref"]
        e = ENT_BY_REF.get(n["enterprise_ref"])
        if e is None:
            errs.append(f"needs {ref} enterprise_ref")
            continue
        if n["purpose"] not in PURPOSES:
            errs.append(f"needs {ref} purpose")
        kind = n.get("loan_kind")
        if kind is not None and kind not in LOAN_KINDS:
            errs.append(f"needs {ref} loan_kind")
        if kind == "first_loan" and e.get("has_bank_loan", False):
            errs.append(f"needs {ref}: first_loan for an enterprise with a bank loan")
        if kind == "renewal":
            if not e.get("has_bank_loan", False):
                errs.append(f"needs {ref}: renewal for an enterprise without a bank loan")
            lender = INST_BY_REF.get(n.get("current_lender_ref"))
            if lender is None or lender["kind"] != "bank":
                errs.append(f"needs {ref}: current_lender_ref is not a bank")
            if not d("2026-12-01") <= d(n["renewal_due"]) <= d("2027-06-30"):
                errs.append(f"needs {ref}: renewal_due")
        if not (n["amount_wan"] > 0 and isinstance(n["term_months"], int) and n["term_months"] > 0):
            errs.append(f"needs {ref} amount/term")
        if not 1 <= len(n["guarantee_modes"]) <= 3 or \
                any(g not in GMODES for g in n["guarantee_modes"]):
            errs.append(f"needs {ref} guarantee_modes")
        if not d("2026-06-01") <= d(n["created"]) <= d("2026-11-20"):
            errs.append(f"needs {ref} created")
    inst_refs = set(INST_BY_REF)
    ent_refs = set(ENT_BY_REF)
    roles = Counter(u["role"] for u in users["users"])
    for u in users["users"]:
        if len(u["password"]) < 10:
            errs.append(f"users {u['email']}: password too short")
        if u.get("enterprise_ref") and u["enterprise_ref"] not in ent_refs:
            errs.append(f"users {u['email']}: enterprise_ref")
        if u.get("institution_ref") and u["institution_ref"] not in inst_refs:
            errs.append(f"users {u['email']}: institution_ref")
        if u.get("district") and u["district"] not in district_names:
            errs.append(f"users {u['email']}: district")
    if roles != Counter({"enterprise": 3, "bank_admin": 3, "bank_manager": 3,
                         "organizer": 2, "admin": 1}):
        errs.append(f"users: role counts {dict(roles)}")
    # coverage
    purposes_used = {n["purpose"] for n in doc["needs"]}
    if purposes_used != set(PURPOSES):
        errs.append(f"needs: purposes missing {set(PURPOSES) - purposes_used}")
    kinds_used = {n.get("loan_kind") for n in doc["needs"]}
    if not set(LOAN_KINDS) <= kinds_used or None not in kinds_used:
        errs.append("needs: not every loan_kind written (and some omitted)")
    clusters_used = {e.get("cluster") for e in doc["enterprises"]}
    if not set(CLUSTERS) <= clusters_used:
        errs.append(f"enterprises: clusters missing {set(CLUSTERS) - clusters_used}")
    if len({e["district"] for e in doc["enterprises"]}) < 20:
        errs.append("enterprises: fewer than 20 districts")
    return errs


def report(doc: dict) -> None:
    print(f"institutions {len(doc['institutions'])}  kinds "
          f"{dict(Counter(i['kind'] for i in doc['institutions']))}")
    inactive = sum(1 for p in doc["products"] if p.get("active", True) is False)
    print(f"products {len(doc['products'])} ({inactive} inactive)")
    ents = doc["enterprises"]
    print(f"enterprises {len(ents)}  districts {len({e['district'] for e in ents})}  "
          f"clusters {len({e['cluster'] for e in ents if 'cluster' in e})}  "
          f"sizes {dict(Counter(ent_size(e) for e in ents))}  "
          f"with core_enterprise {sum(1 for e in ents if 'core_enterprise' in e)}")
    needs = doc["needs"]
    print(f"needs {len(needs)}")
    print("  by purpose:   ", dict(Counter(n["purpose"] for n in needs)))
    print("  loan_kind written:", dict(Counter(n.get("loan_kind", "(omitted)") for n in needs)))
    print("  loan_kind effective:",
          dict(Counter(need_kind(n, ENT_BY_REF[n["enterprise_ref"]]) for n in needs)))
    counts = []
    for n in needs:
        e = ENT_BY_REF[n["enterprise_ref"]]
        counts.append(sum(1 for p in doc["products"] if eligible(p, n, e)))
    with_match = sum(1 for c in counts if c > 0)
    print(f"  needs with >=1 eligible product (rules 1-9): {with_match} of {len(needs)} "
          f"({100 * with_match / len(needs):.0f}%); none: {len(needs) - with_match}")
    print(f"  eligible products per need: {dict(sorted(Counter(counts).items()))}")
    by_purpose = Counter(n["purpose"] for n, c in zip(needs, counts) if c == 0)
    print(f"  unmatched by purpose: {dict(by_purpose)}")


def main() -> int:
    errs = self_check(DOC, USERS)
    out = HERE / "demo.json"
    out.write_text(json.dumps(DOC, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (HERE / "users.json").write_text(json.dumps(USERS, ensure_ascii=False, indent=1) + "\n",
                                     encoding="utf-8")
    print(f"wrote {out.relative_to(REPO)} and seeds/users.json")
    report(DOC)
    if errs:
        print("SELF-CHECK FAILED:", *errs, sep="\n  ")
        return 1
    print("self-check OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
