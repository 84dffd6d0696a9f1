"""Chromium with a fake camera that films printed labels: scanning opens the item, and the
a page without HTTPS says what to do (QUALITY.md; issues 4 and 15; the scan-to-issue flows are
in test_keeper_flows.py)."""

import io

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


def test_without_https_the_keeper_hears_what_to_do(app, live_server, camera_page, keeper):
    """Browsers keep the camera from plain-HTTP pages (localhost aside): the message names the
    way out — the administrator, the phone's own camera app, the label typed in."""
    page = camera_page([None])
    page.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
    _log_in(page, live_server, "/scan")
    message = page.locator("[data-message]")
    expect(message).to_contain_text("HTTPS", timeout=15_000)
    expect(message).to_contain_text("管理员")
    expect(message).to_contain_text("手机自带的相机")
    page.goto(f"{live_server}/stock/issue")
    page.click("[data-scan-toggle]")
    expect(page.locator("[data-message]")).to_contain_text("手机自带的相机")


def test_the_svg_qr_on_an_item_page_reads_as_its_scan_url(app, live_server, page, keeper):
    import zxingcpp

    [item] = receive(keeper, quantity=2)["items"]
    _log_in(page, live_server, f"/stock/item/{item['label']}")
    shot = page.locator("img.qr").screenshot()
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert result.text == f"{app.config['PUBLIC_BASE_URL']}/s/{item['label']}"
