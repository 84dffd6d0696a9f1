"""纸质单 (issue 18 item 7): a site's issue, loan-return and count forms as A4 PDFs, each row with
an operation key of its own as a QR code of the offline app's address; a row entered twice
through the sync is applied once. Rendered through the route, rasterised at 200 dpi and read
back with zxing-cpp."""

import re
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import pypdfium2
import pytest
import sqlalchemy as sa
import zxingcpp

from inventory.db import db
from inventory.stock.models import Movement
from inventory.stocktakes.models import quarter_of
from tests.factories import issue, make_material, page_client, receive
from tests.offline.test_devices_api import register
from tests.offline.test_sync_api import operation, sync

KEY_EXCERPT = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}(?![0-9a-f])")


def _words(text: str) -> str:
    return "".join(text.split())  # a cell may wrap a word over two lines


def read_pdf(data: bytes) -> tuple[list[str], list[dict]]:
    """The text of each page and the fields of every row QR code, page by page; fails when
    anything is drawn outside a page."""
    assert data.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(data)
    texts, rows = [], []
    try:
        for page in document:
            width, height = page.get_size()
            for drawn in page.get_objects():
                left, bottom, right, top = drawn.get_bounds()
                inside = min(left, bottom) >= -0.5 and right <= width + 0.5 and top <= height + 0.5
                assert inside, f"drawn outside the page: {(left, bottom, right, top)} of {(width, height)}"
            texts.append(page.get_textpage().get_text_range())
            for result in zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil()):
                rows.append(result.text)
    finally:
        document.close()
    return texts, rows


def fields_of(url: str, base: str) -> dict:
    """The fields an offline-app address carries after its ``#``."""
    assert url.startswith(f"{base}/offline/app#"), url
    return {name: value for name, [value] in parse_qs(urlsplit(url).fragment, strict_parsing=True).items()}


def paper(app, username: str, path: str):
    response = page_client(app, username).get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    return response


def distinct_keys(rows: list[dict]) -> set[str]:
    keys = {row["key"] for row in rows}
    assert len(keys) == len(rows), "every row has a key of its own"
    assert all(uuid.UUID(key).version == 4 and str(uuid.UUID(key)) == key for key in keys)
    return keys


def issue_movements(app, label: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Movement).where(
            Movement.kind == "issue", Movement.item.has(label=label)))


def test_an_issue_form_row_entered_twice_issues_once(app, client, keeper):
    water = receive(keeper, quantity=10)["items"][0]["label"]
    response = paper(app, "xb", "/offline/paper/GT-XB/issue")
    name = quote("发放登记单-GT-XB-新坝镇储备室.pdf", safe="")
    assert f"filename*=UTF-8''{name}" in response.headers["Content-Disposition"]
    assert 'filename="paper-issue-GT-XB.pdf"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    texts, urls = read_pdf(response.data)
    base = app.config["PUBLIC_BASE_URL"]
    rows = [fields_of(url, base) for url in urls]
    [text] = texts
    excerpts = KEY_EXCERPT.findall(text)
    assert len(rows) == len(excerpts) >= 8, "a QR code read on every row, one page of them"
    keys = distinct_keys(rows)
    assert sorted(key[:8] for key in keys) == sorted(excerpts), "each row's key printed under its code"
    assert all(row == {"kind": "issue", "key": row["key"], "site": "GT-XB"} for row in rows)
    for words in ("新坝镇储备室", "GT-XB", "发放登记单", "领用人", "签字", "保管员签字", "复核人签字",
                  "快照位置", "同一行录入两次只记一次"):
        assert words in _words(text), words
    # Each print has its own keys: the same form printed again shares none.
    _texts, again = read_pdf(paper(app, "xb", "/offline/paper/GT-XB/issue").data)
    assert not {fields_of(url, base)["key"] for url in again} & keys

    # Back online the keeper scans a row and types what was written: sent twice, issued once.
    _device, phone = register(client, keeper)
    key = rows[0]["key"]
    body = {"site": rows[0]["site"], "recipient": {"type": "person", "name": "李四"},
            "lines": [{"label": water, "quantity": 2}]}
    [first] = sync(phone, operation("issue", body, key=key))
    [second] = sync(phone, operation("issue", body, key=key))
    assert (first["status"], second["status"]) == ("applied", "duplicate")
    assert second["answer"]["number"] == first["answer"]["number"]
    assert issue_movements(app, water) == 1
    assert keeper.get(f"/stock/{water}").json["quantity"] == 8


def test_an_issue_form_of_several_pages_repeats_its_head(app, keeper):
    texts, urls = read_pdf(paper(app, "xb", "/offline/paper/GT-XB/issue?pages=3").data)
    assert len(texts) == 3
    rows = [fields_of(url, app.config["PUBLIC_BASE_URL"]) for url in urls]
    assert len(distinct_keys(rows)) == sum(len(KEY_EXCERPT.findall(text)) for text in texts)
    for number, text in enumerate(texts, start=1):
        assert all(words in _words(text) for words in ("发放登记单", "新坝镇储备室", "快照位置", "签字",
                                                       f"第{number}页共3页"))
    assert page_client(app, "xb").get("/offline/paper/GT-XB/issue?pages=11").status_code == 422
    assert page_client(app, "xb").get("/offline/paper/GT-XB/issue?pages=abc").status_code == 422


