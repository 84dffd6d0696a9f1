"""The paper of a stocktake (issue 16 §4): the 盘点表 is blind — labels as QR codes, names, lots,
a blank count column, signature lines, never the books — and the 差异表 is the reviewer's: the
books beside the counts, values, reasons (未说明 when none was given), totals, found goods and the
approval; both as print pages, A4 PDFs that number their pages, and formula-safe Excel."""

import io
import re
import zipfile

import openpyxl
import pypdfium2
import pytest
import zxingcpp

from inventory import clock
from inventory.labels.codes import format_label
from inventory.stocktakes.models import quarter_of
from tests.factories import PASSWORD, make_material, page_client, receive

# Book quantities no page, PDF or workbook of the count sheet may show (and nothing else would).
WATER, TENTS = 4817, 3929


def _open(api, **fields) -> dict:
    response = api.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(clock.today()), **fields})
    assert response.status_code == 201, response.json
    return response.json


def _count(api, stocktake, label, counted) -> None:
    response = api.post(f"/stocktakes/{stocktake['id']}/counts", {"label": label, "counted": counted})
    assert response.status_code == 201, response.json


def _words(text: str) -> str:
    return "".join(text.split())  # a table cell may wrap a word over two lines


def _pdf_pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(data)
    try:
        return [_words(page.get_textpage().get_text_range()) for page in document]
    finally:
        document.close()


def _sheet_rows(data: bytes) -> list[tuple]:
    """The cells of a workbook's one sheet; none of them may be a formula."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/sheet")]
    assert sheets and not any(b"<f>" in sheet or b"<f " in sheet for sheet in sheets), "no formulas"
    book = openpyxl.load_workbook(io.BytesIO(data))
    [sheet] = book.worksheets
    return sheet, [tuple(row) for row in sheet.iter_rows()]


@pytest.fixture
def priced(app):
    """Materials with a reference price (口罩 2.50 元, 折叠床 300 元) beside the catalog's unpriced ones."""
    make_material(app, "MASK", "医用口罩", unit="盒", unit_price=2.5)
    make_material(app, "BED", "折叠床", unit="张", unit_price=300, spec="190×70cm")


@pytest.fixture
def shelf(keeper, priced, today):
    """GT-XB holds 4817 boxes of masks (lot =1+1), 3929 beds, a generator and some water."""
    masks = receive(keeper, material="MASK", quantity=WATER, lot="=1+1", expiry_date="2030-06-30")["items"][0]
    beds = receive(keeper, material="BED", quantity=TENTS)["items"][0]
    generator = receive(keeper, material="GEN", quantity=1, serials=["G-77"])["items"][0]
    return {"masks": masks["label"], "beds": beds["label"], "generator": generator["label"]}


def test_the_count_sheet_shows_what_to_count_and_never_the_books(app, keeper, manager, shelf):
    stocktake = _open(manager, witness="boss")
    base = f"/stocktakes/{stocktake['id']}/count-sheet"
    page = page_client(app, "xb").get(base)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for label in shelf.values():
        assert format_label(label) in text
    for words in ("医用口罩", "折叠床", "190×70cm", "=1+1", "G-77", "2030-06-30", "实盘数量",
                  "盘点人签字", "监盘人签字", stocktake["number"], app.config["ORGANIZATION_NAME"]):
        assert words in text, words
    assert text.count("<svg") == 3, "a QR code for each line"
    assert str(WATER) not in text and str(TENTS) not in text, "blind: never the books"

    client = page_client(app, "xb")
    answer = client.get(base + ".pdf")
    assert answer.mimetype == "application/pdf"
    assert "inline" in answer.headers["Content-Disposition"]
    assert stocktake["number"] in answer.headers["Content-Disposition"]
    [first] = _pdf_pages(answer.data)
    assert "医用口罩" in first and format_label(shelf["beds"]) in first and "=1+1" in first
    assert "第1页共1页" in first and "监盘人签字" in first
    assert str(WATER) not in first and str(TENTS) not in first

    workbook = client.get(base + ".xlsx")
    assert workbook.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in workbook.headers["Content-Disposition"]
    sheet, rows = _sheet_rows(workbook.data)
    values = [cell.value for row in rows for cell in row]
    assert WATER not in values and TENTS not in values and str(WATER) not in values


