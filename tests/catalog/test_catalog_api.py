"""The Materials API (and categories), as API.md says."""

import pytest

from tests.factories import make_material

MATERIAL_FIELDS = {"code", "name", "category", "unit", "spec", "tracking", "returnable",
                   "shelf_life_days", "needs_testing"}


@pytest.fixture
def manager(make_user, token_for):
    return token_for(make_user("manager"))


def test_adding_a_material(app, client, manager):
    make_material(app, "1-05-001", "瓶装饮用水")
    response = client.post("/api/v1/materials", headers=manager, json={
        "code": "2-02-001", "name": "汽油发电机", "category": "1-05", "unit": "台",
        "spec": "≥3kW", "tracking": "serial", "returnable": True, "needs_testing": True})
    assert response.status_code == 201, response.json
    material = response.json
    assert material.keys() >= MATERIAL_FIELDS
    assert material["tracking"] == "serial" and material["shelf_life_days"] is None
    assert client.get("/api/v1/materials/2-02-001", headers=manager).json == material


def test_defaults_are_a_lot_tracked_consumable(app, client, manager):
    make_material(app, "1-05-001", "瓶装饮用水", shelf_life_days=360)
    material = client.get("/api/v1/materials/1-05-001", headers=manager).json
    assert material["tracking"] == "lot" and material["returnable"] is False
    assert material["needs_testing"] is False and material["shelf_life_days"] == 360


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"code": "1-05-001", "name": "again", "category": "1-05", "unit": "箱"}, None, 409),
    ({"code": "X-1", "name": "x", "category": "NOPE", "unit": "箱"}, "category", 422),
    ({"code": "X-1", "name": "x", "category": "1-05"}, "unit", 422),
    ({"code": "X-1", "name": "x", "category": "1-05", "unit": "箱", "tracking": "bulk"}, "tracking", 422),
    ({"code": "X-1", "name": "x", "category": "1-05", "unit": "箱", "shelf_life_days": 0},
     "shelf_life_days", 422),
    ({"code": "X-1", "name": "x", "category": "1-05", "unit": "箱", "returnable": "yes"},
     "returnable", 422),
    ({"code": "X-1", "name": "x", "category": "1-05", "unit": "单位" * 6}, "unit", 422),
])
def test_bad_materials_are_refused(app, client, manager, body, field, status):
    make_material(app, "1-05-001", "瓶装饮用水")
    response = client.post("/api/v1/materials", headers=manager, json=body)
    assert response.status_code == status
    if field:
        assert field in response.json["error"]["details"]
    assert client.get("/api/v1/materials", headers=manager).json["total"] == 1


def test_listing_by_category_and_text(app, client, manager):
    make_material(app, "1-05-001", "瓶装饮用水")
    make_material(app, "1-04-001", "压缩饼干", category="1-04")
    make_material(app, "2-01-001", "卫星电话", category="2-01", unit="部")

    def codes(query):
        return [m["code"] for m in client.get(f"/api/v1/materials?{query}", headers=manager).json["items"]]

    assert codes("") == ["1-04-001", "1-05-001", "2-01-001"]
    assert codes("category=1") == ["1-04-001", "1-05-001"], "a top-level category includes its subs"
    assert codes("category=2-01") == ["2-01-001"]
    assert codes("q=饼干") == ["1-04-001"]


def test_changing_a_material(app, client, manager):
    make_material(app, "1-05-001", "瓶装饮用水")
    response = client.patch("/api/v1/materials/1-05-001", headers=manager,
                            json={"spec": "550ml×24", "shelf_life_days": 365})
    assert response.status_code == 200
    assert response.json["spec"] == "550ml×24" and response.json["name"] == "瓶装饮用水"
    assert client.patch("/api/v1/materials/1-05-001", headers=manager,
                        json={"code": "other"}).status_code == 422
    assert client.patch("/api/v1/materials/NOPE", headers=manager, json={}).status_code == 404


def test_categories_are_two_levels(app, client, manager):
    assert client.post("/api/v1/categories", headers=manager,
                       json={"code": "1", "name": "基本生活保障物资"}).status_code == 201
    assert client.post("/api/v1/categories", headers=manager,
                       json={"code": "1-01", "name": "住宿类", "parent": "1"}).status_code == 201
    third = client.post("/api/v1/categories", headers=manager,
                        json={"code": "1-01-01", "name": "帐篷", "parent": "1-01"})
    assert third.status_code == 422 and "parent" in third.json["error"]["details"]
    listed = client.get("/api/v1/categories", headers=manager).json["items"]
    assert listed == [{"code": "1", "name": "基本生活保障物资", "parent": None},
                      {"code": "1-01", "name": "住宿类", "parent": "1"}]


def test_a_reference_price_prices_a_stocktake_variance(app, client, manager):
    """参考单价 (issue 16): yuan to two places, never negative, clearable."""
    make_material(app, "1-05-001", "瓶装饮用水")
    path = "/api/v1/materials/1-05-001"
    assert client.get(path, headers=manager).json["unit_price"] is None
    answer = client.patch(path, headers=manager, json={"unit_price": 12.504})
    assert answer.status_code == 200 and answer.json["unit_price"] == 12.5
    for bad in (-1, "12元", True, 10**9):
        refused = client.patch(path, headers=manager, json={"unit_price": bad})
        assert refused.status_code == 422 and "unit_price" in refused.json["error"]["details"]
    assert client.get(path, headers=manager).json["unit_price"] == 12.5
    assert client.patch(path, headers=manager, json={"unit_price": None}).json["unit_price"] is None
