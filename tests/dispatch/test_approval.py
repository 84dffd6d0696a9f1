"""Approval (dispatch/approval.py): a plan becomes transfers in transit, all or nothing, on
SQLite and PostgreSQL. The area is test_planning.py's: QX-D asks; QX-A (11.1 km), QX-B
(22.2 km) and QX-C (33.4 km) give."""

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch import planning
from inventory.dispatch.services import close_incident, get_request
from inventory.errors import Forbidden, InsufficientStock, InvalidState, ValidationError
from inventory.feed.models import Event
from inventory.stock.models import Movement, StockItem, Transfer
from inventory.stock.services import issue
from inventory.stock.transfers import receive_transfer
from tests.dispatch.test_planning import (
    PROVINCE,
    allocations,
    approve_owner,
    build_area,
    make_plan,
    norm,
    request_for,
    stock,
)
from tests.factories import check_ledger, in_days, make_user


@pytest.fixture
def area(app):
    return build_area(app)


DRIVER = {"driver_name": "张师傅", "driver_phone": "13900000000", "vehicle": "甘G·12345"}


def approve(app, request_id, data=None, actor=COMMAND_LINE):
    """Approve; answer the transfers' numbers."""
    with app.app_context():
        return [transfer.number for transfer in
                planning.approve(actor=actor, request_id=request_id, data=data or {})]


def balances(app) -> dict:
    """(site, material, owner, status) → quantity, for every item holding something."""
    with app.app_context():
        totals = Counter()
        for item in db.session.scalars(sa.select(StockItem).where(StockItem.quantity > 0)):
            totals[item.site.code, item.material.code, item.owner, item.status] += item.quantity
        return dict(totals)


def ledger_state(app) -> tuple:
    """Everything an approval could write: movements, transfers, the request rows, events."""
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Movement)),
                db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)),
                db.session.scalar(sa.select(sa.func.count()).select_from(Event)))


def request_state(app, request_id) -> tuple:
    with app.app_context():
        request = get_request(request_id)
        return request.status, request.version, allocations(app, request_id)


def keep_issue(app, site, material, quantity):
    """A keeper hands goods out at ``site`` (it must succeed)."""
    with app.app_context():
        issue(actor=COMMAND_LINE, data={"site": site, "recipient": {"type": "person", "name": "王"},
                                        "lines": [{"material": material, "quantity": quantity}]})


# --- the plan sent -------------------------------------------------------------------------------

def test_approval_sends_one_transfer_per_source_in_transit_first_expiry_first(area, today):
    stock(area, "QX-A", quantity=4, lot="LATE", expiry_date=in_days(today, 300))
    stock(area, "QX-A", quantity=3, lot="EARLY", expiry_date=in_days(today, 20))
    stock(area, "QX-A", material="QUILT", quantity=5)
    stock(area, "QX-B", quantity=10)
    request_id = request_for(area, {"WATER": 9, "QUILT": 2})
    make_plan(area, request_id)
    with area.app_context():
        version = get_request(request_id).version
    numbers = approve(area, request_id, {**DRIVER, "version": version})
    assert len(numbers) == 2
    with area.app_context():
        request = get_request(request_id)
        assert (request.status, request.version) == ("approved", version + 1)
        assert request.approved_at is not None
        first, second = (db.session.scalars(sa.select(Transfer).where(Transfer.number == number)).one()
                         for number in numbers)
        assert (first.from_site.code, first.to_site.code, second.from_site.code) == ("QX-A", "QX-D", "QX-B")
        for transfer in (first, second):
            assert transfer.status == "in_transit" and transfer.dispatched_at is not None
            assert transfer.incident_id == request.incident_id
            assert (transfer.driver_name, transfer.driver_phone, transfer.vehicle) == tuple(DRIVER.values())
            assert f"需求申报 {request_id}" in transfer.note
        assert [(line.material.code, line.from_item.lot, line.quantity) for line in first.lines] == [
            ("WATER", "EARLY", 3), ("WATER", "LATE", 4), ("QUILT", None, 2)]
        assert [(line.material.code, line.quantity) for line in second.lines] == [("WATER", 2)]
        assert {(a.from_site.code, a.material.code): a.transfer.number for a in request.allocations} == {
            ("QX-A", "WATER"): first.number, ("QX-A", "QUILT"): first.number, ("QX-B", "WATER"): second.number}
        kinds = Counter(db.session.scalars(sa.select(Movement.kind).where(Movement.document.in_(numbers))))
        events = [(event.type, event.ref) for event in db.session.scalars(
            sa.select(Event).where(Event.type.in_(["request.approved", "transfer.dispatched"]))
            .order_by(Event.id))]
        approved = db.session.scalars(sa.select(Event).where(Event.type == "request.approved")).one()
    assert kinds == {"transfer_out": 4}
    assert events == [("transfer.dispatched", first.number), ("transfer.dispatched", second.number),
                      ("request.approved", str(request_id))]
    assert approved.data == {"transfers": numbers}
    assert balances(area) == {("QX-A", "QUILT", "bureau", "available"): 3,
                              ("QX-B", "WATER", "bureau", "available"): 8}
    assert check_ledger(area)[0] == 0

    # The destination's keeper receives them as any transfer; the goods then sit at QX-D.
    keeper = make_user(area, "keeper", sites=["QX-D"])
    with area.app_context():
        for number in numbers:
            assert receive_transfer(actor=find_user(keeper), number=number).status == "received"
    assert balances(area) == {("QX-A", "QUILT", "bureau", "available"): 3,
                              ("QX-B", "WATER", "bureau", "available"): 8,
                              ("QX-D", "WATER", "bureau", "available"): 9,
                              ("QX-D", "QUILT", "bureau", "available"): 2}
    assert check_ledger(area)[0] == 0


