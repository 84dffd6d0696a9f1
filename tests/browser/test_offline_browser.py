"""三断 in real Chromium (issue 18): a keeper registers the phone, the app is kept by its service
worker, and with the network gone the page reloads, records issues into the outbox and, once
the network is back, sends them — each exactly once on the server."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from inventory.db import db
from inventory.stock.models import Movement, StockItem
from inventory.stocktakes.models import quarter_of
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
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True,
                                  accept_downloads=True)
    yield context, context.new_page()
    context.close()


def test_a_keeper_issues_lends_and_counts_offline_through_a_reload_and_the_outbox_drains_once_online(
        app, live_server, keeper, manager, keeper_phone, today):
    context, page = keeper_phone
    labels = [receive(keeper, material=material, quantity=10)["items"][0]["label"]
              for material in ("WATER", "QUILT", "WATER")]
    labels[2] = receive(keeper, quantity=10, lot="L2")["items"][0]["label"]  # another lot of water
    tent = receive(keeper, material="TENT", quantity=4)["items"][0]["label"]  # returnable: a loan
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
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
        page.fill("[data-issue-form] [name=label]", label.lower())
        page.fill("[data-issue-form] [name=quantity]", str(quantity))
        page.fill("[data-issue-form] [name=recipient]", "受灾户王")
        page.click("text=记录发放")
        expect(page.locator("[data-pending]")).to_have_text(str(count))
        expect(page.locator("[data-saved]")).to_have_text("已记录")
        expect(page.locator("[data-issue-form] [name=label]")).to_have_value("")  # ready for the next
    # A tent lent to a household, and a stocktake line counted.
    page.fill("[data-issue-form] [name=label]", tent)
    page.fill("[data-issue-form] [name=recipient]", "受灾户李")
    page.click("text=记录发放")
    expect(page.locator("[data-pending]")).to_have_text("4")
    page.fill("[data-count-form] [name=label]", labels[1])
    page.fill("[data-count-form] [name=counted]", "7")
    page.click("text=记录清点")
    expect(page.locator("[data-pending]")).to_have_text("5")
    assert _issues(app) == []  # nothing reached the server
    # What waits can be taken off the phone as a file, each record whole with its key.
    with page.expect_download() as download:
        page.click("[data-export]")
    exported = json.loads(Path(download.value.path()).read_text())
    assert [record["kind"] for record in exported["operations"]] == ["issue"] * 4 + ["count"]
    assert len({record["key"] for record in exported["operations"]}) == 5

    context.set_offline(False)
    page.click("[data-sync-now]")
    expect(page.locator("[data-pending]")).to_have_text("0", timeout=30_000)
    expect(page.locator("[data-outbox] [data-status=done]")).to_have_count(5)
    issued = sorted([*zip(labels, (2, 3, 1), strict=True), (tent, 1)])
    assert _issues(app) == issued
    assert keeper.get("/issues?outstanding=true").json["total"] == 1  # the tent is out on loan
    lines = manager.get(f"/stocktakes/{stocktake['id']}").json["lines"]
    assert {line["label"]: line["counted"] for line in lines}[labels[1]] == 7
    # Sent again (a phone that heard no answer): nothing more happens.
    page.evaluate("""async () => {
        const db = await window.offlineStore;
        const tx = db.transaction("outbox", "readwrite");
        for (const record of await tx.store.getAll()) { record.status = "pending"; await tx.store.put(record); }
        await tx.done;
    }""")
    page.click("[data-sync-now]")
    expect(page.locator("[data-outbox] [data-status=done]")).to_have_count(5)
    expect(page.locator("[data-pending]")).to_have_text("0")
    assert _issues(app) == issued
    assert check_ledger(app)[0] == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
