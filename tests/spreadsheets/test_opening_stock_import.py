"""期初库存 imports through the API (issue 19): a template that round-trips, a file checked whole
with every problem at its row and column, a commit that books through the ledger all or
nothing and the same file twice booking nothing; files that are no spreadsheets refused."""

import datetime as dt
import io
import zipfile

import pandas
import pytest
import sqlalchemy as sa

from inventory.db import db
from inventory.spreadsheets import templates
from inventory.stock.models import Movement, Receipt
from tests.factories import Api, check_ledger, receive

HEADERS = ["站点编码", "物资编码", "数量", "批次号", "生产日期", "有效期至", "来源", "捐赠方", "序列号"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(api, data: bytes, filename="期初库存.xlsx", kind="opening_stock"):
    """POST /imports, the body written out here: for a large file the test client would spool
    the body to a temporary file of its own, which it leaves open."""
    boundary = "b0undary-7f3a"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return api.client.post("/api/v1/imports", headers=api.headers, input_stream=io.BytesIO(body),
                           content_type=f"multipart/form-data; boundary={boundary}", content_length=len(body))


def filled(rows) -> bytes:
    return templates.workbook("opening_stock", rows)


def checked(api, data: bytes, filename="期初库存.xlsx") -> dict:
    response = upload(api, data, filename)
    assert response.status_code == 202, response.json
    job = api.get(f"/imports/{response.json['id']}").json
    assert job["status"] in ("ready", "invalid"), job
    return job


def committed(api, job) -> dict:
    response = api.post(f"/imports/{job['id']}/commit")
    assert response.status_code == 202, response.json
    done = api.get(f"/imports/{job['id']}").json
    assert done["status"] == "done", done
    return done


def _movements(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Movement))


GOOD = [["GT-XB", "WATER", 120, "W-2025", dt.date(2025, 3, 1), None, "中央财政", None, None],
        ["GT-XB", "TENT", 20, "T-1", None, None, "社会捐赠", "某公司", None],
        ["GT-XB-HP", "QUILT", 35, None, None, None, None, None, None],
        ["GT-XB", "GEN", 1, None, None, None, None, None, "SN-0001"],
        ["GT-XB", "GEN", 1, None, None, None, None, None, "SN-0002"]]


def test_the_template_has_the_api_headers_and_a_sheet_that_explains_them(client, keeper):
    response = keeper.get("/imports/templates/opening_stock")
    assert response.status_code == 200 and response.mimetype == XLSX
    sheets = pandas.read_excel(io.BytesIO(response.data), engine="calamine", sheet_name=None)
    assert list(sheets) == ["数据", "说明"]
    assert list(sheets["数据"].columns) == HEADERS and sheets["数据"].empty
    assert list(sheets["说明"]["列"]) == HEADERS
    assert keeper.get("/imports/templates/nonsense").status_code == 422


def test_a_committed_opening_stock_is_booked_through_the_ledger_and_the_same_file_again_books_nothing(
        app, keeper):
    job = checked(keeper, filled(GOOD))
    assert job["status"] == "ready", job
    assert job["counts"] == {"new": 5, "changed": 0, "unchanged": 0, "rejected": 0}
    assert _movements(app) == 0  # checked, nothing written
    committed(keeper, job)
    stock = {(item["site"], item["material"], item["lot"], item["serial"]): item["quantity"]
             for item in keeper.get("/stock?site=GT-XB&include_sub_sites=true&per_page=500").json["items"]}
    assert stock == {("GT-XB", "WATER", "W-2025", None): 120, ("GT-XB", "TENT", "T-1", None): 20,
                     ("GT-XB-HP", "QUILT", None, None): 35, ("GT-XB", "GEN", None, "SN-0001"): 1,
                     ("GT-XB", "GEN", None, "SN-0002"): 1}
    with app.app_context():
        receipts = db.session.scalars(sa.select(Receipt)).all()
    assert len(receipts) == 5 and all(receipt.number.startswith("RK-") for receipt in receipts)
    assert {receipt.source for receipt in receipts} == {"central", "donation", "opening"}
    assert check_ledger(app)[0] == 0
    before = _movements(app)

    again = checked(keeper, filled(GOOD))
    assert again["counts"] == {"new": 0, "changed": 0, "unchanged": 5, "rejected": 0}
    committed(keeper, again)
    assert _movements(app) == before
    assert keeper.post(f"/imports/{again['id']}/commit").status_code == 409  # done: not again


def test_an_export_imports_back_as_unchanged(app, keeper):
    receive(keeper, quantity=30, lot="L1", production_date="2025-01-02")
    receive(keeper, material="GEN", quantity=1, serials=["SN-9"])
    exported = keeper.get("/imports/templates/opening_stock?filled=true")
    assert exported.status_code == 200
    job = checked(keeper, exported.data, "导出.xlsx")
    assert job["counts"] == {"new": 0, "changed": 0, "unchanged": 2, "rejected": 0}, job


