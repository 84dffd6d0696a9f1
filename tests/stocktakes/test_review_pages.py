"""The bureau's stocktake pages: the list and its filters, opening one by the form, the review
(the books for managers, never for keepers), and its buttons — approve once, send lines back,
cancel — with every refusal said on the page and nothing changed by it."""

import re

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.catalog.models import Material
from inventory.db import db
from inventory.sites.models import Agreement, AgreementLine, Site
from inventory.stock.models import Movement, StockItem
from inventory.stocktakes.models import Stocktake, StocktakeLine, quarter_of
from tests.factories import check_ledger, in_days, page_client, receive


def _quarter(offset: int) -> str:
    """The quarter ``offset`` quarters from this one: -1 the last, +1 the next."""
    year, quarter = map(int, quarter_of(clock.today()).split("-Q"))
    index = year * 4 + quarter - 1 + offset
    return f"{index // 4}-Q{index % 4 + 1}"


def _open(api, site="GT-XB", **fields) -> dict:
    response = api.post("/stocktakes", {"site": site, "period": quarter_of(clock.today()), **fields})
    assert response.status_code == 201, response.json
    return response.json


def _count(api, stocktake, label, counted):
    response = api.post(f"/stocktakes/{stocktake['id']}/counts", {"label": label, "counted": counted})
    assert response.status_code == 201, response.json


def _submit(api, stocktake):
    assert api.post(f"/stocktakes/{stocktake['id']}/submit").status_code == 200


def _key(html: str, form_id: str) -> str:
    """The once-only key of the form ``form_id`` on a page with several."""
    form = re.search(rf'<form id="{form_id}".*?</form>', html, re.DOTALL)[0]
    return re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]{32})"', form)[1]


def _flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+" role="(?:status|alert)">([^<]*)</p>', html)


def _stocktake(app, stocktake_id) -> Stocktake:
    with app.app_context():
        stocktake = db.session.get(Stocktake, stocktake_id)
        db.session.expunge(stocktake)
        return stocktake


def _movements(app, number) -> list[tuple]:
    with app.app_context():
        return [(m.item.label, m.quantity, m.note) for m in db.session.scalars(
            sa.select(Movement).where(Movement.document == number).order_by(Movement.id))]


def _stocktake_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Stocktake))


@pytest.fixture
def shelf(keeper, today):
    """GT-XB holds 7351 bottles of water and 20 tents: numbers no page shows by chance."""
    water = receive(keeper, quantity=7351, lot="W1", expiry_date=in_days(today, 200))["items"][0]
    tents = receive(keeper, material="TENT", quantity=20, lot="T1")["items"][0]
    return {"water": water["label"], "tents": tents["label"]}


@pytest.fixture
def boss(app, manager):
    return page_client(app, "boss")


@pytest.fixture
def xb(app, keeper):
    return page_client(app, "xb")


# --- the list -----------------------------------------------------------------------------------

