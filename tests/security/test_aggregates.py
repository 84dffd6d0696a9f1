"""Aggregates stay within scope (QUALITY.md S1: "no site-B data in any … count").

Every total, count and roll-up a keeper or auditor of 新坝镇 (town A) can read — the dashboard's
tiles, coverage heat map, expiry bars and map; the alerts page and API; the stock summary page
and API; the shortfall report and its town roll-up; the site and stock lists with their totals —
is read, then 南华镇 (town B) changes in the way that feeds it, and it is read again. A's people
must get the same answer; a county manager's answer must have changed (so a leak would show).

Everything is read on a day 30 days on (``READ_DAY``), so that what B set up today has fallen
due or expired by then; changes are made today, reads are made on that day before and after.
"""

import datetime as dt
import html
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.db import db
from inventory.sites.models import Site
from inventory.stocktakes.models import quarter_of
from tests.factories import (
    Api,
    in_days,
    issue,
    make_catalog,
    make_site,
    make_user,
    page_client,
    receive,
    token_for,
)

READ_DAY = 30

API_READINGS = (
    "/stock/summary", "/stock/summary?site=GT-XB", "/alerts", "/alerts?expiring_days=365",
    "/shortfalls", "/shortfalls?all=true", "/sites?per_page=500", "/stock?per_page=500",
    "/movements?per_page=500", "/issues?per_page=500", "/transfers?per_page=500",
)
PAGE_READINGS = (
    "/", "/alerts/", "/stock/summary", "/stock/summary?site=GT-XB", "/norms/shortfalls",
    "/norms/shortfalls?all=1", "/sites/", "/stock/",
)
EXPORT_READINGS = ("/norms/shortfalls.xlsx", "/norms/shortfalls.xlsx?all=1")


# --- two towns, each with a village and an agreement site ------------------------------------

@pytest.fixture
def towns(app, today):
    """Town A (GT-XB) with something to report under every alert; town B (GT-NH) just short
    of its water norm; norms for towns and the depot. Answers the API clients by name."""
    sites = (("GT", None, "county_depot", 39.38, 99.82), ("GT-XB", "GT", "town_store", 39.40, 99.60),
             ("GT-XB-HP", "GT-XB", "village_point", 39.42, 99.58),
             ("GT-XB-DC1", "GT-XB", "agreement_site", 39.41, 99.61),
             ("GT-NH", "GT", "town_store", 39.30, 99.95),
             ("GT-NH-V", "GT-NH", "village_point", 39.28, 99.97))
    for code, parent, kind, latitude, longitude in sites:
        make_site(app, code, parent=parent, kind=kind, latitude=latitude, longitude=longitude,
                  population=None if kind == "agreement_site" else 1000)
    # B's agreement site was checked today, so its stock counts towards B's norm (92 days).
    make_site(app, "GT-NH-DC", parent="GT-NH", kind="agreement_site", latitude=39.31,
              longitude=99.94, agreement={"partner": "南华超市", "number": "XY-NH",
                                          "valid_from": in_days(today, -30),
                                          "valid_to": in_days(today, 365),
                                          "last_verified": today.isoformat()})
    # A's and B's village points have stood half a year without a count: both overdue.
    with app.app_context():
        db.session.execute(sa.update(Site).where(Site.code.in_(["GT-XB-HP", "GT-NH-V"]))
                           .values(created_at=clock.now() - dt.timedelta(days=180)))
        db.session.commit()
    make_catalog(app)
    client = app.test_client()
    users = {"keeper_a": make_user(app, "keeper", username="xb", sites=["GT-XB"]),
             "auditor_a": make_user(app, "auditor", username="xb-audit", sites=["GT-XB"]),
             "keeper_b": make_user(app, "keeper", username="nh", sites=["GT-NH"]),
             "manager": make_user(app, "manager", username="boss")}
    # Tokens that outlive the reading day.
    apis = {name: Api(client, token_for(app, username, days=READ_DAY + 30))
            for name, username in users.items()}
    manager, keeper_a, keeper_b = apis["manager"], apis["keeper_a"], apis["keeper_b"]

    for norm in ({"name": "饮用水", "site_kind": "town_store", "materials": ["WATER"],
                  "min_quantity": 100, "readiness": "water", "count_agreement_sites": True},
                 {"name": "棉被", "site_kind": "town_store", "materials": ["QUILT"],
                  "min_quantity": 10},
                 {"name": "县库棉被", "site_kind": "county_depot", "materials": ["QUILT"],
                  "min_quantity": 50}):
        response = manager.post("/norms", norm)
        assert response.status_code == 201, response.json

    # A: water short of its norm, a lot expired and one expiring by the reading day, a late loan,
    # untested equipment, a transfer long on the road, an agreement never checked (and the
    # village point's overdue count, above).
    receive(keeper_a, site="GT-XB", quantity=60, lot="A-1")
    receive(keeper_a, site="GT-XB", quantity=10, lot="A-2", expiry_date=in_days(today, 20))
    receive(keeper_a, site="GT-XB", quantity=10, lot="A-3", expiry_date=in_days(today, 60))
    receive(keeper_a, site="GT-XB", material="QUILT", quantity=12)
    receive(keeper_a, site="GT-XB", material="TENT", quantity=5)
    issue(keeper_a, [{"material": "TENT", "quantity": 2, "due_back": in_days(today, 5)}],
          site="GT-XB", recipient={"type": "team", "name": "新坝抢险队"})
    receive(keeper_a, site="GT-XB", material="GEN", quantity=1, serials=["GEN-A"])
    transfer = keeper_a.post("/transfers", {"from_site": "GT-XB", "to_site": "GT",
                                            "lines": [{"material": "QUILT", "quantity": 1}]})
    assert keeper_a.post(f"/transfers/{transfer.json['number']}/dispatch").status_code == 200

    # B: 95 of the 100 bottles its norm wants, quilts enough, tents to lend; quilts at the village.
    receive(keeper_b, site="GT-NH", quantity=95, lot="B-1")
    receive(keeper_b, site="GT-NH-V", material="QUILT", quantity=5)
    receive(keeper_b, site="GT-NH", material="QUILT", quantity=12)
    receive(keeper_b, site="GT-NH", material="TENT", quantity=5)
    return {**apis, "usernames": users, "app": app, "browsers": {}}


