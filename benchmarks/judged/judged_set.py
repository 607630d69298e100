"""A judged set: hand-designed needs × products with relevance grades 0–3 and their reasons.

Institutions and products are modelled on what the policy texts name (fictional names, typical
terms); enterprises on Chongqing's 33618 clusters. `GRADES[(need, product)] = (grade, note)`
grades eligible pairs by how well the product serves the need, judged from the policy texts
and the product's purpose — not from the matcher's score. Ungraded pairs count as 0.

    3  the instrument the policies designate for this need and enterprise
       (技改专项贷 with 贴息 for 技改, 渝链贷 for a listed core enterprise's supplier, 首贷 for
       a 首贷户, 无还本续贷 at the current lender, 应急转贷 for a bridge, 银税互动/知识价值信用贷
       for the profiles they were made for …)
    2  fits the purpose and the enterprise, but generic, dearer or less targeted
    1  eligible but a poor fit: a catch-all line, a very expensive lender, a product made for
       another primary purpose
    0  not graded: does not help

Sources quoted in the notes (/work/shared/policy-docs):
  76号  = 渝府办发〔2020〕76号  (重庆市加大制造业中长期融资支持力度若干政策措施)
  7号   = 渝经信规范〔2024〕7号 (重庆市制造业高质量发展投融资服务行动计划 2024—2027)
  永金  = 永金组发〔2023〕1号   (普惠金融支持永川区经济社会高质量发展行动方案)
  渝金议 = 渝金议〔2018〕1号    (完善创新金融支持智能制造产业发展的复函)
"""
from datetime import date
from decimal import Decimal as D

TODAY = date(2026, 10, 15)

# ref: (name, kind, districts served; empty = all of Chongqing)
INSTITUTIONS = {
    "I-SRCB": ("山城农村商业银行", "bank", ()),
    "I-YZB": ("渝州银行", "bank", ()),
    "I-SOA": ("国有银行甲重庆分行", "bank", ()),
    "I-SOB": ("国有银行乙重庆分行", "bank", ()),
    "I-YCVB": ("永川某村镇银行", "bank", ("永川区",)),
    "I-JJVB": ("江津某村镇银行", "bank", ("江津区",)),
    "I-SMEG": ("重庆市中小企业融资担保", "guarantee", ()),
    "I-YCG": ("永川区中小企业融资担保", "guarantee", ("永川区",)),
    "I-LEASE": ("渝西金融租赁", "leasing", ()),
    "I-BRIDGE": ("市级应急转贷资金", "bridge_fund", ()),
    "I-FACT": ("两江商业保理", "factoring", ()),
    "I-MICRO": ("渝北小额贷款", "microcredit", ()),
    "I-INS": ("财产保险重庆分公司", "insurance", ()),
    "I-FUND": ("制造业产业引导基金", "fund", ()),
}

WC, TU, SC, PJ, RD, GR, TR, EL = ("working_capital", "tech_upgrade", "supply_chain", "project",
                                  "rnd", "green", "trade", "equipment_lease")
CR, MO, PL, GU = "credit", "mortgage", "pledge", "guarantee"


def product(ref, inst, name, purposes, modes, amount, term, rate, **extra):
    return dict(ref=ref, institution_ref=inst, name=name, purposes=purposes,
                guarantee_modes=modes, amount_min_wan=D(amount[0]), amount_max_wan=D(amount[1]),
                term_min_months=term[0], term_max_months=term[1], rate_min=D(rate[0]),
                rate_max=D(rate[1]), **extra)


