"""Scope and roles: a keeper of 新坝镇 sees and changes only its subtree; a viewer changes nothing."""

import pytest
import sqlalchemy as sa

from inventory.audit.models import AuditEntry
from inventory.db import db
from inventory.sites.models import Site


@pytest.fixture
def keeper(make_user, county):
    return make_user("keeper", username="xb-keeper", sites=["GT-XB"])


def _site_count(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Site))


def test_a_keeper_lists_only_their_subtree_in_pages(client, login, keeper):
    login(keeper)
    page = client.get("/sites/").get_data(as_text=True)
    assert "新坝镇储备室" in page and "和平村储备点" in page and "新坝惠民超市" in page
    assert "南华镇储备室" not in page and "高台县救灾物资储备库" not in page


def test_a_keeper_lists_only_their_subtree_in_the_api(client, keeper, token_for):
    response = client.get("/api/v1/sites", headers=token_for(keeper))
    assert sorted(item["code"] for item in response.json["items"]) == [
        "GT-XB", "GT-XB-DC1", "GT-XB-HP"]
    assert response.json["total"] == 3


@pytest.mark.parametrize("path", ["/sites/GT-NH", "/sites/GT", "/sites/GT-NH/edit"])
def test_a_keeper_cannot_open_other_sites_pages(client, login, keeper, path):
    login(keeper)
    assert client.get(path).status_code == 403


def test_a_keeper_cannot_read_other_sites_in_the_api(client, keeper, token_for):
    response = client.get("/api/v1/sites/GT-NH", headers=token_for(keeper))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert "南华" not in response.get_data(as_text=True)


def test_a_keeper_changes_sites_in_their_subtree_only(app, client, keeper, token_for):
    """Their own sites' contacts, nowhere else; adding or moving sites is the bureau's."""
    headers = token_for(keeper)
    assert client.patch("/api/v1/sites/GT-XB-HP", json={"keeper_phone": "0936-1"},
                        headers=headers).status_code == 200
    assert client.patch("/api/v1/sites/GT-NH", json={"keeper_phone": "1"},
                        headers=headers).status_code == 403
    for parent in ("GT-XB", "GT-NH", None):
        refused = client.post("/api/v1/sites", headers=headers, json={
            "code": "GT-OUT", "name": "外", "kind": "village_point" if parent else "county_depot",
            "parent": parent})
        assert refused.status_code == 403
    moved_out = client.patch("/api/v1/sites/GT-XB-HP", json={"parent": "GT-NH"}, headers=headers)
    assert moved_out.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(Site.keeper_phone).where(Site.code == "GT-NH")) == ""
        assert db.session.scalar(sa.select(Site.keeper_phone).where(Site.code == "GT-XB-HP")) == "0936-1"
        assert db.session.scalar(sa.select(Site.parent_id).where(Site.code == "GT-XB-HP")) == \
            db.session.scalar(sa.select(Site.id).where(Site.code == "GT-XB"))
        assert db.session.scalar(sa.select(Site.id).where(Site.code == "GT-OUT")) is None


def test_a_keeper_changes_sites_in_their_subtree_only_in_pages(app, client, login, keeper):
    login(keeper)
    ok = client.post("/sites/GT-XB-HP/edit", data={"name": "和平村储备点", "kind": "village_point",
                                                   "parent": "GT-XB", "population": "1200",
                                                   "address": "和平村村委会"})
    assert ok.status_code == 302
    refused = client.post("/sites/GT-NH/edit", data={"name": "改名", "kind": "town_store",
                                                     "parent": "GT", "address": "x"})
    assert refused.status_code == 403
    for parent in ("GT-XB", "GT-NH"):
        refused = client.post("/sites/new", data={"code": "GT-NH-X", "name": "x",
                                                  "kind": "village_point", "parent": parent})
        assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(Site.name).where(Site.code == "GT-NH")) == "南华镇储备室"
        assert db.session.scalar(sa.select(Site.address).where(Site.code == "GT-NH")) == ""
        assert db.session.scalar(sa.select(Site.address).where(Site.code == "GT-XB-HP")) == "和平村村委会"
        assert db.session.scalar(sa.select(Site.population).where(Site.code == "GT-XB-HP")) == 900, \
            "the population is the bureau's: held as it was"
        assert db.session.scalar(sa.select(Site.id).where(Site.code == "GT-NH-X")) is None


def test_a_viewer_changes_nothing(app, client, login, make_user, county, token_for):
    viewer = make_user("viewer")
    headers = token_for(viewer)
    before = _site_count(app)
    assert client.get("/api/v1/sites", headers=headers).json["total"] == before
    assert client.post("/api/v1/sites", headers=headers, json={
        "code": "V", "name": "v", "kind": "county_depot"}).status_code == 403
    assert client.patch("/api/v1/sites/GT", headers=headers, json={"name": "x"}).status_code == 403
    assert client.delete("/api/v1/sites/GT-XB-HP", headers=headers).status_code == 403
    assert client.post("/api/v1/materials", headers=headers, json={
        "code": "X", "name": "x", "category": "1", "unit": "个"}).status_code == 403
    login(viewer)
    assert client.get("/sites/new").status_code == 403
    assert client.get("/sites/GT/edit").status_code == 403
    assert client.post("/sites/GT-XB-HP/delete").status_code == 403
    assert client.post("/sites/GT/active", data={"active": "0"}).status_code == 403
    assert client.get("/catalog/new").status_code == 403
    assert client.get("/audit/").status_code == 403
    page = client.get("/sites/GT").get_data(as_text=True)
    assert "编辑" not in page and "停用站点" not in page, "no buttons for what the user may not do"
    assert _site_count(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.username == viewer)) == 0


@pytest.mark.parametrize("role", ["dispatcher", "auditor", "keeper"])
def test_only_managers_and_admins_edit_the_catalog(client, make_user, county, token_for, role):
    user = make_user(role, sites=["GT-XB"] if role in ("keeper", "auditor") else ())
    response = client.post("/api/v1/categories", headers=token_for(user),
                           json={"code": "C", "name": "类"})
    assert response.status_code == 403
