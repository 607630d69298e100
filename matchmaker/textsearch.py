"""Names found as people type them: a substring, pinyin initials (zscq finds 知识产权质押贷),
full pinyin, or a typo or homophone of the Chinese. Used by the 金融超市's product search and
the industry picker. Pure: no database."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class NameKeys:
    text: str       # lower case, no spaces
    initials: str   # 知识产权质押贷 -> zscqzyd
    full: str       # 知识产权质押贷 -> zhishichanquanzhiyadai


@lru_cache(maxsize=65536)
def name_keys(name: str) -> NameKeys:
    text = re.sub(r"\s+", "", (name or "").lower())
    # one pypinyin call (the cold cost of a search is this, once per name and process):
    # non-Chinese characters come back one per item, so each item's first letter is an initial
    items = lazy_pinyin(text, errors=list)
    initials = _NON_ALNUM.sub("", "".join(item[:1] for item in items))
    full = _NON_ALNUM.sub("", "".join(items))
    return NameKeys(text, initials, full)


def name_score(query: str, name: str) -> float:
    """0–100: how well `query` names this product, tolerating typos, homophones (pinyin input
    picks the wrong character of the same sound) and pinyin initials or full pinyin."""
    q = name_keys(query)
    keys = name_keys(name)
    if not q.text:
        return 0.0
    if q.text in keys.text:
        return 100.0
    if not _CJK.search(q.text):
        return _latin_score(_NON_ALNUM.sub("", q.text), keys)
    if len(q.text) < 3:  # two characters: too short for a typo to be told from noise
        return 96.0 if q.full and q.full in keys.full else 0.0
    by_char = fuzz.partial_ratio(q.text, keys.text)
    by_sound = fuzz.partial_ratio(q.full, keys.full) if len(q.full) >= 6 else 0.0
    return max(by_char, by_sound - 2)  # a homophone ranks just below the same characters


def _latin_score(q: str, keys: NameKeys) -> float:
    if not q:
        return 0.0
    if keys.initials.startswith(q):
        return 99.0
    if q in keys.initials:
        return 97.0
    if q in keys.full:
        return 95.0 if len(q) >= 3 else 0.0
    if len(q) >= 6:  # a typo in typed pinyin: zhishichanqun
        return fuzz.partial_ratio(q, keys.full) * 0.95
    return 0.0