PRODUCTS = [
    product("P01", "I-SRCB", "技改专项贷", [TU], [MO, GU], (100, 5000), (12, 60),
            ("3.1", "4.2"), industries=["C"], min_years=D(2),
            subsidy_programs=["tech_upgrade_interest"]),
    product("P02", "I-YZB", "技改专项贷·设备更新", [TU], [MO, GU, PL], (200, 10000), (12, 96),
            ("3.0", "4.0"), min_revenue_wan=D(2000),
            subsidy_programs=["tech_upgrade_interest", "equipment_renewal_relending"]),
    product("P03", "I-SOA", "智能化改造中长期贷款", [TU, PJ], [MO], (1000, 50000), (36, 120),
            ("3.2", "4.0"), min_revenue_wan=D(10000),
            subsidy_programs=["tech_upgrade_interest"]),
    product("P04", "I-SOA", "流动资金贷款", [WC], [MO, GU], (100, 5000), (6, 36),
            ("3.3", "4.5")),
    product("P05", "I-SOB", "综合授信", [WC, TU, PJ, TR, GR, RD], [MO, GU, PL, CR],
            (50, 20000), (3, 60), ("3.5", "5.5")),
    product("P06", "I-SRCB", "渝链贷", [SC], [CR, PL], (20, 2000), (3, 12), ("3.5", "4.5"),
            core_enterprises=["长安汽车", "赛力斯", "重庆京东方光电科技有限公司"]),
    product("P07", "I-YZB", "订单贷", [SC], [PL, CR], (50, 1000), (3, 12), ("3.6", "4.8")),
    product("P08", "I-SOB", "应收账款质押贷", [SC], [PL], (100, 5000), (3, 12), ("3.4", "4.4"),
            core_enterprises=["重庆长安汽车股份有限公司", "隆鑫通用动力股份有限公司",
                              "重庆宗申动力机械股份有限公司"]),
    product("P09", "I-FACT", "应收账款保理", [SC], [PL, CR], (20, 3000), (1, 12), ("5.5", "8.0"),
            core_enterprises=["长安汽车", "赛力斯集团", "庆铃汽车"]),
    product("P10", "I-SOA", "仓单质押贷", [SC], [PL], (100, 3000), (3, 12), ("3.8", "4.8")),
    product("P11", "I-SRCB", "知识价值信用贷", [RD, WC], [CR], (10, 500), (6, 36),
            ("3.6", "4.5"), tags_any=["tech_sme", "high_tech", "innovative_sme"]),
    product("P12", "I-YZB", "商业价值信用贷", [WC, RD], [CR], (50, 1000), (6, 36),
            ("3.7", "4.8"), min_years=D(2), min_revenue_wan=D(1000)),
    product("P13", "I-SOB", "专精特新贷", [WC, TU, RD], [CR, PL], (100, 3000), (6, 36),
            ("3.2", "4.0"), tags_any=["specialized_sme", "little_giant"]),
    product("P14", "I-YZB", "瞪羚贷", [WC, RD], [CR], (200, 3000), (12, 36), ("3.4", "4.2"),
            tags_any=["gazelle", "unicorn"]),
    product("P15", "I-SRCB", "首贷通", [WC], [CR, GU], (10, 300), (6, 12), ("3.8", "4.6"),
            loan_kinds=["first_loan"], sizes=["small", "micro"]),
    product("P16", "I-SMEG", "首贷担保贷", [WC], [GU], (10, 500), (6, 12), ("3.8", "5.0"),
            loan_kinds=["first_loan"], sizes=["small", "micro"],
            subsidy_programs=["guarantee_fee_subsidy"]),
    product("P17", "I-SRCB", "无还本续贷", [WC], [CR, MO, GU], (50, 3000), (6, 36),
            ("3.6", "4.6"), loan_kinds=["renewal"], existing_customers_only=True),
    product("P18", "I-SOA", "无还本续贷", [WC], [MO, GU], (100, 10000), (12, 36), ("3.3", "4.2"),
            loan_kinds=["renewal"], existing_customers_only=True),
    product("P19", "I-BRIDGE", "应急转贷", [WC], [CR, GU], (50, 8000), (1, 3), ("3.6", "3.6"),
            loan_kinds=["renewal"], subsidy_programs=["bridge_fee_waiver"]),
    product("P20", "I-YZB", "银税互动·税e贷", [WC], [CR], (10, 300), (6, 12), ("3.7", "4.3"),
            tax_credit_grades=["A", "B"], min_years=D(2)),
    product("P21", "I-SOB", "银税互动贷", [WC], [CR], (10, 500), (12, 12), ("3.45", "3.95"),
            tax_credit_grades=["A"], min_years=D(1)),
    product("P22", "I-SMEG", "担保贷", [WC, TU], [GU], (50, 2000), (6, 36), ("3.8", "5.0"),
            sizes=["medium", "small", "micro"], subsidy_programs=["guarantee_fee_subsidy"]),
    product("P23", "I-SMEG", "技改担保贷", [TU], [GU], (100, 3000), (12, 60), ("3.6", "4.6"),
            subsidy_programs=["guarantee_fee_subsidy", "tech_upgrade_interest"]),
    product("P24", "I-YCVB", "永川信用贷", [WC], [CR], (10, 300), (6, 24), ("4.0", "5.5")),
    product("P25", "I-YCG", "永川增信贷", [WC], [GU], (20, 500), (6, 24), ("4.0", "5.5"),
            subsidy_programs=["guarantee_fee_subsidy"]),
    product("P26", "I-JJVB", "江津小微贷", [WC], [CR, MO], (10, 500), (6, 24), ("4.2", "6.0")),
    product("P27", "I-LEASE", "设备融资租赁", [EL, TU], [MO, GU, PL], (100, 10000), (12, 60),
            ("5.0", "7.0")),
    product("P28", "I-LEASE", "售后回租", [EL, WC], [MO, GU], (500, 20000), (24, 60),
            ("5.5", "7.5")),
    product("P29", "I-SRCB", "碳汇贷", [GR], [PL, MO, CR], (100, 5000), (12, 60), ("3.2", "4.0")),
    product("P30", "I-SOB", "绿色技改贷", [GR, TU], [MO, CR], (500, 20000), (12, 96),
            ("3.1", "3.9")),
    product("P31", "I-SOA", "外贸信保融资", [TR], [CR, PL], (50, 3000), (3, 12), ("3.4", "4.4"),
            tags_any=["foreign_trade"]),
    product("P32", "I-YZB", "跨境人民币结算贷", [TR, WC], [CR, MO], (100, 5000), (3, 12),
            ("3.6", "4.6")),
    product("P33", "I-SOA", "科技成果转化贷", [RD], [CR, PL], (100, 3000), (12, 60),
            ("3.3", "4.2"), tags_any=["high_tech", "tech_sme"], min_years=D(1)),
    product("P34", "I-YZB", "知识产权质押贷", [RD, WC], [PL], (50, 2000), (12, 36),
            ("3.5", "4.5"),
            tags_any=["high_tech", "tech_sme", "specialized_sme", "innovative_sme"]),
    product("P35", "I-SOB", "制造业中长期项目贷", [PJ, TU], [MO, GU], (2000, 100000), (36, 180),
            ("3.3", "4.3"), min_revenue_wan=D(20000)),
    product("P36", "I-MICRO", "小额经营贷", [WC], [CR, GU], (5, 200), (1, 12), ("9.0", "15.0")),
    product("P37", "I-INS", "贷款保证保险", [WC, RD], [CR], (20, 500), (6, 12), ("4.5", "6.0"),
            tags_any=["tech_sme", "high_tech", "innovative_sme"]),
    product("P38", "I-FUND", "产业基金股权投资", [RD, PJ], [CR], (1000, 20000), (36, 96),
            ("8.0", "12.0"),
            tags_any=["specialized_sme", "little_giant", "gazelle", "unicorn",
                      "listing_pipeline"]),
    product("P39", "I-SRCB", "政采贷", [WC, SC], [CR], (10, 1000), (3, 12), ("3.7", "4.5")),
    product("P40", "I-SOA", "技改贷（已暂停）", [TU], [MO, GU, CR], (10, 100000), (1, 120),
            ("2.5", "3.0"), active=False),
    product("P41", "I-SOA", "小巨人贷", [WC, TU], [CR], (500, 5000), (12, 36), ("3.0", "3.6"),
            tags_any=["little_giant", "single_champion"]),
    product("P42", "I-YCVB", "永川续贷通", [WC], [CR, GU], (10, 500), (6, 24), ("4.0", "5.0"),
            loan_kinds=["renewal"], existing_customers_only=True),
]

