"""The Sites API exactly as API.md says: fields, codes, errors, pagination, all-or-nothing."""

import html
import re

import pytest
import sqlalchemy as sa

from inventory.audit.models import AuditEntry
from inventory.db import db
from inventory.sites.models import Site
from tests.factories import in_days, make_material

SITE_FIELDS = {"code", "name", "kind", "parent", "population", "households", "planning_population",
               "latitude", "longitude", "hazards", "active", "agreement"}


@pytest.fixture
def admin(make_user, token_for):
    return token_for(make_user("admin"))


def _counts(app):
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Site)),
                db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)))


def test_every_endpoint_wants_a_token(client, county):
    for method, path in [("get", "/api/v1/sites"), ("post", "/api/v1/sites"),
                         ("get", "/api/v1/sites/GT"), ("patch", "/api/v1/sites/GT"),
                         ("get", "/api/v1/me"), ("get", "/api/v1/materials")]:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            response = getattr(client, method)(path, headers=headers, json={})
            assert response.status_code == 401, (method, path)
            assert response.json["error"]["code"] == "unauthorized"


def test_creating_a_town_answers_the_site(client, admin, county):
    response = client.post("/api/v1/sites", headers=admin, json={
        "code": "GT-HQ", "name": "黑泉镇储备室", "kind": "town_store", "parent": "GT",
        "population": 12191, "households": 5323, "latitude": 39.536069, "longitude": 99.626411,
        "hazards": ["flood", "earthquake"], "keeper_name": "刘", "keeper_phone": "0936-1"})
    assert response.status_code == 201
    site = response.json
    assert site.keys() >= SITE_FIELDS
    assert site["code"] == "GT-HQ" and site["parent"] == "GT" and site["active"] is True
    assert site["hazards"] == ["earthquake", "flood"]
    assert site["planning_population"] == 122, "ordinary town: max(100, ceil(1% × 12191))"
    assert site["agreement"] is None
    assert client.get("/api/v1/sites/GT-HQ", headers=admin).json == site


@pytest.mark.parametrize(("code", "expected"), [
    ("GT", 5000),            # county depot: 5,000 (建标121-2009)
    ("GT-XB", 509),          # 易“三断” town: max(200, ceil(3% × 16934))
    ("GT-NH", 168),          # ordinary town: max(100, ceil(1% × 16754))
    ("GT-XB-HP", 45),        # village point: max(30, ceil(5% × 900))
    ("GT-XB-DC1", 509),      # agreement site: the planning population of the site it serves
])
def test_planning_population_is_derived_by_kind(client, admin, county, code, expected):
    assert client.get(f"/api/v1/sites/{code}", headers=admin).json["planning_population"] == expected


def test_a_stated_planning_population_wins_and_agreement_sites_follow(client, admin, county):
    response = client.patch("/api/v1/sites/GT-XB", headers=admin, json={"planning_population": 700})
    assert response.json["planning_population"] == 700
    assert client.get("/api/v1/sites/GT-XB-DC1", headers=admin).json["planning_population"] == 700
    response = client.patch("/api/v1/sites/GT-XB", headers=admin, json={"planning_population": None})
    assert response.json["planning_population"] == 509
    small = client.patch("/api/v1/sites/GT-XB", headers=admin, json={"population": 1000})
    assert small.json["planning_population"] == 200, "the floor of a 易“三断” town"


def test_an_agreement_site_carries_its_agreement(client, admin, county, app):
    make_material(app, "1-05-001", "瓶装饮用水")
    response = client.post("/api/v1/sites", headers=admin, json={
        "code": "GT-NH-DC1", "name": "南华五金店", "kind": "agreement_site", "parent": "GT-NH",
        "agreement": {"partner": "高台县南华镇某五金店", "number": "GTYJ-DC-2026-003",
                      "storage": "bureau_goods", "valid_from": "2026-03-01",
                      "valid_to": "2027-02-28", "last_verified": "2026-10-01",
                      "lines": [{"material": "1-05-001", "quantity": 300}]}})
    assert response.status_code == 201, response.json
    agreement = response.json["agreement"]
    assert agreement["partner"] == "高台县南华镇某五金店"
    assert agreement["valid_to"] == "2027-02-28" and agreement["last_verified"] == "2026-10-01"
    assert agreement["lines"] == [{"material": "1-05-001", "quantity": 300}]


