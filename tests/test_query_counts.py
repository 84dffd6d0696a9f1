"""The number of SQL statements a GET makes does not grow with the rows it shows (QUALITY.md F3).

Every GET route of the URL map is requested, pages and API alike, once with 3 rows of each kind
(sites, materials, items, movements, issues and loans, transfers, norms, users, audit entries,
alerts of every sort) and again after 30 more of each; each must make exactly as many statements
both times, and none may write. A route with arguments gets real codes, labels and numbers from
``ROUTE_VALUES``; a new GET route with arguments that is not there fails the test until someone
says what to request it with. Statements are counted with a ``before_cursor_execute`` listener.
"""

import datetime as dt
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from flask import url_for

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.dispatch.kits import create_kit
from inventory.dispatch.planning import plan
from inventory.dispatch.roads import load_road_times
from inventory.dispatch.services import create_request, open_incident
from inventory.sites.models import Site
from inventory.stock.models import IssueLine, StockItem, Transfer
from inventory.stocktakes.models import quarter_of
from tests.factories import Api, receive

SMALL, LARGE = 3, 30

# Query strings for routes that show more with them (the label sheet needs a site).
QUERIES = {
    "labels.item_labels": "?site=GT-XB",
    "stock.index": "?site=GT-XB&include_sub_sites=1",
    "stock.ledger": "?site=GT-XB",
    "api.list_stock": "?per_page=500",
    "api.list_movements": "?per_page=500",
    "api.list_sites": "?per_page=500",
    "api.list_materials": "?per_page=500",
    "api.list_norms": "?per_page=500",
    "api.list_issues": "?per_page=500",
    "api.list_transfers": "?per_page=500",
    "api.list_events": "?limit=500",
    "api.shortfalls": "?all=true",
    "stocktakes.detail": "?lines=all",
    "stocktakes.variance_sheet": "?all=1",
    "stocktakes.variance_sheet_pdf": "?all=1",
    "stocktakes.variance_sheet_xlsx": "?all=1",
}

# Routes with arguments, and what fills them: a key of the ``grown`` record below.
ROUTE_VALUES = {
    "labels.scan": {"label": "water"},
    "labels.lookup": {"label": "water"},
    "labels.qr_image": {"label": "water"},
    "labels.scan_site": {"code": "site"},
    "labels.site_label": {"code": "site"},
    "labels.receipt_labels": {"number": "receipt"},
    "stock.item": {"label": "water"},
    "stock.adjust": {"label": "water"},
    "stock.test_run": {"label": "generator"},
    "stock.issue_slip": {"number": "issue"},
    "stock.give_back": {"number": "issue"},
    "stock.return_slip": {"number": "return"},
    "stock.receipt": {"number": "receipt"},
    "stock.transfer": {"number": "transfer"},
    "stock.receive_transfer": {"number": "transfer"},
    "sites.show": {"code": "site"},
    "sites.edit": {"code": "site"},
    "catalog.show": {"code": "material"},
    "catalog.edit": {"code": "material"},
    "catalog.edit_category": {"code": "category"},
    "norms.edit": {"norm_id": "norm"},
    "auth.edit_user": {"username": "username"},
    "api.get_stock_item": {"label": "water"},
    "api.stock_qr_png": {"label": "water"},
    "api.stock_qr_svg": {"label": "water"},
    "api.get_issue": {"number": "issue"},
    "api.get_return": {"number": "return"},
    "api.get_transfer": {"number": "transfer"},
    "api.get_site": {"code": "site"},
    "api.get_material": {"code": "material"},
    "api.get_norm": {"norm_id": "norm"},
    "api.get_stocktake": {"stocktake_id": "stocktake"},
    "stocktakes.detail": {"stocktake_id": "stocktake"},
    "stocktakes.count": {"stocktake_id": "stocktake"},
    "stocktakes.lookup": {"stocktake_id": "stocktake", "label": "water"},
    "stocktakes.count_sheet": {"stocktake_id": "stocktake"},
    "stocktakes.count_sheet_pdf": {"stocktake_id": "stocktake"},
    "stocktakes.count_sheet_xlsx": {"stocktake_id": "stocktake"},
    "stocktakes.variance_sheet": {"stocktake_id": "stocktake"},
    "stocktakes.variance_sheet_pdf": {"stocktake_id": "stocktake"},
    "stocktakes.variance_sheet_xlsx": {"stocktake_id": "stocktake"},
    "dispatch.report": {"incident_id": "incident"},
    "dispatch.first_report": {"incident_id": "incident"},
    "dispatch.replenishment": {"incident_id": "incident"},
    "api.incident_report": {"incident_id": "incident"},
    "api.incident_first_report": {"incident_id": "incident"},
    "api.incident_replenishment": {"incident_id": "incident"},
    "dispatch.edit_kit": {"kit_id": "kit"},
    "api.get_kit": {"kit_id": "kit"},
    "api.get_incident": {"incident_id": "incident"},
    "api.list_requests": {"incident_id": "incident"},
    "api.get_request": {"request_id": "request"},
    "api.site_snapshot": {"code": "site"},
    "offline.paper_form": {"code": "site", "form": "paper_form", "stocktake": "stocktake"},
    "api.import_template": {"kind": "import_kind"},
    "api.get_import": {"job_id": "import"},
    "imports.template": {"kind": "import_kind"},
    "imports.detail": {"job_id": "import"},
    "imports.progress": {"job_id": "import"},
    "dispatch.edit": {"incident_id": "incident"},
    "dispatch.screen": {"incident_id": "incident"},
    "dispatch.live": {"incident_id": "incident"},
    "dispatch.requests": {"incident_id": "incident"},
    "dispatch.new_request": {"incident_id": "incident"},
    "dispatch.request_detail": {"request_id": "request"},
}
# Routes that send a signed-in user on: the login page, and a storeroom's door label (to its stock).
REDIRECTS = {"auth.login", "labels.scan_site"}
# Answered without the database: files from disk, and the OpenAPI document built from code.
NOT_REQUESTED = {"static", "api.openapi_document"}


