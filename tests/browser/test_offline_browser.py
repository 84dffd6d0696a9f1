"""三断 in real Chromium (issue 18): a keeper registers the phone, the app is kept by its service
worker, and with the network gone the page reloads, records issues into the outbox and, once
the network is back, sends them — each exactly once on the server."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from inventory.db import db
from inventory.stock.models import Movement, StockItem
from tests.browser.conftest import PHONE
from tests.factories import PASSWORD, check_ledger, receive

pytestmark = pytest.mark.browser


def _issues(app) -> list[tuple[str, int]]:
    with app.app_context():
        return sorted(tuple(row) for row in db.session.execute(
            sa.select(StockItem.label, -Movement.quantity).join(StockItem, Movement.item_id == StockItem.id)
            .where(Movement.kind == "issue")))


@pytest.fixture
def keeper_phone(browser):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    yield context, context.new_page()
    context.close()


def test_a_keeper_issues_offline_through_a_reload_and_the_outbox_drains_once_online(
        app, live_server, keeper, keeper_phone):
    context, page = keeper_phone
    labels = [receive(keeper, material=material, quantity=10)["items"][0]["label"]
              for material in ("WATER", "QUILT", "TENT")]
    page.goto(f"{live_server}/login")
    page.fill("#username", "xb")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/offline/devices")
    page.fill("#device-name", "仓库手机")
    page.click("text=登记本机")
    expect(page.locator("[data-register-state]")).to_contain_text("本机已登记")
    page.click("[data-open-app]")
    # Kept by the worker, and the snapshot is there.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    expect(page.locator("[data-snapshot-age]")).to_contain_text("新坝镇")
    expect(page.locator("[data-network]")).to_contain_text("已联网")

    context.set_offline(True)
    page.reload()
    expect(page.locator("[data-registered]")).to_be_visible()
    page.click("[data-sync-now]")
    expect(page.locator("[data-network]")).to_contain_text("离线")
    for count, (label, quantity) in enumerate(zip(labels, (2, 3, 1), strict=True), start=1):
        page.fill("[name=label]", label.lower())
        page.fill("[name=quantity]", str(quantity))
        page.fill("[name=recipient]", "受灾户王")
        page.click("text=记录发放")
        expect(page.locator("[data-pending]")).to_have_text(str(count))
        expect(page.locator("[data-saved]")).to_have_text("已记录")
        expect(page.locator("[name=label]")).to_have_value("")  # ready for the next
    assert _issues(app) == []  # nothing reached the server

    context.set_offline(False)
    page.click("[data-sync-now]")
    expect(page.locator("[data-pending]")).to_have_text("0", timeout=30_000)
    expect(page.locator("[data-outbox] [data-status=done]")).to_have_count(3)
    assert _issues(app) == sorted(zip(labels, (2, 3, 1), strict=True))
    # Sent again (a phone that heard no answer): nothing more happens.
    page.evaluate("""async () => {
        const db = await window.offlineStore;
        const tx = db.transaction("outbox", "readwrite");
        for (const record of await tx.store.getAll()) { record.status = "pending"; await tx.store.put(record); }
        await tx.done;
    }""")
    page.click("[data-sync-now]")
    expect(page.locator("[data-outbox] [data-status=done]")).to_have_count(3)
    expect(page.locator("[data-pending]")).to_have_text("0")
    assert _issues(app) == sorted(zip(labels, (2, 3, 1), strict=True))
    assert check_ledger(app)[0] == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