# --- what B does ---------------------------------------------------------------------------------

def _b_receives(towns, today):
    receive(towns["keeper_b"], site="GT-NH", quantity=10, lot="B-1")  # 105: no longer short


def _b_issues(towns, today):
    issue(towns["keeper_b"], [{"material": "WATER", "quantity": 10}], site="GT-NH")


def _b_counts_down(towns, today):
    [item] = towns["manager"].get("/stock?site=GT-NH&material=WATER").json["items"]
    response = towns["manager"].post("/adjustments", {"label": item["label"], "delta": -10,
                                                      "reason": "count_correction"})
    assert response.status_code == 201, response.json


def _b_lot_expires(towns, today):
    receive(towns["keeper_b"], site="GT-NH", quantity=20, lot="B-SOON",
            expiry_date=in_days(today, 10))


def _b_loan_falls_due(towns, today):
    issue(towns["keeper_b"], [{"material": "TENT", "quantity": 2, "due_back": in_days(today, 5)}],
          site="GT-NH", recipient={"type": "household", "name": "南华受灾户"})


def _b_gets_equipment(towns, today):
    receive(towns["keeper_b"], site="GT-NH", material="GEN", quantity=1, serials=["GEN-B"])


def _b_sends_a_transfer(towns, today):
    response = towns["keeper_b"].post("/transfers", {
        "from_site": "GT-NH", "to_site": "GT", "lines": [{"material": "QUILT", "quantity": 3}]})
    assert response.status_code == 201, response.json
    dispatched = towns["keeper_b"].post(f"/transfers/{response.json['number']}/dispatch")
    assert dispatched.status_code == 200, dispatched.json


def _b_agreement_site_receives(towns, today):
    receive(towns["manager"], site="GT-NH-DC", quantity=10, lot="DC")


