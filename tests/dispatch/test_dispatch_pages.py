"""The dispatch pages (issue 17): incidents, the incident screen and its live answer, requests with
the needs calculator, the plan a dispatcher edits and approves, the printable 调拨单. Every page
renders; bad input is refused in Chinese and changes nothing; viewers see no buttons and are
refused on every POST."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch import kits, planning, services
from inventory.dispatch.models import Incident, Request
from inventory.stock.models import Transfer
from tests.factories import check_ledger, page_client, receive


@pytest.fixture
def people(app, make_user, county, catalog):
    """A dispatcher, 新坝镇's keeper, a viewer: page clients, by role."""
    return {role: page_client(app, make_user(role, username=name, sites=sites))
            for role, name, sites in (("dispatcher", "duty", ()), ("keeper", "xb", ["GT-XB"]),
                                      ("viewer", "look", ()))}


@pytest.fixture
def incident(app, people):
    """An open earthquake: 新坝镇 affected (300 displaced), 南华镇 cut off."""
    with app.app_context():
        made = services.open_incident(actor=find_user("duty"), data={
            "name": "测试地震", "type": "earthquake", "level": 3,
            "started_at": (clock.now() - dt.timedelta(minutes=95)).isoformat(),
            "people": [{"site": "GT-XB", "affected_people": 1200, "displaced_people": 300}],
            "cut_off_sites": ["GT-NH"]})
        return made.id


@pytest.fixture
def stocked(manager):
    """Water and tents at the county depot, the plan's source."""
    receive(manager, site="GT", material="WATER", quantity=500)
    receive(manager, site="GT", material="TENT", quantity=40)


def _request(app, incident, lines=(("WATER", 100),), site="GT-XB", user="xb") -> int:
    with app.app_context():
        return services.create_request(actor=find_user(user), incident_id=incident, data={
            "to_site": site, "lines": [{"material": code, "quantity": n} for code, n in lines]}).id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _text(response) -> str:
    return response.get_data(as_text=True)


def _errors(response) -> list[str]:
    """The problems a refused form shows."""
    return re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)', _text(response))