def test_an_agreement_site_with_lines_can_be_edited_page_and_api(app, client, admin, county, today,
                                                                   login, make_user):
    make_material(app, "1-05-001", "瓶装饮用水")
    make_material(app, "1-05-002", "方便面")
    agreement = {"partner": "高台县南华镇某五金店", "number": "GTYJ-DC-2026-003",
                 "valid_from": in_days(today, -30), "valid_to": in_days(today, 300),
                 "lines": [{"material": "1-05-001", "quantity": 300},
                           {"material": "1-05-002", "quantity": 40}]}
    assert client.post("/api/v1/sites", headers=admin, json={
        "code": "GT-NH-DC1", "name": "南华五金店", "kind": "agreement_site", "parent": "GT-NH",
        "agreement": agreement}).status_code == 201
    unchanged = client.patch("/api/v1/sites/GT-NH-DC1", headers=admin,
                             json={"name": "南华五金店（新）", "agreement": agreement})
    assert unchanged.status_code == 200, unchanged.json
    moved = client.patch("/api/v1/sites/GT-NH-DC1", headers=admin, json={"agreement": {
        **agreement, "lines": [{"material": "1-05-002", "quantity": 50}]}})
    assert moved.json["agreement"]["lines"] == [{"material": "1-05-002", "quantity": 50}]
    # The edit page, submitted as rendered but for the agreed lines.
    login(make_user("admin", username="it"))
    page = client.get("/sites/GT-NH-DC1/edit").get_data(as_text=True)
    fields = {name: html.unescape(value) for name, value in re.findall(
        r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page) if name not in ("hazards", "active")}
    fields.update(kind="agreement_site", parent="GT-NH", agreement_storage="bureau_goods",
                  active="y", agreement_lines="1-05-002 50\n1-05-001 10")
    assert client.post("/sites/GT-NH-DC1/edit", data=fields).status_code == 302
    lines = client.get("/api/v1/sites/GT-NH-DC1", headers=admin).json["agreement"]["lines"]
    assert sorted(lines, key=lambda line: line["material"]) == [
        {"material": "1-05-001", "quantity": 10}, {"material": "1-05-002", "quantity": 50}]


