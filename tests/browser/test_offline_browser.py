"""三断 in real Chromium (issue 18): a keeper registers the phone, the app is kept by its service
worker, and with the network gone — cut at the phone, or the server's process down — the page
reloads, scans, records issues, a loan and a count into the outbox and, once the server answers
again, sends them: each exactly once on the server, even when the answers were lost on the way."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from inventory import clock
from inventory.stocktakes.models import quarter_of
from tests.browser.network import AnswerDroppingProxy, StoppableServer
from tests.browser.offline_phone import (
    expect_drained,
    mark_all_pending,
    movements,
    new_phone,
    no_horizontal_scroll,
    record_issue,
    register_and_open_app,
    settled,
    sign_in,
    sync_now,
)
from tests.factories import check_ledger, receive

pytestmark = pytest.mark.browser


@pytest.fixture
def phone_server(app):
    """The app on an address that stays the phone's origin while the server stops and starts."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = StoppableServer(app)
    server.start()
    yield server
    if server.running:
        server.stop()


@pytest.mark.parametrize("cut", ["phone offline", "server stopped"])
def test_a_keeper_scans_issues_lends_and_counts_offline_through_a_reload_and_the_outbox_drains_once(
        app, phone_server, camera_page, keeper, manager, today, cut):
    labels = [receive(keeper, material=material, quantity=10)["items"][0]["label"]
              for material in ("WATER", "QUILT")]
    labels.append(receive(keeper, quantity=10, lot="L2")["items"][0]["label"])  # another lot of water
    tent = receive(keeper, material="TENT", quantity=4)["items"][0]["label"]  # returnable: a loan
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
    page = camera_page([labels[0]], accept_downloads=True)  # the camera films the first label
    base = phone_server.url
    sign_in(page, base)
    register_and_open_app(page, base)

    if cut == "phone offline":
        page.context.set_offline(True)
    else:
        phone_server.stop()
    page.reload()
    expect(page.locator("[data-registered]")).to_be_visible()
    sync_now(page)
    expect(page.locator("[data-network]")).to_contain_text("离线")
    # The first label comes from the camera (the decoder is kept by the worker too).
    page.click("[data-scan-toggle]")
    expect(page.locator("[data-form=issue] [name=label]")).to_have_value(labels[0], timeout=20_000)
    page.click("[data-scan-toggle]")
    record_issue(page, labels[0], 2, pending=1)
    expect(page.locator("[data-form=issue] [name=label]")).to_have_value("")  # ready for the next
    record_issue(page, labels[1].lower(), 3, pending=2)  # typed as the keeper reads it
    record_issue(page, labels[2], 1, pending=3)
    record_issue(page, tent, 1, "受灾户李", pending=4)  # a tent lent to a household
    page.click("[data-mode=count]")
    page.fill("[data-form=count] [name=label]", labels[1])
    page.fill("[data-form=count] [name=counted]", "7")
    page.click("text=记录清点")
    expect(page.locator("[data-pending]")).to_have_text("5")
    assert movements(app, "issue") == []  # nothing reached the server
    # What waits can be taken off the phone as a file, each record whole with its key.
    with page.expect_download() as download:
        page.click("[data-export]")
    exported = json.loads(Path(download.value.path()).read_text())
    assert [record["kind"] for record in exported["operations"]] == ["issue"] * 4 + ["count"]
    assert len({record["key"] for record in exported["operations"]}) == 5

    if cut == "phone offline":
        page.context.set_offline(False)
    else:
        phone_server.start()
    sync_now(page)
    expect_drained(page, 5)
    issued = sorted([*zip(labels, (-2, -3, -1), strict=True), (tent, -1)])
    assert movements(app, "issue") == issued
    assert keeper.get("/issues?outstanding=true").json["total"] == 1  # the tent is out on loan
    lines = manager.get(f"/stocktakes/{stocktake['id']}").json["lines"]
    assert {line["label"]: line["counted"] for line in lines}[labels[1]] == 7
    # Sent again (a phone that heard no answer): nothing more happens.
    mark_all_pending(page)
    sync_now(page)
    expect_drained(page, 5)
    assert movements(app, "issue") == issued
    assert check_ledger(app)[0] == 0
    assert no_horizontal_scroll(page)


def test_answers_lost_after_the_server_committed_are_sent_again_and_change_nothing(
        app, phone_server, browser, keeper):
    labels = [receive(keeper, quantity=10, lot=f"L{n}")["items"][0]["label"] for n in range(3)]
    proxy = AnswerDroppingProxy(phone_server.port)
    context, page = new_phone(browser)
    try:
        sign_in(page, proxy.url)
        register_and_open_app(page, proxy.url)
        proxy.dropping = "/api/v1/sync"
        for count, label in enumerate(labels, start=1):
            record_issue(page, label, count)
        expect(page.locator("[data-network]")).to_contain_text("离线", timeout=15_000)
        settled(page)
        # The server did its work each time; the phone heard nothing and still holds them.
        expect(page.locator("[data-pending]")).to_have_text("3")
        assert proxy.dropped >= 1
        applied = movements(app, "issue")
        assert len(applied) == len({label for label, _ in applied})  # each once, whatever was sent

        proxy.dropping = None
        sync_now(page)
        expect_drained(page, 3)
        assert movements(app, "issue") == sorted((label, -count) for count, label in enumerate(labels, start=1))
        assert check_ledger(app)[0] == 0
    finally:
        context.close()
        proxy.close()