# ref: (district, industry, cluster, employees, revenue 万元, founded, tags, tax grade,
#       has a bank loan, core enterprise as the enterprise writes it)
ENTERPRISES = {
    "E01": ("江津区", "C3484", "intelligent_equipment", 120, 8600, date(2016, 5, 18),
            ["specialized_sme"], "A", True, "重庆长安汽车股份有限公司"),
    "E02": ("璧山区", "C1391", "food_agri_processing", 18, 260, date(2022, 3, 1), [], None,
            False, None),
    "E03": ("两江新区", "C3670", "intelligent_connected_nev", 420, 35000, date(2009, 6, 1),
            ["little_giant", "specialized_sme", "high_tech"], "A", True, "赛力斯集团股份有限公司"),
    "E04": ("重庆高新区", "C3971", "electronic_information", 80, 6000, date(2018, 4, 2),
            ["high_tech", "tech_sme"], "B", True, "重庆京东方光电科技有限公司"),
    "E05": ("永川区", "C3770", "high_end_motorcycle", 60, 2500, date(2019, 8, 8), [], "B",
            False, "隆鑫通用动力"),
    "E06": ("长寿区", "C2651", "advanced_materials", 350, 60000, date(2012, 3, 15),
            ["green_factory"], "A", True, None),
    "E07": ("重庆高新区", "C2720", "biomedicine", 150, 1800, date(2017, 9, 9),
            ["high_tech", "innovative_sme", "gazelle"], "A", True, None),
    "E08": ("荣昌区", "C1810", "light_textile", 15, 400, date(2024, 3, 1), [], None, False,
            None),
    "E09": ("九龙坡区", "C3899", "electronic_information", 90, 9000, date(2014, 10, 1),
            ["foreign_trade"], "A", True, None),
    "E10": ("渝北区", "C3660", "intelligent_connected_nev", 1500, 120000, date(2003, 1, 6),
            ["listed", "chain_leader", "double_hundred"], "A", True, None),
    "E11": ("永川区", "C3490", "intelligent_equipment", 45, 1200, date(2015, 7, 1),
            ["tech_sme"], "M", True, None),
    "E12": ("江津区", "C3311", "light_alloy", 12, 200, date(2020, 5, 20), [], "B", False, None),
    "E13": ("九龙坡区", "C3252", "light_alloy", 320, 26000, date(2010, 11, 11),
            ["specialized_sme"], "A", True, None),
    "E14": ("铜梁区", "C3841", "new_energy_storage", 200, 15000, date(2020, 2, 2),
            ["high_tech", "specialized_sme", "green_factory"], "B", True, None),
    "E15": ("潼南区", "C1713", "light_textile", 110, 3000, date(2005, 4, 4), [], "C", True, None),
    "E16": ("两江新区", "C3914", "electronic_information", 10, 80, date(2025, 1, 10),
            ["tech_sme"], None, False, None),
    "E17": ("北碚区", "C3670", "intelligent_connected_nev", 70, 5000, date(2013, 3, 3), [], "B",
            True, "力帆科技"),
    "E18": ("涪陵区", "C1469", "food_agri_processing", 80, 4000, date(2011, 8, 1), [], "A", True,
            None),
    "E19": ("渝北区", "C3974", "new_display", 600, 50000, date(2015, 6, 6),
            ["little_giant", "high_tech"], "A", True, "重庆京东方光电科技有限公司"),
}