def test_the_list_filters_by_site_quarter_and_status_within_the_users_sites(app, manager, boss, xb, shelf):
    here = _open(manager)
    there = _open(manager, site="GT-NH", period=_quarter(-1))
    assert manager.post(f"/stocktakes/{there['id']}/cancel").status_code == 200

    def listed(client, query=""):
        response = client.get(f"/stocktakes/{query}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        return {number for number in (here["number"], there["number"]) if number in html}, html

    assert listed(boss)[0] == {here["number"], there["number"]}
    assert listed(boss, "?site=GT-NH")[0] == {there["number"]}
    assert listed(boss, f"?period={_quarter(-1)}")[0] == {there["number"]}
    assert listed(boss, "?status=counting")[0] == {here["number"]}
    assert listed(boss, "?status=cancelled&site=GT-XB")[0] == set()
    shown, html = listed(boss, "?period=2026Q4")
    assert shown == {here["number"], there["number"]} and "季度格式应为 2026-Q4" in html
    assert "已盘 0 / 2" in html and "开始盘点" in html and "本季度待盘点站点" in html

    # The keeper sees their own town's stocktakes only, and opens none.
    shown, html = listed(xb)
    assert shown == {here["number"]} and "/stocktakes/new" not in html
    assert xb.get("/stocktakes/?site=GT-NH").status_code == 403


# --- opening ------------------------------------------------------------------------------------

def test_opening_a_stocktake_by_the_form_takes_the_snapshot(app, boss, xb, shelf):
    form = boss.get("/stocktakes/new?site=GT-XB").get_data(as_text=True)
    assert f'value="{quarter_of(clock.today())}"' in form and "xb（" in form
    assert xb.get("/stocktakes/new").status_code == 403
    response = boss.post("/stocktakes/new", data={
        "idempotency_key": re.search(r'name="idempotency_key" type="hidden" value="(\w+)"', form)[1],
        "site": "GT-XB", "period": quarter_of(clock.today()).lower(), "counters": ["xb"],
        "witness": "boss", "note": "季度盘点"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = boss.get(response.headers["Location"]).get_data(as_text=True)
    assert "已开始盘点" in page and "PD-" in page and "已盘" in page
    with app.app_context():
        stocktake = db.session.scalar(sa.select(Stocktake))
        assert response.headers["Location"] == f"/stocktakes/{stocktake.id}"
        assert [user.username for user in stocktake.counters] == ["xb"]
        assert stocktake.witness.username == "boss" and stocktake.note == "季度盘点"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StocktakeLine)) == 2


@pytest.mark.parametrize(("period", "message"), [
    ("2026Q4", "格式不正确"),
    ("next", "不能盘点尚未开始的季度"),
    ("overlap", "已有进行中的盘点"),
])
def test_a_refused_opening_says_why_and_opens_nothing(app, manager, boss, shelf, period, message):
    if period == "overlap":
        _open(manager)
        period = quarter_of(clock.today())
    elif period == "next":
        period = _quarter(1)
    before = _stocktake_count(app)
    response = boss.post("/stocktakes/new", data={"idempotency_key": "a" * 32, "site": "GT-XB",
                                                  "period": period, "note": "错"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and f'value="{period}"' in html, "the form comes back as typed"
    assert _stocktake_count(app) == before


def test_a_counter_or_witness_who_may_not_act_there_is_refused_on_the_field(app, boss, make_user, shelf):
    make_user("keeper", username="nh", sites=["GT-NH"])
    response = boss.post("/stocktakes/new", data={"idempotency_key": "b" * 32, "site": "GT-XB",
                                                  "period": quarter_of(clock.today()),
                                                  "counters": ["nh"], "witness": "xb"})
    assert response.status_code == 422
    assert "nh 无权在该站点盘点" in response.get_data(as_text=True)
    assert _stocktake_count(app) == 0


# --- the review ---------------------------------------------------------------------------------

def test_the_review_shows_the_books_to_a_manager_and_never_to_a_keeper(app, keeper, manager, boss, xb,
                                                                      shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 7340)
    page = f"/stocktakes/{stocktake['id']}"

    counting = xb.get(page).get_data(as_text=True)
    assert "已盘" in counting and f"/stocktakes/{stocktake['id']}/count" in counting
    _submit(keeper, stocktake)
    reviewed = boss.get(page).get_data(as_text=True)
    assert ">7351<" in reviewed and ">7340" in reviewed and "盘亏 -11" in reviewed
    assert "未盘" in reviewed, "the tents nobody counted"
    assert 'name="reason-' in reviewed and 'id="approve"' in reviewed and "退回复盘" in reviewed

    blind = xb.get(page).get_data(as_text=True)
    assert stocktake["number"] in blind and "已盘" in blind
    for secret in ("7351", "7340", "账面", "盘亏", "reason-", "/approve", "variance-sheet"):
        assert secret not in blind, secret


def test_approving_on_the_page_posts_each_variance_once(app, keeper, manager, boss, shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 7341)
    _count(keeper, stocktake, shelf["tents"], 19)
    assert keeper.post(f"/stocktakes/{stocktake['id']}/found",
                       {"material": "QUILT", "quantity": 3, "lot": "Q-9"}).status_code == 201
    _submit(keeper, stocktake)
    page = f"/stocktakes/{stocktake['id']}"
    html = boss.get(page).get_data(as_text=True)

    form = {"idempotency_key": _key(html, "approve-form"), f"reason-{shelf['water']}": "破损丢弃未登记",
            f"reason-{shelf['tents']}": "  "}
    done = boss.post(f"{page}/approve", data=form)
    assert done.status_code == 302 and done.headers["Location"] == page
    closed = boss.get(page).get_data(as_text=True)
    assert "已审批：差异已过账，盘点完成" in _flashes(closed)
    posted = _movements(app, stocktake["number"])
    assert [(label, quantity) for label, quantity, _note in posted[:2]] == [
        (shelf["water"], -10), (shelf["tents"], -1)]
    assert "破损丢弃未登记" in posted[0][2] and "未说明" in posted[1][2]
    assert len(posted) == 3, "the found quilts became an item of their own"
    assert check_ledger(app)[0] == 0

    # The closed page: who approved, the posted variances and their reasons, the new label.
    assert "已完成" in closed and "破损丢弃未登记" in closed and "未说明" in closed
    assert "reason-" not in closed and 'id="approve"' not in closed
    with app.app_context():
        quilt = db.session.scalar(sa.select(StockItem).join(Material).where(Material.code == "QUILT"))
        assert quilt.quantity == 3
        assert f"label={quilt.label}" in closed and "打印新标签" in closed

    # Sent again, the same form gets the first answer; a fresh one is told it is done.
    assert boss.post(f"{page}/approve", data=form).status_code == 302
    again = boss.post(f"{page}/approve", data={**form, "idempotency_key": "c" * 32})
    assert again.status_code == 302
    assert any("已审批完成，不能再更改" in flash for flash in _flashes(boss.get(page).get_data(as_text=True)))
    assert len(_movements(app, stocktake["number"])) == 3
    assert check_ledger(app)[0] == 0


def test_the_only_counter_is_told_to_ask_another_manager(app, manager, boss, shelf):
    stocktake = _open(manager)
    _count(manager, stocktake, shelf["water"], 7000)
    _submit(manager, stocktake)
    page = f"/stocktakes/{stocktake['id']}"
    html = boss.get(page).get_data(as_text=True)
    assert "唯一的盘点人" in html, "the page warns before the button is pressed"
    refused = boss.post(f"{page}/approve", data={"idempotency_key": _key(html, "approve-form")})
    assert refused.status_code == 302 and refused.headers["Location"] == page
    assert any("唯一的盘点人" in flash for flash in _flashes(boss.get(page).get_data(as_text=True)))
    assert _movements(app, stocktake["number"]) == []
    assert _stocktake(app, stocktake["id"]).status == "review"


def test_a_reason_too_long_is_refused_naming_its_label(app, keeper, manager, boss, shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 1)
    _submit(keeper, stocktake)
    page = f"/stocktakes/{stocktake['id']}"
    key = _key(boss.get(page).get_data(as_text=True), "approve-form")
    boss.post(f"{page}/approve", data={"idempotency_key": key, f"reason-{shelf['water']}": "长" * 201})
    flashes = _flashes(boss.get(page).get_data(as_text=True))
    assert any("差异原因" in flash and "200" in flash for flash in flashes), flashes
    assert _movements(app, stocktake["number"]) == []


def test_a_keeper_may_not_approve_send_back_or_cancel(app, keeper, manager, xb, shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 1)
    _submit(keeper, stocktake)
    for action in ("approve", "recount", "cancel"):
        response = xb.post(f"/stocktakes/{stocktake['id']}/{action}",
                           data={"idempotency_key": "d" * 32, "labels": [shelf["water"]]})
        assert response.status_code == 403, action
    assert _stocktake(app, stocktake["id"]).status == "review"


def test_sending_lines_back_from_the_page_opens_the_count_again(app, keeper, manager, boss, shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 7000)
    _count(keeper, stocktake, shelf["tents"], 20)
    _submit(keeper, stocktake)
    page = f"/stocktakes/{stocktake['id']}"
    html = boss.get(f"{page}?lines=all").get_data(as_text=True)
    assert f'value="{shelf["tents"]}"' in html, "every line may be sent back from the full list"

    nothing = boss.post(f"{page}/recount", data={"idempotency_key": _key(html, "recount-form")})
    assert nothing.status_code == 302
    assert "请先勾选要复盘的行" in _flashes(boss.get(page).get_data(as_text=True))
    assert _stocktake(app, stocktake["id"]).status == "review"

    html = boss.get(page).get_data(as_text=True)
    sent = boss.post(f"{page}/recount", data={"idempotency_key": _key(html, "recount-form"),
                                              "labels": [shelf["water"]]})
    assert sent.status_code == 302
    reviewed = boss.get(page).get_data(as_text=True)
    assert "已退回复盘 1 行" in reviewed and "待复盘 1 行" in reviewed
    assert _stocktake(app, stocktake["id"]).status == "counting"
    with app.app_context():
        lines = {line.item.label: (line.counted, line.recount) for line in db.session.scalars(
            sa.select(StocktakeLine))}
    assert lines == {shelf["water"]: (None, True), shelf["tents"]: (20, False)}


def test_cancelling_from_the_page_posts_nothing(app, keeper, manager, boss, shelf):
    stocktake = _open(manager)
    _count(keeper, stocktake, shelf["water"], 1)
    page = f"/stocktakes/{stocktake['id']}"
    html = boss.get(page).get_data(as_text=True)
    form = {"idempotency_key": re.search(r'name="idempotency_key" type="hidden" value="(\w+)"', html)[1]}
    assert boss.post(f"{page}/cancel", data=form).status_code == 302
    cancelled = boss.get(page).get_data(as_text=True)
    assert "已撤销盘点单" in cancelled and "已撤销" in cancelled and "/cancel" not in cancelled
    assert _stocktake(app, stocktake["id"]).status == "cancelled"
    assert _movements(app, stocktake["number"]) == []
    again = boss.post(f"{page}/cancel", data={"idempotency_key": "e" * 32})
    assert again.status_code == 302
    assert any("已撤销" in flash for flash in _flashes(boss.get(page).get_data(as_text=True)))


def test_an_agreement_sites_review_sets_the_promise_beside_the_shelf(app, keeper, manager, boss):
    receive(manager, site="GT-XB-DC1", quantity=30)
    with app.app_context():
        agreement = db.session.scalar(sa.select(Agreement).join(Site).where(Site.code == "GT-XB-DC1"))
        water = db.session.scalar(sa.select(Material).where(Material.code == "WATER"))
        db.session.add(AgreementLine(agreement_id=agreement.id, material_id=water.id, quantity=50))
        db.session.commit()
    stocktake = _open(manager, site="GT-XB-DC1")
    label = manager.get(f"/stocktakes/{stocktake['id']}").json["lines"][0]["label"]
    _count(keeper, stocktake, label, 28)
    html = boss.get(f"/stocktakes/{stocktake['id']}").get_data(as_text=True)
    assert "代储核查" in html
    row = re.search(r"<tr><td>瓶装饮用水</td>(.*?)</tr>", html, re.DOTALL)[1]
    assert re.findall(r">(\d+)<", row) == ["50", "28", "22"]