def _ok(response):
    assert response.status_code in (200, 201), (response.request.path, response.status_code,
                                                response.get_data(as_text=True)[:300])
    return response.json


def grow(app, api, make_user, water: str, tag: str, n: int, today: dt.date) -> dict:
    """Add ``n`` of each kind of row, dated from ``today``; return the records whose pages
    show them."""
    lots, serials = [], []
    for i in range(n):
        code = f"{tag}{i:02d}"
        site = {"code": code, "name": f"储备点{code}", "kind": "village_point", "parent": "GT-XB"}
        if i % 3 == 0:
            site.update(kind="agreement_site", agreement={
                "partner": f"超市{code}", "number": f"XY-{code}", "valid_from": "2026-01-01",
                "valid_to": (today + dt.timedelta(days=30)).isoformat()})
        _ok(api.post("/sites", site))
        for kind, codes in (("lot", lots), ("serial", serials)):
            material = f"{tag}{kind[0].upper()}{i:02d}"
            _ok(api.post("/materials", {
                "code": material, "name": f"物资{material}", "category": "1-05", "unit": "件",
                "tracking": kind, "returnable": True, "needs_testing": kind == "serial"}))
            codes.append(material)
        receive(api, material=lots[-1], quantity=10, lot=f"P{code}",
                expiry_date=(today + dt.timedelta(days=30)).isoformat())
        receive(api, material=serials[-1], quantity=1, serials=[f"SN-{code}"])
        receive(api, site=code, material=lots[-1], quantity=5)
        norm = _ok(api.post("/norms", {"name": f"定额{code}", "site_kind": "village_point",
                                       "materials": [lots[-1]], "min_quantity": 50,
                                       "per_person": 0}))
        make_user("keeper", sites=[code], username=f"keeper{code.lower()}")
        transfer = _ok(api.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                               "lines": [{"material": lots[-1], "quantity": 1}]}))
        if i % 2:
            _ok(api.post(f"/transfers/{transfer['number']}/dispatch"))
        _ok(api.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": f"张{code}"},
                                 "lines": [{"material": lots[-1], "quantity": 1,
                                            "due_back": today.isoformat()}]}))
        _ok(api.post("/adjustments", {"label": water, "delta": -1, "reason": "damaged"}))
    issue = _ok(api.post("/issues", {
        "site": "GT-XB", "recipient": {"type": "household", "name": "受灾户"},
        "lines": [{"material": code, "quantity": 2, "due_back": today.isoformat()} for code in lots]}))
    returned = _ok(api.post("/returns", {"issue": issue["number"], "lines": [
        {"issue_line": line["id"], "quantity": 1, "condition": "good"} for line in issue["lines"]]}))
    transfer = _ok(api.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH", "lines": [
        {"material": code, "quantity": 1} for code in lots]}))
    _ok(api.post(f"/transfers/{transfer['number']}/dispatch"))
    receipt = receive(api, site="GT", material="GEN", quantity=n,
                      serials=[f"GEN-{tag}-{i}" for i in range(n)])
    # A count of 新坝镇 and its points (the round before's cancelled): a line for every item there,
    # n of them counted, n found lines.
    for earlier in _ok(api.get("/stocktakes?status=counting"))["items"]:
        _ok(api.post(f"/stocktakes/{earlier['id']}/cancel"))
    stocktake = _ok(api.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today),
                                             "include_sub_sites": True}))
    for line in _ok(api.get(f"/stocktakes/{stocktake['id']}"))["lines"][:n]:
        _ok(api.post(f"/stocktakes/{stocktake['id']}/counts", {"label": line["label"], "counted": 1}))
    for i in range(n):
        _ok(api.post(f"/stocktakes/{stocktake['id']}/found", {"material": lots[i], "quantity": 2}))
    with app.app_context():
        # Overdue loans, late transfers and expired lots, for the alerts.
        yesterday = today - dt.timedelta(days=1)
        db.session.execute(sa.update(IssueLine).values(due_date=yesterday))
        db.session.execute(sa.update(Transfer).where(Transfer.status == "in_transit")
                           .values(dispatched_at=clock.now() - dt.timedelta(days=5)))
        db.session.execute(sa.update(StockItem).where(StockItem.lot.like(f"P{tag}%"),
                                                      StockItem.id % 2 == 0)
                           .values(expiry_date=yesterday))
        # Sites opened long ago and never counted: every one is overdue for its quarterly count.
        db.session.execute(sa.update(Site).values(created_at=clock.now() - dt.timedelta(days=200)))
        db.session.commit()
    with app.app_context():
        incident = open_incident(actor=COMMAND_LINE, data={
            "name": f"地震{tag}", "type": "earthquake", "level": 3, "started_at": clock.now().isoformat(),
            "areas": ["GT-XB"]}).id
    with app.app_context():
        # A request of n lines with a plan: its answer lists lines, allocations and unmet lines.
        request = create_request(actor=COMMAND_LINE, incident_id=incident, data={
            "to_site": "GT-NH", "lines": [{"material": code, "quantity": 1} for code in lots]}).id
    with app.app_context():
        plan(actor=COMMAND_LINE, request_id=request)
    with app.app_context():
        # Relief kits, each of two lines, and a road time from 新坝镇 to each new point.
        for i in range(n):
            kit = create_kit(actor=COMMAND_LINE, data={
                "name": f"物资包{tag}{i:02d}", "basis": "person",
                "lines": [{"material": lots[i], "quantity": 0.5}, {"material": serials[i], "quantity": 1}]}).id
        load_road_times(actor=COMMAND_LINE, text="from_site,to_site,minutes,cut\n" + "".join(
            f"GT-XB,{tag}{i:02d},{10 + i},{i % 2}\n" for i in range(n)))
    with app.app_context():
        # An opening-stock import of n rows, checked: its answer lists each row's problem.
        from inventory.auth.services import find_user
        from inventory.spreadsheets import services as imports

        rows = "".join(f"GT-XB,WATER,{i + 1},{tag}-import-{i},明天\n" for i in range(n))
        job = imports.upload(actor=find_user("root"), kind="opening_stock", filename=f"{tag}.csv",
                             data=f"站点编码,物资编码,数量,批次号,生产日期\n{rows}".encode()).id
        imports.check(job_id=job)
    return {"water": water, "generator": receipt["items"][0]["label"], "site": "GT-XB",
            "material": "WATER", "category": "1-05", "norm": norm["id"], "username": "root",
            "issue": issue["number"], "return": returned["number"], "transfer": transfer["number"],
            "receipt": receipt["number"], "stocktake": stocktake["id"], "incident": incident, "kit": kit,
            "request": request, "paper_form": "count", "import": job, "import_kind": "opening_stock"}