def test_a_keeper_of_another_site_finds_no_count_sheet(app, manager, shelf, make_user):
    stocktake = _open(manager)
    stranger = page_client(app, make_user("keeper", sites=["GT-NH"]))
    for suffix in ("", ".pdf", ".xlsx"):
        assert stranger.get(f"/stocktakes/{stocktake['id']}/count-sheet{suffix}").status_code == 404
    for path in ("/stocktakes/999999/count-sheet", "/stocktakes/99999999999999999999/count-sheet.pdf",
                 "/stocktakes/99999999999999999999/variance-sheet"):
        assert stranger.get(path).status_code == 404, path


def test_a_keeper_is_refused_the_variance_sheet(app, keeper, manager, shelf):
    stocktake = _open(manager)
    client = page_client(app, "xb")
    for suffix in ("", ".pdf", ".xlsx"):
        answer = client.get(f"/stocktakes/{stocktake['id']}/variance-sheet{suffix}")
        assert answer.status_code == 403, suffix
        assert str(WATER) not in answer.get_data(as_text=True)


def test_the_variance_sheet_gives_the_figures_reasons_and_approval(app, keeper, manager, shelf, make_user):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["masks"], WATER - 10)   # 10 boxes short: −25.00 元
    _count(keeper, stocktake, shelf["beds"], TENTS + 3)     # 3 beds over: +900.00 元
    # The generator is never counted: it counts as 0 (−1, no price: "—").
    found = keeper.post(f"/stocktakes/{stocktake['id']}/found",
                        {"material": "QUILT", "quantity": 4, "lot": "Q-9", "note": "墙角"})
    assert found.status_code == 201, found.json
    assert keeper.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    reviewer = page_client(app, "boss")
    base = f"/stocktakes/{stocktake['id']}/variance-sheet"

    draft = reviewer.get(base).get_data(as_text=True)
    assert "待审批" in draft
    for figure in (str(WATER), str(WATER - 10), "-10", "-25.00", "+3", "900.00", "未盘", "—", "棉被", "Q-9"):
        assert figure in draft, figure
    assert re.search(r"盘盈合计</dt><dd>数量 7，金额 900.00 元", draft), "3 beds and 4 quilts"
    assert re.search(r"盘亏合计</dt><dd>数量 11，金额 25.00 元", draft)
    assert "另有 2 项无参考单价" in draft  # the generator and the quilts
    [pdf_draft] = _pdf_pages(reviewer.get(base + ".pdf").data)
    assert "待审批" in pdf_draft and "-25.00" in pdf_draft and "900.00" in pdf_draft

    approved = manager.post(f"/stocktakes/{stocktake['id']}/approve",
                            {"reasons": {shelf["masks"]: "受潮报废"}})
    assert approved.status_code == 200, approved.json
    [booked] = approved.json["found"]
    page = reviewer.get(base).get_data(as_text=True)
    assert "待审批" not in page
    assert "受潮报废" in page and page.count("未说明") == 2, "the beds and the generator had no reason"
    assert "审批人" in page and "审批时间" in page
    assert re.search(r"盘盈合计</dt><dd>数量 7，金额 900.00 元", page)
    only_variances = page.count('<td class="mono">')
    everything = reviewer.get(base + "?all=1").get_data(as_text=True)
    assert everything.count('<td class="mono">') == only_variances, "every line of this one differs"
    label = booked["label"]
    assert format_label(label) in page, "found goods show their new label once approved"

    text = "".join(_pdf_pages(reviewer.get(base + ".pdf").data))
    assert "受潮报废" in text and "未说明" in text and "待审批" not in text and format_label(label) in text

    sheet, rows = _sheet_rows(reviewer.get(base + ".xlsx").data)
    header = [cell.value for cell in rows[2]]
    assert sheet.freeze_panes == "A4" and header[:2] == ["类型", "标签"]
    by_label = {row[1].value: row for row in rows[3:] if row[1].value}
    masks = by_label[format_label(shelf["masks"])]
    expected, counted, delta, price, value = (masks[header.index(name)] for name in (
        "账面数量", "实盘数量", "差异", "单价（元）", "差异金额（元）"))
    assert (expected.value, counted.value, delta.value) == (WATER, WATER - 10, -10)
    assert (price.value, value.value) == (2.5, -25)
    assert all(cell.data_type == "n" for cell in (expected, counted, delta, price, value))
    assert masks[header.index("批号/序列号")].value == "'=1+1", "formula text is neutralised"
    generator = by_label[format_label(shelf["generator"])]
    assert generator[header.index("实盘数量")].value == 0 and generator[header.index("未盘")].value
    assert generator[header.index("单价（元）")].value == "—"
    totals = {row[0].value: row for row in rows if row[0].value in ("盘盈合计", "盘亏合计")}
    assert totals["盘盈合计"][header.index("差异")].value == 7
    assert totals["盘亏合计"][header.index("差异金额（元）")].value == -25