def test_a_serial_unit_travels_in_transit(area):
    stock(area, "QX-A", material="GEN", quantity=1, serials=["G-1"])
    request_id = request_for(area, {"GEN": 1})
    make_plan(area, request_id)
    [number] = approve(area, request_id)
    with area.app_context():
        unit = db.session.scalars(sa.select(StockItem).where(StockItem.serial == "G-1")).one()
        assert (unit.site.code, unit.quantity, unit.status) == ("QX-A", 0, "in_transit")
    keeper = make_user(area, "keeper", sites=["QX-D"])
    with area.app_context():
        receive_transfer(actor=find_user(keeper), number=number)
    assert balances(area) == {("QX-D", "GEN", "bureau", "available"): 1}
    assert check_ledger(area)[0] == 0


# --- edited allocations ---------------------------------------------------------------------------

def test_edited_allocations_replace_the_plan(area):
    stock(area, "QX-A", quantity=10)
    stock(area, "QX-C", quantity=10)
    request_id = request_for(area, {"WATER": 8})
    make_plan(area, request_id)
    numbers = approve(area, request_id, {"allocations": [
        {"from_site": "QX-A", "material": "WATER", "quantity": 3},
        {"from_site": "QX-C", "material": "WATER", "quantity": 4}]})
    assert allocations(area, request_id) == [("QX-A", "WATER", "bureau", 3, 11.1, None),
                                             ("QX-C", "WATER", "bureau", 4, 33.4, None)]
    assert len(numbers) == 2
    assert balances(area) == {("QX-A", "WATER", "bureau", "available"): 7,
                              ("QX-C", "WATER", "bureau", "available"): 6}


def test_allocations_may_be_given_without_a_plan_and_take_approved_owners_goods(area):
    stock(area, "QX-B", quantity=10, owner=PROVINCE)
    request_id = request_for(area, {"WATER": 5})
    approve_owner(area, request_id)
    approve(area, request_id, {"allocations": [
        {"from_site": "QX-B", "material": "WATER", "quantity": 5, "owner": PROVINCE}]})
    assert balances(area) == {("QX-B", "WATER", PROVINCE, "available"): 5}
    assert request_state(area, request_id)[0] == "approved"


BAD_EDITS = [
    ({"from_site": "NOWHERE", "material": "WATER", "quantity": 1}, "from_site", "不存在"),
    ({"from_site": "QX-D", "material": "WATER", "quantity": 1}, "from_site", "申报站点"),
    ({"from_site": "QX-B", "material": "WATER", "quantity": 1}, "from_site", "断路"),
    ({"from_site": "QX-A", "material": "TENT", "quantity": 1}, "material", "不在本需求申报中"),
    ({"from_site": "QX-A", "material": "NOPE", "quantity": 1}, "material", "不在本需求申报中"),
    ({"from_site": "QX-C", "material": "WATER", "quantity": 8}, "quantity", "合计超出申报数量 8"),
    ({"from_site": "QX-A", "material": "WATER", "quantity": 1, "owner": PROVINCE}, "owner", PROVINCE),
    ({"from_site": "QX-C", "material": "WATER", "quantity": 6}, "quantity", "超出该站点可调数量 5"),
    ({"from_site": "QX-A", "material": "QUILT", "quantity": 3}, "quantity", "超出该站点可调数量 2"),
]


@pytest.mark.parametrize("edit, field, message", BAD_EDITS)
def test_each_bad_edit_is_refused_on_its_field_and_changes_nothing(area, edit, field, message):
    norm(area, min_quantity=25)
    stock(area, "QX-A", quantity=10)
    stock(area, "QX-A", material="QUILT", quantity=27)  # 2 above its norm
    stock(area, "QX-B", quantity=10)
    stock(area, "QX-C", quantity=5)
    stock(area, "QX-D", quantity=50)
    request_id = request_for(area, {"WATER": 8, "QUILT": 3}, cut_off=["QX-B"])
    make_plan(area, request_id)
    before = (request_state(area, request_id), balances(area), ledger_state(area))
    with pytest.raises(ValidationError) as refused:
        approve(area, request_id, {"allocations": [
            {"from_site": "QX-A", "material": "WATER", "quantity": 1}, edit]})
    assert message in refused.value.details[f"allocations.1.{field}"], refused.value.details
    assert "allocations.0.from_site" not in refused.value.details
    assert (request_state(area, request_id), balances(area), ledger_state(area)) == before


