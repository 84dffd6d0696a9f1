"""代储核查: a stocktake at an agreement site is its verification. Approval sets the agreement's
``last_verified``, and from then on — for 92 days — what the partner holds counts toward the
town's norms that count agreement sites (norms/queries.py, shortfall_rows)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.norms import queries as norm_queries
from inventory.sites.models import Agreement, Site
from inventory.stocktakes import queries
from inventory.stocktakes.models import Stocktake, quarter_of
from tests.factories import check_ledger, in_days, make_site, receive


@pytest.fixture
def water_norm(manager):
    """新坝镇 (a town room) must hold 100 water, its agreement sites' verified stock included."""
    response = manager.post("/norms", {"name": "饮用水", "site_kind": "town_store", "materials": ["WATER"],
                                       "min_quantity": 100, "count_agreement_sites": True})
    assert response.status_code == 201, response.json


def _xinba_water(api) -> dict:
    """新坝镇's own row of the shortfall report, as the API answers it."""
    [row] = api.get("/shortfalls?site=GT-XB&include_sub_sites=false&all=true").json["items"]
    return {"usable": row["usable"], "shortfall": row["shortfall"]}


def _verified(app, code):
    with app.app_context():
        return db.session.scalar(sa.select(Agreement.last_verified).join(Site).where(Site.code == code))


def _open(api, site, **fields):
    response = api.post("/stocktakes", {"site": site, "period": quarter_of(clock.today()), **fields})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _count(api, stocktake_id, label, counted):
    response = api.post(f"/stocktakes/{stocktake_id}/counts", {"label": label, "counted": counted})
    assert response.status_code == 201, response.json


def test_the_partners_stock_counts_toward_the_town_once_an_approved_count_verifies_it(
        app, keeper, manager, water_norm, today):
    receive(keeper, quantity=60, lot="W1", expiry_date=in_days(today, 300))
    [held] = receive(manager, site="GT-XB-DC1", quantity=40, lot="W2",
                     expiry_date=in_days(today, 300))["items"]
    assert _verified(app, "GT-XB-DC1") is None
    assert _xinba_water(manager) == {"usable": 60, "shortfall": 40}, "never verified: not counted"
    assert manager.get("/alerts").json["agreements_expiring"] == ["GT-XB-DC1"]

    stocktake = _open(manager, "GT-XB-DC1")
    _count(keeper, stocktake, held["label"], 35)
    assert _xinba_water(manager)["usable"] == 60, "a count in progress verifies nothing"
    assert keeper.post(f"/stocktakes/{stocktake}/submit").status_code == 200
    assert _xinba_water(manager)["usable"] == 60, "nor one waiting for approval"
    approved = manager.post(f"/stocktakes/{stocktake}/approve", {"reasons": {held["label"]: "合作方售出未补"}})
    assert approved.status_code == 200, approved.json
    assert approved.json["variances"] == [{"label": held["label"], "expected": 40, "counted": 35,
                                           "delta": -5}]

    assert _verified(app, "GT-XB-DC1") == today
    # What was counted there, not what the books said before: 60 + 35.
    assert _xinba_water(manager) == {"usable": 95, "shortfall": 5}
    assert manager.get("/alerts").json["agreements_expiring"] == []
    assert check_ledger(app)[0] == 0

    with app.app_context():
        xinba = db.session.scalar(sa.select(Site).where(Site.code == "GT-XB"))

        def usable(days):
            [row] = norm_queries.shortfalls(COMMAND_LINE, site=xinba, include_sub_sites=False,
                                            everything=True, today=today + dt.timedelta(days=days))
            return row["usable"]

        assert usable(92) == 95, "a verification 92 days old is still fresh"
        assert usable(93) == 60, "one 93 days old is not"


def test_a_cycle_count_at_an_agreement_site_is_no_verification(app, keeper, manager, water_norm, today):
    [held] = receive(manager, site="GT-XB-DC1", quantity=40, lot="W2")["items"]
    stocktake = _open(manager, "GT-XB-DC1", categories=["1-05"])
    _count(keeper, stocktake, held["label"], 40)
    keeper.post(f"/stocktakes/{stocktake}/submit")
    assert manager.post(f"/stocktakes/{stocktake}/approve").status_code == 200
    assert _verified(app, "GT-XB-DC1") is None
    assert _xinba_water(manager)["usable"] == 0


def test_a_town_count_with_its_sub_sites_verifies_the_agreement_sites_under_it(app, keeper, manager,
                                                                               water_norm, today):
    [own] = receive(keeper, quantity=60, lot="W1")["items"]
    [held] = receive(manager, site="GT-XB-DC1", quantity=40, lot="W2")["items"]
    stocktake = _open(manager, "GT-XB", include_sub_sites=True)
    _count(keeper, stocktake, own["label"], 60)
    _count(keeper, stocktake, held["label"], 40)
    keeper.post(f"/stocktakes/{stocktake}/submit")
    assert manager.post(f"/stocktakes/{stocktake}/approve").status_code == 200
    assert _verified(app, "GT-XB-DC1") == today
    assert _xinba_water(manager) == {"usable": 100, "shortfall": 0}
    assert check_ledger(app)[0] == 0


def test_the_agreement_check_sets_the_promise_beside_the_shelf(app, keeper, manager, today):
    make_site(app, "GT-XB-DC2", parent="GT-XB", kind="agreement_site", name="新坝粮油店", agreement={
        "partner": "新坝粮油店", "number": "XY-DC2", "valid_from": in_days(today, -30),
        "valid_to": in_days(today, 330), "lines": [{"material": "WATER", "quantity": 50},
                                                   {"material": "TENT", "quantity": 10}]})
    [held] = receive(manager, site="GT-XB-DC2", quantity=40, lot="W2")["items"]
    stocktake = _open(manager, "GT-XB-DC2")
    _count(keeper, stocktake, held["label"], 35)
    found = keeper.post(f"/stocktakes/{stocktake}/found", {"material": "TENT", "quantity": 3})
    assert found.status_code == 201, found.json
    with app.app_context():
        check = queries.agreement_check(db.session.get(Stocktake, stocktake))
        assert [(row["material"].code, row["agreed"], row["counted"], row["short"]) for row in check] == [
            ("WATER", 50, 35, 15), ("TENT", 10, 3, 7)]
