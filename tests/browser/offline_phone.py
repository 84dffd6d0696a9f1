"""Steps the offline-app browser tests share: a keeper's phone signs in, registers itself, opens
the app its service worker keeps, and records what the keeper hands out; and what the server
then holds."""

import sqlalchemy as sa
from playwright.sync_api import expect

from inventory.db import db
from inventory.stock.models import Movement, StockItem
from tests.browser.conftest import PHONE
from tests.factories import PASSWORD

TOKEN_REFUSED = "本机令牌已失效"


def new_phone(browser, **options):
    """A 360-px touch phone of its own (its own IndexedDB and service worker)."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True, **options)
    return context, context.new_page()


def sign_in(page, base, username="xb"):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(f"{base}/login")


def register_and_open_app(page, base, name="仓库手机", site_name="新坝镇"):
    """登记本机 on the devices page, then the app, kept by its worker, with the site's snapshot."""
    page.goto(f"{base}/offline/devices")
    page.fill("#device-name", name)
    page.click("text=登记本机")
    expect(page.locator("[data-register-state]")).to_contain_text("本机已登记")
    page.click("[data-open-app]")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    expect(page.locator("[data-snapshot-age]")).to_contain_text(site_name)
    expect(page.locator("[data-network]")).to_have_text("已联网")


def record_issue(page, label, quantity, recipient="受灾户王", *, pending=None):
    page.click("[data-mode=issue]")
    page.fill("[data-form=issue] [name=label]", label)
    page.fill("[data-form=issue] [name=quantity]", str(quantity))
    page.fill("[data-form=issue] [name=recipient]", recipient)
    page.click("text=记录发放")
    expect(page.locator("[data-form=issue] [data-saved]")).to_have_text("已记录")
    if pending is not None:
        expect(page.locator("[data-pending]")).to_have_text(str(pending))


def settled(page):
    """Wait until the page is not sending (a send it began may still be under way)."""
    page.evaluate("window.offlineSync.idle()")


def sync_now(page):
    page.click("[data-sync-now]")


def expect_drained(page, done):
    expect(page.locator("[data-pending]")).to_have_text("0", timeout=30_000)
    outbox = page.locator("[data-outbox] [data-status=done]")
    try:
        expect(outbox).to_have_count(done)
    except AssertionError as error:  # say what the phone holds, not just how many were done
        raise AssertionError(f"{error}\n{page.locator('[data-outbox]').inner_text()}") from None


def mark_all_pending(page):
    """As a phone that heard no answer: every record waits to be sent again."""
    page.evaluate("""async () => {
        const db = await window.offlineStore;
        const tx = db.transaction("outbox", "readwrite");
        for (const record of await tx.store.getAll()) { record.status = "pending"; await tx.store.put(record); }
        await tx.done;
    }""")


def movements(app, kind) -> list[tuple[str, int]]:
    """(label, quantity) of every movement of ``kind`` on the server, sorted."""
    with app.app_context():
        return sorted(tuple(row) for row in db.session.execute(
            sa.select(StockItem.label, Movement.quantity).join(StockItem, Movement.item_id == StockItem.id)
            .where(Movement.kind == kind)))


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