def test_two_lines_for_one_source_material_and_owner_are_refused(area):
    stock(area, "QX-A", quantity=10)
    request_id = request_for(area, {"WATER": 8})
    with pytest.raises(ValidationError) as refused:
        approve(area, request_id, {"allocations": [
            {"from_site": "QX-A", "material": "WATER", "quantity": 1},
            {"from_site": "QX-A", "material": "WATER", "quantity": 1, "owner": "bureau"}]})
    assert "allocations.1.from_site" in refused.value.details


def test_edits_under_one_norm_share_its_spare(area):
    norm(area, materials=("QUILT", "BLANKET"), min_quantity=25)
    stock(area, "QX-A", material="QUILT", quantity=20)
    stock(area, "QX-A", material="BLANKET", quantity=10)
    request_id = request_for(area, {"QUILT": 4, "BLANKET": 4})
    with pytest.raises(ValidationError) as refused:
        approve(area, request_id, {"allocations": [
            {"from_site": "QX-A", "material": "QUILT", "quantity": 4},
            {"from_site": "QX-A", "material": "BLANKET", "quantity": 2}]})
    assert refused.value.details == {"allocations.1.quantity": "超出该站点可调数量 1"}


# --- approval refused as a whole ----------------------------------------------------------------

def test_a_plan_remade_since_the_page_was_drawn_or_never_made_is_refused(area):
    stock(area, "QX-A", quantity=10)
    request_id = request_for(area, {"WATER": 2})
    with pytest.raises(InvalidState):
        approve(area, request_id)
    make_plan(area, request_id)
    with area.app_context():
        drawn = get_request(request_id).version
    make_plan(area, request_id)
    before = (request_state(area, request_id), ledger_state(area))
    with pytest.raises(InvalidState):
        approve(area, request_id, {"version": drawn})
    assert (request_state(area, request_id), ledger_state(area)) == before
    approve(area, request_id, {"version": drawn + 1})
    with pytest.raises(InvalidState):
        approve(area, request_id)
    assert balances(area) == {("QX-A", "WATER", "bureau", "available"): 8}


def test_stock_issued_since_the_plan_refuses_the_approval_with_what_changed(area):
    stock(area, "QX-A", quantity=5)
    stock(area, "QX-B", material="QUILT", quantity=4)
    request_id = request_for(area, {"WATER": 5, "QUILT": 4})
    make_plan(area, request_id)
    keep_issue(area, "QX-A", "WATER", 2)
    before = (request_state(area, request_id), balances(area), ledger_state(area))
    with pytest.raises(InsufficientStock) as refused:
        approve(area, request_id)
    assert refused.value.details == [{"line": 0, "from_site": "QX-A", "material": "WATER", "requested": 5,
                                      "available": 3}]
    assert (request_state(area, request_id), balances(area), ledger_state(area)) == before
    assert check_ledger(area)[0] == 0


def test_the_norm_floor_is_checked_again_under_the_lock(area):
    norm(area, min_quantity=25)
    stock(area, "QX-A", material="QUILT", quantity=30)
    request_id = request_for(area, {"QUILT": 5})
    assert make_plan(area, request_id)[0] == [("QX-A", "QUILT", "bureau", 5, 11.1, None)]
    keep_issue(area, "QX-A", "QUILT", 3)  # 27 left: only 2 above the norm
    with pytest.raises(InsufficientStock) as refused:
        approve(area, request_id)
    assert refused.value.details[0]["available"] == 2
    # Planned below the norm on purpose, the same approval goes.
    make_plan(area, request_id, allow_below_norm=True)
    approve(area, request_id)
    assert balances(area) == {("QX-A", "QUILT", "bureau", "available"): 22}


def test_an_approval_of_a_closed_incident_or_by_a_keeper_is_refused(area):
    stock(area, "QX-A", quantity=10)
    request_id = request_for(area, {"WATER": 2})
    make_plan(area, request_id)
    keeper = make_user(area, "keeper", sites=["QX-D"])
    with area.app_context():
        with pytest.raises(Forbidden):
            planning.approve(actor=find_user(keeper), request_id=request_id, data={})
        close_incident(actor=COMMAND_LINE, incident_id=get_request(request_id).incident_id)
    with pytest.raises(InvalidState):
        approve(area, request_id)
    assert balances(area) == {("QX-A", "WATER", "bureau", "available"): 10}


def test_expiry_between_plan_and_approval_is_caught(area, today):
    stock(area, "QX-A", quantity=4, expiry_date=in_days(today, 2))
    request_id = request_for(area, {"WATER": 4})
    make_plan(area, request_id)
    with clock.travel(today + dt.timedelta(days=3)), pytest.raises(InsufficientStock) as refused:
        approve(area, request_id)
    assert refused.value.details[0]["available"] == 0