def _b_counts_its_village(towns, today):
    manager, keeper_b = towns["manager"], towns["keeper_b"]
    opened = manager.post("/stocktakes", {"site": "GT-NH-V", "period": quarter_of(today)})
    assert opened.status_code == 201, opened.json
    stocktake = opened.json["id"]
    [line] = manager.get(f"/stocktakes/{stocktake}").json["lines"]
    counted = keeper_b.post(f"/stocktakes/{stocktake}/counts", {"label": line["label"], "counted": 5})
    assert counted.status_code == 201, counted.json
    assert keeper_b.post(f"/stocktakes/{stocktake}/submit").status_code == 200
    approved = manager.post(f"/stocktakes/{stocktake}/approve")
    assert approved.status_code == 200, approved.json


def _b_gets_a_village(towns, today):
    make_site(towns["app"], "GT-NH-NEW", parent="GT-NH", kind="village_point", latitude=39.29,
              longitude=99.99, population=300)


# Each change of B, and what a county manager must see change because of it: the readings
# that the aggregate it feeds appears in.
CHANGES = {
    "receipt": (_b_receives, (
        "api /stock/summary", "api /alerts", "api /shortfalls", "api /shortfalls?all=true",
        "api /stock?per_page=500", "page /", "page /alerts/", "page /stock/summary",
        "page /norms/shortfalls", "page /norms/shortfalls?all=1",
        "export /norms/shortfalls.xlsx", "export /norms/shortfalls.xlsx?all=1")),
    "issue": (_b_issues, (
        "api /stock/summary", "api /shortfalls", "api /shortfalls?all=true",
        "api /issues?per_page=500", "page /", "page /stock/summary", "page /norms/shortfalls",
        "page /norms/shortfalls?all=1", "export /norms/shortfalls.xlsx?all=1")),
    "adjustment": (_b_counts_down, (
        "api /stock/summary", "api /shortfalls", "api /shortfalls?all=true",
        "api /movements?per_page=500", "page /", "page /stock/summary",
        "page /norms/shortfalls?all=1", "export /norms/shortfalls.xlsx?all=1")),
    "expiry": (_b_lot_expires, (
        "api /stock/summary", "api /alerts", "api /alerts?expiring_days=365", "page /",
        "page /alerts/", "page /stock/summary")),
    "overdue_loan": (_b_loan_falls_due, (
        "api /stock/summary", "api /alerts", "api /issues?per_page=500", "page /",
        "page /alerts/", "page /stock/summary")),
    "untested_equipment": (_b_gets_equipment, (
        "api /stock/summary", "api /alerts", "page /", "page /alerts/", "page /stock/summary")),
    "transfer": (_b_sends_a_transfer, (
        "api /stock/summary", "api /alerts", "api /shortfalls", "api /transfers?per_page=500",
        "page /", "page /alerts/", "page /stock/summary", "page /norms/shortfalls",
        "export /norms/shortfalls.xlsx")),
    "agreement_site_stock": (_b_agreement_site_receives, (
        "api /stock/summary", "api /alerts", "api /shortfalls", "api /shortfalls?all=true",
        "page /", "page /norms/shortfalls?all=1", "export /norms/shortfalls.xlsx?all=1")),
    "stocktake": (_b_counts_its_village, (
        "api /alerts", "api /alerts?expiring_days=365", "page /", "page /alerts/")),
    "new_village": (_b_gets_a_village, ("api /sites?per_page=500", "page /", "page /sites/")),
}


# --- reading ---------------------------------------------------------------------------------

_TAGS = re.compile(r"<[^>]+>")
_TITLE_ATTRIBUTE = re.compile(r'\btitle="([^"]*)"')
# What a page says in figures: tiles, counts, table cells (with their tooltips), chart and map
# tooltips and the classes that colour them, list entries and their quantities, pager totals.
_FIGURES = {
    "tiles": re.compile(r'<span class="figure">([^<]*)</span><span class="label">([^<]*)</span>'),
    "counts": re.compile(r'<h2 id="([^"]+)">[^<]*<span class="count[^"]*">([^<]*)</span>'),
    "rows": re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.DOTALL),
    "tooltips": re.compile(r"<title>([^<]*)</title>"),
    "dots": re.compile(r'class="(dot [^"]*|bar[^"]*|cov-[^"]*)"'),
    "titles": re.compile(r'<span class="title">([^<]*)</span>'),
    "quantities": re.compile(r'<span class="qty">(\d+)'),
    "pager": re.compile(r"共 (\d+) 条"),
}


