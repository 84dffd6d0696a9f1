"""Equipment tests, alerts and 三断 readiness (reference/norms-default.md §9.4)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory.alerts.queries import alerts, readiness
from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.sites.models import Site
from inventory.stock.models import EquipmentTest, Movement
from tests.factories import form_key, in_days, issue, make_material, receive


@pytest.fixture
def equipment(app, catalog):
    make_material(app, "SAT", "天通卫星电话", category="2-01", unit="部", tracking="serial",
                  returnable=True, needs_testing=True)
    make_material(app, "PWR", "便携式储能电源", category="2-02", unit="台", tracking="serial",
                  returnable=True, needs_testing=True)


def test_a_test_run_is_recorded_and_a_fault_takes_the_item_out_of_service(keeper, equipment, today):
    [phone] = receive(keeper, material="SAT", quantity=1, serials=["TT-1"])["items"]
    ok = keeper.post("/equipment-tests", {"label": phone["label"], "result": "ok", "note": "拨测正常"})
    assert ok.status_code == 201 and ok.json["status"] == "available"
    fault = keeper.post("/equipment-tests", {"label": phone["label"], "result": "fault"})
    assert fault.status_code == 201 and fault.json["status"] == "damaged"
    item = keeper.get(f"/stock/{phone['label']}").json
    assert item["status"] == "damaged" and item["quantity"] == 1
    assert item["movements"][0]["kind"] == "adjustment" and item["movements"][0]["quantity"] == 0
    [water] = receive(keeper, quantity=3)["items"]
    assert keeper.post("/equipment-tests", {"label": water["label"],
                                            "result": "ok"}).status_code == 422
    future = in_days(today, 1)
    assert keeper.post("/equipment-tests", {"label": phone["label"], "result": "ok",
                                            "tested_on": future}).status_code == 422


def test_a_fault_with_the_longest_note_keeps_it_whole_and_the_ledger_its_start(app, keeper, equipment):
    # Found by schemathesis on PostgreSQL: "试机故障：" + 500 characters overflowed the movement's note.
    [phone] = receive(keeper, material="SAT", quantity=1, serials=["TT-2"])["items"]
    note = "电" * 500
    fault = keeper.post("/equipment-tests", {"label": phone["label"], "result": "fault", "note": note})
    assert fault.status_code == 201, fault.json
    with app.app_context():
        test = db.session.get(EquipmentTest, fault.json["id"])
        assert test.note == note
        [movement] = db.session.scalars(sa.select(Movement).where(
            Movement.item_id == test.item_id, Movement.kind == "adjustment")).all()
        assert len(movement.note) == 500 and movement.note.startswith("试机故障：电")


def test_alerts_list_what_needs_attention(app, keeper, manager, equipment, today):
    receive(keeper, quantity=5, lot="SOON", expiry_date=in_days(today, 20))
    receive(keeper, quantity=5, lot="LATER", expiry_date=in_days(today, 400))
    [phone] = receive(keeper, material="SAT", quantity=1, serials=["TT-1"])["items"]
    receive(keeper, material="TENT", quantity=4)
    issued = issue(keeper, [{"material": "TENT", "quantity": 2, "due_back": in_days(today, 1)}],
                   recipient={"type": "team", "name": "抢险队"})
    transfer = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                          "lines": [{"material": "WATER", "quantity": 1}]}).json
    keeper.post(f"/transfers/{transfer['number']}/dispatch")
    found = keeper.get("/alerts").json
    assert [item["lot"] for item in found["expiring"]] == ["SOON"]
    assert found["expired"] == [] and found["overdue_loans"] == []
    assert [item["label"] for item in found["untested_equipment"]] == [phone["label"]]
    assert found["agreements_expiring"] == ["GT-XB-DC1"], "never verified"
    assert found["transfers_late"] == []
    keeper.post("/equipment-tests", {"label": phone["label"], "result": "ok"})
    with app.app_context():
        later = alerts(COMMAND_LINE, today=today + dt.timedelta(days=25))
        assert [item.lot for item in later["expired"]] == ["SOON"]
        assert [line.issue.number for line in later["overdue_loans"]] == [issued["number"]]
        assert [t.number for t in later["transfers_late"]] == [transfer["number"]]
    assert later["counts"]["untested_equipment"] == 0, "tested 25 days ago is still fresh"
    with app.app_context():
        much_later = alerts(COMMAND_LINE, today=today + dt.timedelta(days=31))
    assert much_later["counts"]["untested_equipment"] == 1


def test_alerts_stay_within_scope(keeper, manager, today):
    receive(manager, site="GT-NH", quantity=5, lot="NH", expiry_date=in_days(today, 10))
    assert keeper.get("/alerts").json["expiring"] == []
    assert [i["lot"] for i in manager.get("/alerts").json["expiring"]] == ["NH"]
    assert keeper.get("/alerts?expiring_days=abc").status_code == 422


def _norms(api):
    for body in (
        {"name": "卫星电话", "materials": ["SAT"], "min_quantity": 2, "readiness": "comms"},
        {"name": "储能电源", "materials": ["PWR"], "min_quantity": 1, "readiness": "power"},
        {"name": "饮用水", "materials": ["WATER"], "min_quantity": 100, "readiness": "water"},
        {"name": "棉被", "materials": ["QUILT"], "min_quantity": 10},
    ):
        assert api.post("/norms", {"site_kind": "town_store", "hazard": "three_outages",
                                   **body}).status_code == 201


def _colour(app, code):
    with app.app_context():
        site_id = db.session.scalar(db.select(Site.id).where(Site.code == code))
        return readiness(COMMAND_LINE).get(site_id, {"colour": None})


def test_readiness_is_red_without_comms_or_power_or_with_half_the_water(app, manager, equipment, today):
    _norms(manager)
    receive(manager, material="WATER", quantity=100, expiry_date=in_days(today, 300))
    receive(manager, material="QUILT", quantity=10)
    receive(manager, material="PWR", quantity=1, serials=["P-1"])
    state = _colour(app, "GT-XB")
    assert state["colour"] == "red" and "通信" in state["reasons"][0]
    phones = receive(manager, material="SAT", quantity=2, serials=["S-1", "S-2"])["items"]
    for label in [p["label"] for p in phones] + [manager.get("/stock?material=PWR").json["items"][0]["label"]]:
        manager.post("/equipment-tests", {"label": label, "result": "ok"})
    assert _colour(app, "GT-XB")["colour"] == "green"
    [water] = manager.get("/stock?material=WATER").json["items"]
    manager.post("/adjustments", {"label": water["label"], "delta": -51, "reason": "count_correction"})
    state = _colour(app, "GT-XB")
    assert state["colour"] == "red" and "饮用水 49/100" in state["reasons"]
    assert _colour(app, "GT-NH")["colour"] is None, "no 三断 norms apply to an ordinary town"


def test_readiness_is_amber_below_norm_untested_or_expiring(app, manager, equipment, today):
    _norms(manager)
    receive(manager, material="WATER", quantity=100, expiry_date=in_days(today, 300))
    receive(manager, material="QUILT", quantity=10)
    [pwr] = receive(manager, material="PWR", quantity=1, serials=["P-1"])["items"]
    [phone] = receive(manager, material="SAT", quantity=1, serials=["S-1"])["items"]
    for label in (pwr["label"], phone["label"]):
        manager.post("/equipment-tests", {"label": label, "result": "ok"})
    state = _colour(app, "GT-XB")
    assert state["colour"] == "amber" and state["reasons"] == ["卫星电话 1/2"]
    [second] = receive(manager, material="SAT", quantity=1, serials=["S-2"])["items"]
    state = _colour(app, "GT-XB")
    assert state["colour"] == "amber" and "未试机" in state["reasons"][0]
    manager.post("/equipment-tests", {"label": second["label"], "result": "ok"})
    receive(manager, material="WATER", quantity=1, lot="OLD", expiry_date=in_days(today, 30))
    state = _colour(app, "GT-XB")
    assert state["colour"] == "amber" and "到期" in state["reasons"][0]


def test_the_alerts_and_test_pages_render(client, login, keeper, equipment):
    [phone] = receive(keeper, material="SAT", quantity=1, serials=["TT-9"])["items"]
    login("xb")
    assert "超过 30 天未试机" in client.get("/alerts/").get_data(as_text=True)
    page = client.get(f"/stock/item/{phone['label']}/test").get_data(as_text=True)
    response = client.post(f"/stock/item/{phone['label']}/test", data={
        "idempotency_key": form_key(page), "result": "ok", "note": "拨测正常"})
    assert response.status_code == 302
    assert "TT-9" not in client.get("/alerts/").get_data(as_text=True)
