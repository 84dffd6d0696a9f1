"""灾情调度 in a real Chromium at 360 px (issue 17 acceptance): a dispatcher opens an incident, the
town keeper's request arrives from their own phone, the dispatcher plans it, edits one allocation
and approves; the incident screen shows the transfer on the road (and picks it up without a
reload); the first report prints. The map's town names never overlap."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch import planning, services
from inventory.dispatch.models import Incident, Request
from inventory.sites.services import update_site
from inventory.stock.models import Transfer
from tests.browser.conftest import PHONE
from tests.factories import check_ledger, make_site, make_user, receive

pytestmark = pytest.mark.browser

# Label boxes as Chromium lays them out, in the map's own units.
LABEL_BOXES = """() => [...document.querySelectorAll('svg.map text')].map((text) => {
  const box = text.getBBox();
  return [text.textContent, box.x, box.y, box.x + box.width, box.y + box.height];
})"""


def _overlapping(boxes):
    return [(a[0], b[0]) for index, a in enumerate(boxes) for b in boxes[index + 1:]
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]


def _context(browser):
    return browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)


def _log_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


@pytest.fixture
def gaotai(app, county, catalog, manager):
    """The county with coordinates (新坝镇 far south-west, the depot and two towns close together
    in the county seat, where their names used to collide), stock at the depot, a dispatcher."""
    make_site(app, "GT-CG", parent="GT", name="城关镇储备室", latitude=39.376239, longitude=99.823695)
    make_site(app, "GT-XD", parent="GT", name="巷道镇储备室", latitude=39.395, longitude=99.875)
    with app.app_context():
        for code, lat, lon in (("GT", 39.378311, 99.819519), ("GT-XB", 39.152361, 99.403489),
                               ("GT-NH", 39.305931, 99.800505)):
            update_site(actor=COMMAND_LINE, code=code, changes={"latitude": lat, "longitude": lon})
    receive(manager, site="GT", material="WATER", quantity=300)
    receive(manager, site="GT", material="TENT", quantity=30)
    make_user(app, "dispatcher", username="duty")
    make_user(app, "keeper", username="xb", sites=["GT-XB"])


def test_a_dispatcher_opens_plans_edits_and_approves_and_the_screen_shows_the_transfer(
        app, live_server, browser, gaotai):
    office = _context(browser)
    town = _context(browser)
    try:
        dispatcher = office.new_page()
        dispatcher.on("dialog", lambda dialog: dialog.accept())
        _log_in(dispatcher, live_server, "duty")

        # 立案: an earthquake, 新坝镇 affected with its people, 南华镇 cut off.
        dispatcher.goto(f"{live_server}/incidents/")
        dispatcher.locator("a.button", has_text="立案").tap()
        dispatcher.fill("#name", "高台县地震演练")
        dispatcher.select_option("#type", "earthquake")
        dispatcher.select_option("#level", "2")
        row = dispatcher.locator("[data-area='GT-XB']")
        row.locator("input[name=areas]").check()
        row.locator("input[name='affected_people-GT-XB']").fill("2000")
        row.locator("input[name='displaced_people-GT-XB']").fill("400")
        dispatcher.locator("[data-area='GT-NH'] input[name=cut_off_sites]").check()
        dispatcher.locator("button[type=submit]", has_text="立案").tap()
        expect(dispatcher.locator("h1")).to_have_text("高台县地震演练")
        expect(dispatcher.locator(".flash-success")).to_contain_text("已立案")
        with app.app_context():
            incident = db.session.scalar(sa.select(Incident.id).where(Incident.name == "高台县地震演练"))
        screen_url = dispatcher.url
        assert screen_url.endswith(f"/incidents/{incident}")
        expect(dispatcher.locator(".areas")).to_contain_text("紧急转移安置 400")
        expect(dispatcher.locator(".areas")).to_contain_text("断路")
        # The map: the names of the close towns in the county seat do not overlap.
        labels = dispatcher.evaluate(LABEL_BOXES)
        names = " ".join(label[0] for label in labels)
        assert "城关镇" in names and "巷道镇" in names and "新坝镇" in names, names
        assert not _overlapping(labels), labels
        assert dispatcher.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # The keeper of 新坝镇 asks for goods from their own phone.
        keeper = town.new_page()
        _log_in(keeper, live_server, "xb")
        keeper.goto(f"{live_server}/incidents/{incident}")
        keeper.locator(".areas a", has_text="申报").first.tap()
        expect(keeper.locator("h1")).to_have_text("申报需求")
        assert keeper.locator("#to_site").input_value() == "GT-XB"
        keeper.select_option("#lines-0-material", "WATER")
        keeper.fill("#lines-0-quantity", "200")
        keeper.select_option("#lines-1-material", "TENT")
        keeper.fill("#lines-1-quantity", "50")
        keeper.locator("button[type=submit]", has_text="提交申报").tap()
        expect(keeper.locator(".flash-success")).to_contain_text("已提交需求申报")
        expect(keeper.locator("[data-plan]")).to_have_count(0)
        with app.app_context():
            request_id = db.session.scalar(sa.select(Request.id).where(Request.incident_id == incident))

        # The request arrives on the dispatcher's screen, which refreshes itself.
        dispatcher.locator("[data-live]").dispatch_event("incident:refresh")
        expect(dispatcher.locator("[data-count=open_requests] .figure")).to_have_text("1")
        expect(dispatcher.locator("[data-timeline]")).to_contain_text("需求申报")

        # 生成方案: water in full, tents short (30 of 50) in red.
        dispatcher.goto(f"{live_server}/incidents/requests/{request_id}")
        dispatcher.locator("[data-plan]").tap()
        expect(dispatcher.locator(".flash-success")).to_contain_text("1 种物资无法满足")
        expect(dispatcher.locator("[data-unmet]")).to_contain_text("缺 20")
        expect(dispatcher.locator("tr.unmet")).to_contain_text("棉帐篷")
        rows = dispatcher.locator(".allocation")
        assert dispatcher.locator("#lines-0-material").input_value() == "WATER"
        assert dispatcher.locator("#lines-0-quantity").input_value() == "200"
        assert dispatcher.locator("#lines-1-quantity").input_value() == "30"
        assert rows.count() == 3, "the plan's two rows and one to add a source"

        # One allocation edited: 150 of the water, not 200; then the driver, and 批准调拨.
        dispatcher.fill("#lines-0-quantity", "150")
        dispatcher.fill("#driver_name", "王师傅")
        dispatcher.fill("#driver_phone", "13800000001")
        dispatcher.fill("#vehicle", "甘G12345")
        dispatcher.locator("[data-approve]").tap()
        expect(dispatcher.locator(".flash-success")).to_contain_text("生成调拨单 1 张")
        transfer_link = dispatcher.locator("[data-approved-transfers] a").first
        expect(transfer_link).to_contain_text("高台县救灾物资储备库 → 新坝镇储备室")
        with app.app_context():
            [transfer] = db.session.scalars(sa.select(Transfer).where(Transfer.incident_id == incident)).all()
            assert transfer.status == "in_transit" and transfer.vehicle == "甘G12345"
            assert sorted((line.material.code, line.quantity) for line in transfer.lines) == [
                ("TENT", 30), ("WATER", 150)]
            number = transfer.number

        # The printable 调拨单 names the incident and the driver.
        transfer_link.tap()
        expect(dispatcher.locator(".document.copy-1")).to_contain_text("高台县地震演练")
        expect(dispatcher.locator(".document.copy-1")).to_contain_text("王师傅")
        expect(dispatcher.locator(".document.copy-1")).to_contain_text("13800000001")

        # The incident screen shows the transfer on the road: in the list and as a line on the map.
        dispatcher.goto(screen_url)
        expect(dispatcher.locator("[data-transfers]")).to_contain_text(number)
        expect(dispatcher.locator("[data-count=in_transit] .figure")).to_have_text("1")
        expect(dispatcher.locator("svg.map line.road")).to_have_count(1)
        expect(dispatcher.locator("svg.map .site.source[data-site=GT]")).to_have_count(1)
        labels = dispatcher.evaluate(LABEL_BOXES)
        assert not _overlapping(labels), labels

        # The first report prints (its page, when helper E's report is there).
        if "dispatch.first_report" in app.view_functions:
            dispatcher.evaluate("window.print = () => { window.printed = (window.printed || 0) + 1; }")
            dispatcher.locator("a.button", has_text="首报").tap()
            expect(dispatcher.locator("h1")).to_contain_text("高台县地震演练")
            dispatcher.evaluate("window.print = () => { window.printed = (window.printed || 0) + 1; }")
            dispatcher.locator("[data-print]").first.tap()
            assert dispatcher.evaluate("window.printed") >= 1
    finally:
        office.close()
        town.close()
    assert check_ledger(app)[0] == 0


def test_the_open_screen_picks_up_a_transfer_without_a_reload(app, live_server, browser, gaotai):
    with app.app_context():
        incident = services.open_incident(actor=find_user("duty"), data={
            "name": "洪水", "type": "flood", "level": 4, "started_at": "2026-01-01T08:00:00+08:00",
            "areas": ["GT-XB"]}).id
    context = _context(browser)
    try:
        page = context.new_page()
        _log_in(page, live_server, "duty")
        page.goto(f"{live_server}/incidents/{incident}")
        expect(page.locator("[data-count=in_transit] .figure")).to_have_text("0")
        with app.app_context():
            request_id = services.create_request(actor=find_user("xb"), incident_id=incident, data={
                "to_site": "GT-XB", "lines": [{"material": "WATER", "quantity": 10}]}).id
            planning.plan(actor=find_user("duty"), request_id=request_id)
            [transfer] = planning.approve(actor=find_user("duty"), request_id=request_id, data={})
            number = transfer.number
        page.locator("[data-live]").dispatch_event("incident:refresh")
        expect(page.locator("[data-count=in_transit] .figure")).to_have_text("1")
        expect(page.locator("[data-transfers]")).to_contain_text(number)
        expect(page.locator("svg.map line.road")).to_have_count(1)
        expect(page.locator("[data-timeline]")).to_contain_text("批准调拨")
    finally:
        context.close()
