"""The dashboard: the towns that need attention most, worst first, each figure the same as the
list it links to; the map graded by degree; and a page that renders for anyone, with or without
norms and towns."""

import datetime as dt
import html
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.stock.models import StockItem
from tests.factories import in_days, page_client, receive


def _norm(app, **data):
    from inventory.norms.services import create_norm
    with app.app_context():
        create_norm(actor=COMMAND_LINE, data=data)


def _expire(app, lot, today):
    """Date a lot received with a future expiry back to yesterday: it expired on the shelf."""
    with app.app_context():
        db.session.execute(sa.update(StockItem).where(StockItem.lot == lot)
                           .values(expiry_date=today - dt.timedelta(days=1)))
        db.session.commit()


def _ranking(page: str) -> list[tuple]:
    """The ranking's rows: (rank, town code, grade name, shortfall, expired, untested)."""
    table = page.split('id="towns"', 1)[1].split("</section>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)[1:]:
        cells = [html.unescape(re.sub(r"<[^>]+>", "", cell.split("<br>")[0])).strip()
                 for cell in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.DOTALL)]
        code = re.search(r'href="/norms/shortfalls\?site=([^"]+)"', row)[1]
        rows.append((int(cells[0]), code, cells[2], int(cells[3]), int(cells[4]), int(cells[5])))
    return rows


def _tile(page: str, label: str) -> int:
    return int(re.search(r'<span class="figure">(\d+)</span><span class="label">' + label, page)[1])


def _listed_shortfall(client, code: str) -> int:
    """The sum of the shortfall column of the report for ``code`` (its sub-sites included)."""
    page = client.get(f"/norms/shortfalls?site={code}").get_data(as_text=True)
    table = page.split("</details>")[-1]
    return sum(int(units) for units in re.findall(r'<td class="num out">(\d+)</td>', table))


@pytest.fixture
def towns(app, manager, make_site, today):
    """Four towns: 新坝镇 red (water under half, and its village 和平村 without water or comms),
    南华镇 amber (no quilts at all: deep), 罗城镇 amber (water 90 of 100) with an untested
    generator, 黑泉镇 green with an expired lot."""
    make_site("GT-LC", parent="GT", name="罗城镇储备室", population=10001)
    make_site("GT-HQ", parent="GT", name="黑泉镇储备室", population=9000)
    _norm(app, name="饮用水", site_kind="town_store", materials=["WATER"], min_quantity=100,
          readiness="water")
    _norm(app, name="棉被", site_kind="town_store", materials=["QUILT"], min_quantity=200)
    _norm(app, name="村饮用水", site_kind="village_point", materials=["WATER"], min_quantity=10,
          readiness="water")
    _norm(app, name="村通信", site_kind="village_point", materials=["TENT"], min_quantity=1,
          readiness="comms")
    far = in_days(today, 300)
    for code, water in (("GT-XB", 45), ("GT-NH", 80), ("GT-LC", 90), ("GT-HQ", 100)):
        receive(manager, site=code, material="WATER", quantity=water, expiry_date=far)
    for code in ("GT-XB", "GT-LC", "GT-HQ"):
        receive(manager, site=code, material="QUILT", quantity=200)
    receive(manager, site="GT-HQ", material="WATER", quantity=5, lot="OLD", expiry_date=far)
    _expire(app, "OLD", today)
    receive(manager, site="GT-LC", material="GEN", quantity=1, serials=["GEN-LC-1"])
    return manager


def test_the_towns_rank_by_colour_then_shortfall_units_expired_and_untested(app, client, login,
                                                                            make_user, towns):
    login(make_user("manager"))
    page = client.get("/").get_data(as_text=True)
    assert page.index("最需关注的乡镇") < page.index("定额短缺"), "the ranking heads the page"
    assert _ranking(page) == [
        # Red outranks 南华镇's larger shortfall; 和平村 (no water, no comms) makes 新坝镇 deep red.
        (1, "GT-XB", "深红", 55 + 10 + 1, 0, 0),
        (2, "GT-NH", "深黄", 20 + 200, 0, 0),
        (3, "GT-LC", "浅黄", 10, 0, 1),
        (4, "GT-HQ", "绿", 0, 1, 0),
    ]
    xb = page.split('id="towns"')[1].split("</tr>")[1]
    assert "饮用水 45/100" in xb and "和平村储备点：无可用通信设备（卫星电话、北斗终端）、村饮用水 0/10" in xb
    assert '<a href="/alerts/#expired">1</a>' in page and '<a href="/alerts/#untested">1</a>' in page
    for _rank, code, _grade, units, _expired, _untested in _ranking(page):
        assert units == _listed_shortfall(client, code), f"{code}: the ranking adds what the report lists"