# ref: (enterprise, purpose, amount 万元, term months, guarantee modes, loan kind or None for
#       the default, max_rate or None, current lender or None, created)
NEEDS = {
    "N01": ("E01", TU, 800, 36, [MO], "new", "4.0", None, date(2026, 9, 1)),
    "N02": ("E01", SC, 300, 6, [CR], None, None, None, date(2026, 9, 10)),
    "N03": ("E02", WC, 50, 12, [GU, CR], None, None, None, date(2026, 10, 8)),
    "N04": ("E03", TU, 5000, 60, [MO, GU], None, None, None, date(2026, 9, 3)),
    "N05": ("E03", WC, 2000, 12, [CR], None, None, None, date(2026, 9, 4)),
    "N06": ("E04", RD, 300, 24, [CR, PL], None, None, None, date(2026, 9, 5)),
    "N07": ("E04", SC, 500, 6, [PL], None, None, None, date(2026, 9, 6)),
    "N08": ("E05", WC, 100, 12, [GU], None, None, None, date(2026, 9, 7)),
    "N09": ("E05", SC, 200, 6, [PL, CR], None, None, None, date(2026, 9, 8)),
    "N10": ("E06", GR, 3000, 60, [MO], None, None, None, date(2026, 9, 9)),
    "N11": ("E06", PJ, 20000, 120, [MO], None, None, None, date(2026, 9, 10)),
    "N12": ("E07", RD, 1000, 36, [CR], None, None, None, date(2026, 9, 11)),
    "N13": ("E08", WC, 30, 6, [CR], None, None, None, date(2026, 9, 12)),
    "N14": ("E09", TR, 500, 6, [CR], None, None, None, date(2026, 9, 13)),
    "N15": ("E10", PJ, 50000, 120, [MO, GU], None, None, None, date(2026, 9, 14)),
    "N16": ("E11", WC, 200, 12, [CR], "renewal", None, "I-YCVB", date(2026, 9, 15)),
    "N17": ("E11", WC, 200, 3, [CR], "renewal", None, "I-YCVB", date(2026, 9, 16)),
    "N18": ("E12", WC, 80, 12, [CR, MO], None, None, None, date(2026, 9, 17)),
    "N19": ("E13", TU, 3000, 60, [GU], None, None, None, date(2026, 9, 18)),
    "N20": ("E13", WC, 2000, 12, [MO], "renewal", None, "I-SOA", date(2026, 9, 19)),
    "N21": ("E13", WC, 3000, 1, [CR], "renewal", None, "I-SOA", date(2026, 9, 20)),
    "N22": ("E14", GR, 1000, 36, [CR, PL], None, None, None, date(2026, 9, 21)),
    "N23": ("E14", EL, 2000, 48, [MO, GU], None, None, None, date(2026, 9, 22)),
    "N24": ("E15", WC, 500, 12, [MO], None, None, None, date(2026, 9, 23)),
    "N25": ("E16", RD, 50, 12, [CR], None, None, None, date(2026, 9, 24)),
    "N26": ("E17", SC, 300, 6, [CR, PL], None, None, None, date(2026, 9, 25)),
    "N27": ("E18", WC, 500, 12, [CR, MO], "renewal", None, "I-SRCB", date(2026, 9, 26)),
    "N28": ("E19", SC, 2000, 12, [PL], None, None, None, date(2026, 9, 27)),
    "N29": ("E19", TU, 10000, 60, [MO], None, None, None, date(2026, 9, 28)),
    "N30": ("E07", WC, 300, 12, [CR], None, "3.6", None, date(2026, 9, 29)),
    "N31": ("E02", WC, 50, 12, [CR], None, "4.0", None, date(2026, 9, 30)),
    "N32": ("E09", TR, 5000, 12, [PL, CR], None, None, None, date(2026, 10, 1)),
    "N33": ("E10", WC, 10000, 12, [MO, GU], None, None, None, date(2026, 10, 2)),
    "N34": ("E16", WC, 20, 6, [GU], None, None, None, date(2026, 10, 3)),
}

