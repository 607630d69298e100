"""Tolerant company names: 长安汽车 = 重庆长安汽车股份有限公司, 长安汽车 ≠ 长城汽车.

Supply-chain products (渝链贷, 订单贷, 应收账款质押) name their core enterprises from the
核心企业名单库 (渝金议〔2018〕1号: "建立涵盖长安、力帆等一批大型智能制造企业的核心名单库"),
while enterprises write their buyer however they like. Pure: no I/O.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

# longest first: "重庆市" must go before "重庆"
_PREFIXES = ("中国", "重庆市", "重庆")
_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司", "股份")
# bracketed parts name a place or a form ("（重庆）", "(集团)"), never the company itself
_BRACKETED = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]")
_NOISE = re.compile(r"[\s·.,，、()\[\]【】〔〕\"'“”‘’]+")

PREFIX_KEEP_LEN = 3   # a region prefix is dropped only when at least this much remains


@lru_cache(maxsize=65536)
def company_key(name: str) -> str:
    """The comparable core of a company name: no region prefix, legal form, brackets, spaces.

    NFKC folds full-width letters, digits and brackets to half-width before anything else.
    """
    text = unicodedata.normalize("NFKC", name or "").strip().lower()
    text = _BRACKETED.sub("", text)
    text = _NOISE.sub("", text)
    changed = True
    while changed and text:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
        for prefix in _PREFIXES:
            # 重庆银行 and 中国银行 must not both become 银行: keep the region when what
            # remains is too short to name a company on its own
            if text.startswith(prefix) and len(text) - len(prefix) >= PREFIX_KEEP_LEN:
                text, changed = text[len(prefix):], True
    return text


# The spec's tolerant reading (exchange-format.md, products.core_enterprises: "names are
# matched tolerantly: 长安汽车 = 重庆长安汽车股份有限公司"), as issue 14 states it: containment
# after stripping 重庆/重庆市 and company suffixes.
_REGION = re.compile("重庆市|重庆")
_CORE_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "集团", "公司", "股份")
# Words that name a trade or a form, never a company on its own: a name made only of them
# (汽车, 重庆银行 → 银行, 汽车工程研究院) is contained in many companies' names, so it matches by
# equality only. 渝金议〔2018〕1号 names core enterprises by two characters (长安、力帆): two
# characters beyond these words are enough to be contained.
_TRADE_WORDS = tuple(sorted((
    "汽车", "摩托车", "车辆", "新能源", "科技", "技术", "实业", "工业", "产业", "机械", "机电",
    "电子", "电器", "电气", "电力", "能源", "钢铁", "金属", "有色", "铝业", "化工", "化学",
    "石油", "银行", "制造", "贸易", "商贸", "物流", "医药", "生物", "光电", "材料", "装备",
    "零部件", "配件", "动力", "控股", "投资", "发展", "信息", "智能", "精密", "模具", "铸造",
    "食品", "纺织", "服装", "包装", "塑料", "橡胶", "玻璃", "仪器", "仪表", "工程", "建设",
    "建筑", "研究院", "研究所", "设备", "显示", "电脑", "通用", "中国")
    , key=len, reverse=True))
CONTAINED_MIN_LEN = 2   # distinctive characters a contained name must keep (长安, 力帆)


@lru_cache(maxsize=65536)
def core_key(name: str) -> str:
    """A core enterprise's name as the spec compares it: NFKC-folded, lower case, brackets
    and spaces dropped, 重庆/重庆市 stripped wherever they stand, company suffixes stripped."""
    text = unicodedata.normalize("NFKC", name or "").strip().lower()
    text = _NOISE.sub("", _BRACKETED.sub("", text))
    text = _REGION.sub("", text)
    changed = True
    while changed and text:
        changed = False
        for suffix in _CORE_SUFFIXES:      # longest first, from the top after each cut
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
                break
    return text


@lru_cache(maxsize=65536)
def distinctive(key: str) -> bool:
    """The key still names a company once trade words are taken out (at least 2 characters)."""
    for word in _TRADE_WORDS:
        key = key.replace(word, "")
    return len(key) >= CONTAINED_MIN_LEN


def same_company(a: str | None, b: str | None,
                 aliases: Mapping[str, str] | None = None) -> bool:
    """True when two written names mean the same company by the spec's tolerant reading.

    Holds on: keys mapped to the same canonical key by `aliases` (company_key of an alias ->
    company_key of the listed name, as the organizer confirmed them); equal core_keys; one
    core_key contained in the other when the shorter is distinctive (长安 in 长安汽车, never
    汽车 in 长安汽车). Where both names are on the 核心企业名单库, the list decides
    (MatchContext.same_core): 长安 and 长安福特 are then two listed companies.
    """
    if not a or not b:
        return False
    if aliases:
        ka, kb = company_key(a), company_key(b)
        if ka and aliases.get(ka, ka) == aliases.get(kb, kb):
            return True
    ka, kb = core_key(a), core_key(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    short, long_ = (ka, kb) if len(ka) <= len(kb) else (kb, ka)
    return short in long_ and distinctive(short)