def test_a_return_form_has_a_row_per_loan_still_out_and_a_row_returns_once(app, client, keeper, today):
    tents = receive(keeper, material="TENT", quantity=20, lot="T1")["items"][0]["label"]
    water = receive(keeper, quantity=10)["items"][0]["label"]
    make_material(app, "LONG", "超长名称的救灾专用多功能折叠式野外保温防水帐篷（加厚加大型）", returnable=True)
    long = receive(keeper, material="LONG", quantity=3)["items"][0]["label"]
    first = issue(keeper, [{"label": tents, "quantity": 2}, {"label": water, "quantity": 1}],
                  recipient={"type": "person", "name": "张三"})
    issue(keeper, [{"label": tents, "quantity": 3}, {"label": long, "quantity": 1}],
          recipient={"type": "team", "name": "南华镇应急抢险队"})
    back = issue(keeper, [{"label": tents, "quantity": 1}])
    returned = keeper.post("/returns", {"issue": back["number"], "lines": [
        {"issue_line": back["lines"][0]["id"], "quantity": 1, "condition": "good"}]})
    assert returned.status_code == 201, returned.json
    loans = keeper.get("/sites/GT-XB/snapshot").json["loans"]
    assert len(loans) == 3, "the water is no loan, the returned tent no longer one"

    texts, urls = read_pdf(paper(app, "xb", "/offline/paper/GT-XB/return").data)
    base = app.config["PUBLIC_BASE_URL"]
    rows = [fields_of(url, base) for url in urls]
    distinct_keys(rows)
    assert sorted((row["issue"], int(row["line"]), row["label"]) for row in rows) == sorted(
        (loan["issue"], loan["id"], loan["label"]) for loan in loans)
    assert all(row["kind"] == "return" and row["site"] == "GT-XB" for row in rows)
    text = _words("".join(texts))
    for words in ("借用归还单", "新坝镇储备室", "张三", "南华镇应急抢险队", first["number"], "棉帐篷", "完好",
                  "损坏", "丢失", "签字", "超长名称的救灾专用多功能折叠式野外保温防水帐篷（加厚加大型）"):
        assert words in text, words

    _device, phone = register(client, keeper)
    row = next(row for row in rows if row["issue"] == first["number"])
    body = {"issue": row["issue"],
            "lines": [{"issue_line": int(row["line"]), "quantity": 2, "condition": "good"}]}
    statuses = [sync(phone, operation("return", body, key=row["key"]))[0]["status"] for _n in range(2)]
    assert statuses == ["applied", "duplicate"]
    assert len(keeper.get("/sites/GT-XB/snapshot").json["loans"]) == 2


def test_a_return_form_without_loans_says_so(app, keeper):
    texts, urls = read_pdf(paper(app, "xb", "/offline/paper/GT-XB/return").data)
    assert urls == [] and "本站点没有未归还的借用" in _words(texts[0])


def test_a_count_form_has_a_row_per_item_to_count_never_the_books(app, client, keeper, manager, today):
    receive(keeper, quantity=4817, lot="W-1")
    receive(keeper, material="QUILT", quantity=3929)
    receive(keeper, material="GEN", quantity=2, serials=["G-77", "G-78"])
    receive(manager, site="GT-NH", material="QUILT", quantity=5)  # another town's: not on the form
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
    snapshot = keeper.get("/sites/GT-XB/snapshot").json
    assert len(snapshot["items"]) == 4

    texts, urls = read_pdf(paper(app, "xb", f"/offline/paper/GT-XB/count?stocktake={stocktake['id']}").data)
    rows = [fields_of(url, app.config["PUBLIC_BASE_URL"]) for url in urls]
    distinct_keys(rows)
    assert sorted(row["label"] for row in rows) == sorted(item["label"] for item in snapshot["items"])
    assert all((row["kind"], row["site"], row["stocktake"], row["position"]) == (
        "count", "GT-XB", str(stocktake["id"]), str(snapshot["position"])) for row in rows)
    text = _words("".join(texts))
    for words in ("盘点清点单", stocktake["number"], "实盘数量", "签字", "G-77", "棉被"):
        assert words in text, words
    assert "4817" not in text and "3929" not in text, "counting is blind"

    _device, phone = register(client, keeper)
    row = rows[0]
    count = {**operation("count", {"stocktake": int(row["stocktake"]), "label": row["label"], "counted": 1},
                         key=row["key"]), "position": int(row["position"])}
    assert [sync(phone, count)[0]["status"] for _n in range(2)] == ["applied", "duplicate"]


