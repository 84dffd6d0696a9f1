"""Moving an Excel ledger in, in real Chromium (issue 19): a manager downloads the opening-stock
template, fills it, uploads it with two bad rows, sees both at their rows, fixes them, commits,
watches the progress bar of the real job worker, and finds the stock from the site's page."""

import re

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.offline_phone import sign_in
from tests.factories import check_ledger
from tests.spreadsheets.test_import_worker import queue  # noqa: F401  (the job worker fixture)

pytestmark = pytest.mark.browser
ROWS = 60_000  # the commit takes many of the worker's small batches: the bar is seen moving


def _fill(template: str, path: str, bad: bool) -> None:
    book = openpyxl.load_workbook(template)
    sheet = book["数据"]
    for n in range(ROWS):
        sheet.append(["GT-XB", "WATER", 1, f"L{n:05d}"])
    sheet.append(["GT-NOPE" if bad else "GT-XB", "QUILT", 5])      # row ROWS + 2
    sheet.append(["GT-XB", "TENT", "十" if bad else 10, "T-1"])      # row ROWS + 3
    book.save(path)


def test_a_manager_moves_an_excel_ledger_in_fixing_two_bad_rows_first(
        app, live_server, browser, make_user, county, catalog, queue, tmp_path):  # noqa: F811
    make_user("manager", username="chief")
    queue()  # the job worker, beside the web server
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, "chief")
        page.goto(f"{live_server}/imports/")
        with page.expect_download() as download:
            page.click("text=下载模板：期初库存")
        template = str(tmp_path / "template.xlsx")
        download.value.save_as(template)

        first, fixed = str(tmp_path / "期初库存.xlsx"), str(tmp_path / "期初库存-修正.xlsx")
        _fill(template, first, bad=True)
        page.set_input_files("input[name=file]", first)
        page.click("text=上传并检查")
        expect(page.locator("[data-import-status]")).to_have_text("有错误", timeout=120_000)
        problems = page.locator("[data-problems] tbody tr")
        expect(problems).to_have_count(2)
        expect(problems.nth(0)).to_contain_text(f"{ROWS + 2}")
        expect(problems.nth(0)).to_contain_text("站点编码不存在")
        expect(problems.nth(1)).to_contain_text(f"{ROWS + 3}")
        expect(problems.nth(1)).to_contain_text("正整数")
        assert page.locator("text=确认导入").count() == 0

        _fill(template, fixed, bad=False)
        page.goto(f"{live_server}/imports/")
        page.set_input_files("input[name=file]", fixed)
        page.click("text=上传并检查")
        expect(page.locator("[data-import-status]")).to_have_text("可导入", timeout=120_000)
        expect(page.locator("[data-count-new]")).to_have_text(str(ROWS + 2))
        page.click("text=确认导入")
        # The bar moves while the worker books, batch by batch; then the page says it is done.
        page.wait_for_function("() => { const bar = document.querySelector('[data-bar]');"
                               " return bar && bar.value > 0 && bar.value < bar.max; }", timeout=120_000)
        expect(page.locator("[data-import-status]")).to_have_text("已导入", timeout=120_000)

        page.goto(f"{live_server}/sites/GT-XB")
        page.click("text=查看库存")
        expect(page.locator("main")).to_contain_text("棉帐篷")
        expect(page.locator("main")).to_contain_text(re.compile("棉被"))
        assert check_ledger(app)[0] == 0
    finally:
        context.close()
