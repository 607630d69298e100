"""A district organizer's figures are its district's only, on the home page too; the city
organizer sees every district side by side (issue 16)."""
import re
from decimal import Decimal

from tests.factories import EnterpriseFactory, InstitutionFactory, NeedFactory


def _figure(page: str, name: str) -> int:
    return int(re.search(rf'data-figure="{name}">(\d+)<', page).group(1))


def _world():
    for _ in range(3):
        NeedFactory(enterprise=EnterpriseFactory(district="渝北区"))
    NeedFactory(enterprise=EnterpriseFactory(district="永川区"))
    EnterpriseFactory(district="永川区")
    city_wide = InstitutionFactory()
    yongchuan = InstitutionFactory(districts=("永川区",))
    yubei = InstitutionFactory(districts=("渝北区",))
    return city_wide, yongchuan, yubei


def test_district_organizer_home_counts_its_district_only(client_as):
    _world()
    page = client_as("organizer", district="永川区").get("/home").get_data(as_text=True)
    assert _figure(page, "enterprises") == 2
    assert _figure(page, "published") == 1
    assert _figure(page, "institutions") == 2  # the city-wide bank and 永川's own, not 渝北's
    assert 'id="districts"' not in page  # no other district's row


def test_city_organizer_home_sees_all_districts_side_by_side(client_as):
    _world()
    page = client_as("organizer").get("/home").get_data(as_text=True)
    assert _figure(page, "enterprises") == 5
    assert _figure(page, "published") == 4
    assert _figure(page, "institutions") == 3
    table = page[page.index('id="districts"'):]
    assert re.search(r"<td>永川区</td><td[^>]*>2</td><td[^>]*>1</td>", table)
    assert re.search(r"<td>渝北区</td><td[^>]*>3</td><td[^>]*>3</td>", table)


def test_the_home_counts_published_needs_by_purpose_across_districts(client_as):
    _world()                                         # four published 流动资金 needs of 300万元
    NeedFactory(enterprise=EnterpriseFactory(district="永川区"), purpose="tech_upgrade",
                amount_wan=Decimal(800))
    NeedFactory(enterprise=EnterpriseFactory(district="渝北区"), purpose="tech_upgrade",
                status="draft", amount_wan=Decimal(500))      # not published: not counted
    page = client_as("organizer").get("/home").get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"text-end\">(\d+)</td>"
                      r"<td class=\"text-end\">([^<]+)</td>", page)
    assert ("流动资金", "4", "1,200 万元") in rows
    assert ("技术改造与设备更新", "1", "800 万元") in rows
    assert _figure(page, "published") == 5
    yongchuan = client_as("organizer", district="永川区").get("/home").get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"text-end\">(\d+)</td>"
                      r"<td class=\"text-end\">([^<]+)</td>", yongchuan)
    assert sorted(rows) == sorted([("流动资金", "1", "300 万元"), ("技术改造与设备更新", "1", "800 万元")])
