"""Stock pages: a keeper works the ledger through forms; a resent form applies once."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from inventory.db import db
from inventory.stock.models import Issue, Movement, StockItem
from tests.factories import check_ledger, form_key, page_client, receive


@pytest.fixture
def keeper_page(client, login, keeper):
    """The 新坝镇 keeper, logged in to the pages (and with an API token for set-up)."""
    login("xb")
    return client


def test_receive_issue_on_loan_and_return_through_the_forms(app, keeper_page, today):
    page = keeper_page.get("/stock/receive").get_data(as_text=True)
    response = keeper_page.post("/stock/receive", data={
        "idempotency_key": form_key(page), "site": "GT-XB", "material": "TENT", "quantity": "20",
        "lot": "T-2026-01", "source": "provincial"})
    assert response.status_code == 302, response.get_data(as_text=True)
    receipt_page = keeper_page.get(response.headers["Location"]).get_data(as_text=True)
    assert "T-2026-01" in receipt_page and "棉帐篷" in receipt_page

    page = keeper_page.get("/stock/issue").get_data(as_text=True)
    due = (today + dt.timedelta(days=14)).isoformat()
    response = keeper_page.post("/stock/issue", data={
        "idempotency_key": form_key(page), "site": "GT-XB", "recipient_type": "household",
        "recipient_name": "张家", "recipient_id_number": "620724198001011234",
        "lines-0-material": "TENT", "lines-0-quantity": "3", "lines-0-due_back": due})
    assert response.status_code == 302, response.get_data(as_text=True)
    slip = keeper_page.get(response.headers["Location"]).get_data(as_text=True)
    assert "救灾物资发放单" in slip and "张家" in slip and "保管员签字" in slip
    assert "620***********1234" in slip and "620724198001011234" not in slip, "ID numbers masked"
    loans = keeper_page.get("/stock/loans").get_data(as_text=True)
    assert "张家" in loans

    number = re.search(r"FF-\d{4}-\d{6}", slip)[0]
    form = keeper_page.get(f"/stock/issues/{number}/return").get_data(as_text=True)
    line_id = re.search(r'name="lines-0-issue_line" type="hidden" value="(\d+)"', form)[1]
    response = keeper_page.post(f"/stock/issues/{number}/return", data={
        "idempotency_key": form_key(form), "lines-0-issue_line": line_id, "lines-0-quantity": "2",
        "lines-0-condition": "good"})
    assert response.status_code == 302
    stock = keeper_page.get("/stock/?site=GT-XB").get_data(as_text=True)
    assert ">19<" in stock, "20 received, 3 lent, 2 back"
    ledger = keeper_page.get("/stock/ledger?site=GT-XB").get_data(as_text=True)
    assert "+20" in ledger and "-3" in ledger and "+2" in ledger
    assert check_ledger(app)[0] == 0


def test_a_resent_issue_form_applies_once(app, keeper_page, keeper):
    receive(keeper, quantity=10)
    page = keeper_page.get("/stock/issue").get_data(as_text=True)
    data = {"idempotency_key": form_key(page), "site": "GT-XB", "recipient_type": "person",
            "recipient_name": "王", "lines-0-material": "WATER", "lines-0-quantity": "1"}
    first = keeper_page.post("/stock/issue", data=data)
    second = keeper_page.post("/stock/issue", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 1
        assert db.session.scalar(sa.select(StockItem.quantity)) == 9


def test_a_short_issue_form_says_which_line_and_changes_nothing(app, keeper_page, keeper):
    receive(keeper, quantity=2)
    page = keeper_page.get("/stock/issue").get_data(as_text=True)
    response = keeper_page.post("/stock/issue", data={
        "idempotency_key": form_key(page), "site": "GT-XB", "recipient_type": "person",
        "recipient_name": "王", "lines-0-material": "WATER", "lines-0-quantity": "5",
        "lines-1-material": "", "lines-1-quantity": "", "lines-2-label": "NOPE",
        "lines-2-quantity": "x"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "应为正整数" in text
    response = keeper_page.post("/stock/issue", data={
        "idempotency_key": form_key(page), "site": "GT-XB", "recipient_type": "person",
        "recipient_name": "王", "lines-0-material": "WATER", "lines-0-quantity": "5"})
    assert response.status_code == 422
    assert "库存不足：需要 5，可用 2" in response.get_data(as_text=True)
    assert 'value="王"' in response.get_data(as_text=True), "what was typed stays"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0


def test_a_transfer_through_the_pages(app, client, login, keeper, manager):
    receive(keeper, quantity=10)
    login("xb")
    page = client.get("/stock/transfers/new").get_data(as_text=True)
    response = client.post("/stock/transfers/new", data={
        "idempotency_key": form_key(page), "from_site": "GT-XB", "to_site": "GT-NH",
        "lines-0-material": "WATER", "lines-0-quantity": "4"})
    assert response.status_code == 302
    location = response.headers["Location"]
    note = client.get(location).get_data(as_text=True)
    assert "救灾物资调拨单" in note and "待发出" in note
    response = client.post(f"{location}/dispatch", data={"idempotency_key": form_key(note)})
    assert response.status_code == 302
    assert "在途" in client.get(location).get_data(as_text=True)
    client.post("/logout")
    login("boss")
    form = client.get(f"{location}/receive").get_data(as_text=True)
    line_id = re.search(r'name="lines-0-line" type="hidden" value="(\d+)"', form)[1]
    response = client.post(f"{location}/receive", data={
        "idempotency_key": form_key(form), "lines-0-line": line_id, "lines-0-received": "3"})
    assert response.status_code == 302
    note = client.get(location).get_data(as_text=True)
    assert "已收货" in note and '<strong class="out">1</strong>' in note
    assert check_ledger(app)[0] == 0


def test_adjusting_through_the_page(app, keeper_page, keeper, manager):
    [item] = receive(keeper, quantity=10)["items"]
    path = f"/stock/item/{item['label']}/adjust"
    page = keeper_page.get(path).get_data(as_text=True)
    assert "调减（无论何种原因）须由管理员办理" in page
    response = keeper_page.post(path, data={
        "idempotency_key": form_key(page), "delta": "-2", "reason": "count_correction"})
    assert response.status_code == 403 and "调减库存须由管理员办理" in response.get_data(as_text=True)
    response = keeper_page.post(path, data={
        "idempotency_key": form_key(page), "delta": "2", "reason": "count_correction"})
    assert response.status_code == 302
    boss = page_client(app, "boss")
    page = boss.get(path).get_data(as_text=True)
    assert "须由管理员办理" not in page
    response = boss.post(path, data={
        "idempotency_key": form_key(page), "delta": "-20", "reason": "count_correction"})
    assert response.status_code == 422 and "小于 0" in response.get_data(as_text=True)
    response = boss.post(path, data={
        "idempotency_key": form_key(page), "delta": "-4", "reason": "count_correction"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Movement.balance_after).order_by(Movement.id.desc())) == 8


@pytest.mark.parametrize("role", ["admin", "manager", "dispatcher", "keeper", "auditor", "viewer"])
def test_every_stock_page_renders_for_every_role(client, login, make_user, keeper, role):
    [item] = receive(keeper, quantity=5)["items"]
    login(make_user(role, sites=["GT-XB"] if role in ("keeper", "auditor") else ()))
    for path in ("/stock/", "/stock/?site=GT-XB&status=available&expiring=90&sub=1",
                 f"/stock/item/{item['label']}", "/stock/issues", "/stock/loans?overdue=1",
                 "/stock/transfers", "/stock/ledger?kind=receipt&since=2020-01-01&until=bad",
                 "/stock/summary", "/stock/summary?site=GT-XB",
                 "/stock/receipts/" + keeper.get("/movements").json["items"][0]["document"]):
        assert client.get(path).status_code == 200, path


def test_a_keeper_of_another_town_sees_nothing_of_it(client, login, make_user, keeper):
    [item] = receive(keeper, quantity=5)["items"]
    login(make_user("keeper", sites=["GT-NH"]))
    assert client.get(f"/stock/item/{item['label']}").status_code == 404, "as if it did not exist"
    assert client.get("/stock/?site=GT-XB").status_code == 403
    assert client.get("/stock/summary?site=GT-XB").status_code == 403
    assert item["label"] not in client.get("/stock/").get_data(as_text=True)
    assert item["label"] not in client.get("/stock/ledger").get_data(as_text=True)
    assert client.post("/stock/receive", data={"site": "GT-XB", "material": "WATER",
                                               "quantity": "1"}).status_code == 403


def test_the_summary_page_totals_a_town_and_its_villages_by_material(keeper_page, keeper):
    receive(keeper, material="WATER", quantity=7)
    receive(keeper, site="GT-XB-HP", material="WATER", quantity=5)
    receive(keeper, material="TENT", quantity=4)
    assert keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "李"},
                                   "lines": [{"material": "TENT", "quantity": 3}]}).status_code == 201
    assert "按物资汇总" in keeper_page.get("/stock/?site=GT-XB").get_data(as_text=True)
    page = keeper_page.get("/stock/summary?site=GT-XB").get_data(as_text=True)
    rows = dict((code, figures) for code, *figures in re.findall(
        r"<tr><td>(\w+)</td>" + r'<td class="num">(\d+)</td>' * 4, page))
    # available, on loan, in transit, damaged
    assert rows == {"WATER": ["12", "0", "0", "0"], "TENT": ["1", "3", "0", "0"]}


def test_an_issue_form_without_lines_says_so(keeper_page):
    page = keeper_page.get("/stock/issue").get_data(as_text=True)
    response = keeper_page.post("/stock/issue", data={
        "idempotency_key": form_key(page), "site": "GT-XB", "recipient_type": "person",
        "recipient_name": ""})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "至少要有 1 项" in text and "不能为空" in text


def test_the_return_form_offers_what_is_still_out(app, keeper_page, keeper, today):
    """Issue 15: each loan line comes prefilled with its outstanding quantity; a form sent with
    none says which number is missing."""
    receive(keeper, material="TENT", quantity=5, lot="T1")
    loan = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                   "lines": [{"material": "TENT", "quantity": 3}]}).json
    path = f"/stock/issues/{loan['number']}/return"
    form = keeper_page.get(path).get_data(as_text=True)
    assert re.search(r'name="lines-0-quantity"[^>]*value="3"', form)
    line = str(loan["lines"][0]["id"])
    empty = keeper_page.post(path, data={"idempotency_key": form_key(form),
                                         "lines-0-issue_line": line, "lines-0-quantity": "",
                                         "lines-0-condition": "good"})
    assert empty.status_code == 422 and "请填写归还数量" in empty.get_data(as_text=True)
    back = keeper_page.post(path, data={"idempotency_key": form_key(form),
                                        "lines-0-issue_line": line, "lines-0-quantity": "3",
                                        "lines-0-condition": "good"})
    assert back.status_code == 302
    assert keeper.get(f"/issues/{loan['number']}").json["lines"][0]["outstanding"] == 0