def _cells(row: str) -> tuple:
    cells = re.findall(r"<t[dh]\b([^>]*)>(.*?)</t[dh]>", row, re.DOTALL)
    return tuple((html.unescape(_TAGS.sub("", text)).strip(), *_TITLE_ATTRIBUTE.findall(attributes))
                 for attributes, text in cells)


def figures(page: str) -> dict:
    """The figures of a rendered page (not the page itself: its CSRF tokens differ each time)."""
    body = page.split("<main", 1)[-1]  # the page's own content, not the menu
    found = {name: pattern.findall(body) for name, pattern in _FIGURES.items()}
    found["rows"] = [_cells(row) for row in found["rows"]]
    return found


def cells(spreadsheet: bytes) -> list[tuple]:
    """Every row of every sheet of an exported workbook, but the time it was made (a note row
    under the title, "生成时间：…", which differs from one reading to the next)."""
    book = openpyxl.load_workbook(io.BytesIO(spreadsheet), read_only=True)
    try:
        return [row for sheet in book for row in sheet.iter_rows(values_only=True)
                if not str(row[0]).startswith("生成时间")]
    finally:
        book.close()


def readings(towns, who: str) -> dict:
    """Everything ``who`` reads, on the reading day: API answers as JSON, pages as figures."""
    app = towns["app"]
    with clock.travel(clock.today() + dt.timedelta(days=READ_DAY)):
        answers = {}
        for path in API_READINGS:
            response = towns[who].get(path)
            assert response.status_code == 200, (who, path, response.json)
            answers[f"api {path}"] = response.json
        if who not in towns["browsers"]:  # logged in once, on the reading day
            towns["browsers"][who] = page_client(app, towns["usernames"][who])
        browser = towns["browsers"][who]
        for path in PAGE_READINGS:
            response = browser.get(path)
            assert response.status_code == 200, (who, path)
            answers[f"page {path}"] = figures(response.get_data(as_text=True))
        for path in EXPORT_READINGS:
            response = browser.get(path)
            assert response.status_code == 200, (who, path)
            answers[f"export {path}"] = cells(response.get_data())
    return answers


def _differences(before: dict, after: dict) -> list[str]:
    return [path for path in before if before[path] != after[path]]


# --- the tests ---------------------------------------------------------------------------------