def test_an_existing_code_is_a_duplicate(app, client, admin, county):
    before = _counts(app)
    response = client.post("/api/v1/sites", headers=admin, json={
        "code": "GT-XB", "name": "again", "kind": "town_store", "parent": "GT"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "duplicate"
    assert _counts(app) == before


def test_malformed_json_is_a_bad_request(app, client, admin, county):
    before = _counts(app)
    for body in (b"{", b"\xff\xfe", b"{'code': 1}", b"[1,"):
        response = client.post("/api/v1/sites", headers={**admin, "Content-Type": "application/json"},
                               data=body)
        assert response.status_code == 400
        assert response.json["error"]["code"] == "bad_request"
    assert _counts(app) == before


@pytest.mark.parametrize(("body", "field"), [
    ({}, "code"),
    ([], "body"),
    ("GT-X", "body"),
    ({"code": "GT-X", "name": "x", "kind": "town_store"}, "parent"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "NOPE"}, "parent"),
    ({"code": "GT-X", "name": "x", "kind": "warehouse", "parent": "GT"}, "kind"),
    ({"code": "GT-X", "name": "x", "kind": "village_point", "parent": "GT"}, "parent"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT-XB-DC1"}, "parent"),
    ({"code": "GT X", "name": "x", "kind": "town_store", "parent": "GT"}, "code"),
    ({"code": "G" * 33, "name": "x", "kind": "town_store", "parent": "GT"}, "code"),
    ({"code": "GT-X", "name": "名" * 101, "kind": "town_store", "parent": "GT"}, "name"),
    ({"code": "GT-X", "name": "  ", "kind": "town_store", "parent": "GT"}, "name"),
    ({"code": "GT-X", "name": "a\x00b", "kind": "town_store", "parent": "GT"}, "name"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "population": -1}, "population"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "population": 10**12},
     "population"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "population": "100"},
     "population"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "population": 1.5},
     "population"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "population": True},
     "population"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "population": 10,
      "households": 11}, "households"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "latitude": 91,
      "longitude": 99}, "latitude"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "latitude": 39.1},
     "longitude"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "hazards": ["volcano"]},
     "hazards"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "hazards": "flood"},
     "hazards"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT",
      "hazards": ["flood", "flood"]}, "hazards"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT", "owner": "me"}, "owner"),
    ({"code": "GT-X", "name": "x", "kind": "agreement_site", "parent": "GT"}, "agreement"),
    ({"code": "GT-X", "name": "x", "kind": "town_store", "parent": "GT",
      "agreement": {"partner": "p", "number": "n", "valid_from": "2026-01-01",
                    "valid_to": "2027-01-01"}}, "agreement"),
    ({"code": "GT-X", "name": "x", "kind": "agreement_site", "parent": "GT",
      "agreement": {"partner": "p", "number": "n", "valid_from": "2026-01-01",
                    "valid_to": "2025-01-01"}}, "agreement.valid_to"),
    ({"code": "GT-X", "name": "x", "kind": "agreement_site", "parent": "GT",
      "agreement": {"partner": "p", "number": "n", "valid_from": "2026-02-30",
                    "valid_to": "2027-01-01"}}, "agreement.valid_from"),
    ({"code": "GT-X", "name": "x", "kind": "agreement_site", "parent": "GT",
      "agreement": {"partner": "p", "number": "n", "valid_from": "2026-01-01",
                    "valid_to": "2027-01-01", "lines": [{"material": "NOPE", "quantity": 1}]}},
     "agreement.lines"),
    ({"code": "GT-X", "name": "x", "kind": "agreement_site", "parent": "GT",
      "agreement": {"partner": "p", "number": "n", "valid_from": "2026-01-01",
                    "valid_to": "2027-01-01", "lines": [{"material": "X", "quantity": 0}]}},
     "agreement.lines"),
])
def test_bad_input_is_refused_field_by_field_and_changes_nothing(app, client, admin, county, body,
                                                                 field):
    before = _counts(app)
    response = client.post("/api/v1/sites", headers=admin, json=body)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert any(key == field or key.startswith(f"{field}.") for key in error["details"]), error

    assert _counts(app) == before


def test_markup_in_names_is_kept_as_text_and_shown_escaped(client, admin, county, login, make_user):
    payload = '<img src=x onerror=alert(1)>新村'
    response = client.post("/api/v1/sites", headers=admin, json={
        "code": "GT-XSS", "name": payload, "kind": "town_store", "parent": "GT"})
    assert response.json["name"] == payload
    login(make_user("admin"))
    for path in ("/sites/", "/sites/GT-XSS", "/sites/GT-XSS/edit", "/sites/GT", "/audit/"):
        page = client.get(path).get_data(as_text=True)
        assert payload not in page, path
        assert "&lt;img src=x onerror=alert(1)&gt;新村" in page, path


def test_lists_are_paginated(client, admin, county):
    first = client.get("/api/v1/sites?per_page=2", headers=admin).json
    assert first["total"] == 5 and first["page"] == 1 and first["per_page"] == 2
    assert len(first["items"]) == 2
    third = client.get("/api/v1/sites?per_page=2&page=3", headers=admin).json
    assert len(third["items"]) == 1
    codes = {s["code"] for page in (1, 2, 3)
             for s in client.get(f"/api/v1/sites?per_page=2&page={page}", headers=admin).json["items"]}
    assert len(codes) == 5
    assert client.get("/api/v1/sites?page=99", headers=admin).json["items"] == []
    assert client.get("/api/v1/sites?per_page=100000", headers=admin).json["per_page"] == 500
    for bad in ("page=0", "page=abc", "per_page=-1", "per_page=1.5"):
        response = client.get(f"/api/v1/sites?{bad}", headers=admin)
        assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"


