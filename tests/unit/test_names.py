"""Tolerant company names (核心企业名单库, 渝金议〔2018〕1号)."""
import pytest

from matchmaker.names import company_key, core_key, same_company


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


# the spec's tolerant reading (exchange-format.md: 长安汽车 = 重庆长安汽车股份有限公司), as
# issue 14 states it: containment after stripping 重庆/重庆市 and company suffixes
@pytest.mark.parametrize("name, key", [
    ("重庆长安汽车股份有限公司", "长安汽车"),
    ("重庆市涪陵榨菜集团股份有限公司", "涪陵榨菜"),
    ("京东方科技集团股份有限公司", "京东方科技"),
    ("京东方科技集团股份有限公司重庆分公司", "京东方科技"),   # 重庆 stripped wherever it stands
    ("阿维塔科技（重庆）有限公司", "阿维塔科技"),
    ("重庆银行", "银行"),
    ("中国银行", "中国银行"),                              # only 重庆/重庆市 are stripped
    ("ＢＯＥ", "boe"),
])
def test_core_key(name, key):
    assert core_key(name) == key


@pytest.mark.parametrize("a, b", [
    ("长安汽车", "重庆长安汽车股份有限公司"),               # the spec's own example
    ("重庆长安汽车", "长安汽车股份"),
    ("长安", "长安汽车"),                                  # 渝金议〔2018〕1号: 长安、力帆
    ("力帆", "力帆科技（集团）股份有限公司"),
    ("京东方", "重庆京东方光电科技有限公司"),
    ("重庆京东方光电科技有限公司", "京东方光电科技"),
    ("中国长安汽车集团有限公司", "重庆长安汽车股份有限公司"),   # 长安汽车 inside 中国长安汽车
    ("重庆市宗申动力机械股份有限公司", "宗申"),
    ("重庆钢铁", "重庆钢铁股份有限公司"),                   # both 钢铁 once 重庆 is stripped: equal
    ("ＢＯＥ（重庆）", "boe"),
])
def test_same_company(a, b):
    assert same_company(a, b)
    assert same_company(b, a)


@pytest.mark.parametrize("a, b", [
    ("长安汽车", "长城汽车"),
    ("重庆长安汽车股份有限公司", "长城汽车股份有限公司"),
    ("长安汽车", "长安福特汽车有限公司"),                   # not contained: 福特 stands between
    ("重庆银行", "中国银行"),                              # 银行 alone names no company
    ("汽车", "长安汽车"),                                  # trade words alone: equality only
    ("重庆钢铁", "武汉钢铁"),
    ("汽车工程研究院", "中国汽车工程研究院股份有限公司"),     # could be any maker's institute
    ("两江智能装备制造研究院", "两江智能装备制造研究员"),    # a typo is no longer tolerated
    ("赛力斯", "力帆科技"),
    ("长", "长安汽车"),
    ("重庆", "重庆长安汽车股份有限公司"),                   # nothing left once 重庆 is stripped
    ("长安汽车", ""),
    ("长安汽车", None),
])
def test_different_companies(a, b):
    assert not same_company(a, b)
    assert not same_company(b, a)


def test_aliases_map_keys_to_a_canonical_key():
    aliases = {"重钢": "重庆钢铁"}          # confirmed by an organizer
    assert not same_company("重钢", "重庆钢铁股份有限公司")
    assert same_company("重钢", "重庆钢铁股份有限公司", aliases)
