"""The count page (盘点, scanner mode) through the test client: blind to the books, a lookup that
answers only for what the stocktake counts, bad input refused with nothing changed, two people
counting one stocktake, found goods, submitting, and the keeper's task home."""

import re

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.db import db
from inventory.stocktakes.models import FoundLine, Stocktake, StocktakeCount, StocktakeLine, quarter_of
from tests.factories import (
    Api,
    form_key,
    in_days,
    make_material,
    make_user,
    masked,
    page_client,
    receive,
    token_for,
)
from tests.stock.test_expired_form import _stale_token  # a form token signed past its time limit

BOOKS = 37  # the water on the books: a number the keeper's pages must never show


@pytest.fixture
def shelf(keeper, manager, today):
    """GT-XB holds 37 water, 20 tents and a generator; its village and 南华镇 hold water too."""
    water = receive(keeper, quantity=BOOKS, lot="W1", expiry_date=in_days(today, 200))["items"][0]
    tents = receive(keeper, material="TENT", quantity=20, lot="ZP-1")["items"][0]
    generator = receive(keeper, material="GEN", quantity=1, serials=["G-1"])["items"][0]
    village = receive(keeper, site="GT-XB-HP", quantity=5, lot="HP")["items"][0]
    elsewhere = receive(manager, site="GT-NH", quantity=8, lot="NH")["items"][0]
    return {"water": water["label"], "tents": tents["label"], "generator": generator["label"],
            "village": village["label"], "elsewhere": elsewhere["label"]}


def _open(api, site="GT-XB", **fields) -> dict:
    response = api.post("/stocktakes", {"site": site, "period": quarter_of(clock.today()), **fields})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def stocktake(manager, shelf):
    return _open(manager)


@pytest.fixture
def xb(app, keeper):
    """The keeper of 新坝镇 on the pages."""
    return page_client(app, "xb")


def _count_url(stocktake) -> str:
    return f"/stocktakes/{stocktake['id']}/count"


def _blind(html: str, shelf: dict) -> str:
    """The page with what changes at every render and the labels (random codes) taken out: what
    is left of its digits is what it says."""
    text = masked(html)
    for label in shelf.values():
        text = text.replace(label, "").replace("-".join(label[i:i + 4] for i in range(0, 16, 4)), "")
    return text


def _shows(number: int, text: str) -> bool:
    return re.search(rf"(?<![\d.]){number}(?![\d.])", text) is not None


def _post_count(client, stocktake, label, counted, *, json=False, key=None):
    page = client.get(_count_url(stocktake)).get_data(as_text=True)
    headers = {"Accept": "application/json"} if json else {}
    return client.post(_count_url(stocktake), headers=headers, data={
        "label": label, "counted": counted, "idempotency_key": key or form_key(page)})


def _counts(app, stocktake) -> list[tuple[str, int]]:
    with app.app_context():
        return [(line.item.label, count.counted) for count, line in db.session.execute(
            sa.select(StocktakeCount, StocktakeLine)
            .join(StocktakeLine, StocktakeLine.id == StocktakeCount.line_id)
            .where(StocktakeLine.stocktake_id == stocktake["id"]).order_by(StocktakeCount.id))]


# --- blind --------------------------------------------------------------------------------------

def test_the_count_page_never_shows_the_books(app, xb, shelf, stocktake):
    page = xb.get(_count_url(stocktake))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert stocktake["number"] in html and "新坝镇储备室" in html
    assert "已盘 0 / 3" in html
    for name in ("瓶装饮用水", "棉帐篷", "汽油发电机"):
        assert name in html
    assert "和平村储备点" not in html  # the village is not in this stocktake
    assert not _shows(BOOKS, _blind(html, shelf)) and not _shows(20, _blind(html, shelf))

    # A label opened for counting: its name, lot and expiry, never how many the books hold.
    html = xb.get(f"{_count_url(stocktake)}?label={shelf['water']}").get_data(as_text=True)
    assert "批号 W1" in html and "有效期至" in html and 'name="counted"' in html
    assert not _shows(BOOKS, _blind(html, shelf))

    answer = _post_count(xb, stocktake, shelf["water"], "35")
    assert answer.status_code == 302
    html = xb.get(_count_url(stocktake)).get_data(as_text=True)
    assert "已盘 1 / 3" in html and _shows(35, _blind(html, shelf))
    assert not _shows(BOOKS, _blind(html, shelf))
    html = xb.get(f"{_count_url(stocktake)}?label={shelf['water']}").get_data(as_text=True)
    assert "已清点：35" in html and "可重新清点" in html
    assert not _shows(BOOKS, _blind(html, shelf))