def test_every_bad_row_is_reported_at_its_row_and_column_and_nothing_is_written(app, keeper):
    rows = [["GT-XB", "WATER", 10, "A", None, None, None, None, None],                     # 2: fine
            ["GT-NOPE", "WATER", 10, None, None, None, None, None, None],                  # 3
            ["GT-XB", "WATER", "十", "B", None, None, None, None, None],                    # 4
            ["GT-XB", "WATER", 1.5, "C", None, None, None, None, None],                     # 5
            ["GT-XB", "WATER", 5, "D", dt.date(2025, 5, 1), dt.date(2025, 1, 1), None, None, None],  # 6
            ["GT-XB", "WATER", 5, "E", "明年三月", None, None, None, None],                  # 7
            ["GT-XB", "WATER", 7, "A", None, None, None, None, None],                       # 8: lot A twice
            ["GT-XB", "GEN", 1, None, None, None, None, None, "SN-1"],                      # 9: fine
            ["GT-XB", "GEN", 1, None, None, None, None, None, "SN-1"],                      # 10: serial twice
            ["GT-XB", "NOPE", 1, None, None, None, None, None, None]]                       # 11
    job = checked(keeper, filled(rows))
    assert job["status"] == "invalid"
    found = {(error["row"], error["column"]) for error in job["errors"]}
    assert found == {(3, "站点编码"), (4, "数量"), (5, "数量"), (6, "有效期至"), (7, "生产日期"), (8, "批次号"),
                     (10, "序列号"), (11, "物资编码")}, job["errors"]
    by_row = {error["row"]: error for error in job["errors"]}
    assert by_row[4]["value"] == "十" and "正整数" in by_row[4]["message"]
    assert "第 2 行" in by_row[8]["message"] and "第 9 行" in by_row[10]["message"]
    assert job["counts"]["rejected"] == 8
    assert keeper.post(f"/imports/{job['id']}/commit").status_code == 409
    assert _movements(app) == 0


def test_a_keeper_importing_another_towns_stock_is_refused_row_by_row(app, keeper):
    job = checked(keeper, filled([["GT-XB", "WATER", 3, None, None, None, None, None, None],
                                  ["GT-NH", "WATER", 3, None, None, None, None, None, None]]))
    assert job["status"] == "invalid"
    assert [(error["row"], error["column"], error["message"]) for error in job["errors"]] == [
        (3, "站点编码", "无权在此站点入库")]
    assert _movements(app) == 0


def test_a_gbk_csv_with_full_width_digits_and_lenient_headers_imports(app, keeper):
    text = " 站点编码 ,物资编码,库存数量,批号\r\nGT-XB,WATER,１２,Ｌ-1\r\n"
    job = checked(keeper, text.encode("gbk"), "台账.csv")
    assert job["status"] == "ready", job
    committed(keeper, job)
    [item] = keeper.get("/stock?site=GT-XB").json["items"]
    assert (item["quantity"], item["lot"]) == (12, "L-1")


@pytest.mark.parametrize("filename, data, expected", [
    ("期初.xlsx", b"this is no spreadsheet at all", 422),
    ("期初.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, 422),
    ("期初.txt", b"a,b\n1,2\n", 422),
    ("期初.csv", b"", 422),
    ("期初.csv", "名称,备注\n帐篷,无\n".encode(), 202),  # read, then invalid: no header it knows
])
def test_what_is_no_readable_spreadsheet_is_refused_with_a_message(app, keeper, filename, data, expected):
    response = upload(keeper, data, filename)
    assert response.status_code == expected, response.json
    if expected == 422:
        error = response.json["error"]
        assert error["code"] == "validation_error" and error["details"]["file"]
    else:
        job = keeper.get(f"/imports/{response.json['id']}").json
        assert job["status"] == "invalid" and "表头" in job["message"]
    assert _movements(app) == 0


def test_a_zip_bomb_and_a_file_over_the_limit_are_refused(app, keeper):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (300 * 1024 * 1024))
    response = upload(keeper, bomb.getvalue())
    assert response.status_code == 422 and "解压后过大" in response.json["error"]["details"]["file"]
    too_big = upload(keeper, b"0" * (11 * 1024 * 1024), "big.csv")
    assert too_big.status_code == 413 and too_big.json["error"]["code"] == "payload_too_large"


def test_an_import_is_its_owners_and_a_cancelled_one_cannot_be_committed(app, keeper, manager, make_user,
                                                                         token_for):
    job = checked(keeper, filled(GOOD[:1]))
    other = Api(keeper.client, token_for(make_user("keeper", username="nh", sites=["GT-NH"])))
    assert other.get(f"/imports/{job['id']}").status_code == 404
    assert other.post(f"/imports/{job['id']}/commit").status_code == 404
    assert keeper.post(f"/imports/{job['id']}/cancel").json["status"] == "cancelled"
    assert keeper.post(f"/imports/{job['id']}/commit").status_code == 409
    assert keeper.post(f"/imports/{job['id']}/cancel").status_code == 409
    assert _movements(app) == 0
    viewer = Api(keeper.client, token_for(make_user("viewer", username="looker")))
    assert upload(viewer, filled(GOOD)).status_code == 403
