"""Real Chromium on a phone-sized screen: a keeper receives a lot, lends part of it, takes it
back, and the stock page and the ledger agree."""

import pytest
from playwright.sync_api import expect

from inventory import clock
from tests.factories import PASSWORD, in_days, make_material

pytestmark = pytest.mark.browser


def test_a_keeper_receives_lends_and_takes_back_tents(app, live_server, page, make_user, county):
    make_material(app, "TENT", "棉帐篷", unit="顶", returnable=True)
    make_user("keeper", username="xb", sites=["GT-XB"])
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server}/stock/receive")
    page.fill("#username", "xb")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("入库")
    page.select_option("#site", "GT-XB")
    page.select_option("#material", "TENT")
    page.fill("#quantity", "20")
    page.fill("#lot", "ZP-2026-01")
    page.click("button:has-text('确认入库')")
    expect(page.locator("h1")).to_contain_text("入库单")
    expect(page.locator(".list.stock")).to_contain_text("20")

    page.goto(f"{live_server}/stock/issue")
    page.fill("#recipient_name", "和平村村委会")
    page.select_option("#recipient_type", "unit")
    page.select_option("#lines-0-material", "TENT")
    page.fill("#lines-0-quantity", "6")
    page.fill("#lines-0-due_back", in_days(clock.today(), 10))
    page.click("button:has-text('确认发放')")
    expect(page.locator("h1")).to_have_text("救灾物资发放单")
    expect(page.locator(".copy-1 table")).to_contain_text("未还 6")

    page.click("text=登记归还")
    page.fill("#lines-0-quantity", "4")
    page.click("button:has-text('确认归还')")
    expect(page.locator("h1")).to_have_text("救灾物资归还单")
    expect(page.locator(".copy-1 table")).to_contain_text("未还 2")

    page.goto(f"{live_server}/stock/?site=GT-XB")
    expect(page.locator(".list.stock .qty").first).to_contain_text("18")
    page.goto(f"{live_server}/stock/ledger?site=GT-XB")
    quantities = page.locator("table.ledger tbody tr td.num:nth-of-type(4)").all_inner_texts()
    balances = page.locator("table.ledger tbody tr td.num:nth-of-type(5)").all_inner_texts()
    assert quantities == ["+4", "-6", "+20"] and balances == ["18", "14", "20"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