def test_72_hours_offline_the_app_still_opens_saves_and_later_syncs(app, phone_server, browser, keeper):
    """No session, CSRF token or device token runs out on the sync path while the phone is
    offline for three days — the phone's clock and the server's both moved on 72 hours."""
    label = receive(keeper, quantity=10)["items"][0]["label"]
    context, page = new_phone(browser)
    try:
        context.clock.install()
        sign_in(page, phone_server.url)
        register_and_open_app(page, phone_server.url)
        expect(page.locator("[data-snapshot-age]")).to_have_class("status age-fresh")
        context.set_offline(True)
        page.clock.fast_forward(72 * 3600 * 1000)
        later = clock.now() + dt.timedelta(hours=72, minutes=1)
        with clock.travel(later):
            page.reload()
            expect(page.locator("[data-registered]")).to_be_visible()
            expect(page.locator("[data-snapshot-age]")).to_have_class("status age-stale")  # red after 72 h
            record_issue(page, label, 4, pending=1)
            context.set_offline(False)
            sync_now(page)
            expect_drained(page, 1)
            assert movements(app, "issue") == [(label, -4)]
            expect(page.locator("[data-snapshot-age]")).to_have_class("status age-fresh")
        assert check_ledger(app)[0] == 0
    finally:
        context.close()


def test_an_update_waits_for_the_outbox_to_empty_and_then_takes_over(app, phone_server, browser, keeper):
    label = receive(keeper, quantity=10)["items"][0]["label"]
    proxy = AnswerDroppingProxy(phone_server.port)
    context, page = new_phone(browser)
    try:
        sign_in(page, proxy.url)
        register_and_open_app(page, proxy.url)
        old = page.locator("body").get_attribute("data-version")
        proxy.dropping = "/api/v1/sync"  # the record stays on the phone
        record_issue(page, label, 1)
        expect(page.locator("[data-network]")).to_contain_text("离线", timeout=15_000)
        settled(page)
        page.evaluate("window.notReloaded = true")
        app.extensions["offline_version"] = "0123456789abcdef"  # a new version is deployed
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        expect(page.locator("[data-update]")).to_be_visible(timeout=15_000)
        page.wait_for_function("async () => (await navigator.serviceWorker.getRegistration()).waiting !== null")
        assert page.evaluate("window.notReloaded") is True  # a record waits: no reload
        assert page.locator("body").get_attribute("data-version") == old

        proxy.dropping = None
        sync_now(page)
        expect(page.locator("body")).to_have_attribute("data-version", "0123456789abcdef", timeout=15_000)
        assert page.evaluate("window.notReloaded === undefined")
        expect(page.locator("[data-pending]")).to_have_text("0")
    finally:
        context.close()
        proxy.close()


def test_offline_pages_fit_a_phone_and_load_nothing_from_outside_static(app, phone_server, browser, keeper):
    receive(keeper, quantity=10)
    context, page = new_phone(browser)
    fetched = []
    context.on("request", lambda request: fetched.append(request.url))
    try:
        sign_in(page, phone_server.url)
        fetched.clear()
        register_and_open_app(page, phone_server.url)
        context.set_offline(True)
        page.reload()
        expect(page.locator("[data-registered]")).to_be_visible()
        for mode in ("issue", "return", "receive", "count"):
            page.click(f"[data-mode={mode}]")
            assert no_horizontal_scroll(page), mode
        own = ("/static/", "/offline/", "/sw.js", "/manifest.webmanifest", "/api/v1/")
        assert fetched and all(url.startswith(phone_server.url) for url in fetched), fetched
        assert all(url[len(phone_server.url):].startswith(own) for url in fetched), fetched
    finally:
        context.close()


def test_signing_out_with_records_waiting_asks_first_and_keeps_them(app, live_server, browser, keeper):
    label = receive(keeper, quantity=10)["items"][0]["label"]
    context, page = new_phone(browser)
    try:
        sign_in(page, live_server)
        register_and_open_app(page, live_server)
        context.set_offline(True)
        record_issue(page, label, 1, pending=1)
        context.route("**/api/v1/sync", lambda route: route.abort())  # the record cannot go yet
        context.set_offline(False)
        page.goto(f"{live_server}/stock")
        asked = []

        def answer(dialog, accept):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        page.once("dialog", lambda dialog: answer(dialog, False))
        page.click(".usermenu summary")
        page.click("text=退出登录")
        expect(page).to_have_url(f"{live_server}/offline/app")  # sent to sync or export them
        assert "1 条离线记录" in asked[0]
        page.goto(f"{live_server}/stock")
        page.once("dialog", lambda dialog: answer(dialog, True))
        page.click(".usermenu summary")
        page.click("text=退出登录")
        expect(page).to_have_url(re.compile("/login"))
        page.goto(f"{live_server}/offline/app")
        expect(page.locator("[data-pending]")).to_have_text("1")  # signing out dropped nothing
        context.unroute("**/api/v1/sync")
        sync_now(page)
        expect_drained(page, 1)
        assert movements(app, "issue") == [(label, -1)]
    finally:
        context.close()