def test_a_count_form_needs_a_stocktake_being_counted_at_the_site(app, keeper, manager, today):
    pages = page_client(app, "xb")
    none = pages.get("/offline/paper/GT-XB/count")
    assert none.status_code == 409 and none.mimetype == "text/html"
    assert "新坝镇储备室 没有正在清点的盘点单" in none.get_data(as_text=True)
    elsewhere = manager.post("/stocktakes", {"site": "GT-NH", "period": quarter_of(today)}).json
    assert pages.get(f"/offline/paper/GT-XB/count?stocktake={elsewhere['id']}").status_code == 409
    here = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
    for query in ("", "?stocktake=abc", f"?stocktake={elsewhere['id']}", "?stocktake=99999999999"):
        chooser = pages.get(f"/offline/paper/GT-XB/count{query}")
        assert chooser.status_code == 409 and chooser.mimetype == "text/html", query
        assert f"/offline/paper/GT-XB/count?stocktake={here['id']}" in chooser.get_data(as_text=True)
    assert manager.post(f"/stocktakes/{here['id']}/cancel").status_code == 200
    assert pages.get(f"/offline/paper/GT-XB/count?stocktake={here['id']}").status_code == 409


@pytest.mark.parametrize("form", ["issue", "return", "count?stocktake=1"])
def test_only_those_who_may_do_the_work_at_the_site_print_its_forms(app, client, keeper, make_user, form):
    make_user("keeper", username="nh", sites=["GT-NH"])
    make_user("viewer", username="looker")
    for username in ("nh", "looker"):
        response = page_client(app, username).get(f"/offline/paper/GT-XB/{form}")
        assert response.status_code == 403 and response.mimetype == "text/html", username
    assert client.get(f"/offline/paper/GT-XB/{form}").status_code == 302  # to the login page
    pages = page_client(app, "xb")
    assert pages.get(f"/offline/paper/NOPE/{form}").status_code == 404


def test_an_unknown_form_is_not_found(app, keeper):
    pages = page_client(app, "xb")
    for path in ("/offline/paper/GT-XB/transfer", "/offline/paper/GT-XB/ISSUE", "/offline/paper/GT-XB/"):
        response = pages.get(path)
        assert response.status_code == 404 and "不存在" in response.get_data(as_text=True), path


def test_many_loans_fill_pages_with_the_head_on_each_and_the_reads_do_not_grow(app, keeper):
    tents = receive(keeper, material="TENT", quantity=100)["items"][0]["label"]
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    pages = page_client(app, "xb")
    made, counts = [], []
    for loans in (2, 25):
        while len(made) < loans:
            made.append(issue(keeper, [{"label": tents, "quantity": 1}],
                              recipient={"type": "person", "name": f"领用人{len(made):02d}"}))
        pages.get("/offline/paper/GT-XB/return")  # warm
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            response = pages.get("/offline/paper/GT-XB/return")
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1], "the statements do not grow with the loans"
    texts, urls = read_pdf(response.data)
    assert len(texts) >= 3 and len(urls) == 25
    assert {fields_of(url, app.config["PUBLIC_BASE_URL"])["issue"] for url in urls} == {
        loan["number"] for loan in made}
    for number, text in enumerate(texts, start=1):
        words = _words(text)
        assert all(part in words for part in ("借用归还单", "新坝镇储备室", "归还数量", "保管员签字",
                                              f"第{number}页共{len(texts)}页")), number


def test_the_devices_page_offers_the_forms_of_the_users_sites(app, keeper, manager, make_user, today):
    pages = page_client(app, "xb")
    page = pages.get("/offline/devices").get_data(as_text=True)
    assert "纸质单（断电时用）" in page and "新坝镇储备室" in page
    assert "/offline/paper/GT-XB/issue" in page and "/offline/paper/GT-XB/return" in page
    assert "/offline/paper/GT-XB/count" not in page, "no stocktake is being counted"
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
    page = pages.get("/offline/devices?site=GT-NH").get_data(as_text=True)
    assert f"/offline/paper/GT-XB/count?stocktake={stocktake['id']}" in page
    assert "GT-NH" not in page, "a keeper is offered their own sites only"
    make_user("admin", username="root")
    admin = page_client(app, "root")
    assert 'name="site"' in admin.get("/offline/devices").get_data(as_text=True)
    chosen = admin.get("/offline/devices?site=GT-NH").get_data(as_text=True)
    assert "/offline/paper/GT-NH/issue" in chosen and "南华镇储备室" in chosen
    assert "站点 NOPE 不存在" in admin.get("/offline/devices?site=NOPE").get_data(as_text=True)
    make_user("dispatcher", username="duty")
    assert "纸质单" not in page_client(app, "duty").get("/offline/devices").get_data(as_text=True)


def test_a_row_address_is_the_public_base_url(app, keeper):
    app.config["PUBLIC_BASE_URL"] = "https://yjwz.example.cn"
    _texts, urls = read_pdf(paper(app, "xb", "/offline/paper/GT-XB/issue").data)
    assert urls and all(url.startswith("https://yjwz.example.cn/offline/app#kind=issue&key=") for url in urls)
    assert all(url.isascii() for url in urls)
