"""Norm pages and the shortfall report, with the demo's default norms."""

import pytest


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    return app


def test_the_demo_ships_the_default_norms_once(demo):
    again = demo.test_cli_runner().invoke(args=["seed", "norms"])
    assert again.exit_code == 0 and "未作改动" in again.output


def test_the_shortfall_report_shows_who_falls_short(demo, client, login, make_user):
    login(make_user("manager"))
    page = client.get("/norms/shortfalls").get_data(as_text=True)
    assert "高台县救灾物资储备库" in page and "卫星电话" in page, "the depot holds 3 of 4 phones"
    assert "按乡镇汇总" in page
    assert client.get("/norms/shortfalls?site=GT-XB&all=1").status_code == 200
    assert client.get("/norms/").status_code == 200


def test_managers_edit_norms_through_the_pages(demo, client, login, make_user):
    login(make_user("manager"))
    response = client.post("/norms/new", data={
        "name": "应急发电机", "site_kind": "town_store", "materials": ["2-02-001"],
        "min_quantity": "3", "per_person": "", "readiness": "power"})
    assert response.status_code == 302
    assert "应急发电机" in client.get("/norms/").get_data(as_text=True)
    bad = client.post("/norms/new", data={"name": "x", "site_kind": "town_store",
                                          "per_person": "很多"})
    assert bad.status_code == 422 and "应为数字" in bad.get_data(as_text=True)


def test_keepers_read_norms_but_do_not_edit_them(demo, client, login, make_user):
    login(make_user("keeper", sites=["GT-XB"]))
    assert client.get("/norms/").status_code == 200
    assert client.get("/norms/new").status_code == 403
    page = client.get("/norms/shortfalls?all=1").get_data(as_text=True)
    assert "新坝镇物资储备室" in page and "南华镇物资储备室" not in page
    assert client.get("/norms/shortfalls?site=GT-NH").status_code == 403


def test_the_shortfall_report_exports_to_excel_safely(demo, client, login, make_user):
    """With a title naming its scope, the time it was made, each material's unit and a filter."""
    import io
    import re

    import openpyxl

    from inventory.auth.access import COMMAND_LINE
    from inventory.norms.services import create_norm

    with demo.app_context():
        create_norm(actor=COMMAND_LINE, data={"name": '=HYPERLINK("http://x","y")',
                                              "site_kind": "town_store", "materials": ["1-02-001"],
                                              "min_quantity": 100000})
    login(make_user("manager"))
    response = client.get("/norms/shortfalls.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    title, made, header, *rows = list(sheet.iter_rows(values_only=True))
    assert title[0] == "高台县应急管理局储备定额短缺清单：全部站点"
    assert re.fullmatch(r"生成时间：\d{4}-\d\d-\d\d \d\d:\d\d 中国标准时间", made[0])
    assert header == ("站点编码", "站点", "定额", "物资编码", "需要", "可用", "短缺", "单位", "依据定额")
    assert sheet.auto_filter.ref == f"A3:I{len(rows) + 3}", "a filter on the header, over every row"
    assert sheet.freeze_panes == "A4", "the header stays in view"
    units = {row[3]: row[7] for row in rows}
    assert units["1-02-001"] == "床" and all(row[7] for row in rows), "each material's unit"
    risky = [row for row in rows if "HYPERLINK" in str(row[2])]
    assert risky and all(row[2].startswith("'=") for row in risky), "shown as text, never run"
    assert all(isinstance(row[4], int) for row in rows), "numbers stay numbers"
    assert sheet.cell(row=4, column=5).data_type == "n"
