"""The kit and road-time pages: managers edit, everyone else reads; a bad CSV shows its rows."""

import io

import sqlalchemy as sa

from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.dispatch import kits as kit_actions
from inventory.dispatch.models import Kit, RoadTime
from tests.factories import page_client


def _kit(app, name="帐篷包"):
    with app.app_context():
        return kit_actions.create_kit(actor=COMMAND_LINE, data={
            "name": name, "basis": "person", "lines": [{"material": "TENT", "quantity": 0.34}]}).id


def test_a_manager_adds_edits_and_deletes_a_kit_on_its_pages(app, county, catalog, make_user):
    client = page_client(app, make_user("manager"))
    assert client.get("/incidents/kits/new").status_code == 200
    response = client.post("/incidents/kits/new", data={
        "name": "安置包", "basis": "person", "active": "y", "lines-0-material": "TENT",
        "lines-0-quantity": "0.34", "lines-1-material": "", "lines-1-quantity": "",
        "lines-2-material": "WATER", "lines-2-quantity": "3"})
    assert response.status_code == 302
    with app.app_context():
        kit = db.session.scalar(sa.select(Kit))
        assert [(line.material.code, line.quantity) for line in kit.lines] == [("TENT", 0.34), ("WATER", 3.0)]
        kit_id = kit.id
    page = client.get(f"/incidents/kits/{kit_id}/edit").get_data(as_text=True)
    assert 'value="0.34"' in page and 'name="lines-4-material"' in page  # two lines and three spare rows
    response = client.post(f"/incidents/kits/{kit_id}/edit", data={
        "name": "安置包", "basis": "household", "lines-0-material": "QUILT", "lines-0-quantity": "2"})
    assert response.status_code == 302
    listing = client.get("/incidents/kits").get_data(as_text=True)
    assert "安置包" in listing and "每户" in listing and "已停用" in listing and "棉被" in listing
    assert client.post(f"/incidents/kits/{kit_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Kit)) == 0


def test_a_bad_kit_line_is_shown_on_its_row_and_nothing_is_saved(app, county, catalog, make_user):
    client = page_client(app, make_user("manager"))
    response = client.post("/incidents/kits/new", data={
        "name": "安置包", "basis": "person", "lines-0-material": "TENT", "lines-0-quantity": "abc",
        "lines-1-material": "TENT", "lines-1-quantity": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "应为数字" in page and 'value="abc"' in page
    response = client.post("/incidents/kits/new", data={"name": "安置包", "basis": "person"})
    assert response.status_code == 422 and "至少填写一行物资" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Kit)) == 0


def test_others_read_the_kits_but_may_not_change_them(app, county, catalog, make_user):
    kit_id = _kit(app)
    for role, sites in (("dispatcher", []), ("keeper", ["GT-XB"]), ("viewer", [])):
        client = page_client(app, make_user(role, sites=sites))
        listing = client.get("/incidents/kits").get_data(as_text=True)
        assert "帐篷包" in listing and "/edit" not in listing and "新增物资包" not in listing
        assert client.get("/incidents/kits/new").status_code == 403
        assert client.post(f"/incidents/kits/{kit_id}/edit", data={"name": "x"}).status_code == 403
        assert client.post(f"/incidents/kits/{kit_id}/delete").status_code == 403
    with app.app_context():
        assert db.session.get(Kit, kit_id).name == "帐篷包"


def _upload(client, text: bytes, name="roads.csv"):
    return client.post("/incidents/roads", data={"file": (io.BytesIO(text), name)},
                       content_type="multipart/form-data")


def test_a_dispatcher_loads_road_times_and_sees_cut_pairs_marked(app, county, make_user):
    client = page_client(app, make_user("dispatcher"))
    response = _upload(client, "起点,终点,分钟,断路\nGT,GT-XB,45,\nGT,GT-NH,,是\n".encode())
    assert response.status_code == 302
    page = client.get("/incidents/roads").get_data(as_text=True)
    assert "已载入 2 对" in page and "当前数据：2 对站点" in page and "断路" in page and ">45<" not in page
    assert " 45" in page
    assert client.post("/incidents/roads/clear").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoadTime)) == 0


def test_a_bad_road_csv_shows_each_bad_row_in_chinese_and_changes_nothing(app, county, make_user):
    client = page_client(app, make_user("manager"))
    assert _upload(client, b"from_site,to_site,minutes\nGT,GT-XB,45\n").status_code == 302
    response = _upload(client, b"from_site,to_site,minutes\nGT,NOPE,10\nGT,GT-NH,-3\n")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "第 2 行：站点 NOPE 不存在" in page and "第 3 行：分钟数不能为负数" in page
    assert "未作任何更改" in page
    assert _upload(client, b"\xff\xfe\x00binary").status_code == 422
    assert client.post("/incidents/roads", data={}).status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoadTime)) == 1


def test_keepers_and_viewers_read_road_times_but_never_load_them(app, county, make_user):
    for role, sites in (("keeper", ["GT-XB"]), ("viewer", [])):
        client = page_client(app, make_user(role, sites=sites))
        page = client.get("/incidents/roads").get_data(as_text=True)
        assert "尚未载入" in page and 'type="file"' not in page
        assert _upload(client, b"from_site,to_site,minutes\nGT,GT-XB,45\n").status_code == 403
        assert client.post("/incidents/roads/clear").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoadTime)) == 0
