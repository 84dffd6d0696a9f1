"""A town keeper's phone (360 px, touch, the in-app scanner filming printed labels): the task
page, scan-to-issue, a loan's due date, a held label counted once, typed labels looked up before
sending (issue 15 acceptance). Each flow counts its taps (tests/browser/conftest.py, Finger)."""

import datetime as dt
import time

import pytest
from playwright.sync_api import expect

from inventory import clock
from tests.browser.conftest import PHONE
from tests.factories import PASSWORD, issue, receive

pytestmark = pytest.mark.browser

# The taps each flow may take at most; the closing note of issue 15 states the same numbers.
SCAN_TO_ISSUE_TAPS = 8     # log in 3 · 发放 · recipient · 扫码添加 · 停止扫码 · 确认发放
DAMAGED_RETURN_TAPS = 8    # log in 3 · 登记归还 · 状况 (open, choose) · 确认归还 · 打印损坏件标签
# log in 3 · 发放 · recipient · label · 再加一行, label, the suggestion · 再加一行, label · + · 确认发放
TYPED_ISSUE_TAPS = 13


def _scan_url(app, item):
    return f"{app.config['PUBLIC_BASE_URL']}/s/{item['label']}"


def _stock(keeper, item):
    return keeper.get(f"/stock/{item['label']}").json["quantity"]


def test_a_keeper_lands_on_the_task_page_with_a_bottom_tab_bar(live_server, phone, finger, keeper):
    page = phone
    taps = finger(page)
    taps.log_in(live_server, "xb")
    expect(page.locator("h1")).to_contain_text("新坝")
    tabs = page.locator("nav.tabbar a")
    assert tabs.all_inner_texts() == ["扫码", "发放", "入库", "库存", "更多"]
    for box in (tabs.nth(i).bounding_box() for i in range(tabs.count())):
        assert box["height"] >= 48 and box["width"] >= 48
        assert box["y"] + box["height"] <= PHONE["height"]  # at the bottom of the screen, in view
    assert page.locator(".mainnav").is_hidden()
    for task in ("扫码", "发放", "入库", "归还"):
        expect(page.locator("nav.tasks")).to_contain_text(task)
    expect(page.locator("nav.tiles")).to_contain_text("逾期未还")
    taps.tap("nav.tabbar >> text=发放")
    expect(page.locator("h1")).to_have_text("发放 / 借出")  # the form, not the list
    assert page.locator("[data-line]").count() == 1
    taps.tap("nav.tabbar >> text=更多")
    expect(page.locator(".menu-list")).to_contain_text("台账")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_each_role_sees_the_navigation_of_its_own_work(live_server, page, make_user):
    for role, first_tabs in (("manager", ["首页", "预警", "定额", "库存", "更多"]),
                             ("dispatcher", ["首页", "灾情调度", "调拨", "库存", "更多"])):
        username = make_user(role, username=f"u-{role}")
        context = page.context.browser.new_context(locale="zh-CN", viewport=PHONE)
        other = context.new_page()
        other.goto(f"{live_server}/login")
        other.fill("#username", username)
        other.fill("#password", PASSWORD)
        other.click("button[type=submit]")
        expect(other.locator("nav.tabbar a")).to_have_count(5)
        assert other.locator("nav.tabbar a").all_inner_texts() == first_tabs
        context.close()


def test_scan_to_issue_two_quilts_and_lend_a_tent(app, live_server, camera_page, finger, keeper):
    [quilts] = receive(keeper, material="QUILT", quantity=10, lot="BZ-1")["items"]
    [tents] = receive(keeper, material="TENT", quantity=5, lot="ZP-1")["items"]
    # The quilts' label twice (it leaves the frame between), the tent's once, then nothing.
    page = camera_page([(_scan_url(app, quilts), 2), (None, 2), (_scan_url(app, quilts), 2), (None, 2),
                        (_scan_url(app, tents), 2), (None, 120)])
    taps = finger(page)
    taps.log_in(live_server, "xb")
    taps.tap("nav.tasks >> text=发放")
    taps.type("#recipient_name", "和平村三社")
    taps.tap("[data-scan-toggle]")
    status = page.locator("[data-status]")
    expect(status).to_have_text("棉帐篷 +1 = 1", timeout=30_000)
    taps.tap("[data-scan-toggle]")

    cards = page.locator("[data-card]:visible")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("棉被 · 批号 BZ-1")
    expect(cards.nth(0)).to_contain_text("可用 10 床")
    assert page.input_value("#lines-0-quantity") == "2"
    assert page.input_value("#lines-1-quantity") == "1"
    # No empty material pick list beside a code: the card stands for the line.
    assert page.locator("#lines-0-material").is_hidden() and page.locator("#lines-0-label").is_hidden()
    # The tent is a loan: its due date shows, prefilled; the quilts' does not.
    assert page.locator("#lines-0-due_back").is_hidden()
    expect(page.locator("#lines-1-due_back")).to_be_visible()
    due = clock.today() + dt.timedelta(days=app.config["LOAN_DAYS"])
    assert page.input_value("#lines-1-due_back") == due.isoformat()

    taps.tap("button:has-text('确认发放')")
    expect(page.locator(".doc-title").first).to_contain_text("发放单")
    assert _stock(keeper, quilts) == 8 and _stock(keeper, tents) == 4
    expect(page.locator("table").first).to_contain_text(due.isoformat())
    assert taps.taps <= SCAN_TO_ISSUE_TAPS, taps.taps
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_label_held_in_view_counts_once(app, live_server, camera_page, finger, keeper):
    [quilts] = receive(keeper, material="QUILT", quantity=10, lot="BZ-1")["items"]
    page = camera_page([(_scan_url(app, quilts), 6), (None, 120)])
    taps = finger(page)
    taps.log_in(live_server, "xb", "/stock/issue")
    taps.tap("[data-scan-toggle]")
    expect(page.locator("[data-status]")).to_have_text("棉被 +1 = 1", timeout=30_000)
    time.sleep(6)  # the rest of the hold: a camera that counted it again would have by now
    taps.tap("[data-scan-toggle]")
    assert page.input_value("#lines-0-quantity") == "1"
    assert page.locator("[data-line]").count() == 1


