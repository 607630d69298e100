"""Tolerant company names (核心企业名单库, 渝金议〔2018〕1号)."""
import pytest

from matchmaker.names import company_key, same_company


@pytest.mark.parametrize("name, key", [
    ("重庆长安汽车股份有限公司", "长安汽车"),
    ("长安汽车", "长安汽车"),
    ("力帆科技（集团）股份有限公司", "力帆科技"),
    ("重庆市 宗申动力机械 股份有限公司", "宗申动力机械"),
    ("中国汽车工程研究院股份有限公司", "汽车工程研究院"),
    ("ＢＯＥ（重庆）光电有限责任公司", "boe光电"),      # full-width folded, bracket dropped
    ("重庆银行", "重庆银行"),                             # too short once 重庆 is gone: kept
    ("中国银行", "中国银行"),
])
def test_company_key(name, key):
    assert company_key(name) == key


@pytest.mark.parametrize("a, b", [
    ("长安汽车", "重庆长安汽车股份有限公司"),
    ("重庆长安汽车", "长安汽车股份"),                      # prefix of at least 4 characters
    ("力帆科技", "力帆科技（集团）股份有限公司"),
    ("重庆京东方光电科技有限公司", "京东方光电科技"),
    ("重庆两江智能装备制造研究院有限公司", "两江智能装备制造研究员有限公司"),  # a typo, long name
    ("ＣＨＯＮＧＱＩＮＧ ＡＢＣ", "chongqingabc"),
])
def test_same_company(a, b):
    assert same_company(a, b)
    assert same_company(b, a)


@pytest.mark.parametrize("a, b", [
    ("长安汽车", "长城汽车"),
    ("重庆长安汽车股份有限公司", "长城汽车股份有限公司"),
    ("重庆银行", "中国银行"),
    ("长安", "长安汽车"),          # 2 characters: too short to be a trusted prefix
    ("赛力斯", "力帆科技"),
    ("长安汽车", ""),
    ("长安汽车", None),
])
def test_different_companies(a, b):
    assert not same_company(a, b)


def test_aliases_map_keys_to_a_canonical_key():
    aliases = {"重钢": "重庆钢铁"}          # confirmed by an organizer
    assert not same_company("重钢", "重庆钢铁股份有限公司")
    assert same_company("重钢", "重庆钢铁股份有限公司", aliases)