def _key(html: str, action: str) -> str:
    """The once-only key of the form posting to ``action``."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)[1]
    return re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]{32})"', form)[1]


# --- incidents ------------------------------------------------------------------------------------

def test_every_incident_page_renders_and_the_screen_shows_the_incident(app, people, incident):
    dispatcher = people["dispatcher"]
    listing = _text(dispatcher.get("/incidents/"))
    assert "测试地震" in listing and "立案" in listing
    assert "测试地震" not in _text(dispatcher.get("/incidents/?status=closed"))
    form = _text(dispatcher.get("/incidents/new"))
    assert 'name="affected_people-GT-XB"' in form and 'type="datetime-local"' in form
    screen = dispatcher.get(f"/incidents/{incident}")
    assert screen.status_code == 200
    page = _text(screen)
    assert "测试地震" in page and "Ⅲ级" in page and "1 小时 35 分" in page
    assert "断路" in page and "紧急转移安置 300" in page and "立案" in page
    assert f"/stock/transfers?incident={incident}&amp;status=in_transit" in page
    live = dispatcher.get(f"/incidents/{incident}/live")
    assert live.status_code == 200
    assert live.json["counts"] == {"open_requests": 0, "unmet_lines": 0, "in_transit": 0,
                                   "overdue_transfers": 0}
    assert live.json["timeline"][0]["type"] == "incident.opened"
    edit = _text(dispatcher.get(f"/incidents/{incident}/edit"))
    assert 'value="1200"' in edit and 'name="version"' in edit
    assert dispatcher.get("/incidents/2147483647").status_code == 404


def test_opening_an_incident_from_the_form_keeps_its_areas_and_people(app, people):
    response = people["dispatcher"].post("/incidents/new", data={
        "name": "山洪", "type": "flood", "level": "2", "started_at": "2026-07-01T08:30",
        "areas": ["GT-XB", "GT-NH"], "cut_off_sites": ["GT-NH"], "affected_people-GT-XB": "800",
        "displaced_people-GT-XB": "120", "affected_people-GT-NH": "", "displaced_people-GT-NH": "5"})
    assert response.status_code == 302, _text(response)
    with app.app_context():
        made = db.session.scalar(sa.select(Incident).where(Incident.name == "山洪"))
        assert made.level == 2 and made.started_at == dt.datetime(2026, 7, 1, 0, 30, tzinfo=dt.UTC)
        entries = {entry.site.code: entry for entry in made.sites}
        assert (entries["GT-XB"].affected_people, entries["GT-XB"].displaced_people) == (800, 120)
        assert entries["GT-NH"].cut_off and entries["GT-NH"].displaced_people == 5
    assert response.headers["Location"].endswith(f"/incidents/{made.id}")


@pytest.mark.parametrize(("fields", "message"), [
    ({"level": "7"}, "不能大于 4"),
    ({"level": "一"}, "整数"),
    ({"name": ""}, "不能为空"),
    ({"type": "meteor"}, "应为以下之一"),
    ({"started_at": "昨天"}, "时间"),
    ({"areas": ["NOPE"]}, "站点不存在"),
    ({"displaced_people-GT-XB": "-3"}, "新坝镇储备室 的人数"),
    ({"displaced_people-GT-XB": "很多"}, "新坝镇储备室 的人数"),
])
def test_bad_incident_input_is_refused_in_chinese_and_changes_nothing(app, people, fields, message):
    before = _count(app, Incident)
    data = {"name": "坏数据", "type": "earthquake", "level": "3", "started_at": "2026-07-01T08:30",
            "areas": ["GT-XB"], "affected_people-GT-XB": "1", "displaced_people-GT-XB": "1", **fields}
    response = people["dispatcher"].post("/incidents/new", data=data)
    assert response.status_code == 422
    assert message in _text(response), _errors(response)
    assert _count(app, Incident) == before


def test_an_edit_over_a_newer_one_is_refused_with_a_clear_message(app, people, incident):
    dispatcher = people["dispatcher"]
    stale = {"name": "测试地震（改）", "type": "earthquake", "level": "2", "started_at": "2026-07-01T08:30",
             "areas": ["GT-XB"], "affected_people-GT-XB": "1", "displaced_people-GT-XB": "1",
             "version": "1"}
    assert dispatcher.post(f"/incidents/{incident}/edit", data=stale).status_code == 302
    again = dispatcher.post(f"/incidents/{incident}/edit", data={**stale, "name": "另一人的修改"})
    assert again.status_code == 422
    assert "已被他人修改，请刷新后重试" in _text(again)
    with app.app_context():
        assert db.session.get(Incident, incident).name == "测试地震（改）"


def test_closing_ends_the_incident_and_its_requests_are_refused(app, people, incident):
    dispatcher = people["dispatcher"]
    page = _text(dispatcher.get(f"/incidents/{incident}"))
    key = _key(page, f"/incidents/{incident}/close")
    assert dispatcher.post(f"/incidents/{incident}/close", data={"idempotency_key": key}).status_code == 302
    with app.app_context():
        assert db.session.get(Incident, incident).status == "closed"
    before = _count(app, Request)
    refused = people["keeper"].post(f"/incidents/{incident}/requests/new", data={
        "to_site": "GT-XB", "lines-0-material": "WATER", "lines-0-quantity": "5"})
    assert refused.status_code == 422 and "已结束" in _text(refused)
    assert _count(app, Request) == before


# --- requests and the needs calculator ------------------------------------------------------------

def test_a_keeper_fills_a_request_with_the_calculator_and_sends_it(app, people, incident):
    with app.app_context():
        kit = kits.create_kit(actor=COMMAND_LINE, data={
            "name": "安置包", "basis": "person", "lines": [{"material": "WATER", "quantity": 3},
                                                             {"material": "QUILT", "quantity": 0.5}]})
        kit_id = kit.id
    keeper = people["keeper"]
    form = _text(keeper.get(f"/incidents/{incident}/requests/new"))
    assert '<option selected value="GT-XB">' in form or 'value="GT-XB" selected' in form
    assert "GT-NH" not in form, "a keeper asks only for their own sites"
    calculated = keeper.post(f"/incidents/{incident}/requests/new", data={
        "to_site": "GT-XB", "kits": [str(kit_id)], "displaced_people": "", "calculate": "按人数计算需求"})
    assert calculated.status_code == 200
    page = _text(calculated)
    assert 'value="900"' in page and 'value="150"' in page, "300 displaced × 3 water, × 0.5 quilts"
    assert _count(app, Request) == 0, "the calculator sends nothing"
    sent = keeper.post(f"/incidents/{incident}/requests/new", data={
        "to_site": "GT-XB", "lines-0-material": "WATER", "lines-0-quantity": "800",
        "lines-1-material": "QUILT", "lines-1-quantity": "150", "lines-2-material": "",
        "lines-2-quantity": "", "note": "先要水"})
    assert sent.status_code == 302, _text(sent)
    with app.app_context():
        made = db.session.scalar(sa.select(Request))
        assert [(line.material.code, line.quantity) for line in made.lines] == [("WATER", 800), ("QUILT", 150)]
        assert made.note == "先要水"
    detail = _text(keeper.get(sent.headers["Location"]))
    assert "待调度" in detail and "生成方案" not in detail and "批准调拨" not in detail


@pytest.mark.parametrize(("fields", "message"), [
    ({"lines-0-material": "NOPE", "lines-0-quantity": "5"}, "不存在"),
    ({"lines-0-material": "WATER", "lines-0-quantity": "0"}, "不能小于 1"),
    ({"lines-0-material": "WATER", "lines-0-quantity": "五"}, "整数"),
    ({"lines-0-material": "", "lines-0-quantity": ""}, "至少"),
])
def test_bad_request_lines_are_refused_in_chinese_and_change_nothing(app, people, incident, fields, message):
    response = people["keeper"].post(f"/incidents/{incident}/requests/new", data={"to_site": "GT-XB", **fields})
    assert response.status_code == 422
    assert message in _text(response), _errors(response)
    assert _count(app, Request) == 0


def test_a_keeper_may_not_ask_for_another_site_nor_see_its_request(app, people, incident, make_user):
    refused = people["keeper"].post(f"/incidents/{incident}/requests/new", data={
        "to_site": "GT-NH", "lines-0-material": "WATER", "lines-0-quantity": "5"})
    assert refused.status_code == 403
    theirs = _request(app, incident, site="GT-NH", user="duty")
    assert people["keeper"].get(f"/incidents/requests/{theirs}").status_code == 403
    assert _count(app, Request) == 1


# --- the plan -------------------------------------------------------------------------------------

def test_a_dispatcher_plans_edits_one_allocation_and_approves(app, people, incident, stocked):
    request_id = _request(app, incident, lines=(("WATER", 100), ("TENT", 60)))
    dispatcher = people["dispatcher"]
    page = _text(dispatcher.get(f"/incidents/requests/{request_id}"))
    planned = dispatcher.post(f"/incidents/requests/{request_id}/plan", data={
        "idempotency_key": _key(page, f"/incidents/requests/{request_id}/plan")})
    assert planned.status_code == 302
    page = _text(dispatcher.get(f"/incidents/requests/{request_id}"))
    assert "无法满足" in page and "缺 20" in page, "40 tents of 60 asked"
    with app.app_context():
        plan = db.session.get(Request, request_id)
        assert plan.status == "planned"
        rows = [(a.from_site.code, a.material.code, a.quantity) for a in plan.allocations]
        version = plan.version
    assert rows == [("GT", "WATER", 100), ("GT", "TENT", 40)]
    approved = dispatcher.post(f"/incidents/requests/{request_id}/approve", data={
        "idempotency_key": _key(page, f"/incidents/requests/{request_id}/approve"), "version": str(version),
        "lines-0-from_site": "GT", "lines-0-material": "WATER", "lines-0-quantity": "80",
        "lines-1-from_site": "GT", "lines-1-material": "TENT", "lines-1-quantity": "40",
        "lines-2-from_site": "", "lines-2-material": "", "lines-2-quantity": "",
        "driver_name": "王师傅", "driver_phone": "13800000000", "vehicle": "甘G12345"})
    assert approved.status_code == 302, _text(approved)[-3000:]
    with app.app_context():
        [transfer] = db.session.scalars(sa.select(Transfer).where(Transfer.incident_id == incident)).all()
        assert transfer.status == "in_transit" and transfer.driver_name == "王师傅"
        assert sorted((line.material.code, line.quantity) for line in transfer.lines) == [
            ("TENT", 40), ("WATER", 80)]
        number = transfer.number
    detail = _text(dispatcher.get(f"/incidents/requests/{request_id}"))
    assert number in detail and f"/stock/transfers/{number}" in detail and "已批准调拨" in detail
    note = _text(dispatcher.get(f"/stock/transfers/{number}"))
    assert "测试地震" in note and "王师傅" in note and "甘G12345" in note and "13800000000" in note
    listed = _text(dispatcher.get(f"/stock/transfers?incident={incident}"))
    assert number in listed and "测试地震" in listed
    assert _text(dispatcher.get(f"/incidents/{incident}")).count(number) >= 1
    live = dispatcher.get(f"/incidents/{incident}/live").json
    assert live["counts"]["in_transit"] == 1 and live["transfers"][0]["number"] == number
    # Times as the bureau's clock shows them (Beijing), like every other time on the screen.
    with app.app_context():
        sent = db.session.get(Transfer, transfer.id).dispatched_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert live["transfers"][0]["dispatched"] == sent.strftime("%Y-%m-%d %H:%M")
    assert sent.strftime("%Y-%m-%d %H:%M") in _text(dispatcher.get(f"/incidents/{incident}"))
    assert check_ledger(app)[0] == 0


def test_a_transfer_printed_without_a_driver_has_lines_to_write_on(app, people, incident, stocked):
    request_id = _request(app, incident)
    with app.app_context():
        planning.plan(actor=find_user("duty"), request_id=request_id)
        [transfer] = planning.approve(actor=find_user("duty"), request_id=request_id, data={})
        number = transfer.number
    note = _text(people["dispatcher"].get(f"/stock/transfers/{number}"))
    assert note.count('class="carrier"><span class="blank">') == 2 * 3, "driver, phone, vehicle in both copies"


def test_an_approval_after_the_stock_moved_says_what_changed_and_sends_nothing(app, people, incident,
                                                                             stocked, manager):
    request_id = _request(app, incident)
    dispatcher = people["dispatcher"]
    with app.app_context():
        planning.plan(actor=find_user("duty"), request_id=request_id)
        version = db.session.get(Request, request_id).version
    page = _text(dispatcher.get(f"/incidents/requests/{request_id}"))
    # Another dispatcher sends most of the water elsewhere meanwhile.
    moved = manager.post("/transfers", {"from_site": "GT", "to_site": "GT-NH",
                                        "lines": [{"material": "WATER", "quantity": 450}]})
    assert manager.post(f"/transfers/{moved.json['number']}/dispatch").status_code == 200
    refused = dispatcher.post(f"/incidents/requests/{request_id}/approve", data={
        "idempotency_key": _key(page, f"/incidents/requests/{request_id}/approve"), "version": str(version),
        "lines-0-from_site": "GT", "lines-0-material": "WATER", "lines-0-quantity": "100"})
    assert refused.status_code == 422
    text = _text(refused)
    assert "没有发出任何物资" in text and "计划 100，现仅可调 50" in text, _errors(refused)
    with app.app_context():
        assert db.session.get(Request, request_id).status == "planned"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)
                                 .where(Transfer.incident_id == incident)) == 0
    assert check_ledger(app)[0] == 0


@pytest.mark.parametrize(("row", "message"), [
    ({"lines-0-from_site": "GT-NH"}, "断路"),
    ({"lines-0-from_site": "GT-XB"}, "申报站点本身"),
    ({"lines-0-quantity": "900"}, "超出"),
    ({"lines-0-quantity": "-1"}, "正整数"),
    ({"lines-0-material": "GEN"}, "不在本需求申报中"),
])
def test_bad_allocations_are_refused_in_chinese_and_send_nothing(app, people, incident, stocked, row, message):
    request_id = _request(app, incident)
    dispatcher = people["dispatcher"]
    page = _text(dispatcher.get(f"/incidents/requests/{request_id}"))
    refused = dispatcher.post(f"/incidents/requests/{request_id}/approve", data={
        "idempotency_key": _key(page, f"/incidents/requests/{request_id}/approve"),
        **{"lines-0-from_site": "GT", "lines-0-material": "WATER", "lines-0-quantity": "50", **row}})
    assert refused.status_code == 422
    assert message in _text(refused), _errors(refused)
    assert _count(app, Transfer) == 0


def test_an_owner_approval_is_recorded_and_a_bad_one_refused(app, people, incident):
    request_id = _request(app, incident)
    dispatcher = people["dispatcher"]
    page = _text(dispatcher.get(f"/incidents/requests/{request_id}"))
    action = f"/incidents/requests/{request_id}/owner-approvals"
    bad = dispatcher.post(action, data={"idempotency_key": _key(page, action), "owner": "省应急管理厅",
                                        "approved_by": "", "approved_at": "不知道"})
    assert bad.status_code == 422 and "时间" in _text(bad)
    good = dispatcher.post(action, data={"idempotency_key": _key(page, action), "owner": "省应急管理厅",
                                         "approved_by": "李处长", "approved_at": "2026-07-01T09:00",
                                         "reference": "甘应急〔2026〕1号"})
    assert good.status_code == 302, _text(good)[-2000:]
    assert "李处长" in _text(dispatcher.get(f"/incidents/requests/{request_id}"))


# --- viewers --------------------------------------------------------------------------------------

def test_a_viewer_reads_everything_sees_no_buttons_and_is_refused_every_post(app, people, incident, stocked):
    request_id = _request(app, incident)
    viewer = people["viewer"]
    for path in (f"/incidents/{incident}", "/incidents/", f"/incidents/requests/{request_id}",
                 f"/incidents/{incident}/requests"):
        page = _text(viewer.get(path))
        assert "测试地震" in page
        for button in ('href="/incidents/new"', "/close\"", "/edit\"", "data-plan", "data-approve",
                       "/requests/new", "/cancel\"", "owner-approvals"):
            assert button not in page, (path, button)
    for path in ("/incidents/new", f"/incidents/{incident}/edit", f"/incidents/{incident}/requests/new"):
        assert viewer.get(path).status_code == 403
    before = (_count(app, Incident), _count(app, Request), _count(app, Transfer))
    for path in ("/incidents/new", f"/incidents/{incident}/edit", f"/incidents/{incident}/close",
                 f"/incidents/{incident}/requests/new", f"/incidents/requests/{request_id}/plan",
                 f"/incidents/requests/{request_id}/approve", f"/incidents/requests/{request_id}/cancel",
                 f"/incidents/requests/{request_id}/owner-approvals"):
        assert viewer.post(path, data={"name": "x", "idempotency_key": "0" * 32}).status_code == 403, path
    assert (_count(app, Incident), _count(app, Request), _count(app, Transfer)) == before
    with app.app_context():
        assert db.session.get(Incident, incident).status == "open"