TECH = "7号 三（一）'技改专项贷'，四（一）按不超实际利率50%贴息、单企每年不超1000万元"
RELEND = "永金 五（一）设备更新改造专项再贷款，中央财政贴息2.5%"
CHAIN = "7号 三（五）加快开发'渝链贷'，依托汽车、电子等核心企业开展应收账款质押"
CORE_LIST = "渝金议 三 建立涵盖长安、力帆等大型智能制造企业的核心名单库"
ORDER = "7号 三（一）创新'订单贷'；76号（七）订单、存货等动产融资"
FIRST = "76号（五）做好小微企业首贷续贷服务；永金 四（一）1 提升首贷占比"
RENEW = "76号（九）加大无还本续贷政策落实力度；永金 五（二）无还本续贷"
BRIDGE = "7号 四（二）应急周转资金最高8000万元，专精特新免收使用费"
KNOW = "76号（六）深入优化知识价值信用贷款；渝金议 五 知识信用价值分级授信"
SME = "7号 三（一）开发'专精特新贷''独角兽企业贷''瞪羚企业贷'等专属产品"
TAX = "永金 四（一）1 支持采取政采贷、银税互动等模式，加大信用贷款投放"
GUAR = "7号 二（六）银担合作、四（一）担保费率≤1%的补助50%；76号（十）担保费率降至1%以下"
LOCAL = "永金 四（二）6 6500万元风险补偿基金推出'信用贷''增信贷''担保贷'"
LEASE = "7号 二（七）融资租赁为智能化改造、生产线扩建提供设备租赁；三（四）售后回租"
GREEN = "7号 三（一）研发推广'碳汇贷'，加大绿色制造信贷投放；永金 四（一）4 绿色金融"
TRADE = "7号 二（五）发挥出口信用保险作用；76号（十三）跨境融资；永金 四（一）1 跨境人民币"
LONG = "76号（一）（三）制造业中长期贷款、技术改造项目贷款"
COST = "76号（十）降低制造业融资成本"
GENERIC = "综合授信：六类用途的通用额度，利率区间偏高，非专门产品"
MICRO = "小额贷款公司利率9%–15%，远高于银行，" + COST
FUND = "7号 二（三）基金增资、四（三）鼓励瞪羚独角兽企业基金融资；股权资金成本高"
INSURE = "7号 三（三）贷款保证保险为缺乏抵质押的企业增信，保费使综合成本偏高"
GOVPROC = "永金 四（一）1 政采贷：面向政府采购订单，企业并非政府采购供应商"
CROSS = "跨境人民币结算贷面向有跨境结算的企业，本企业无外贸业务：永金 四（一）1"