def test_lists_filter_by_kind_parent_and_text(client, admin, county):
    def codes(query):
        return sorted(s["code"] for s in client.get(f"/api/v1/sites?{query}", headers=admin).json["items"])

    assert codes("kind=town_store") == ["GT-NH", "GT-XB"]
    assert codes("parent=GT-XB") == ["GT-XB-DC1", "GT-XB-HP"]
    assert codes("q=和平") == ["GT-XB-HP"]
    assert codes("q=%25") == [], "a % in the search text is a character, not a wildcard"
    assert client.get("/api/v1/sites?kind=castle", headers=admin).status_code == 422
    assert client.get("/api/v1/sites?parent=NOPE", headers=admin).status_code == 422


def test_unknown_sites_are_not_found(client, admin):
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)("/api/v1/sites/NOPE", headers=admin, json={})
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"


def test_a_site_code_cannot_change(client, admin, county):
    response = client.patch("/api/v1/sites/GT-XB", headers=admin, json={"code": "GT-NEW"})
    assert response.status_code == 422 and "code" in response.json["error"]["details"]
    same = client.patch("/api/v1/sites/GT-XB", headers=admin, json={"code": "GT-XB", "name": "新坝"})
    assert same.status_code == 200 and same.json["name"] == "新坝"


def test_moving_a_village_moves_what_hangs_under_it(app, client, admin, county):
    client.post("/api/v1/sites", headers=admin, json={
        "code": "GT-XB-HP-DC", "name": "村超市", "kind": "agreement_site", "parent": "GT-XB-HP",
        "agreement": {"partner": "p", "number": "n", "valid_from": "2026-01-01",
                      "valid_to": "2027-01-01"}})
    response = client.patch("/api/v1/sites/GT-XB-HP", headers=admin, json={"parent": "GT-NH"})
    assert response.status_code == 200 and response.json["parent"] == "GT-NH"
    south = client.get("/api/v1/sites?parent=GT-NH", headers=admin).json["items"]
    assert [s["code"] for s in south] == ["GT-XB-HP"]
    with app.app_context():
        paths = dict(db.session.execute(sa.select(Site.code, Site.path)).all())
    assert paths["GT-XB-HP"].startswith(paths["GT-NH"])
    assert paths["GT-XB-HP-DC"].startswith(paths["GT-XB-HP"])


def test_a_site_with_sub_sites_keeps_its_kind(client, admin, county):
    response = client.patch("/api/v1/sites/GT-XB", headers=admin, json={"kind": "village_point"})
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"


def test_deactivating_and_deleting(client, admin, county, make_user):
    assert client.patch("/api/v1/sites/GT-NH", headers=admin,
                        json={"active": False}).json["active"] is False
    assert client.delete("/api/v1/sites/GT-XB", headers=admin).status_code == 409, "has sub-sites"
    make_user("keeper", sites=["GT-XB-HP"])
    refused = client.delete("/api/v1/sites/GT-XB-HP", headers=admin)
    assert refused.status_code == 409 and "停用" in refused.json["error"]["message"]
    assert client.delete("/api/v1/sites/GT-XB-DC1", headers=admin).status_code == 204
    assert client.get("/api/v1/sites/GT-XB-DC1", headers=admin).status_code == 404


def test_every_change_is_in_the_audit_log_with_old_and_new(app, client, make_user, token_for,
                                                          county):
    headers = token_for(make_user("manager", username="boss"))
    client.patch("/api/v1/sites/GT-NH", headers=headers, json={"population": 17000},
                 environ_base={"REMOTE_ADDR": "10.1.2.3"})
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity_key == "GT-NH")
                                   .order_by(AuditEntry.id.desc())).first()
    assert (entry.username, entry.action, entry.entity, entry.address) == (
        "boss", "update", "site", "10.1.2.3")
    assert entry.changes["population"] == [16754, 17000]
    assert entry.changes["planning_population"] == [168, 170]
