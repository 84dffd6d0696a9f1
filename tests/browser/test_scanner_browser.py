"""Chromium with a fake camera that films printed labels: scanning opens the item, and the
issue form fills itself by scanning (QUALITY.md; issue 4 acceptance)."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.factories import PASSWORD, receive

pytestmark = pytest.mark.browser


def _log_in(page, base, path):
    page.goto(f"{base}{path}")
    page.fill("#username", "xb")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_scanning_a_label_opens_the_item(app, live_server, camera_page, keeper):
    [item] = receive(keeper, material="TENT", quantity=7, lot="ZP-1")["items"]
    page = camera_page([f"{app.config['PUBLIC_BASE_URL']}/s/{item['label']}"])
    _log_in(page, live_server, "/scan")
    expect(page).to_have_url(f"{live_server}/s/{item['label']}", timeout=15_000)
    expect(page.locator("h1")).to_have_text("棉帐篷")
    expect(page.locator(".bigqty")).to_contain_text("7")


def test_a_foreign_code_is_refused_with_a_message(app, live_server, camera_page, keeper):
    page = camera_page(["https://example.com/not-ours"])
    _log_in(page, live_server, "/scan")
    expect(page.locator("[data-message]")).to_have_text("这不是本系统的标签", timeout=15_000)
    expect(page).to_have_url(f"{live_server}/scan")


def test_continuous_scanning_builds_an_issue_of_two_items(app, live_server, camera_page, keeper):
    [tents] = receive(keeper, material="TENT", quantity=10, lot="ZP-1")["items"]
    [quilts] = receive(keeper, material="QUILT", quantity=10, lot="BZ-1")["items"]
    base = app.config["PUBLIC_BASE_URL"]
    page = camera_page([f"{base}/s/{tents['label']}", f"{base}/s/{quilts['label']}"])
    _log_in(page, live_server, "/stock/issue?site=GT-XB")
    page.fill("#recipient_name", "和平村三社")
    page.click("[data-scan-toggle]")
    scanned = page.locator("[data-scanned] li")
    expect(scanned).to_have_count(2, timeout=20_000)
    page.click("[data-scan-toggle]")  # stop the camera before counting what was scanned
    expect(scanned.filter(has_text="棉帐篷")).to_have_count(1)
    expect(scanned.filter(has_text="棉被")).to_have_count(1)
    taken = {}
    for row in range(4):
        label = page.input_value(f"#lines-{row}-label") if page.locator(f"#lines-{row}-label").count() else ""
        if label:
            taken[label] = int(page.input_value(f"#lines-{row}-quantity"))
    assert set(taken) == {tents["label"], quilts["label"]}
    page.click("button:has-text('确认发放')")
    expect(page.locator(".doc-title")).to_have_text("救灾物资发放单")
    for item in (tents, quilts):
        assert keeper.get(f"/stock/{item['label']}").json["quantity"] == 10 - taken[item["label"]]
    assert re.search(r"FF-\d{4}-\d{6}", page.content())


def test_the_svg_qr_on_an_item_page_reads_as_its_scan_url(app, live_server, page, keeper):
    import zxingcpp

    [item] = receive(keeper, quantity=2)["items"]
    _log_in(page, live_server, f"/stock/item/{item['label']}")
    shot = page.locator("img.qr").screenshot()
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert result.text == f"{app.config['PUBLIC_BASE_URL']}/s/{item['label']}"