def test_the_lookup_answers_blind_and_only_for_what_the_stocktake_counts(app, xb, shelf, stocktake):
    url = f"/stocktakes/{stocktake['id']}/lookup"
    water = xb.get(f"{url}/{shelf['water'].lower()}")
    assert water.status_code == 200
    assert water.json["label"] == shelf["water"] and water.json["name"] == "瓶装饮用水"
    assert water.json["lot"] == "W1" and water.json["counted"] is None and water.json["recount"] is False
    assert "quantity" not in water.json and BOOKS not in water.json.values()
    generator = xb.get(f"{url}/{shelf['generator']}").json
    assert generator["serial"] == "G-1" and generator["unit"] == "台"

    # Another site's label, the village's (not counted by this stocktake), nonsense: all one answer.
    for label in (shelf["elsewhere"], shelf["village"], "ZZZZZZZZZZZZZZZZ", "不是标签", "x" * 300):
        refused = xb.get(f"{url}/{label}")
        assert refused.status_code == 422, label
        assert refused.json["error"]["code"] == "validation_error"
        assert "不在本次盘点范围内" in refused.json["error"]["details"]["label"]

    _post_count(xb, stocktake, shelf["water"], "35")
    assert xb.get(f"{url}/{shelf['water']}").json["counted"] == 35


