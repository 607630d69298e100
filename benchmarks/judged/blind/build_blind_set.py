"""Writes catalogue.json and needs.json of the blind judged set.

The catalogue is the demo's 17 institutions and 54 products, copied unchanged from
seeds/demo.json, plus the products below (PB-..) that the policy texts name and the
demo lacks or has only one of.  The enterprises and needs are written by hand; only
their USCCs are computed (GB 32100-2015 check character).

    python build_blind_set.py      # rewrites the two files (deterministic)
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from check_eligibility import _USCC_ALPHABET, uscc_check_char

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

NEW_INSTITUTIONS = [
    {"ref": "IB-01", "name": "重庆市小微企业融资担保有限公司", "kind": "guarantee"},
    {"ref": "IB-02", "name": "重庆市永川区中小微企业应急转贷周转金", "kind": "bridge_fund",
     "districts": ["永川区"]},
    {"ref": "IB-03", "name": "重庆渝智融资租赁有限公司", "kind": "leasing"},
    {"ref": "IB-04", "name": "重庆渝信小额贷款有限公司", "kind": "microcredit"},
]

NEW_PRODUCTS = [
    {"ref": "PB-01", "institution_ref": "I-ICBC", "name": "无还本续贷（小微）",
     "purposes": ["working_capital"], "guarantee_modes": ["credit", "mortgage", "guarantee", "pledge"],
     "amount_min_wan": 10, "amount_max_wan": 3000, "term_min_months": 12, "term_max_months": 36,
     "rate_min": 3.3, "rate_max": 4.3, "loan_kinds": ["renewal"], "existing_customers_only": True,
     "description": "本行存量小微企业流动资金贷款到期仍有融资需求的，到期前完成审批，无需先归还本金即可续贷，免除过桥资金成本。"},
    {"ref": "PB-02", "institution_ref": "I-CCB", "name": "无还本续贷（续贷e）",
     "purposes": ["working_capital", "supply_chain"], "guarantee_modes": ["credit", "mortgage", "guarantee"],
     "amount_min_wan": 10, "amount_max_wan": 1000, "term_min_months": 6, "term_max_months": 36,
     "rate_min": 3.4, "rate_max": 4.4, "sizes": ["medium", "small", "micro"],
     "loan_kinds": ["renewal"], "existing_customers_only": True,
     "description": "本行中小微企业客户贷款到期前线上申请续贷，经营正常、信用良好的无需还本，新旧贷款无缝衔接。"},
    {"ref": "PB-03", "institution_ref": "I-BOC", "name": "首贷易",
     "purposes": ["working_capital"], "guarantee_modes": ["credit", "guarantee"],
     "amount_min_wan": 10, "amount_max_wan": 300, "term_min_months": 6, "term_max_months": 12,
     "rate_min": 3.4, "rate_max": 4.3, "sizes": ["small", "micro"], "loan_kinds": ["first_loan"],
     "description": "首贷续贷服务中心受理，面向从未在银行取得贷款的小微企业，纯信用或担保方式发放首笔贷款，首贷利率优惠。"},
    {"ref": "PB-04", "institution_ref": "I-SXBANK", "name": "税融通（银税互动）",
     "purposes": ["working_capital"], "guarantee_modes": ["credit"],
     "amount_min_wan": 10, "amount_max_wan": 500, "term_min_months": 6, "term_max_months": 12,
     "rate_min": 3.35, "rate_max": 4.2, "min_years": 2, "tax_credit_grades": ["A"],
     "description": "银税互动产品：纳税信用A级企业凭纳税数据核定纯信用额度，线上申请、随借随还，无需抵押担保。"},
    {"ref": "PB-05", "institution_ref": "I-CQRCB", "name": "税e贷（银税互动）",
     "purposes": ["working_capital"], "guarantee_modes": ["credit"],
     "amount_min_wan": 10, "amount_max_wan": 300, "term_min_months": 3, "term_max_months": 12,
     "rate_min": 3.6, "rate_max": 4.6, "min_years": 1, "tax_credit_grades": ["A", "B"],
     "description": "依据企业纳税信用等级和近两年纳税额线上授信，纳税信用A级、B级的小微企业可申请纯信用贷款。"},
    {"ref": "PB-06", "institution_ref": "IB-01", "name": "技改专项担保贷（小微）",
     "purposes": ["tech_upgrade"], "guarantee_modes": ["guarantee"],
     "amount_min_wan": 50, "amount_max_wan": 1000, "term_min_months": 12, "term_max_months": 36,
     "rate_min": 3.5, "rate_max": 4.5, "sizes": ["small", "micro"], "industries": ["C"],
     "subsidy_programs": ["guarantee_fee_subsidy", "tech_upgrade_interest"],
     "description": "为小微制造企业的“技改专项贷”提供担保，年化担保费率不超过1%，纳入4:2:2:2风险分担；合作银行贷款可申请技改贴息，担保费可申请市级补助。"},
    {"ref": "PB-07", "institution_ref": "IB-01", "name": "小微企业批量担保贷",
     "purposes": ["working_capital"], "guarantee_modes": ["guarantee"],
     "amount_min_wan": 10, "amount_max_wan": 500, "term_min_months": 6, "term_max_months": 12,
     "rate_min": 3.9, "rate_max": 4.9, "sizes": ["small", "micro"],
     "description": "与合作银行开展批量担保，担保费率降至1%以下，政府性融资担保4:2:2:2风险分担，支持小微企业流动资金周转。"},
    {"ref": "PB-08", "institution_ref": "IB-02", "name": "永川区应急转贷周转金",
     "purposes": ["working_capital"], "guarantee_modes": ["credit", "mortgage", "guarantee"],
     "amount_min_wan": 10, "amount_max_wan": 3000, "term_min_months": 1, "term_max_months": 3,
     "rate_min": 2.4, "rate_max": 3.6, "loan_kinds": ["renewal"], "subsidy_programs": ["bridge_fee_waiver"],
     "description": "永川区内中小微企业银行贷款即将到期、合作银行已出具续贷承诺的，提供不超过3个月的过桥周转资金，按日计收使用费，专精特新企业免收。"},
    {"ref": "PB-09", "institution_ref": "IB-03", "name": "智能化改造设备直租",
     "purposes": ["equipment_lease", "tech_upgrade"], "guarantee_modes": ["credit", "guarantee"],
     "amount_min_wan": 100, "amount_max_wan": 5000, "term_min_months": 24, "term_max_months": 60,
     "rate_min": 4.3, "rate_max": 5.8, "industries": ["C"],
     "description": "以直接租赁方式为制造业企业智能化改造、生产线扩建购置设备，以租赁物为主要保障，租期与设备使用周期匹配，分期支付租金。"},
    {"ref": "PB-10", "institution_ref": "IB-03", "name": "专精特新设备售后回租",
     "purposes": ["equipment_lease", "working_capital"], "guarantee_modes": ["guarantee", "pledge"],
     "amount_min_wan": 50, "amount_max_wan": 2000, "term_min_months": 12, "term_max_months": 36,
     "rate_min": 4.6, "rate_max": 6.0, "tags_any": ["specialized_sme", "little_giant", "high_tech"],
     "description": "专精特新、高新技术企业以自有生产设备售后回租，盘活存量设备补充营运资金。"},
    {"ref": "PB-11", "institution_ref": "I-ICBC", "name": "渝链贷（数据确权）",
     "purposes": ["supply_chain"], "guarantee_modes": ["credit"],
     "amount_min_wan": 20, "amount_max_wan": 1000, "term_min_months": 3, "term_max_months": 12,
     "rate_min": 3.3, "rate_max": 4.3,
     "core_enterprises": ["长安汽车", "赛力斯", "京东方", "西南铝业", "重庆钢铁"],
     "description": "以“核心企业交易数据+协助账户锁定+政府部门基本面数据”确权，无需核心企业确权、不占用核心企业授信额度，为重点产业链上游中小供应商批量线上放款。"},
    {"ref": "PB-12", "institution_ref": "I-CQBANK", "name": "政采贷",
     "purposes": ["supply_chain"], "guarantee_modes": ["credit"],
     "amount_min_wan": 10, "amount_max_wan": 500, "term_min_months": 3, "term_max_months": 12,
     "rate_min": 3.6, "rate_max": 4.6,
     "description": "凭政府采购中标（成交）通知书和采购合同，在应收账款融资服务平台确认政府采购应收账款后发放信用贷款，回款自动还款。"},
    {"ref": "PB-13", "institution_ref": "I-CQBANK", "name": "知识价值信用贷（科技型企业）",
     "purposes": ["rnd", "working_capital"], "guarantee_modes": ["credit"],
     "amount_min_wan": 10, "amount_max_wan": 500, "term_min_months": 12, "term_max_months": 36,
     "rate_min": 3.4, "rate_max": 4.3, "tags_any": ["tech_sme", "high_tech"],
     "districts": ["两江新区", "重庆高新区", "九龙坡区", "渝北区", "江津区", "璧山区", "永川区", "荣昌区"],
     "description": "试点区域内科技型企业按知识价值信用评价分级授信、叠加商业信用额度，由知识价值信用贷款风险补偿基金分担风险，纯信用。"},
    {"ref": "PB-14", "institution_ref": "I-CQBANK", "name": "增信贷（永川区风险补偿基金）",
     "purposes": ["working_capital", "tech_upgrade"], "guarantee_modes": ["credit"],
     "amount_min_wan": 10, "amount_max_wan": 1000, "term_min_months": 6, "term_max_months": 36,
     "rate_min": 3.6, "rate_max": 4.6, "sizes": ["medium", "small", "micro"], "districts": ["永川区"],
     "description": "依托永川区6500万元风险补偿基金，以基金增信方式向区内中小微企业发放贷款，无需抵押，可用于经营周转和设备更新。"},
    {"ref": "PB-15", "institution_ref": "I-ICBC", "name": "流动资金贷款",
     "purposes": ["working_capital", "supply_chain", "trade", "rnd"], "guarantee_modes": ["mortgage", "guarantee", "pledge"],
     "amount_min_wan": 10, "amount_max_wan": 5000, "term_min_months": 3, "term_max_months": 36,
     "rate_min": 3.0, "rate_max": 4.2,
     "description": "通用流动资金贷款，用于日常经营周转、原材料采购、货款结算、研发投入等，各行业企业均可申请，需提供抵押、质押或保证。"},
    {"ref": "PB-16", "institution_ref": "IB-04", "name": "小额经营贷",
     "purposes": ["working_capital", "supply_chain", "tech_upgrade"], "guarantee_modes": ["credit"],
     "amount_min_wan": 5, "amount_max_wan": 300, "term_min_months": 1, "term_max_months": 24,
     "rate_min": 7.2, "rate_max": 14.4,
     "description": "小额贷款公司发放的短期经营贷款，纯信用、当天审批，利率明显高于银行贷款，适合短期应急。"},
    {"ref": "PB-17", "institution_ref": "I-BOC", "name": "技改专项贷（智能化改造）",
     "purposes": ["tech_upgrade"], "guarantee_modes": ["mortgage", "guarantee", "pledge"],
     "amount_min_wan": 200, "amount_max_wan": 10000, "term_min_months": 24, "term_max_months": 84,
     "rate_min": 3.0, "rate_max": 4.0, "industries": ["C"], "min_years": 1,
     "subsidy_programs": ["tech_upgrade_interest"],
     "description": "支持制造业企业设备购置、生产线改造和数字化智能化改造项目的中长期贷款，符合条件的项目可申请不超实际利率50%的市级技改贴息。"},
    {"ref": "PB-18", "institution_ref": "I-CMB", "name": "科技首贷",
     "purposes": ["rnd", "working_capital"], "guarantee_modes": ["credit"],
     "amount_min_wan": 20, "amount_max_wan": 500, "term_min_months": 12, "term_max_months": 24,
     "rate_min": 3.5, "rate_max": 4.3, "tags_any": ["tech_sme", "high_tech", "innovative_sme"],
     "loan_kinds": ["first_loan"],
     "description": "推进科技型企业首贷破冰：从未获得银行贷款的科技型中小企业、高新技术企业凭研发投入和知识产权获得首笔信用贷款。"},
    {"ref": "PB-19", "institution_ref": "I-CCB", "name": "软件企业信用贷",
     "purposes": ["rnd", "working_capital"], "guarantee_modes": ["credit"],
     "amount_min_wan": 20, "amount_max_wan": 1000, "term_min_months": 12, "term_max_months": 36,
     "rate_min": 3.45, "rate_max": 4.4, "industries": ["I65"],
     "description": "面向“33618”软件信息服务集群的软件和信息技术服务企业，依据软件著作权、研发投入和合同数据核定纯信用额度。"},
]

# ---------------------------------------------------------------------------------
# Enterprises: (ref, name, district, industry, cluster, employees, revenue_wan, founded,
#               tags, tax grade, has_bank_loan, core_enterprise, extra fields)
ENTERPRISES = [
    ("EB-01", "重庆永荣精密机械有限公司", "永川区", "C3484", "intelligent_equipment", 160, 9800, "2012-04-16",
     ["specialized_sme"], "A", True, None, {}),
    ("EB-02", "重庆市永川区豆香源食品有限公司", "永川区", "C1392", "food_agri_processing", 18, 260, "2021-03-09",
     [], "B", False, None, {}),
    ("EB-03", "重庆江汇汽车配件有限公司", "江津区", "C3670", "intelligent_connected_nev", 45, 1800, "2019-06-03",
     [], "B", False, None, {}),
    ("EB-04", "重庆微感电子科技有限公司", "九龙坡区", "C3981", "electronic_information", 30, 900, "2020-08-17",
     ["tech_sme", "innovative_sme"], "B", False, None, {}),
    ("EB-05", "重庆璧驰汽车零部件有限公司", "璧山区", "C3670", "intelligent_connected_nev", 120, 6000, "2014-09-22",
     [], "B", True, "重庆长安汽车股份有限公司", {}),
    ("EB-06", "重庆显材新材料有限公司", "两江新区", "C3985", "new_display", 80, 4000, "2017-05-11",
     ["specialized_sme"], "A", True, "重庆京东方光电科技有限公司", {}),
    ("EB-07", "重庆涪味调味品有限公司", "涪陵区", "C1469", "food_agri_processing", 40, 1500, "2016-02-14",
     [], "B", True, "重庆市涪陵榨菜集团股份有限公司", {}),
    ("EB-08", "重庆宗驰摩托车配件有限公司", "巴南区", "C3752", "high_end_motorcycle", 95, 5200, "2011-07-01",
     [], "B", True, "重庆宗申动力机械股份有限公司", {}),
    ("EB-09", "重庆渝铝精工有限公司", "九龙坡区", "C3252", "light_alloy", 210, 15000, "2009-03-18",
     [], "A", True, "西南铝业（集团）有限责任公司", {}),
    ("EB-10", "重庆沙磁电气设备有限公司", "沙坪坝区", "C3823", "intelligent_equipment", 60, 3200, "2013-11-05",
     [], "A", True, None, {}),
    ("EB-11", "重庆云栈软件技术有限公司", "两江新区", "I6513", "software_information_services", 85, 3000, "2015-10-20",
     ["high_tech", "tech_sme"], "A", True, None, {}),
    ("EB-12", "重庆荣芯装备股份有限公司", "荣昌区", "C3562", "electronic_information", 350, 28000, "2008-05-20",
     ["little_giant", "specialized_sme", "high_tech"], "A", True, None, {}),
    ("EB-13", "重庆合钢钢结构有限公司", "合川区", "C3311", None, 90, 5000, "2010-09-01",
     [], "B", True, None, {}),
    ("EB-14", "重庆永川恒达机电有限公司", "永川区", "C3441", "intelligent_equipment", 140, 7600, "2013-03-12",
     ["specialized_sme"], "A", True, None, {}),
    ("EB-15", "重庆铜梁精工表面处理有限公司", "铜梁区", "C3360", None, 70, 2500, "2015-08-08",
     [], "B", True, None, {}),
    ("EB-16", "重庆长化新材料有限公司", "长寿区", "C2614", "advanced_materials", 420, 35000, "2006-01-10",
     ["green_factory"], "A", True, None, {}),
    ("EB-17", "重庆欧美达电器有限公司", "渝北区", "C3899", None, 150, 12000, "2012-12-01",
     ["foreign_trade"], "A", True, None, {}),
    ("EB-18", "重庆巴南建工有限公司", "巴南区", "E4790", None, 260, 15000, "2005-06-06",
     [], "B", True, None, {"assets_wan": 12000}),
    ("EB-19", "重庆算力云图科技有限公司", "重庆高新区", "I6513", "software_information_services", 8, 40, "2023-02-15",
     ["tech_sme"], "M", False, None, {}),
    ("EB-20", "重庆南岸精密铸造有限公司", "南岸区", "C3391", None, 230, 9000, "2007-04-04",
     [], "B", True, None, {}),
    ("EB-21", "重庆綦江齿轮传动有限公司", "綦江区", "C3453", "intelligent_equipment", 260, 18000, "2004-08-08",
     ["specialized_sme"], "A", True, None, {}),
    ("EB-22", "重庆大足锋刃五金制品有限公司", "大足区", "C3324", None, 25, 600, "2018-05-05",
     [], "B", True, None, {}),
    ("EB-23", "重庆万州康元制药有限公司", "万州区", "C2720", "biomedicine", 310, 26000, "2010-07-15",
     ["high_tech"], "A", True, None, {}),
    ("EB-24", "重庆永川智联汽车电子有限公司", "永川区", "C3670", "intelligent_connected_nev", 55, 2200, "2019-09-09",
     ["innovative_sme"], "B", True, "赛力斯汽车有限公司", {}),
    ("EB-25", "重庆永川秀芽茶业有限公司", "永川区", "C1530", "food_agri_processing", 35, 800, "2016-04-20",
     [], "B", True, None, {}),
    ("EB-26", "重庆江津绿能光伏科技有限公司", "江津区", "C3825", "new_energy_storage", 120, 8000, "2017-03-28",
     ["high_tech", "green_factory"], "A", True, None, {}),
    ("EB-27", "重庆北碚智控仪表有限公司", "北碚区", "C4011", "intelligent_equipment", 180, 11000, "2011-06-30",
     ["specialized_sme", "high_tech"], "A", True, None, {}),
    ("EB-28", "重庆两江智造机器人有限公司", "两江新区", "C3491", "intelligent_equipment", 140, 9000, "2016-11-11",
     ["gazelle", "high_tech"], "A", True, None, {}),
    ("EB-29", "重庆开州锦华印染有限公司", "开州区", "C1713", "light_textile", 320, 12000, "2003-09-15",
     [], "C", True, None, {}),
    ("EB-30", "重庆潼南菜籽油业有限公司", "潼南区", "C1331", "food_agri_processing", 60, 3000, "2014-05-26",
     [], "A", True, None, {}),
    ("EB-31", "重庆梁平竹韵家居有限公司", "梁平区", "C2110", "light_textile", 12, 150, "2022-05-01",
     [], "M", True, None, {}),
    ("EB-32", "重庆长福汽车内饰有限公司", "渝北区", "C3670", "intelligent_connected_nev", 150, 9000, "2013-08-19",
     [], "B", True, "长安福特汽车有限公司", {}),
    ("EB-33", "重庆惠金显示配件有限公司", "巴南区", "C3974", "new_display", 65, 2600, "2018-10-10",
     [], "B", True, "重庆惠科金渝光电科技有限公司", {}),
    ("EB-34", "重庆达联电脑配件有限公司", "沙坪坝区", "C3912", "electronic_information", 200, 7000, "2012-02-22",
     [], "B", True, "达丰（重庆）电脑有限公司", {}),
    ("EB-35", "重庆鑫源机械加工有限公司", "九龙坡区", "C3484", "intelligent_equipment", 75, 3500, "2014-07-07",
     [], "B", True, "重庆齐力重工集团有限公司", {}),
    ("EB-36", "重庆渝丰动力机械股份有限公司", "巴南区", "C3412", "intelligent_equipment", 1500, 80000, "2001-03-01",
     ["double_hundred", "chain_leader"], "A", True, None, {}),
    ("EB-37", "重庆南川方竹笋食品有限公司", "南川区", "C1371", "food_agri_processing", 22, 400, "2020-04-12",
     [], "A", False, None, {}),
    ("EB-38", "重庆永川数控刀具有限公司", "永川区", "C3321", "intelligent_equipment", 48, 2600, "2017-06-06",
     ["tech_sme", "specialized_sme"], "A", True, None, {}),
    ("EB-39", "重庆璧山华兴机械加工厂", "璧山区", "C3484", None, 15, 280, "2019-01-25",
     [], "B", True, None, {}),
    ("EB-40", "重庆九龙数控机床有限公司", "九龙坡区", "C3421", "intelligent_equipment", 260, 16000, "2009-10-09",
     ["high_tech", "specialized_sme"], "A", True, None, {}),
    ("EB-41", "重庆数智政通信息技术有限公司", "渝北区", "I6531", "software_information_services", 120, 4500, "2016-08-01",
     ["high_tech"], "A", True, None, {}),
    ("EB-42", "重庆理成汽车座椅有限公司", "两江新区", "C3670", "intelligent_connected_nev", 180, 11000, "2015-03-16",
     ["specialized_sme"], "B", True, "重庆理想汽车有限公司", {}),
    ("EB-43", "重庆渝电安装工程有限公司", "江北区", "E4910", None, 45, 6500, "2012-11-20",
     [], "A", True, None, {"assets_wan": 5200}),
]

# Needs: (ref, enterprise, purpose, loan_kind or None, amount, term, guarantee modes, created, extras, description)
NEEDS = [
    ("NB-01", "EB-01", "tech_upgrade", "new", 1200, 48, ["mortgage", "guarantee"], "2026-10-12", {},
     "新建两条五轴加工中心柔性生产线，已列入区级技术改造项目，可提供厂房抵押或担保公司担保。"),
    ("NB-02", "EB-01", "working_capital", "renewal", 800, 12, ["mortgage"], "2026-11-20",
     {"current_lender_ref": "I-CQRCB", "renewal_due": "2027-01-20"},
     "农商行800万元流动资金贷款明年1月到期，订单稳定仍需周转，希望不还本续贷。"),
    ("NB-03", "EB-02", "working_capital", None, 50, 12, ["guarantee", "credit"], "2026-10-20", {},
     "收购新季黄豆原料，企业成立以来从未在银行贷过款。"),
    ("NB-04", "EB-03", "working_capital", None, 200, 12, ["credit"], "2026-11-03", {},
     "配套订单增加需备料，没有可抵押的自有厂房，从未获得过银行贷款。"),
    ("NB-05", "EB-04", "rnd", None, 150, 24, ["credit"], "2026-10-25", {},
     "研发新型片式功率电感，已有发明专利3项，首次申请银行贷款。"),
    ("NB-06", "EB-05", "supply_chain", "new", 300, 6, ["credit", "pledge"], "2026-10-15", {},
     "对长安汽车的应收账款约600万元，账期6个月，希望以应收账款融资。"),
    ("NB-07", "EB-06", "supply_chain", "new", 500, 6, ["credit"], "2026-11-05", {},
     "向京东方供应面板用光学膜材，应收账款回款周期长，希望凭订单和应收账款融资。"),
    ("NB-08", "EB-07", "supply_chain", "new", 120, 6, ["pledge"], "2026-10-28", {},
     "为涪陵榨菜集团供应辅料，以对其应收账款质押融资。"),
    ("NB-09", "EB-08", "supply_chain", "new", 200, 9, ["credit"], "2026-11-10", {},
     "为宗申配套摩托车发动机零部件，应收账款已由核心企业确认。"),
    ("NB-10", "EB-09", "supply_chain", "new", 800, 6, ["credit", "pledge"], "2026-11-12", {},
     "向西南铝业供应铝板带深加工件，需垫付原材料款。"),
    ("NB-11", "EB-10", "working_capital", "new", 200, 12, ["credit"], "2026-10-09", {},
     "纳税信用A级，近三年纳税稳定，希望纯信用贷款用于采购铜材。"),
    ("NB-12", "EB-11", "rnd", "new", 300, 24, ["credit"], "2026-10-30", {},
     "工业互联网平台新版本研发，研发人员占比60%，拥有软件著作权40项。"),
    ("NB-13", "EB-11", "working_capital", "new", 100, 12, ["credit"], "2026-11-25", {},
     "项目回款前支付人员工资和服务器费用，纳税信用A级，希望线上信用贷款。"),
    ("NB-14", "EB-12", "tech_upgrade", "new", 3000, 60, ["mortgage"], "2026-10-18", {},
     "刻蚀设备生产线智能化改造，已列入市级技术改造项目，以土地厂房抵押。"),
    ("NB-15", "EB-12", "rnd", "new", 1000, 36, ["credit", "pledge"], "2026-11-16", {},
     "新一代半导体刻蚀设备研发，可提供专利质押。"),
    ("NB-16", "EB-13", "working_capital", "renewal", 600, 2, ["credit"], "2026-11-28",
     {"current_lender_ref": "I-CQBANK", "renewal_due": "2026-12-20"},
     "重庆银行600万元贷款本月到期，银行已同意续贷但须先还后贷，企业暂时周转困难，需要约一个月的过桥资金。"),
    ("NB-17", "EB-14", "working_capital", "renewal", 1500, 1, ["mortgage"], "2026-11-30",
     {"current_lender_ref": "I-SXBANK", "renewal_due": "2026-12-15"},
     "三峡银行1500万元贷款12月中旬到期，续贷已获批但须先还本，需过桥资金周转约20天。"),
    ("NB-18", "EB-15", "equipment_lease", "new", 400, 36, ["guarantee"], "2026-10-22", {},
     "新购一条自动化电镀生产线，希望以融资租赁方式分期支付。"),
    ("NB-19", "EB-16", "green", "new", 5000, 84, ["mortgage"], "2026-10-08", {},
     "余热回收发电和VOCs废气治理改造，预计年减排二氧化碳3万吨。"),
    ("NB-20", "EB-17", "trade", "new", 800, 6, ["pledge"], "2026-11-02", {},
     "出口欧洲订单备货，已投保短期出口信用保险，可用出口应收账款质押。"),
    ("NB-21", "EB-18", "working_capital", "new", 1000, 12, ["mortgage"], "2026-11-06", {},
     "承建厂房工程需垫付材料款和人工费，可用自有办公楼抵押。"),
    ("NB-22", "EB-19", "working_capital", None, 30, 12, ["credit"], "2026-11-18", {},
     "成立不满四年的软件初创企业，从未贷款，需支付研发人员工资。"),
    ("NB-23", "EB-20", "working_capital", "new", 500, 12, ["mortgage"], "2026-10-27", {"max_rate": 3.4},
     "采购生铁和废钢，企业只接受年利率不高于3.4%的贷款。"),
    ("NB-24", "EB-21", "tech_upgrade", "new", 600, 36, ["guarantee"], "2026-10-14", {},
     "更新数控磨齿机和热处理线，由政府性融资担保公司提供担保。"),
    ("NB-25", "EB-22", "tech_upgrade", "new", 120, 24, ["guarantee"], "2026-11-08", {},
     "购置自动化冲压设备替代人工，需担保公司担保。"),
    ("NB-26", "EB-23", "project", "new", 8000, 96, ["mortgage", "guarantee"], "2026-10-19", {},
     "新建符合GMP标准的固体制剂车间，项目总投资1.5亿元。"),
    ("NB-27", "EB-24", "supply_chain", "new", 150, 6, ["credit"], "2026-10-23", {},
     "为赛力斯问界车型配套线束控制器，凭对赛力斯的应收账款融资。"),
    ("NB-28", "EB-24", "working_capital", "new", 300, 12, ["credit"], "2026-11-21", {},
     "永川高新区企业，扩产需流动资金，无可抵押资产。"),
    ("NB-29", "EB-25", "working_capital", "new", 80, 12, ["guarantee"], "2026-10-10", {},
     "春茶收购资金，可由区中小企业融资担保公司担保。"),
    ("NB-30", "EB-26", "green", "new", 600, 60, ["mortgage", "pledge"], "2026-11-04", {},
     "厂房屋顶分布式光伏项目，装机3兆瓦，可用电费收费权质押。"),
    ("NB-31", "EB-27", "rnd", "new", 500, 36, ["credit"], "2026-10-16", {"max_rate": 3.4},
     "智能仪表新产品研发，希望纯信用且年利率不超过3.4%。"),
    ("NB-32", "EB-28", "rnd", "new", 800, 24, ["credit"], "2026-11-09", {},
     "协作机器人新产品研发，企业为市级瞪羚企业。"),
    ("NB-33", "EB-29", "working_capital", "new", 2000, 12, ["mortgage"], "2026-10-29", {},
     "购买棉坯布和染料，可用厂房抵押；纳税信用C级。"),
    ("NB-34", "EB-30", "working_capital", "renewal", 500, 12, ["mortgage"], "2026-11-13",
     {"current_lender_ref": "I-CCB", "renewal_due": "2027-01-10"},
     "建设银行500万元流动资金贷款1月到期，经营正常，希望无还本续贷。"),
    ("NB-35", "EB-31", "working_capital", "new", 20, 3, ["credit"], "2026-11-26", {},
     "接到一批家具订单，需临时补充三个月备料资金，金额小，无抵押。"),
    ("NB-36", "EB-32", "supply_chain", "new", 400, 6, ["credit", "pledge"], "2026-10-21", {},
     "为长安福特配套门板内饰，凭对长安福特的应收账款融资。"),
    ("NB-37", "EB-33", "supply_chain", "new", 250, 6, ["credit"], "2026-11-11", {},
     "为惠科金渝配套背光模组结构件，凭订单和应收账款融资。"),
    ("NB-38", "EB-34", "supply_chain", "new", 600, 4, ["pledge"], "2026-10-26", {},
     "为达丰电脑供应笔记本结构件，以应收账款质押融资。"),
    ("NB-39", "EB-35", "supply_chain", "new", 300, 6, ["pledge", "guarantee"], "2026-11-14", {},
     "为齐力重工加工结构件，持有有效订单和应收账款，可质押或由股东保证。"),
    ("NB-40", "EB-36", "working_capital", "renewal", 5000, 3, ["mortgage"], "2026-11-24",
     {"current_lender_ref": "I-ICBC", "renewal_due": "2026-12-28"},
     "双百企业，工商银行5000万元贷款年底到期，银行已同意续贷，还款出现暂时困难，需应急周转资金。"),
    ("NB-41", "EB-36", "project", "new", 20000, 120, ["mortgage"], "2026-10-13", {},
     "新能源动力总成产业化基地建设，列入市级重点项目白名单。"),
    ("NB-42", "EB-37", "working_capital", None, 100, 12, ["credit", "guarantee"], "2026-11-07", {"max_rate": 3.6},
     "收购鲜笋加工，从未在银行贷款，纳税信用A级，希望年利率不超过3.6%。"),
    ("NB-43", "EB-38", "rnd", "new", 200, 24, ["credit"], "2026-10-24", {},
     "超硬涂层刀具研发，企业为科技型中小企业和专精特新企业，有发明专利5项。"),
    ("NB-44", "EB-39", "tech_upgrade", "new", 60, 24, ["credit", "mortgage"], "2026-11-19", {},
     "小作坊购置两台数控车床，可用设备抵押。"),
    ("NB-45", "EB-40", "tech_upgrade", "new", 1500, 36, ["guarantee"], "2026-10-11", {},
     "首台（套）五轴联动数控机床产业化，购置装配检测设备，需担保。"),
    ("NB-46", "EB-03", "tech_upgrade", None, 150, 36, ["guarantee"], "2026-11-22", {},
     "首次融资，购置焊接机器人工作站，可由担保公司担保。"),
    ("NB-47", "EB-24", "equipment_lease", "new", 300, 36, ["guarantee", "credit"], "2026-11-27", {},
     "新增SMT贴片线，希望以设备融资租赁方式取得。"),
    ("NB-48", "EB-20", "working_capital", "renewal", 1000, 12, ["mortgage"], "2026-11-29",
     {"current_lender_ref": "I-ICBC", "renewal_due": "2027-02-05"},
     "工商银行1000万元流动资金贷款2月到期，希望到期无缝续贷。"),
    ("NB-49", "EB-18", "equipment_lease", "new", 500, 36, ["mortgage"], "2026-11-17", {},
     "购置塔吊和施工升降机，希望融资租赁。"),
    ("NB-50", "EB-06", "tech_upgrade", "new", 800, 36, ["credit"], "2026-11-23", {},
     "涂布生产线升级改造，无可抵押资产，希望信用方式。"),
    ("NB-51", "EB-41", "supply_chain", "new", 300, 9, ["credit"], "2026-10-31", {},
     "中标区政府智慧城市系统集成项目（政府采购），合同款分期支付，需垫资。"),
    ("NB-52", "EB-42", "supply_chain", "new", 800, 6, ["credit", "pledge"], "2026-11-15", {},
     "为理想汽车配套座椅骨架，凭对理想汽车的应收账款融资。"),
    ("NB-53", "EB-43", "working_capital", "new", 300, 12, ["guarantee", "mortgage"], "2026-11-12", {},
     "承接工业园区配电安装工程，垫付设备材料款。"),
]


def make_uscc(ref: str, district: str, vocab: dict) -> str:
    code = next(d["code"] for d in vocab["districts"] if d["name"] == district)
    if code is None:  # functional zones: the registering district
        code = {"两江新区": "500112", "重庆高新区": "500107", "万盛经开区": "500110"}[district]
    digest = hashlib.sha256(ref.encode()).digest()
    org = "".join(_USCC_ALPHABET[b % len(_USCC_ALPHABET)] for b in digest[:9])
    first17 = "91" + code + org
    return first17 + uscc_check_char(first17)


def build() -> None:
    from check_eligibility import _find_shared, load_json
    vocab = load_json(_find_shared() / "spec" / "vocabulary.json")
    demo = load_json(REPO / "seeds" / "demo.json")
    catalogue = {"format": "matchmaker-exchange/1",
                 "institutions": demo["institutions"] + NEW_INSTITUTIONS,
                 "products": demo["products"] + NEW_PRODUCTS}
    enterprises = []
    for (ref, name, district, industry, cluster, emp, rev, founded, tags, tax, has_loan, core,
         extra) in ENTERPRISES:
        e = {"ref": ref, "name": name, "uscc": make_uscc(ref, district, vocab), "district": district,
             "industry": industry}
        if cluster:
            e["cluster"] = cluster
        e.update({"employees": emp, "revenue_wan": rev, **extra, "founded": founded})
        if tags:
            e["tags"] = tags
        if tax:
            e["tax_credit_grade"] = tax
        e["has_bank_loan"] = has_loan
        if core:
            e["core_enterprise"] = core
        enterprises.append(e)
    needs = []
    for ref, ent, purpose, kind, amount, term, modes, created, extra, desc in NEEDS:
        n = {"ref": ref, "enterprise_ref": ent, "purpose": purpose}
        if kind:
            n["loan_kind"] = kind
        n.update({"amount_wan": amount, "term_months": term, "guarantee_modes": modes, **extra,
                  "created": created, "description": desc, "consent_to_share": True})
        needs.append(n)
    for name, doc in (("catalogue.json", catalogue),
                      ("needs.json", {"format": "matchmaker-exchange/1", "enterprises": enterprises,
                                      "needs": needs})):
        with open(HERE / name, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")


if __name__ == "__main__":
    build()