def test_a_label_that_leaves_the_frame_counts_again(app, live_server, camera_page, keeper):
    [quilts] = receive(keeper, material="QUILT", quantity=10, lot="BZ-1")["items"]
    page = camera_page([(_scan_url(app, quilts), 2), (None, 2), (_scan_url(app, quilts), 2), (None, 120)])
    page.goto(f"{live_server}/stock/issue")
    page.fill("#username", "xb")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.click("[data-scan-toggle]")
    expect(page.locator("[data-status]")).to_have_text("棉被 +1 = 2", timeout=30_000)
    page.click("[data-scan-toggle]")
    assert page.input_value("#lines-0-quantity") == "2"


def test_the_same_issue_by_typing_labels(app, live_server, phone, finger, keeper):
    [quilts] = receive(keeper, material="QUILT", quantity=10, lot="BZ-1")["items"]
    [tents] = receive(keeper, material="TENT", quantity=5, lot="ZP-1")["items"]
    page = phone
    taps = finger(page)
    taps.log_in(live_server, "xb")
    taps.tap("nav.tasks >> text=发放")
    taps.type("#recipient_name", "和平村三社")

    # A label typed in groups with a dash, then Enter: the quantity is next, the form not sent.
    taps.type("#lines-0-label", "-".join(quilts["label"][i:i + 4] for i in range(0, 16, 4)).lower())
    page.press("#lines-0-label", "Enter")
    expect(page.locator("#lines-0-quantity")).to_be_focused()
    expect(page.locator("h1")).to_have_text("发放 / 借出")
    page.fill("#lines-0-quantity", "2")
    expect(page.locator("[data-line]").nth(0).locator("[data-card]")).to_contain_text("可用 10 床")

    # An unknown label is flagged on its row as soon as the field is left, with a near miss.
    taps.tap("[data-add-line]")
    # One character typed wrong (a swap of two neighbours would be no typo when they are alike).
    wrong = "0" if tents["label"][5] != "0" else "1"
    typo = tents["label"][:5] + wrong + tents["label"][6:]
    taps.type("#lines-1-label", typo)
    page.locator("#lines-1-label").blur()
    row = page.locator("[data-line]").nth(1)
    expect(row.locator(".error")).to_contain_text("未知或无权查看的标签")
    expect(row.locator(".suggestion")).to_contain_text("棉帐篷")
    taps.tap("[data-line]:nth-child(2) .suggestion")
    expect(row.locator("[data-card]")).to_contain_text("棉帐篷")
    expect(row.locator(".error")).to_have_count(0)

    # A label nothing is near stays flagged, and the keeper removes the row's text before sending.
    taps.tap("[data-add-line]")
    taps.type("#lines-2-label", "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    page.locator("#lines-2-label").blur()
    expect(page.locator("[data-line]").nth(2).locator(".error")).to_contain_text("未知或无权查看的标签")
    page.fill("#lines-2-label", "")
    taps.tap("[data-line]:nth-child(2) .step:has-text('+')")  # the tent: 1 → 2
    assert page.input_value("#lines-1-quantity") == "2"
    expect(page.locator("#lines-1-due_back")).to_be_visible()

    taps.tap("button:has-text('确认发放')")
    expect(page.locator(".doc-title").first).to_contain_text("发放单")
    assert _stock(keeper, quilts) == 8 and _stock(keeper, tents) == 3
    assert taps.taps <= TYPED_ISSUE_TAPS, taps.taps


def test_a_tent_comes_back_damaged_and_its_new_label_prints(app, live_server, phone, finger, keeper):
    [tents] = receive(keeper, material="TENT", quantity=5, lot="ZP-1")["items"]
    lent = issue(keeper, [{"label": tents["label"], "quantity": 1}])
    page = phone
    taps = finger(page)
    taps.log_in(live_server, "xb", f"/stock/issues/{lent['number']}")
    taps.tap("text=登记归还")
    assert page.input_value("#lines-0-quantity") == "1"   # what is still out, prefilled
    taps.choose("#lines-0-condition", "damaged")
    taps.tap("button:has-text('确认归还')")
    expect(page.locator(".doc-title").first).to_contain_text("归还单")
    with page.context.expect_page() as opened:
        taps.tap("text=打印损坏件标签")
    label_pdf = opened.value
    label_pdf.wait_for_load_state()
    damaged = [item for item in keeper.get("/stock?site=GT-XB").json["items"] if item["status"] == "damaged"]
    assert len(damaged) == 1 and damaged[0]["label"] != tents["label"]
    assert "/labels/items.pdf" in label_pdf.url and damaged[0]["label"] in label_pdf.url
    answer = page.request.get(label_pdf.url)
    assert answer.headers["content-type"] == "application/pdf"
    assert taps.taps <= DAMAGED_RETURN_TAPS, taps.taps