def test_a_lookup_makes_at_most_four_statements_and_writes_nothing(app, xb, shelf, manager):
    # A cycle count of one category: the category test is part of the item's one statement.
    stocktake = _open(manager, categories=["1-05"])
    url = f"/stocktakes/{stocktake['id']}/lookup/{shelf['water']}"
    assert xb.get(url).status_code == 200
    with app.app_context():
        engine = db.engine
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        answer = xb.get(url)
        refused = xb.get(f"/stocktakes/{stocktake['id']}/lookup/{shelf['elsewhere']}")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert answer.status_code == 200 and refused.status_code == 422
    assert len(seen) <= 8, seen  # two requests
    per_request = len(seen) / 2
    assert per_request <= 4, seen
    assert not [s for s in seen if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", s, re.IGNORECASE)]


def _statements(app, client, url) -> int:
    with app.app_context():
        engine = db.engine
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(seen)


def test_the_count_page_makes_as_many_statements_for_ten_more_lines(app, xb, keeper, shelf, manager):
    small = _open(manager)
    for i in range(10):
        receive(keeper, site="GT-XB-HP", material="QUILT", quantity=2, lot=f"Q{i}")
    large = _open(manager, site="GT-XB-HP")
    for stocktake, labels in ((small, [shelf["water"]]), (large, [shelf["village"]])):
        assert _post_count(xb, stocktake, labels[0], "3").status_code == 302
    with app.app_context():
        quilts = db.session.scalars(sa.select(StocktakeLine).where(StocktakeLine.stocktake_id == large["id"])
                                    .limit(5)).all()
        more = [line.item.label for line in quilts]
    for label in more:
        _post_count(xb, large, label, "2")
    counts = [(_statements(app, xb, _count_url(stocktake)),
               _statements(app, xb, f"{_count_url(stocktake)}?label={label}"))
              for stocktake, label in ((small, shelf["water"]), (large, shelf["village"]))]
    assert counts[0] == counts[1], counts


def test_a_cycle_count_looks_up_only_its_categories(app, xb, keeper, shelf, manager):
    make_material(app, "ROPE", "救生绳", category="9-01", unit="根")
    rope = receive(keeper, material="ROPE", quantity=3)["items"][0]["label"]
    # Category 1 and what is under it (water and tents are in 1-05), not 9-01.
    stocktake = _open(manager, categories=["1"])
    url = f"/stocktakes/{stocktake['id']}/lookup"
    assert xb.get(f"{url}/{shelf['water']}").status_code == 200
    assert xb.get(f"{url}/{rope}").status_code == 422
    everything = f"/stocktakes/{_open(manager, site='GT-XB-HP')['id']}/lookup"
    assert xb.get(f"{everything}/{shelf['village']}").status_code == 200


def test_stocktakes_the_user_may_not_see_are_not_found(app, client, shelf, manager, make_user, xb):
    theirs = _open(manager, site="GT-NH")
    assert xb.get(_count_url(theirs)).status_code == 404
    lookup = xb.get(f"/stocktakes/{theirs['id']}/lookup/{shelf['elsewhere']}")
    assert lookup.status_code == 404 and lookup.json["error"]["code"] == "not_found"
    assert xb.get("/stocktakes/999999/count").status_code == 404
    assert xb.get(f"/stocktakes/999999/lookup/{shelf['water']}").status_code == 404
    # Someone who may look but not count.
    viewer = page_client(app, make_user("viewer", username="looker"))
    mine = _open(manager)
    assert viewer.get(_count_url(mine)).status_code == 403
    assert viewer.get(f"/stocktakes/{mine['id']}/lookup/{shelf['water']}").status_code == 403


# --- counting -----------------------------------------------------------------------------------

def test_a_count_sent_by_the_script_is_answered_in_json_once(app, xb, shelf, stocktake):
    page = xb.get(_count_url(stocktake)).get_data(as_text=True)
    key = form_key(page)
    first = _post_count(xb, stocktake, shelf["water"], "35", json=True, key=key)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json["item"]["counted"] == 35 and first.json["item"]["name"] == "瓶装饮用水"
    assert first.json["progress"] == {"counted": 1, "total": 3, "recount": 0, "left": 2}
    assert "quantity" not in first.json["item"] and BOOKS not in first.json["item"].values()
    again = _post_count(xb, stocktake, shelf["water"], "35", json=True, key=key)
    assert again.status_code == 200 and again.json["item"]["counted"] == 35
    assert _counts(app, stocktake) == [(shelf["water"], 35)]  # a double tap counts once

    refused = _post_count(xb, stocktake, shelf["water"], "-3", json=True)
    assert refused.status_code == 422 and "counted" in refused.json["error"]["details"]
    serial = _post_count(xb, stocktake, shelf["generator"], "1", json=True)
    assert serial.status_code == 200 and serial.json["item"]["counted"] == 1


@pytest.mark.parametrize("counted", ["-1", "abc", "1.5", "1e3", "", " ", "99999999999", "0x10"])
def test_a_count_that_is_not_a_count_changes_nothing(app, xb, shelf, stocktake, counted):
    answer = _post_count(xb, stocktake, shelf["water"], counted)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'class="error"' in html and "瓶装饮用水" in html  # the item's card, with the problem on it
    assert _counts(app, stocktake) == []


def test_labels_the_stocktake_does_not_count_are_refused(app, xb, shelf, stocktake):
    for label in (shelf["elsewhere"], shelf["village"], "ZZZZZZZZZZZZZZZZ", "<b>x</b>", ""):
        answer = _post_count(xb, stocktake, label, "3")
        assert answer.status_code == 422, label
        assert "盘点" in answer.get_data(as_text=True)
    # A serial item is there or not: 2 is neither.
    assert _post_count(xb, stocktake, shelf["generator"], "2").status_code == 422
    assert "一物一码" in _post_count(xb, stocktake, shelf["generator"], "2").get_data(as_text=True)
    assert _counts(app, stocktake) == []


def test_a_count_on_a_stocktake_no_longer_counting_is_refused_plainly(app, xb, keeper, shelf, stocktake,
                                                                      manager):
    page = xb.get(_count_url(stocktake)).get_data(as_text=True)
    assert manager.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    answer = xb.post(_count_url(stocktake), data={"label": shelf["water"], "counted": "3",
                                                  "idempotency_key": form_key(page)})
    assert answer.status_code == 422
    assert "已提交审核，不能再清点" in answer.get_data(as_text=True)
    json = _post_count(xb, stocktake, shelf["water"], "3", json=True, key=form_key(page))
    assert json.status_code == 409 and json.json["error"]["code"] == "invalid_state"
    assert _counts(app, stocktake) == []
    # The page itself says where it stands, and offers nothing to count with.
    html = xb.get(_count_url(stocktake)).get_data(as_text=True)
    assert "待审核" in html and 'name="counted"' not in html and "提交审核</button>" not in html


def test_two_counters_count_one_stocktake_and_the_latest_count_stands(app, xb, shelf, stocktake):
    make_user(app, "keeper", username="xb2", sites=["GT-XB"])
    other = page_client(app, "xb2")
    assert _post_count(xb, stocktake, shelf["water"], "30").status_code == 302
    assert _post_count(other, stocktake, shelf["tents"], "20").status_code == 302
    assert _post_count(other, stocktake, shelf["water"], "36").status_code == 302
    assert _counts(app, stocktake) == [(shelf["water"], 30), (shelf["tents"], 20), (shelf["water"], 36)]
    lookup = xb.get(f"/stocktakes/{stocktake['id']}/lookup/{shelf['water']}").json
    assert lookup["counted"] == 36 and lookup["counted_by"] == "xb2"
    html = xb.get(_count_url(stocktake)).get_data(as_text=True)
    assert "已盘 2 / 3" in html
    with app.app_context():
        counters = {user.username for user in db.session.get(Stocktake, stocktake["id"]).counters}
    assert counters == {"xb", "xb2"}


def test_found_goods_are_recorded_and_can_be_taken_off(app, xb, shelf, stocktake):
    page = xb.get(_count_url(stocktake)).get_data(as_text=True)
    refused = xb.post(f"/stocktakes/{stocktake['id']}/found", data={
        "idempotency_key": form_key(page), "material": "QUILT", "quantity": "-2"})
    assert refused.status_code == 422 and "登记盘盈" in refused.get_data(as_text=True)
    recorded = xb.post(f"/stocktakes/{stocktake['id']}/found", data={
        "idempotency_key": form_key(page), "material": "QUILT", "quantity": "4", "lot": "BZ-9",
        "expiry_date": "", "serial": "", "note": "无标签"})
    assert recorded.status_code == 302
    with app.app_context():
        [found] = db.session.scalars(sa.select(FoundLine)).all()
        found_id = found.id
    html = xb.get(_count_url(stocktake)).get_data(as_text=True)
    assert "棉被 × 4" in html and "批号 BZ-9" in html and "无标签" in html
    serial_twice = xb.post(f"/stocktakes/{stocktake['id']}/found", data={
        "idempotency_key": form_key(html), "material": "GEN", "quantity": "1", "serial": "G-1"})
    assert serial_twice.status_code == 409 or serial_twice.status_code == 422
    assert "已在账上" in serial_twice.get_data(as_text=True)

    html = xb.get(_count_url(stocktake)).get_data(as_text=True)
    removed = xb.post(f"/stocktakes/{stocktake['id']}/found/{found_id}/remove",
                      data={"idempotency_key": form_key(html)})
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.scalars(sa.select(FoundLine)).all() == []
    page = xb.get(_count_url(stocktake)).get_data(as_text=True)
    gone = xb.post(f"/stocktakes/{stocktake['id']}/found/{found_id}/remove",
                   data={"idempotency_key": form_key(page)})
    assert gone.status_code == 404


def test_submitting_shows_the_keeper_a_stocktake_waiting_for_review(app, xb, shelf, stocktake):
    _post_count(xb, stocktake, shelf["water"], "35")
    page = xb.get(_count_url(stocktake)).get_data(as_text=True)
    assert "还有 2 项未盘" in page
    submitted = xb.post(f"/stocktakes/{stocktake['id']}/submit",
                        data={"idempotency_key": form_key(page.split('data-submit-count')[1])})
    assert submitted.status_code == 302
    html = xb.get(submitted.headers["Location"]).get_data(as_text=True)
    assert "已提交审核" in html and "待审核" in html
    assert not _shows(BOOKS, _blind(html, shelf)) and "账面" not in html
    # The stocktake's own page, as the keeper sees it: no books, no variance either.
    detail = xb.get(f"/stocktakes/{stocktake['id']}")
    assert detail.status_code == 200
    assert not _shows(BOOKS, _blind(detail.get_data(as_text=True), shelf))
    # Submitting again is refused with a message, on the page.
    again = xb.post(f"/stocktakes/{stocktake['id']}/submit", data={"idempotency_key": "a" * 32},
                    follow_redirects=True)
    assert again.status_code == 200 and "已提交审核" in again.get_data(as_text=True)


def test_the_keeper_cannot_see_the_review(app, xb, keeper, shelf, stocktake):
    _post_count(xb, stocktake, shelf["water"], "35")
    answer = keeper.get(f"/stocktakes/{stocktake['id']}")
    assert answer.status_code == 200
    assert all("expected" not in line and "variance" not in line for line in answer.json["lines"])
    html = xb.get(f"/stocktakes/{stocktake['id']}").get_data(as_text=True)
    assert not _shows(BOOKS, _blind(html, shelf)) and not _shows(-2, _blind(html, shelf))
    # Nor approve it.
    assert keeper.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    assert keeper.post(f"/stocktakes/{stocktake['id']}/approve").status_code == 403


def test_the_keepers_home_offers_the_count_while_it_runs(app, xb, shelf, stocktake, manager):
    home = xb.get("/").get_data(as_text=True)
    assert f'href="/stocktakes/{stocktake["id"]}/count"' in home and ">盘点</a>" in home
    assert manager.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    assert f'/stocktakes/{stocktake["id"]}/count' not in xb.get("/").get_data(as_text=True)
    # Another site's count is not the keeper's work.
    theirs = _open(manager, site="GT-NH")
    assert f'/stocktakes/{theirs["id"]}/count' not in xb.get("/").get_data(as_text=True)


def test_another_sites_keeper_gets_nothing(app, shelf, stocktake, make_user):
    nh = page_client(app, make_user("keeper", username="nh", sites=["GT-NH"]))
    api = Api(app.test_client(), token_for(app, "nh"))
    assert nh.get(_count_url(stocktake)).status_code == 404
    assert nh.post(_count_url(stocktake), data={"label": shelf["water"], "counted": "1"}).status_code == 404
    assert api.get(f"/stocktakes/{stocktake['id']}").status_code == 404
    assert _counts(app, stocktake) == []


def test_lines_sent_back_for_a_recount_are_flagged_and_still_blind(app, xb, shelf, stocktake, manager):
    for label, counted in ((shelf["water"], "30"), (shelf["tents"], "20"), (shelf["generator"], "1")):
        _post_count(xb, stocktake, label, counted)
    assert manager.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200
    sent_back = manager.post(f"/stocktakes/{stocktake['id']}/recount", {"labels": [shelf["water"]]})
    assert sent_back.status_code == 200, sent_back.json
    html = xb.get(_count_url(stocktake)).get_data(as_text=True)
    assert "已盘 2 / 3" in html and "复盘 1 项" in html
    left = html.split("data-left>")[1].split("</ul>")[0]
    assert "瓶装饮用水" in left and "复盘" in left and "棉帐篷" not in left
    assert not _shows(BOOKS, _blind(html, shelf))
    lookup = xb.get(f"/stocktakes/{stocktake['id']}/lookup/{shelf['water']}").json
    assert lookup["recount"] is True and lookup["counted"] is None
    card = xb.get(f"{_count_url(stocktake)}?label={shelf['water']}").get_data(as_text=True)
    assert "复盘：此项已退回，请重新清点" in card and not _shows(BOOKS, _blind(card, shelf))
    assert _post_count(xb, stocktake, shelf["water"], "36").status_code == 302
    assert "复盘 1 项" not in xb.get(_count_url(stocktake)).get_data(as_text=True)


@pytest.mark.csrf
def test_a_count_sent_on_a_page_left_open_too_long_is_kept_and_sent_again(app, keeper, shelf, stocktake):
    pages = page_client(app, "xb")
    page = pages.get(_count_url(stocktake)).get_data(as_text=True)
    typed = {"idempotency_key": form_key(page), "label": shelf["water"], "counted": "35"}
    stale = pages.post(_count_url(stocktake), headers={"Accept": "application/json"},
                       data={**typed, "csrf_token": _stale_token(app, pages)})
    assert stale.status_code == 400 and "表单已过期" in stale.json["error"]["message"]
    assert _counts(app, stocktake) == []
    sent = pages.post(_count_url(stocktake), headers={"Accept": "application/json"},
                      data={**typed, "csrf_token": stale.json["csrf_token"]})
    assert sent.status_code == 200 and sent.json["item"]["counted"] == 35
    assert _counts(app, stocktake) == [(shelf["water"], 35)]
    # Without the script: the page comes back with the item on its card and the count typed.
    form = pages.get(_count_url(stocktake)).get_data(as_text=True)
    again = pages.post(_count_url(stocktake), data={"idempotency_key": form_key(form), "label": shelf["tents"],
                                                    "counted": "19", "csrf_token": _stale_token(app, pages)})
    shown = again.get_data(as_text=True)
    assert again.status_code == 400 and "都已保留" in shown and "棉帐篷" in shown and 'value="19"' in shown
    assert _counts(app, stocktake) == [(shelf["water"], 35)]