GRADES = {
    # N01 江津 专精特新 精密机械, 技改 800万元 36个月, 抵押, 利率上限4.0%
    ("N01", "P01"): (3, f"技改专项贷，享技改贴息：{TECH}"),
    ("N01", "P02"): (3, f"技改专项贷，贴息叠加设备更新再贷款：{TECH}；{RELEND}"),
    ("N01", "P30"): (2, "绿色技改贷可用于技改，但无技改贴息，主要面向绿色转型"),
    ("N01", "P05"): (1, GENERIC),
    # N02 长安汽车供应商，供应链 300万元 6个月，信用
    ("N02", "P06"): (3, f"渝链贷，名单含长安汽车：{CHAIN}；{CORE_LIST}"),
    ("N02", "P07"): (2, f"订单贷适合汽车零部件订单融资，但不依托核心企业确权：{ORDER}"),
    ("N02", "P09"): (2, "保理名单含长安汽车，但保理成本5.5%–8%偏高：" + COST),
    ("N02", "P39"): (1, GOVPROC),
    # N03 璧山 微型食品企业，首贷 50万元，担保或信用
    ("N03", "P15"): (3, f"首贷专属信用产品：{FIRST}"),
    ("N03", "P16"): (3, f"首贷担保贷，担保费补助：{FIRST}；{GUAR}"),
    ("N03", "P22"): (2, f"政策性担保贷，非首贷专属：{GUAR}"),
    ("N03", "P36"): (1, MICRO),
    ("N03", "P39"): (1, GOVPROC),
    ("N03", "P05"): (1, GENERIC),
    # N04 两江 小巨人 汽车零部件，技改 5000万元 60个月，抵押或保证
    ("N04", "P01"): (3, f"技改专项贷：{TECH}"),
    ("N04", "P02"): (3, f"技改专项贷+设备更新再贷款：{TECH}；{RELEND}"),
    ("N04", "P03"): (3, f"智能化改造中长期贷款，享技改贴息：{TECH}；{LONG}"),
    ("N04", "P35"): (2, f"中长期项目贷可覆盖技改项目，但无贴息：{LONG}"),
    ("N04", "P30"): (2, "绿色技改贷可用于技改，无技改贴息"),
    ("N04", "P27"): (1, f"设备融资租赁成本5%–7%，高于技改贷：{LEASE}"),
    ("N04", "P05"): (1, GENERIC),
    # N05 小巨人，流动资金 2000万元 12个月，信用
    ("N05", "P41"): (3, f"小巨人专属信用贷，利率最低：{SME}"),
    ("N05", "P13"): (3, f"专精特新贷：{SME}"),
    ("N05", "P05"): (1, GENERIC),
    ("N05", "P32"): (1, CROSS),
    # N06 高新区 高新技术企业，研发 300万元 24个月，信用或质押
    ("N06", "P11"): (3, f"知识价值信用贷：{KNOW}"),
    ("N06", "P33"): (3, "科技成果转化贷：7号 三（六）推动科技成果转化、高技术企业首贷破冰"),
    ("N06", "P34"): (3, ("知识产权质押贷：永金 四（一）3 推动知识产权质押贷款运用；"
                         "渝金议 下一步四 知识产权质押融资")),
    ("N06", "P05"): (1, GENERIC),
    ("N06", "P12"): (2, "商业价值信用贷可用于研发，通用信用产品：76号（六）"),
    # N07 京东方供应商，供应链 500万元 6个月，质押
    ("N07", "P06"): (3, f"渝链贷，名单含京东方：{CHAIN}"),
    ("N07", "P07"): (2, f"订单贷：{ORDER}"),
    ("N07", "P10"): (2, "仓单质押：7号 三（五）'仓单质押'供应链金融，需存货仓单"),
    # N08 永川 小型摩托车配件，首贷 100万元，保证
    ("N08", "P16"): (3, f"首贷担保贷：{FIRST}；{GUAR}"),
    ("N08", "P25"): (3, f"永川增信贷（区风险补偿基金）：{LOCAL}"),
    ("N08", "P15"): (3, f"首贷通：{FIRST}"),
    ("N08", "P22"): (2, f"担保贷，非首贷专属：{GUAR}"),
    ("N08", "P04"): (2, "国有大行流动资金贷款，首贷户获批难度较高"),
    ("N08", "P36"): (1, MICRO),
    ("N08", "P05"): (1, GENERIC),
    # N09 隆鑫通用供应商，供应链 200万元 6个月，质押或信用
    ("N09", "P08"): (3, f"应收账款质押，名单含隆鑫通用：{CHAIN}；{CORE_LIST}"),
    ("N09", "P07"): (2, f"订单贷：{ORDER}"),
    ("N09", "P10"): (1, "仓单质押需存货仓单，摩托车配件供应商以应收账款为主"),
    ("N09", "P39"): (1, GOVPROC),
    # N10 长寿 绿色工厂 新材料，绿色 3000万元 60个月，抵押
    ("N10", "P29"): (3, f"碳汇贷：{GREEN}"),
    ("N10", "P30"): (3, f"绿色技改贷：{GREEN}"),
    ("N10", "P05"): (1, GENERIC),
    # N11 新材料，项目 20000万元 120个月，抵押
    ("N11", "P35"): (3, f"制造业中长期项目贷：{LONG}"),
    ("N11", "P03"): (2, f"智能化改造中长期贷款可用于项目，但以技改为主：{LONG}"),
    # N12 高新区 瞪羚 生物医药，研发 1000万元 36个月，信用
    ("N12", "P14"): (3, f"瞪羚贷：{SME}"),
    ("N12", "P33"): (3, "科技成果转化贷：7号 三（六）科技成果转化"),
    ("N12", "P12"): (2, "商业价值信用贷，通用信用产品：76号（六）商业价值信用贷款"),
    ("N12", "P38"): (2, FUND),
    ("N12", "P05"): (1, GENERIC),
    # N13 荣昌 微型纺织（成立2年半），首贷 30万元 6个月，信用
    ("N13", "P15"): (3, f"首贷通：{FIRST}"),
    ("N13", "P36"): (1, MICRO),
    ("N13", "P39"): (1, GOVPROC),
    # N14 外贸企业，外贸 500万元 6个月，信用
    ("N14", "P31"): (3, f"外贸信保融资：{TRADE}"),
    ("N14", "P32"): (2, f"跨境人民币结算贷，非外贸企业专属：{TRADE}"),
    ("N14", "P05"): (1, GENERIC),
    # N15 大型双百企业，项目 50000万元 120个月
    ("N15", "P35"): (3, f"制造业中长期项目贷：{LONG}"),
    ("N15", "P03"): (2, f"智能化改造中长期贷款，以技改为主：{LONG}"),
    # N16 永川 科技型，续贷 200万元 12个月，现贷款行永川村镇银行
    ("N16", "P42"): (3, f"现贷款行的续贷产品：{RENEW}"),
    ("N16", "P11"): (2, f"知识价值信用贷可置换到期贷款：{KNOW}"),
    ("N16", "P24"): (2, f"永川信用贷：{LOCAL}"),
    ("N16", "P05"): (1, GENERIC),
    ("N16", "P36"): (1, MICRO),
    ("N16", "P12"): (2, "商业价值信用贷可置换到期贷款：76号（六）"),
    ("N16", "P37"): (1, INSURE),
    ("N16", "P32"): (1, CROSS),
    ("N16", "P39"): (1, GOVPROC),
    # N17 同一企业，续贷过桥 200万元 3个月
    ("N17", "P19"): (3, f"应急转贷（非专精特新，需付使用费）：{BRIDGE}"),
    ("N17", "P36"): (1, MICRO),
    ("N17", "P05"): (1, "综合授信用于过桥：期限3个月可行，但非应急转贷，需另行审批"),
    ("N17", "P32"): (1, CROSS),
    ("N17", "P39"): (1, GOVPROC),
    # N18 江津 微型 B级，首贷 80万元，信用或抵押
    ("N18", "P15"): (3, f"首贷通：{FIRST}"),
    ("N18", "P20"): (3, f"银税互动，B级：{TAX}"),
    ("N18", "P26"): (2, "江津本地小微贷，非首贷专属，利率偏高"),
    ("N18", "P36"): (1, MICRO),
    ("N18", "P39"): (1, GOVPROC),
    ("N18", "P05"): (1, GENERIC),
    # N19 九龙坡 专精特新 铝合金，技改 3000万元 60个月，保证（融资担保）
    ("N19", "P23"): (3, f"技改担保贷，贴息+担保费补助：{TECH}；{GUAR}"),
    ("N19", "P01"): (3, f"技改专项贷：{TECH}"),
    ("N19", "P02"): (3, f"技改专项贷+设备更新再贷款：{TECH}；{RELEND}"),
    ("N19", "P35"): (2, f"中长期项目贷，无贴息：{LONG}"),
    ("N19", "P27"): (1, f"设备融资租赁，成本较高：{LEASE}"),
    ("N19", "P05"): (1, GENERIC),
    # N20 续贷 2000万元，现贷款行国有银行甲
    ("N20", "P18"): (3, f"现贷款行无还本续贷：{RENEW}"),
    ("N20", "P04"): (1, "新增流动资金贷款置换，需先还后贷，非续贷产品"),
    ("N20", "P05"): (1, GENERIC),
    ("N20", "P32"): (1, CROSS),
    # N21 专精特新 过桥 3000万元 1个月
    ("N21", "P19"): (3, f"应急转贷，专精特新免收使用费：{BRIDGE}"),
    # N22 铜梁 锂电 绿色工厂，绿色 1000万元 36个月，信用或质押
    ("N22", "P29"): (3, f"碳汇贷：{GREEN}"),
    ("N22", "P30"): (3, f"绿色技改贷：{GREEN}"),
    ("N22", "P05"): (1, GENERIC),
    # N23 设备融资租赁 2000万元 48个月
    ("N23", "P27"): (3, f"设备融资租赁：{LEASE}"),
    ("N23", "P28"): (2, f"售后回租，非新购设备：{LEASE}"),
    # N24 潼南 纺织 C级，流动资金 500万元，抵押
    ("N24", "P04"): (2, "抵押流动资金贷款，纳税信用C级排除了银税互动"),
    ("N24", "P05"): (1, GENERIC),
    ("N24", "P32"): (1, CROSS),
    # N25 两江 初创科技型微企，研发 50万元，信用，首贷
    ("N25", "P11"): (3, f"知识价值信用贷：{KNOW}"),
    ("N25", "P37"): (2, INSURE),
    ("N25", "P05"): (1, GENERIC),
    # N26 力帆科技供应商，供应链 300万元 6个月：名单内无力帆的产品
    ("N26", "P07"): (3, f"订单贷不要求核心企业名单：{ORDER}"),
    ("N26", "P10"): (1, "仓单质押需存货仓单"),
    ("N26", "P39"): (1, GOVPROC),
    # N27 涪陵 食品，续贷 500万元，现贷款行山城农商行
    ("N27", "P17"): (3, f"现贷款行无还本续贷：{RENEW}"),
    ("N27", "P21"): (2, f"银税互动贷置换：{TAX}"),
    ("N27", "P12"): (2, "商业价值信用贷置换：76号（六）"),
    ("N27", "P04"): (1, "新增流动资金贷款，需先还后贷"),
    ("N27", "P05"): (1, GENERIC),
    ("N27", "P32"): (1, CROSS),
    ("N27", "P39"): (1, GOVPROC),
    # N28 京东方配套 小巨人，供应链 2000万元 12个月，质押
    ("N28", "P06"): (3, f"渝链贷，名单含京东方：{CHAIN}"),
    ("N28", "P10"): (2, "仓单质押：7号 三（五）"),
    # N29 显示 小巨人，技改 10000万元 60个月，抵押
    ("N29", "P02"): (3, f"技改专项贷+设备更新再贷款：{TECH}；{RELEND}"),
    ("N29", "P03"): (3, f"智能化改造中长期贷款，享技改贴息：{TECH}"),
    ("N29", "P30"): (2, "绿色技改贷，无技改贴息"),
    ("N29", "P35"): (2, f"中长期项目贷，无贴息：{LONG}"),
    ("N29", "P27"): (1, f"设备融资租赁，成本较高：{LEASE}"),
    ("N29", "P05"): (1, GENERIC),
    # N30 瞪羚 生物医药，流动资金 300万元 12个月，信用，利率上限3.6%
    ("N30", "P14"): (3, f"瞪羚贷：{SME}"),
    ("N30", "P11"): (3, f"知识价值信用贷，最低利率正好3.6%：{KNOW}"),
    ("N30", "P21"): (2, f"银税互动，A级，利率低：{TAX}"),
    ("N30", "P05"): (1, GENERIC),
    ("N30", "P32"): (1, CROSS),
    # N31 璧山 微型食品，首贷 50万元，信用，利率上限4.0%
    ("N31", "P15"): (3, f"首贷通：{FIRST}"),
    ("N31", "P39"): (1, GOVPROC),
    ("N31", "P05"): (1, GENERIC),
    # N32 外贸企业，外贸 5000万元，质押或信用：信保融资上限3000万元
    ("N32", "P32"): (2, f"跨境人民币结算贷，金额在其上限：{TRADE}"),
    ("N32", "P05"): (1, GENERIC),
    # N33 大型，流动资金 10000万元
    ("N33", "P05"): (2, "大额综合授信适合大型企业流动资金"),
    # N34 初创微企，首贷 20万元，保证
    ("N34", "P16"): (3, f"首贷担保贷：{FIRST}；{GUAR}"),
    ("N34", "P15"): (3, f"首贷通：{FIRST}"),
    ("N34", "P36"): (1, MICRO),
}
