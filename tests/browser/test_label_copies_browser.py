"""Real Chromium on a keeper's phone (360 px, touch): 50 boxes of water come in and get 50 labels,
the first in cell 7 of a half-used A4 sheet (issue 15 acceptance). The flow counts its taps
(tests/browser/conftest.py, Finger)."""

import pytest
from playwright.sync_api import expect

from inventory.labels.codes import format_label
from tests.browser.conftest import PHONE
from tests.labels.sheets import cells_holding

pytestmark = pytest.mark.browser

# log in 3 · 物资 (open, choose) 2 · 数量 · 确认入库 · 从第几格开始 · 打印标签（A4）
RECEIVE_AND_PRINT_TAPS = 9


@pytest.fixture
def keeper_phone(browser):
    """A 360-px touch screen, speaking Chinese."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    yield context.new_page()
    context.close()


def test_fifty_boxes_get_fifty_labels_from_cell_seven(app, live_server, keeper_phone, finger, keeper):
    page = keeper_phone
    taps = finger(page)
    taps.log_in(live_server, "xb", "/stock/receive")
    expect(page.locator("h1")).to_have_text("入库")
    expect(page.locator("#site")).to_have_value("GT-XB")  # the keeper's own site, already chosen
    taps.choose("#material", "WATER")
    taps.type("#quantity", "50")
    taps.tap("button:has-text('确认入库')")
    expect(page.locator("h1")).to_contain_text("入库单")
    number = page.url.rsplit("/", 1)[-1]

    form = page.locator("form[data-receipt-labels]")
    expect(form.locator("[name=copies]")).to_have_value("50")  # a label for every box
    expect(form).to_contain_text("每箱一张，共 50 箱")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    taps.type("form[data-receipt-labels] [name=start]", "7")
    # The PDF opens in the browser's viewer, to be printed from there; the viewer stands in for
    # the body, so the same URL is fetched again with the page's own session.
    with page.expect_response(lambda answer: "/labels/receipt/" in answer.url) as answered:
        taps.tap("form[data-receipt-labels] button[value=a4]")
    answer = answered.value
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    assert f"/labels/receipt/{number}.pdf?" in answer.url and "start=7" in answer.url
    assert f"filename=\"labels-{number}-50-a4.pdf\"" in answer.headers["content-disposition"]
    document = page.request.get(answer.url).body()

    [item] = keeper.get("/stock?site=GT-XB").json["items"]
    pages = cells_holding(document, format_label(item["label"]))
    assert [len(cells) for cells in pages] == [18, 24, 8]
    assert pages[0][0] == 7 and pages[1][0] == 1  # row 3, first column; the next sheet from the top
    assert sum(map(len, pages)) == 50
    assert taps.taps <= RECEIVE_AND_PRINT_TAPS, taps.taps
