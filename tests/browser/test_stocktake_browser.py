"""盘点 on a keeper's phone (issue 16 acceptance): a 360-px touch screen whose camera films three
printed labels; the keeper opens the count from the task page, scans each label, types its count
on the number pad (a generator is 在 / 不在), submits; the manager approves; the stock and the
ledger show the variances."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from inventory import clock
from inventory.db import db
from inventory.stock.models import Movement
from inventory.stocktakes.models import quarter_of
from tests.browser.conftest import PHONE
from tests.factories import check_ledger, receive

pytestmark = pytest.mark.browser

# log in 3 · 盘点 · 扫码清点 · 3 5 确定 · 2 2 确定 · 在 · 停止扫码 · 提交审核
COUNT_TAPS = 14


def _scan_url(app, item):
    return f"{app.config['PUBLIC_BASE_URL']}/s/{item['label']}"


def _quantity(keeper, item):
    return keeper.get(f"/stock/{item['label']}").json["quantity"]


def _without_labels(text: str, items) -> str:
    for item in items:
        label = item["label"]
        text = text.replace(label, "").replace("-".join(label[i:i + 4] for i in range(0, 16, 4)), "")
    return text


def test_a_keeper_counts_three_labels_on_a_phone_and_the_approval_posts_the_variances(
        app, live_server, camera_page, finger, keeper, manager):
    water = receive(keeper, quantity=37, lot="W1")["items"][0]
    tents = receive(keeper, material="TENT", quantity=20, lot="ZP-1")["items"][0]
    generator = receive(keeper, material="GEN", quantity=1, serials=["G-1"])["items"][0]
    items = (water, tents, generator)
    opened = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(clock.today())})
    assert opened.status_code == 201, opened.json
    stocktake = opened.json

    # Each label in view for 3 s, then 8 s of shelf between them: time to type its count.
    page = camera_page([(_scan_url(app, water), 3), (None, 8), (_scan_url(app, tents), 3), (None, 8),
                        (_scan_url(app, generator), 3), (None, 120)])
    taps = finger(page)
    taps.log_in(live_server, "xb")
    taps.tap("nav.tasks >> text=盘点")
    expect(page.locator("h1")).to_contain_text(stocktake["number"])
    progress = page.locator("[data-progress]")
    expect(progress).to_have_text("已盘 0 / 3")
    card = page.locator("[data-item]")
    status = page.locator("[data-status]")

    taps.tap("[data-scan-toggle]")
    expect(card.locator("[data-name]")).to_have_text("瓶装饮用水", timeout=30_000)
    expect(card.locator("[data-facts]")).to_contain_text("批号 W1")
    for key in ("3", "5"):
        taps.tap(f".pad [data-key='{key}']")
    assert page.input_value("input[name=counted]") == "35"
    taps.tap(".pad .confirm")
    expect(status).to_have_text("已记录：瓶装饮用水 = 35")
    expect(progress).to_have_text("已盘 1 / 3")
    expect(card).to_be_hidden()

    expect(card.locator("[data-name]")).to_have_text("棉帐篷", timeout=30_000)
    for key in ("2", "2"):
        taps.tap(f".pad [data-key='{key}']")
    taps.tap(".pad .confirm")
    expect(progress).to_have_text("已盘 2 / 3")

    expect(card.locator("[data-name]")).to_have_text("汽油发电机", timeout=30_000)
    expect(card.locator("[data-facts]")).to_contain_text("序列号 G-1")
    expect(card.locator(".pad")).to_be_hidden()
    taps.tap("[data-presence] button[value='1']")
    expect(progress).to_have_text("已盘 3 / 3")
    expect(status).to_contain_text("汽油发电机 = 在")
    taps.tap("[data-scan-toggle]")

    # What the keeper saw: the counts they typed, nothing of the books (37 water, 20 tents).
    expect(page.locator("[data-left-count]")).to_have_text("0")
    expect(page.locator("[data-counted] li")).to_have_count(3)
    seen = _without_labels(page.locator("main").inner_text(), items)
    assert not re.search(r"(?<!\d)(37|20)(?!\d)", seen), seen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for box in (key.bounding_box() for key in page.locator(".pad .key").all() if key.is_visible()):
        assert box["height"] >= 48 and box["width"] >= 48

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    taps.tap("button:has-text('提交审核')")
    expect(page.locator(".flash-success")).to_contain_text("已提交审核")
    assert asked and "全部已盘" in asked[0]
    expect(page.locator(".count-head .status")).to_have_text("待审核")
    assert taps.taps <= COUNT_TAPS, taps.taps

    approved = manager.post(f"/stocktakes/{stocktake['id']}/approve",
                            {"reasons": {water["label"]: "破损两箱"}})
    assert approved.status_code == 200, approved.json
    assert {(v["label"], v["delta"]) for v in approved.json["variances"]} == {
        (water["label"], -2), (tents["label"], 2)}
    assert (_quantity(keeper, water), _quantity(keeper, tents), _quantity(keeper, generator)) == (35, 22, 1)
    with app.app_context():
        posted = db.session.execute(
            sa.select(Movement.kind, Movement.quantity, Movement.balance_after, Movement.note)
            .where(Movement.document == stocktake["number"]).order_by(Movement.id)).all()
    assert sorted((kind, quantity, balance) for kind, quantity, balance, _note in posted) == [
        ("stocktake", -2, 35), ("stocktake", 2, 22)]
    assert any("破损两箱" in note for *_rest, note in posted)
    assert check_ledger(app)[0] == 0
    page.reload()
    expect(page.locator(".count-head .status")).to_have_text("已完成")


def test_a_damaged_label_is_typed_or_picked_from_the_list(app, live_server, phone, finger, keeper, manager):
    water = receive(keeper, quantity=37, lot="W1")["items"][0]
    tents = receive(keeper, material="TENT", quantity=20, lot="ZP-1")["items"][0]
    elsewhere = receive(manager, site="GT-NH", quantity=8)["items"][0]
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(clock.today())}).json
    page = phone
    taps = finger(page)
    taps.log_in(live_server, "xb", f"/stocktakes/{stocktake['id']}/count")
    card = page.locator("[data-item]")

    # Another town's label is refused where it was typed; the page stays as it was.
    taps.type("#typed-label", elsewhere["label"])
    page.press("#typed-label", "Enter")
    expect(page.locator("[data-message]")).to_contain_text("不在本次盘点范围内")
    expect(card).to_be_hidden()

    # Typed in groups, lower case: found, counted, the page not reloaded.
    taps.type("#typed-label", "-".join(water["label"][i:i + 4] for i in range(0, 16, 4)).lower())
    page.press("#typed-label", "Enter")
    expect(card.locator("[data-name]")).to_have_text("瓶装饮用水")
    expect(page.locator("[data-message]")).to_be_hidden()
    page.keyboard.type("34")   # a keyboard works as the pad does
    assert page.input_value("input[name=counted]") == "34"
    taps.tap(".pad [data-key='back']")
    taps.tap(".pad [data-key='6']")
    taps.tap(".pad .confirm")
    expect(page.locator("[data-progress]")).to_have_text("已盘 1 / 2")

    # A label too worn to read: tap its line in 未盘; an empty count is not sent.
    taps.tap(f"[data-left] li[data-label='{tents['label']}'] a")
    expect(card.locator("[data-name]")).to_have_text("棉帐篷")
    taps.tap(".pad .confirm")
    expect(card.locator("[data-card-error]")).to_have_text("请用数字键输入清点数量")
    taps.tap(".pad [data-key='0']")
    taps.tap(".pad .confirm")
    expect(page.locator("[data-progress]")).to_have_text("已盘 2 / 2")
    expect(page.locator("[data-left-empty]")).to_be_visible()

    # A second look at the water: counted already, and counted again the latest count stands.
    page.locator("[data-counted-list] summary").tap()
    taps.tap(f"[data-counted] li[data-label='{water['label']}'] a")
    expect(card.locator("[data-counted-note]")).to_have_text("已清点：36（xb，可重新清点）")
    taps.tap(".pad [data-key='3']")
    taps.tap(".pad [data-key='7']")
    taps.tap(".pad .confirm")
    expect(page.locator(f"[data-counted] li[data-label='{water['label']}'] [data-qty]")).to_have_text("37")
    expect(page.locator("[data-counted] li")).to_have_count(2)
    seen = manager.get(f"/stocktakes/{stocktake['id']}").json
    assert seen["progress"] == {"counted": 2, "total": 2, "recount": 0}
    lines = {line["label"]: line["counted"] for line in seen["lines"]}
    assert lines == {water["label"]: 37, tents["label"]: 0}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
