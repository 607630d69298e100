"""Organizer search: enterprises and needs by name, USCC, district, cluster, purpose, status;
paginated and sorted; a district organizer sees only the district."""
from decimal import Decimal

import pytest

from tests.factories import EnterpriseFactory, NeedFactory


@pytest.fixture
def population(db):
    a = EnterpriseFactory(name="重庆永川精密铸造有限公司", district="永川区", cluster="light_alloy")
    b = EnterpriseFactory(name="重庆璧山电子科技有限公司", district="璧山区",
                          cluster="electronic_information")
    c = EnterpriseFactory(name="重庆永川电子元件有限公司", district="永川区",
                          cluster="electronic_information")
    NeedFactory(enterprise=a, purpose="tech_upgrade", status="published", amount_wan=Decimal(800))
    NeedFactory(enterprise=b, purpose="working_capital", status="draft", amount_wan=Decimal(50))
    NeedFactory(enterprise=c, purpose="working_capital", status="funded", amount_wan=Decimal(300))
    return a, b, c


def names(client, **args):
    html = client.get("/enterprises", query_string=args).get_data(as_text=True)
    return [n for n in ("永川精密铸造", "璧山电子科技", "永川电子元件") if n in html]


@pytest.mark.parametrize("args,expected", [
    ({}, ["永川精密铸造", "璧山电子科技", "永川电子元件"]),
    ({"q": "电子"}, ["璧山电子科技", "永川电子元件"]),
    ({"district": "永川区"}, ["永川精密铸造", "永川电子元件"]),
    ({"cluster": "electronic_information"}, ["璧山电子科技", "永川电子元件"]),
    ({"purpose": "working_capital"}, ["璧山电子科技", "永川电子元件"]),
    ({"status": "funded"}, ["永川电子元件"]),
    ({"purpose": "working_capital", "status": "draft"}, ["璧山电子科技"]),
    ({"district": "不存在区"}, ["永川精密铸造", "璧山电子科技", "永川电子元件"]),  # ignored
])
def test_enterprise_filters(client_as, population, args, expected):
    assert names(client_as("organizer"), **args) == expected


def test_search_by_uscc(client_as, population):
    a = population[0]
    assert names(client_as("organizer"), q=a.uscc.lower()) == ["永川精密铸造"]
    assert names(client_as("organizer"), q=a.uscc[:17]) == ["永川精密铸造"]


def test_need_search_sorted_by_amount(client_as, population):
    html = client_as("organizer").get("/enterprises", query_string={
        "kind": "needs", "sort": "amount"}).get_data(as_text=True)
    assert html.index("800 万元") < html.index("300 万元") < html.index("50 万元")
    html = client_as("organizer").get("/enterprises", query_string={
        "kind": "needs", "purpose": "tech_upgrade"}).get_data(as_text=True)
    assert "800 万元" in html and "300 万元" not in html


def test_enterprises_sorted_by_name(client_as, population):
    html = client_as("organizer").get("/enterprises", query_string={"sort": "name"}) \
        .get_data(as_text=True)
    found = sorted(["重庆永川精密铸造有限公司", "重庆璧山电子科技有限公司", "重庆永川电子元件有限公司"],
                   key=html.index)
    assert found == sorted(found)  # the database's order by name


def test_district_organizer_sees_only_district(client_as, population):
    client = client_as("organizer", district="永川区")
    assert names(client) == ["永川精密铸造", "永川电子元件"]
    assert names(client, district="璧山区") == ["永川精密铸造", "永川电子元件"]
    html = client.get("/enterprises", query_string={"kind": "needs"}).get_data(as_text=True)
    assert "璧山电子科技" not in html


def test_pagination_and_empty_state(db, client_as):
    for n in range(23):
        EnterpriseFactory(name=f"重庆分页测试{n:02d}有限公司")
    client = client_as("organizer")
    first = client.get("/enterprises?sort=name").get_data(as_text=True)
    second = client.get("/enterprises?sort=name&page=2").get_data(as_text=True)
    assert "共 23 条" in first and "分页测试00" in first and "分页测试22" not in first
    assert "分页测试22" in second
    empty = client.get("/enterprises?q=不存在的企业").get_data(as_text=True)
    assert 'data-testid="empty-state"' in empty and "表格批量导入" in empty


@pytest.mark.parametrize("q,expected", [
    ("精密铸照", ["永川精密铸造"]),           # a wrong character (铸照)
    ("永川精蜜铸造", ["永川精密铸造"]),       # a homophone typed in pinyin
    ("jmzz", ["永川精密铸造"]),              # pinyin initials
    ("bishandianzi", ["璧山电子科技"]),       # full pinyin
    ("不存在的公司", []),
])
def test_search_forgives_typos_and_pinyin(client_as, population, q, expected):
    assert names(client_as("organizer"), q=q) == expected


def test_forgiving_need_search(client_as, population):
    html = client_as("organizer").get("/enterprises", query_string={
        "kind": "needs", "q": "jmzz"}).get_data(as_text=True)
    assert "永川精密铸造" in html and "璧山电子科技" not in html


def test_forgiving_search_keeps_the_district(client_as, population):
    assert names(client_as("organizer", district="璧山区"), q="jmzz") == []