def test_a_long_count_sheet_numbers_its_pages_and_repeats_its_header(app, keeper, manager, county, catalog):
    serials = [f"SN-{n:03d}" for n in range(240)]
    items = receive(keeper, material="GEN", quantity=len(serials), serials=serials)["items"]
    stocktake = _open(manager)
    client = page_client(app, "xb")
    data = client.get(f"/stocktakes/{stocktake['id']}/count-sheet.pdf").data
    pages = _pdf_pages(data)
    assert len(pages) >= 240 // 17 + 1, "rows a QR code tall: about 16 a page"
    for number, text in enumerate(pages, start=1):
        assert f"第{number}页共{len(pages)}页" in text
        assert "实盘数量" in text, f"the header row on page {number}"
    everything = "".join(pages)
    assert all(everything.count(serial) == 1 for serial in serials), "every line once"
    assert "盘点人签字" in pages[-1] and "盘点人签字" not in pages[0]

    document = pypdfium2.PdfDocument(data)
    try:
        image = document[1].render(scale=300 / 72).to_pil()
    finally:
        document.close()
    base = app.config["PUBLIC_BASE_URL"]
    urls = {result.text for result in zxingcpp.read_barcodes(image)}
    labels = {f"{base}/s/{item['label']}" for item in items}
    assert len(urls) >= 14 and urls <= labels, "the QR codes on the page read as the labels' scan URLs"

    sheet, rows = _sheet_rows(client.get(f"/stocktakes/{stocktake['id']}/count-sheet.xlsx").data)
    header = [cell.value for cell in rows[2]]
    assert header[header.index("实盘数量")] and len(rows) == 3 + len(serials)
    assert all(row[header.index("实盘数量")].value is None for row in rows[3:]), "the count column is empty"
    assert [row[0].value for row in rows[3:6]] == [1, 2, 3] and rows[3][0].data_type == "n"

    reviewer = page_client(app, "boss")
    pages = _pdf_pages(reviewer.get(f"/stocktakes/{stocktake['id']}/variance-sheet.pdf?all=1").data)
    assert len(pages) > 1 and all("差异金额" in text for text in pages)
    assert all(f"共{len(pages)}页" in text for text in pages)


@pytest.mark.browser
def test_the_count_sheet_prints_from_the_browser_over_pages_with_its_header_on_each(
        app, live_server, page, keeper, manager, county, catalog):
    items = receive(keeper, material="GEN", quantity=40, serials=[f"SN-{n:03d}" for n in range(40)])["items"]
    stocktake = _open(manager)
    page.goto(f"{live_server}/login")
    page.fill("#username", "xb")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server}/stocktakes/{stocktake['id']}/count-sheet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the table scrolls inside the page"

    printed = page.pdf(format="A4", print_background=True)
    pages = _pdf_pages(printed)
    assert len(pages) >= 3
    assert all("实盘数量" in text for text in pages), "the header row on every page"
    assert "应急物资" not in pages[0], "the top bar is not printed"
    assert "监盘人签字" in pages[-1]
    document = pypdfium2.PdfDocument(printed)
    try:
        image = document[0].render(scale=300 / 72).to_pil()
    finally:
        document.close()
    base = app.config["PUBLIC_BASE_URL"]
    read = {result.text for result in zxingcpp.read_barcodes(image)}
    assert len(read) >= 10 and read <= {f"{base}/s/{item['label']}" for item in items}
