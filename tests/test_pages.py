"""Every page renders for every role without an error; forms say what is wrong and keep input."""

import pytest
import sqlalchemy as sa

from inventory.db import db
from inventory.sites.models import Site
from tests.factories import make_material

PAGES = ["/", "/sites/", "/sites/?kind=village_point&q=村", "/sites/?page=abc", "/sites/GT-XB",
         "/sites/GT-XB-DC1", "/catalog/", "/catalog/?category=1", "/catalog/categories",
         "/password", "/?lang=en", "/sites/?lang=zh"]


@pytest.mark.parametrize("role", ["admin", "manager", "dispatcher", "keeper", "auditor", "viewer"])
def test_every_page_renders_for_every_role(client, login, make_user, county, role):
    login(make_user(role, sites=["GT-XB"] if role in ("keeper", "auditor") else ()))
    for path in PAGES:
        assert client.get(path).status_code == 200, path


def test_managers_reach_the_edit_pages_and_the_audit_log(client, login, make_user, county):
    login(make_user("manager"))
    client.post("/catalog/categories/new", data={"code": "1", "name": "基本生活保障物资"})
    client.post("/catalog/new", data={"code": "1-001", "name": "棉被", "category": "1", "unit": "床",
                                      "tracking": "lot"})
    for path in ("/sites/new", "/sites/GT-XB/edit", "/sites/GT-XB-DC1/edit", "/catalog/new",
                 "/catalog/1-001", "/catalog/1-001/edit", "/catalog/categories/new",
                 "/catalog/categories/1/edit", "/audit/", "/audit/?entity=site&key=GT-XB"):
        assert client.get(path).status_code == 200, path
    assert "棉被" in client.get("/audit/?entity=material").get_data(as_text=True)


def test_unknown_pages_say_so_in_chinese(client, login, make_user):
    login(make_user("admin"))
    for path in ("/sites/NOPE", "/catalog/NOPE", "/sites/NOPE/edit", "/nowhere"):
        response = client.get(path)
        assert response.status_code == 404
        assert "不存在" in response.get_data(as_text=True)


def test_creating_a_site_through_the_form(app, client, login, make_user, county):
    login(make_user("manager"))
    response = client.post("/sites/new", data={
        "code": "GT-LC", "name": "罗城镇物资储备室", "kind": "town_store", "parent": "GT",
        "population": "10001", "latitude": "39.683931", "longitude": "99.581269",
        "hazards": ["three_outages", "chemical"], "keeper_name": "马", "keeper_phone": "0936-5"})
    assert response.status_code == 302 and response.headers["Location"] == "/sites/GT-LC"
    page = client.get("/sites/GT-LC").get_data(as_text=True)
    assert "罗城镇物资储备室" in page and "易“三断”" in page and ">301" in page


def test_a_bad_site_form_says_what_is_wrong_and_keeps_the_input(app, client, login, make_user,
                                                                county):
    login(make_user("manager"))
    response = client.post("/sites/new", data={
        "code": "GT-LC", "name": "罗城镇", "kind": "town_store", "parent": "GT",
        "population": "很多", "households": "-5", "latitude": "39.6"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "应为整数" in page and 'value="罗城镇"' in page
    response = client.post("/sites/new", data={
        "code": "GT-LC", "name": "罗城镇", "kind": "town_store", "parent": "GT",
        "population": "100", "households": "500"})
    assert "户数不能大于人口" in response.get_data(as_text=True)
    response = client.post("/sites/new", data={"code": "GT-XB", "name": "重复", "kind": "town_store",
                                               "parent": "GT"})
    assert response.status_code == 422 and "已存在" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Site.id).where(Site.code == "GT-LC")) is None


def test_an_agreement_site_through_the_form(app, client, login, make_user, county):
    make_material(app, "1-05-001", "瓶装饮用水")
    login(make_user("manager"))
    data = {"code": "GT-NH-DC1", "name": "南华超市", "kind": "agreement_site", "parent": "GT-NH",
            "agreement_partner": "南华超市有限公司", "agreement_number": "XY-1",
            "agreement_storage": "partner_goods", "agreement_valid_from": "2026-01-01",
            "agreement_valid_to": "2027-12-31", "agreement_lines": "1-05-001 200\nNOPE x"}
    response = client.post("/sites/new", data=data)
    assert response.status_code == 422 and "第 2 行" in response.get_data(as_text=True)
    response = client.post("/sites/new", data={**data, "agreement_lines": "1-05-001 200"})
    assert response.status_code == 302
    page = client.get("/sites/GT-NH-DC1").get_data(as_text=True)
    assert "南华超市有限公司" in page and "瓶装饮用水" in page and "200 箱" in page
    edit = client.get("/sites/GT-NH-DC1/edit").get_data(as_text=True)
    assert "1-05-001 200" in edit, "the edit form shows the agreed lines"


def test_deactivating_and_deleting_through_the_pages(app, client, login, make_user, county):
    login(make_user("manager"))
    assert client.post("/sites/GT-NH/active", data={"active": "0"}).status_code == 302
    assert "已停用" in client.get("/sites/GT-NH").get_data(as_text=True)
    response = client.post("/sites/GT-XB/delete", follow_redirects=True)
    assert "有下级站点" in response.get_data(as_text=True)
    assert client.post("/sites/GT-XB-DC1/delete").headers["Location"] == "/sites/"
    assert client.get("/sites/GT-XB-DC1").status_code == 404


def test_english_on_request_and_from_the_browser(client, login, make_user):
    login(make_user("admin"))
    english = client.get("/sites/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Filter" in english and "筛选" not in english
    assert "Filter" in client.get("/sites/").get_data(as_text=True), "the choice is remembered"
    assert "筛选" in client.get("/sites/?lang=zh").get_data(as_text=True)
    fresh = client.application.test_client()
    assert "Log in" in fresh.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True)
    assert "登录" in fresh.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(
        as_text=True)


def test_the_dashboard_counts_what_needs_attention_and_links_to_it(app, client, login, make_user):
    app.test_cli_runner().invoke(args=["seed", "demo"])
    login(make_user("manager"))
    page = client.get("/").get_data(as_text=True)
    assert "逾期未还的借用" in page and "/stock/loans?overdue=1" in page
    overdue = client.get("/stock/loans?overdue=1").get_data(as_text=True)
    assert "南华镇应急抢险队" in overdue and "逾期" in overdue
    assert "DB-" in client.get("/stock/transfers?status=in_transit").get_data(as_text=True)


@pytest.mark.parametrize("number", ["²", "٣", "１", "-1", "1e3", " 7"])
def test_numbers_in_addresses_are_ascii_digits_or_ignored(client, login, make_user, county, manager, number):
    """str.isdigit() takes "²" and "٣", which int() refuses or reads: a page number, an expiry
    window or a days filter that is not plain digits is left out (pages) or refused (API), never
    a 500."""
    login(make_user("manager", username="pages-boss"))
    for path in (f"/audit/?page={number}", f"/stock/?expiring={number}", f"/sites/?page={number}"):
        assert client.get(path).status_code == 200, path
    assert manager.get(f"/alerts?expiring_days={number}").status_code == 422