def test_the_ranking_shows_ten_towns_and_links_to_all_of_them(app, client, login, make_user, county,
                                                              make_site):
    for number in range(10):
        make_site(f"GT-T{number}", parent="GT", name=f"第{number}镇储备室")
    login(make_user("manager"))
    page = client.get("/").get_data(as_text=True)
    assert len(_ranking(page)) == 10 and "查看全部 12 个乡镇" in page
    assert "/?towns=all#towns" in page
    every = client.get("/?towns=all").get_data(as_text=True)
    assert [row[0] for row in _ranking(every)] == list(range(1, 13)) and "只看前 10 个" in every
    assert {row[2] for row in _ranking(every)} == {"无定额"}, "no norms: no colour"


def test_the_map_grades_each_site_and_says_why(app, client, login, make_user, towns):
    from inventory.sites.services import update_site
    with app.app_context():
        for code, (lat, lon) in {"GT": (39.38, 99.82), "GT-XB": (39.21, 99.55), "GT-XB-HP": (39.20, 99.56),
                                 "GT-NH": (39.33, 99.90), "GT-LC": (39.68, 99.58),
                                 "GT-HQ": (39.37, 99.69)}.items():
            update_site(actor=COMMAND_LINE, code=code, changes={"latitude": lat, "longitude": lon})
    login(make_user("manager"))
    page = client.get("/").get_data(as_text=True)
    classes = dict(re.findall(r'<title>([^：<]+)：[^<]*</title>\s*<(?:circle|rect) class="dot ([^"]+)"', page))
    assert classes["和平村储备点"] == "red grade-red-2 village_point", "no comms and no water"
    assert classes["新坝镇储备室"] == "red grade-red-1 town_store"
    assert classes["南华镇储备室"] == "amber grade-amber-2 town_store"
    assert classes["罗城镇储备室"] == "amber grade-amber-1 town_store"
    assert classes["黑泉镇储备室"] == "green grade-green town_store"
    assert "<title>新坝镇储备室：红；饮用水 45/100</title>" in page
    for grade in ("red-2", "red-1", "amber-2", "amber-1", "green", "none"):
        assert f'<span class="swatch grade-{grade}"></span>' in page.split('class="legend"')[1]
    labels = re.findall(r'<text x="[^"]+" y="[^"]+" text-anchor="(?:start|end|middle)">([^<]+)</text>', page)
    assert {"新坝镇储备室", "南华镇储备室"} <= set(labels) and "和平村储备点" not in labels
    assert "/static/css/dashboard.css" in page.split("</head>")[0]


def test_one_shortfall_row_per_site_and_material_on_the_dashboard_page_and_export(app, client, login,
                                                                                 make_user, manager):
    """Two norms ask 棉被 of 新坝镇 (per person, and the 三断 floor): the dashboard's count, the
    report's rows and the export's rows are one per site and material, and the ranking's units
    are the report's."""
    _norm(app, name="棉被", site_kind="town_store", materials=["QUILT"], per_person=0.1)
    _norm(app, name="棉被", site_kind="town_store", hazard="three_outages", materials=["QUILT"],
          min_quantity=800)
    for town in ("GT-XB", "GT-NH"):
        receive(manager, site=town, material="QUILT", quantity=10)
    login(make_user("manager"))
    dashboard = client.get("/").get_data(as_text=True)
    report = client.get("/norms/shortfalls").get_data(as_text=True)
    listed = re.findall(r"<tr><td><a href=\"/stock/\?site=(GT-[A-Z]+)\">", report)
    assert listed == ["GT-XB", "GT-NH"]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/norms/shortfalls.xlsx").data)).active
    exported = list(sheet.iter_rows(min_row=4, values_only=True))
    assert [row[0] for row in exported] == listed
    assert _tile(dashboard, "定额短缺") == len(listed) == len(exported) == 2
    ranked = {code: units for _rank, code, _grade, units, _e, _u in _ranking(dashboard)}
    assert ranked == {row[0]: row[6] for row in exported} == {
        code: _listed_shortfall(client, code) for code in listed}
    assert ranked["GT-XB"] == 800 - 10, "the 三断 floor binds, counted once"


def test_the_dashboard_renders_without_sites_norms_or_towns(app, client, login, make_user):
    login(make_user("manager"))
    page = client.get("/").get_data(as_text=True)
    assert "储备态势" in page and "最需关注的乡镇" not in page
    assert client.get("/?towns=all").status_code == 200


def test_an_auditor_of_a_town_sees_their_own_town_only(app, make_user, towns):
    """Auditors are scoped and read the dashboard (a keeper's home is the day's work instead)."""
    page = page_client(app, make_user("auditor", sites=["GT-XB"])).get("/").get_data(as_text=True)
    assert [row[:3] for row in _ranking(page)] == [(1, "GT-XB", "深红")]
    assert "南华" not in page and "罗城" not in page
    village = page_client(app, make_user("auditor", sites=["GT-XB-HP"])).get("/?towns=all")
    assert village.status_code == 200 and "最需关注的乡镇" not in village.get_data(as_text=True)
    for sites in (["GT-XB"], ["GT-XB-HP"]):
        assert page_client(app, make_user("keeper", sites=sites)).get("/?towns=all").status_code == 200