def _rules(app) -> dict[str, str]:
    """Every GET endpoint and its rule, but those that never touch the database."""
    return {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint not in NOT_REQUESTED}


def _url(app, endpoint: str, grown: dict) -> str:
    names = ROUTE_VALUES.get(endpoint, {})
    with app.test_request_context():
        url = url_for(endpoint, **{name: grown[key] for name, key in names.items()})
    return url + QUERIES.get(endpoint, "")


def _statements(app, client, headers, urls: dict[str, str]) -> tuple[dict, list]:
    """How many statements each URL makes (after one warm-up request), and any writes."""
    counts, writes, seen = {}, [], []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    for endpoint, url in urls.items():
        _check(client.get(url, headers=headers), endpoint, url)
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            seen.clear()
            _check(client.get(url, headers=headers), endpoint, url)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        counts[endpoint] = len(seen)
        writes += [f"{url}: {s[:80]}" for s in seen
                   if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", s, re.IGNORECASE)]
    return counts, writes


def _check(response, endpoint, url):
    expected = 302 if endpoint in REDIRECTS else 200
    assert response.status_code == expected, (url, response.status_code,
                                              response.get_data(as_text=True)[:300])


@pytest.fixture
def admin(client, make_user, token_for, login, county, catalog):
    """An admin, logged in for the pages and with a token for the API."""
    make_user("admin", username="root")
    login("root")
    return Api(client, token_for("root"))


LISTS = ["/sites", "/materials", "/stock", "/movements", "/issues", "/transfers", "/norms"]


def _totals(api) -> dict[str, int]:
    return {path: _ok(api.get(path))["total"] for path in LISTS}


@pytest.fixture
def per_row_route(app):
    """A route that loads each stock item on its own (added before the app's first request)."""
    def one_query_per_item():
        items = db.session.scalars(sa.select(StockItem.id)).all()
        return str([db.session.get(StockItem, item_id).label for item_id in items])

    app.add_url_rule("/test/per-row", "per_row", one_query_per_item)


@pytest.mark.usefixtures("per_row_route")
def test_the_guard_sees_a_query_per_row(app, client, admin):
    """A page that loads each row on its own makes more statements with more rows."""
    counts, made = [], 0
    for n in (SMALL, LARGE):
        while made < n:
            receive(admin, material="QUILT", quantity=1, lot=f"L{made}")
            made += 1
        found, _writes = _statements(app, client, admin.headers, {"per_row": "/test/per-row"})
        counts.append(found["per_row"])
    assert counts[1] - counts[0] >= LARGE - SMALL, counts


def test_every_get_route_is_requested(app):
    unfilled = sorted(endpoint for endpoint, rule in _rules(app).items()
                      if "<" in rule and endpoint not in ROUTE_VALUES)
    assert not unfilled, f"GET routes with arguments the query-count test does not fill: {unfilled}"
    stale = sorted(set(ROUTE_VALUES) - set(_rules(app)))
    assert not stale, f"ROUTE_VALUES names routes that no longer exist: {stale}"


def test_statements_per_get_do_not_grow_with_the_rows(app, client, make_user, admin, today):
    # One lot of water whose ledger history grows with every round.
    water = receive(admin, material="WATER", quantity=1000, lot="W1")["items"][0]["label"]

    def measure(tag, n):
        grown = grow(app, admin, make_user, water, tag, n, today)
        return _statements(app, client, admin.headers,
                           {endpoint: _url(app, endpoint, grown) for endpoint in _rules(app)})

    small, small_writes = measure("QA", SMALL)
    before = _totals(admin)
    large, large_writes = measure("QB", LARGE)
    after = _totals(admin)
    # The lists did get longer.
    assert not [path for path in LISTS if after[path] < before[path] + LARGE], (before, after)

    assert set(small) == set(_rules(app))
    grew = {endpoint: (small[endpoint], large[endpoint]) for endpoint in small
            if large[endpoint] != small[endpoint]}
    assert not grew, f"statements grew from {SMALL} to {LARGE + SMALL} rows of each kind: {grew}"
    assert not small_writes + large_writes, "a GET wrote to the database"
    # The guard measures something: every page and list reads the database.
    assert min(small.values()) >= 1, Counter(small).most_common()
