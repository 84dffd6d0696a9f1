"""Shortfalls worked out by hand (issue 5 acceptance), on SQLite and PostgreSQL.

The county fixture: GT (county depot, planning population 5,000); GT-XB (易“三断” town of 16,934
people → max(200, ⌈3% × 16,934⌉) = 509) with village GT-XB-HP (900 → max(30, ⌈5% × 900⌉) = 45)
and agreement site GT-XB-DC1; GT-NH (ordinary town of 16,754 → max(100, ⌈1% × 16,754⌉) = 168).
"""

import datetime as dt

import pytest

from tests.factories import in_days, make_material, receive


@pytest.fixture
def phones(app, catalog):
    make_material(app, "SAT", "天通卫星电话", category="2-01", unit="部", tracking="serial")
    make_material(app, "BD", "北斗短报文终端", category="2-01", unit="台", tracking="serial")


def norm(api, **fields):
    body = {"name": "定额", "site_kind": "town_store", "materials": ["QUILT"], **fields}
    response = api.post("/norms", body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def rows(api, query="all=true"):
    return {(row["site"], row["name"]): row for row in api.get(f"/shortfalls?{query}").json["items"]}


def test_per_person_rounds_up_and_min_quantity_is_a_floor(manager):
    norm(manager, name="棉被", per_person=1)
    norm(manager, name="急救包", materials=["WATER"], per_person=0.02, min_quantity=5)
    norm(manager, name="帐篷", materials=["TENT"], site_kind="village_point", per_person=1 / 3)
    receive(manager, site="GT-XB", material="QUILT", quantity=300)
    found = rows(manager)
    assert found["GT-XB", "棉被"] == {**found["GT-XB", "棉被"], "required": 509, "usable": 300,
                                      "shortfall": 209}
    assert found["GT-NH", "棉被"]["required"] == 168 and found["GT-NH", "棉被"]["shortfall"] == 168
    assert found["GT-XB", "急救包"]["required"] == 11, "⌈0.02 × 509⌉ = ⌈10.18⌉"
    assert found["GT-NH", "急救包"]["required"] == 5, "⌈0.02 × 168⌉ = 4, below the floor of 5"
    assert found["GT-XB-HP", "帐篷"]["required"] == 15, "⌈45 / 3⌉"


def test_an_exact_product_is_not_rounded_up(manager):
    manager.client.patch("/api/v1/sites/GT-XB-HP", json={"planning_population": 30},
                         headers=manager.headers)
    norm(manager, name="对讲机", site_kind="village_point", materials=["WATER"], per_person=0.1)
    assert rows(manager)["GT-XB-HP", "对讲机"]["required"] == 3, "0.1 × 30 is 3, not 4"


def test_any_of_a_norms_materials_counts(manager, phones):
    norm(manager, name="卫星电话或北斗终端", materials=["SAT", "BD"], min_quantity=2)
    receive(manager, site="GT-XB", material="SAT", quantity=1, serials=["S1"])
    receive(manager, site="GT-XB", material="BD", quantity=1, serials=["B1"])
    found = rows(manager)
    assert found["GT-XB", "卫星电话或北斗终端"]["usable"] == 2
    assert found["GT-XB", "卫星电话或北斗终端"]["shortfall"] == 0
    assert found["GT-NH", "卫星电话或北斗终端"]["shortfall"] == 2
    assert found["GT-XB", "卫星电话或北斗终端"]["materials"] == ["BD", "SAT"]


def test_a_hazard_norm_applies_only_where_the_hazard_is(manager):
    norm(manager, name="三断棉被", per_person=1, hazard="three_outages")
    found = rows(manager)
    assert ("GT-XB", "三断棉被") in found and ("GT-NH", "三断棉被") not in found


def test_expired_lent_and_damaged_stock_does_not_count(manager, keeper, today):
    norm(manager, name="饮用水", materials=["WATER"], min_quantity=100)
    receive(keeper, quantity=60, lot="SOON", expiry_date=in_days(today, 5))
    receive(keeper, quantity=30, lot="LATER", expiry_date=in_days(today, 300))
    assert rows(manager)["GT-XB", "饮用水"]["usable"] == 90
    from inventory.norms.queries import shortfalls

    with manager.client.application.app_context():
        from inventory.auth.access import COMMAND_LINE
        later = {(r["site"], r["name"]): r for r in shortfalls(
            COMMAND_LINE, everything=True, today=today + dt.timedelta(days=10))}
    assert later["GT-XB", "饮用水"]["usable"] == 30, "ten days on, the 60 have expired"


def test_agreement_site_stock_counts_only_while_its_verification_is_fresh(manager, today):
    norm(manager, name="饮用水", materials=["WATER"], per_person=1, count_agreement_sites=True)
    norm(manager, name="棉被（不计代储）", per_person=1)
    receive(manager, site="GT-XB", material="WATER", quantity=100)
    receive(manager, site="GT-XB-DC1", material="WATER", quantity=50)
    receive(manager, site="GT-XB-DC1", material="QUILT", quantity=50)

    def verified(days_ago):
        agreement = {"partner": "协议单位", "number": "XY-GT-XB-DC1",
                     "valid_from": in_days(today, -365), "valid_to": in_days(today, 365),
                     "last_verified": in_days(today, -days_ago)}
        response = manager.client.patch("/api/v1/sites/GT-XB-DC1", json={"agreement": agreement},
                                        headers=manager.headers)
        assert response.status_code == 200, response.json

    assert rows(manager)["GT-XB", "饮用水"]["usable"] == 100, "never verified: not counted"
    verified(92)
    assert rows(manager)["GT-XB", "饮用水"]["usable"] == 150
    assert rows(manager)["GT-XB", "棉被（不计代储）"]["usable"] == 0
    verified(93)
    assert rows(manager)["GT-XB", "饮用水"]["usable"] == 100


def test_shortfalls_roll_up_to_the_town_and_the_county(app, manager):
    norm(manager, name="棉被", per_person=1)
    norm(manager, name="棉被", site_kind="village_point", per_person=1)
    norm(manager, name="棉被", site_kind="county_depot", per_person=1)
    receive(manager, site="GT-XB", material="QUILT", quantity=600)   # 91 more than its 509
    receive(manager, site="GT-XB-HP", material="QUILT", quantity=20)  # 25 short of 45
    receive(manager, site="GT", material="QUILT", quantity=5000)
    from inventory.auth.access import COMMAND_LINE
    from inventory.norms.queries import shortfall_rollup

    with app.app_context():
        towns = {row["area"]: row for row in shortfall_rollup(COMMAND_LINE, level="town")}
        [county] = shortfall_rollup(COMMAND_LINE, level="county")
    assert towns["GT-XB"] == {"area": "GT-XB", "name": "棉被", "required": 554, "usable": 620,
                              "shortfall": 25}, "the town's surplus does not cover the village"
    assert towns["GT-NH"]["shortfall"] == 168
    assert county == {"area": "GT", "name": "棉被", "required": 5000 + 554 + 168,
                      "usable": 5620, "shortfall": 25 + 168}


def test_the_api_lists_only_shortfalls_by_default_and_within_scope(manager, keeper):
    norm(manager, name="棉被", per_person=1)
    receive(manager, site="GT-NH", material="QUILT", quantity=500)
    assert set(rows(manager, "")) == {("GT-XB", "棉被")}
    assert set(rows(keeper, "all=true")) == {("GT-XB", "棉被")}, "a keeper sees their subtree"
    assert keeper.get("/shortfalls?site=GT-NH").status_code == 403
    assert set(rows(manager, "site=GT-NH&all=1")) == {("GT-NH", "棉被")}


@pytest.mark.parametrize(("body", "field"), [
    ({"materials": []}, "materials"),
    ({"materials": ["NOPE"]}, "materials"),
    ({"per_person": -1}, "per_person"),
    ({"min_quantity": 1.5}, "min_quantity"),
    ({"site_kind": "castle"}, "site_kind"),
    ({"hazard": "volcano"}, "hazard"),
    ({"readiness": "luck"}, "readiness"),
    ({"name": ""}, "name"),
])
def test_bad_norms_are_refused(manager, body, field):
    response = manager.post("/norms", {"name": "定额", "site_kind": "town_store",
                                       "materials": ["QUILT"], **body})
    assert response.status_code == 422 and field in response.json["error"]["details"]
    assert manager.get("/norms").json["total"] == 0


def test_norms_are_edited_by_managers_only(manager, keeper):
    norm_id = norm(manager, name="棉被", per_person=1)
    changed = manager.client.patch(f"/api/v1/norms/{norm_id}", json={"per_person": 0.5},
                                   headers=manager.headers)
    assert changed.status_code == 200 and changed.json["per_person"] == 0.5
    assert rows(manager)["GT-XB", "棉被"]["required"] == 255
    assert keeper.post("/norms", {"name": "x", "site_kind": "town_store",
                                  "materials": ["QUILT"]}).status_code == 403
    assert manager.client.delete(f"/api/v1/norms/{norm_id}",
                                 headers=keeper.headers).status_code == 403
    assert manager.client.delete(f"/api/v1/norms/{norm_id}",
                                 headers=manager.headers).status_code == 204
    assert manager.get(f"/norms/{norm_id}").status_code == 404
