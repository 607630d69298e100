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

from rapidfuzz import fuzz

# longest first: "重庆市" must go before "重庆"
_PREFIXES = ("中国", "重庆市", "重庆")
_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司", "股份")
# bracketed parts name a place or a form ("（重庆）", "(集团)"), never the company itself
_BRACKETED = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]")
_NOISE = re.compile(r"[\s·.,，、()\[\]【】〔〕\"'“”‘’]+")

FUZZY_RATIO = 90      # rapidfuzz ratio on keys, both at least FUZZY_MIN_LEN characters
FUZZY_MIN_LEN = 3
PREFIX_MIN_LEN = 4    # 长安汽车 is a prefix of 长安汽车股份; 长安 (2) is too short to trust
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


def same_company(a: str | None, b: str | None,
                 aliases: Mapping[str, str] | None = None) -> bool:
    """True when two written names very probably mean the same company.

    Holds on: equal keys; keys mapped to the same canonical key by `aliases` (company_key of
    an alias -> company_key of the listed name, as the organizer confirmed them); one key a
    prefix of the other when the shorter has at least 4 characters; rapidfuzz ratio >= 90
    on keys of at least 3 characters (a typo in a long name).
    """
    if not a or not b:
        return False
    ka, kb = company_key(a), company_key(b)
    if not ka or not kb:
        return False
    if aliases:
        ka, kb = aliases.get(ka, ka), aliases.get(kb, kb)
    if ka == kb:
        return True
    short, long_ = (ka, kb) if len(ka) <= len(kb) else (kb, ka)
    if len(short) >= PREFIX_MIN_LEN and long_.startswith(short):
        return True
    return (len(short) >= FUZZY_MIN_LEN
            and fuzz.ratio(ka, kb) >= FUZZY_RATIO)