def test_town_a_sees_its_own_figures_and_only_those(towns):
    """The baseline the scope tests stand on: A's people see a figure under every alert (so an
    unchanged answer means something), and none of B's."""
    for who in ("keeper_a", "auditor_a"):
        seen = readings(towns, who)
        assert seen["api /alerts"]["counts"] == {
            "shortfalls": 1, "expired": 1, "expiring": 1, "overdue_loans": 1,
            "untested_equipment": 1, "agreements_expiring": 1, "transfers_late": 1,
            "stocktakes_due": 1}, who
        assert seen["api /alerts"]["stocktakes_due"] == ["GT-XB-HP"], who
        assert seen["api /stock/summary"] == seen["api /stock/summary?site=GT-XB"] == {"items": [
            {"material": "GEN", "available": 1, "on_loan": 0, "in_transit": 0, "damaged": 0},
            {"material": "QUILT", "available": 11, "on_loan": 0, "in_transit": 0, "damaged": 0},
            {"material": "TENT", "available": 3, "on_loan": 2, "in_transit": 0, "damaged": 0},
            {"material": "WATER", "available": 80, "on_loan": 0, "in_transit": 0, "damaged": 0},
        ]}, who
        assert [(row["site"], row["usable"], row["shortfall"])
                for row in seen["api /shortfalls?all=true"]["items"]] == [
            ("GT-XB", 11, 0), ("GT-XB", 70, 30)], "quilts, then water (the lot A-2 expired)"
        assert {site["code"] for site in seen["api /sites?per_page=500"]["items"]} == {
            "GT-XB", "GT-XB-HP", "GT-XB-DC1"}
        dashboard = seen["page /"]
        if who == "keeper_a":  # a keeper's home is the day's work and the site's own alerts
            assert dict((label, figure) for figure, label in dashboard["tiles"]) == {
                "定额短缺": "1", "逾期未还": "1", "已过期批次": "1", "90 天内到期": "1",
                "超过 30 天未试机": "1"}, who
            dashboard = readings(towns, "auditor_a")["page /"]
        assert dict((label, figure) for figure, label in dashboard["tiles"]) == {
            "定额短缺": "1", "逾期未还的借用": "1", "已过期批次": "1", "90 天内到期的批次": "1",
            "超过 30 天未试机": "1", "代储协议待续签或核查": "1", "在途调拨": "1",
            "季度盘点到期或逾期": "1", "本季度已盘点站点": "0 / 3",
            "县级储备库": "0", "乡镇储备室": "1", "村级储备点": "1", "协议代储点": "1",
            "物资品种": "4"}, who
        reasons = "饮用水 70/100；食品或饮用水 90 天内到期"
        assert dashboard["rows"] == [
            (("排名",), ("乡镇",), ("状态与原因",), ("短缺数量",), ("已过期批次",), ("未试机设备",)),
            (("1",), ("站点GT-XB",), ("浅黄" + reasons, reasons), ("30",), ("1",), ("1",)),
            (("站点",), ("棉被",), ("饮用水",)),
            (("站点GT-XB",), ("110%", "11/10"), ("70%", "70/100"))], who
        assert "站点GT-XB：浅黄；饮用水 70/100；食品或饮用水 90 天内到期" in dashboard["tooltips"]
        assert [tip for tip in dashboard["tooltips"] if "：1 个批次，10 件" in tip], "lot A-3"
        assert "GT-NH" not in str(seen) and "南华" not in str(seen), who
        assert seen["page /alerts/"]["tiles"] and seen["page /alerts/"]["counts"]
        assert [row for row in seen["page /norms/shortfalls?all=1"]["rows"] if row], who
        assert [row[0] for row in seen["export /norms/shortfalls.xlsx?all=1"]] == [
            "高台县应急管理局储备定额清单（含已达标）：站点GT-XB", "站点编码", "GT-XB", "GT-XB"], who


@pytest.mark.parametrize("change", CHANGES)
def test_what_town_b_does_changes_nothing_town_a_sees(towns, today, change):
    """B changes what feeds an aggregate: A's keeper and auditor read exactly what they read
    before; the county manager's answers that hold it moved."""
    make_change, seen_by_the_county = CHANGES[change]
    before = {who: readings(towns, who) for who in ("keeper_a", "auditor_a", "manager")}
    make_change(towns, today)
    after = {who: readings(towns, who) for who in ("keeper_a", "auditor_a", "manager")}

    for who in ("keeper_a", "auditor_a"):
        assert _differences(before[who], after[who]) == [], (who, change)
    changed = _differences(before["manager"], after["manager"])
    assert set(seen_by_the_county) <= set(changed), (change, changed)


def test_what_town_a_does_shows_in_its_own_figures(towns, today):
    """The readings are fine enough to notice a change: A's own receipt moves A's figures."""
    before = readings(towns, "keeper_a")
    receive(towns["keeper_a"], site="GT-XB", quantity=30, lot="A-1")  # 100 usable: not short
    after = readings(towns, "keeper_a")
    assert set(_differences(before, after)) >= {
        "api /stock/summary", "api /stock/summary?site=GT-XB", "api /alerts", "api /shortfalls",
        "api /shortfalls?all=true", "page /", "page /alerts/", "page /stock/summary",
        "page /stock/summary?site=GT-XB", "page /norms/shortfalls", "page /norms/shortfalls?all=1",
        "export /norms/shortfalls.xlsx", "export /norms/shortfalls.xlsx?all=1"}
    assert after["api /alerts"]["counts"]["shortfalls"] == 0
