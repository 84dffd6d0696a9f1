"""The plan (dispatch/planning.py), worked by hand, on SQLite and PostgreSQL.

The area: 东站 (QX-D, the requesting town) at 39.0°N 99.0°E, and towns due north of it —
QX-A at 39.1° (0.1° × 111.195 km = 11.1 km), QX-B at 39.2° (22.2 km), QX-C at 39.3° (33.4 km) —
under a county depot QX without coordinates (after every site with them). Nobody has a planning
population, so a norm requires its min_quantity.
"""

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.audit.models import AuditEntry
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db, run_in_transaction
from inventory.dispatch import planning
from inventory.dispatch import sources as sources_module
from inventory.dispatch.models import Allocation, Request, RoadTime
from inventory.dispatch.services import (
    cancel_request,
    close_incident,
    create_request,
    get_request,
    open_incident,
)
from inventory.errors import Duplicate, Forbidden, InvalidState, ValidationError
from inventory.feed.models import Event
from inventory.norms.services import create_norm
from inventory.sites.models import Site
from inventory.sites.services import update_site
from inventory.stock import ledger
from inventory.stock.models import StockItem
from inventory.stock.services import receive
from tests.factories import in_days, make_catalog, make_material, make_site, make_user

PROVINCE = "省应急管理厅"


def build_area(app):
    """The sites of the module docstring, the catalog and 毛毯."""
    make_catalog(app)
    make_site(app, "QX", name="县库")
    for code, latitude in (("QX-D", 39.0), ("QX-A", 39.1), ("QX-B", 39.2), ("QX-C", 39.3)):
        make_site(app, code, parent="QX", name=f"镇{code}", latitude=latitude, longitude=99.0,
                  planning_population=0)
    make_material(app, "BLANKET", "毛毯", unit="床")
    return app


@pytest.fixture
def area(app):
    return build_area(app)


# --- builders the approval tests share ---------------------------------------------------------

def stock(app, site, material="WATER", quantity=10, **fields):
    """Receive ``quantity`` of ``material`` at ``site``; answer the item's id."""
    with app.app_context():
        receipt = receive(actor=COMMAND_LINE, data={"site": site, "material": material,
                                                    "quantity": quantity, **fields})
        return db.session.scalar(sa.select(StockItem.id).where(
            StockItem.site_id == receipt.site_id, StockItem.material_id == receipt.material_id)
            .order_by(StockItem.id.desc()).limit(1))


def norm(app, *, materials=("QUILT",), min_quantity=25, **fields):
    with app.app_context():
        return create_norm(actor=COMMAND_LINE, data={
            "name": "三断储备", "site_kind": "town_store", "materials": list(materials),
            "min_quantity": min_quantity, **fields}).id


def incident(app, *, cut_off=()):
    with app.app_context():
        return open_incident(actor=COMMAND_LINE, data={
            "name": "东站地震", "type": "earthquake", "level": 3,
            "started_at": (clock.now() - dt.timedelta(hours=1)).isoformat(),
            "areas": ["QX-D"], "cut_off_sites": list(cut_off)}).id


def request_for(app, lines, *, to_site="QX-D", incident_id=None, cut_off=()):
    """A request of ``lines`` ({material: quantity}) in a new incident (or ``incident_id``)."""
    incident_id = incident_id or incident(app, cut_off=cut_off)
    with app.app_context():
        return create_request(actor=COMMAND_LINE, incident_id=incident_id, data={
            "to_site": to_site,
            "lines": [{"material": code, "quantity": quantity} for code, quantity in lines.items()]}).id


def allocations(app, request_id):
    """The request's allocations as (site, material, owner, quantity, distance_km, minutes)."""
    with app.app_context():
        return [(a.from_site.code, a.material.code, a.owner, a.quantity, a.distance_km, a.minutes)
                for a in get_request(request_id).allocations]


def make_plan(app, request_id, *, actor=COMMAND_LINE, allow_below_norm=False):
    """Plan the request; answer (allocations as ``allocations`` gives them, unmet as codes)."""
    with app.app_context():
        request = planning.plan(actor=actor, request_id=request_id, allow_below_norm=allow_below_norm)
        return ([(a.from_site.code, a.material.code, a.owner, a.quantity, a.distance_km, a.minutes)
                 for a in request.allocations],
                [(material.code, quantity) for material, quantity in planning.unmet(request)])


def approve_owner(app, request_id, owner=PROVINCE):
    with app.app_context():
        return planning.record_owner_approval(actor=COMMAND_LINE, request_id=request_id, data={
            "owner": owner, "approved_by": "省厅值班室李某",
            "approved_at": (clock.now() - dt.timedelta(minutes=5)).isoformat(), "reference": "电话记录 17"})


def damage(app, item_id):
    """The item becomes damaged (as a return in poor condition leaves it), through the ledger."""
    with app.app_context():
        run_in_transaction(lambda: ledger.change_quantity(
            db.session.get(StockItem, item_id), 0, kind="adjustment", actor=COMMAND_LINE,
            status="damaged", reason="damaged"))


# --- nearest first ---------------------------------------------------------------------------------

def test_nearest_sources_go_first_by_great_circle_distance(area):
    stock(area, "QX-C", quantity=10)
    stock(area, "QX-A", quantity=5)
    stock(area, "QX-B", quantity=10)
    stock(area, "QX", quantity=50)
    request_id = request_for(area, {"WATER": 12})
    with area.app_context():
        version = get_request(request_id).version
    planned, unmet = make_plan(area, request_id)
    assert planned == [("QX-A", "WATER", "bureau", 5, 11.1, None), ("QX-B", "WATER", "bureau", 7, 22.2, None)]
    assert unmet == []
    with area.app_context():
        request = get_request(request_id)
        assert (request.status, request.version, request.allow_below_norm) == ("planned", version + 1, False)
        assert request.planned_at is not None
        order = [(source.code, source.distance_km) for source in
                 planning.candidate_sources(request, allow_below_norm=False)]
        event = db.session.scalars(sa.select(Event).where(Event.type == "request.planned")).one()
    assert order == [("QX-A", 11.1), ("QX-B", 22.2), ("QX-C", 33.4), ("QX", None)]
    assert event.ref == str(request_id) and event.site_id == request.to_site_id
    assert event.incident_id == request.incident_id
    assert event.data == {"allocations": [
        {"from_site": "QX-A", "material": "WATER", "owner": "bureau", "quantity": 5, "distance_km": 11.1,
         "minutes": None},
        {"from_site": "QX-B", "material": "WATER", "owner": "bureau", "quantity": 7, "distance_km": 22.2,
         "minutes": None}], "unmet": []}


def test_a_new_plan_replaces_the_old_one(area):
    stock(area, "QX-B", quantity=10)
    request_id = request_for(area, {"WATER": 8})
    assert make_plan(area, request_id)[0] == [("QX-B", "WATER", "bureau", 8, 22.2, None)]
    stock(area, "QX-A", quantity=3)
    assert make_plan(area, request_id)[0] == [("QX-A", "WATER", "bureau", 3, 11.1, None),
                                              ("QX-B", "WATER", "bureau", 5, 22.2, None)]
    with area.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Allocation)) == 2
        assert get_request(request_id).version == 3


def test_lines_that_cannot_be_met_come_back_unmet(area):
    stock(area, "QX-A", quantity=4)
    stock(area, "QX-B", material="TENT", quantity=2)
    request_id = request_for(area, {"WATER": 10, "QUILT": 5, "TENT": 2})
    planned, unmet = make_plan(area, request_id)
    assert planned == [("QX-A", "WATER", "bureau", 4, 11.1, None), ("QX-B", "TENT", "bureau", 2, 22.2, None)]
    assert unmet == [("WATER", 6), ("QUILT", 5)]


# --- never below the norm, unless told ----------------------------------------------------------

def test_a_source_keeps_its_own_norm_unless_the_plan_may_go_below_it(area):
    norm(area, min_quantity=25)
    stock(area, "QX-A", material="QUILT", quantity=30)
    stock(area, "QX-B", material="QUILT", quantity=20)  # below its norm already: gives nothing
    stock(area, "QX", material="QUILT", quantity=4)  # a county depot: the town norm is not its own
    request_id = request_for(area, {"QUILT": 12})
    assert make_plan(area, request_id) == (
        [("QX-A", "QUILT", "bureau", 5, 11.1, None), ("QX", "QUILT", "bureau", 4, None, None)],
        [("QUILT", 3)])
    assert make_plan(area, request_id, allow_below_norm=True) == (
        [("QX-A", "QUILT", "bureau", 12, 11.1, None)], [])
    with area.app_context():
        assert get_request(request_id).allow_below_norm is True


def test_lines_under_one_norm_share_its_spare(area):
    """棉被 and 毛毯 both count for one norm of 25: of 30 at QX-A only 5 may go, in all."""
    norm(area, materials=("QUILT", "BLANKET"), min_quantity=25)
    stock(area, "QX-A", material="QUILT", quantity=20)
    stock(area, "QX-A", material="BLANKET", quantity=10)
    stock(area, "QX-A", material="WATER", quantity=7)  # not under the norm: all of it may go
    request_id = request_for(area, {"QUILT": 4, "BLANKET": 4, "WATER": 7})
    planned, unmet = make_plan(area, request_id)
    assert [(site, material, quantity) for site, material, _owner, quantity, *_ in planned] == [
        ("QX-A", "QUILT", 4), ("QX-A", "BLANKET", 1), ("QX-A", "WATER", 7)]
    assert unmet == [("BLANKET", 3)]


def test_a_hazard_norm_binds_only_where_the_site_has_that_hazard(area):
    norm(area, min_quantity=8, hazard="flood")
    stock(area, "QX-A", material="QUILT", quantity=10)
    with area.app_context():
        update_site(actor=COMMAND_LINE, code="QX-B", changes={"hazards": ["flood"]})
    stock(area, "QX-B", material="QUILT", quantity=10)
    request_id = request_for(area, {"QUILT": 20})
    assert make_plan(area, request_id)[0] == [("QX-A", "QUILT", "bureau", 10, 11.1, None),
                                              ("QX-B", "QUILT", "bureau", 2, 22.2, None)]


# --- which sites are sources at all -------------------------------------------------------------

def test_cut_off_and_requesting_sites_are_never_sources(area):
    stock(area, "QX-D", quantity=100)
    stock(area, "QX-A", quantity=100)
    stock(area, "QX-C", quantity=3)
    request_id = request_for(area, {"WATER": 10}, cut_off=["QX-A", "QX-B"])
    assert make_plan(area, request_id, allow_below_norm=True) == (
        [("QX-C", "WATER", "bureau", 3, 33.4, None)], [("WATER", 7)])


def test_a_cut_off_site_can_still_ask(area):
    stock(area, "QX-A", quantity=5)
    request_id = request_for(area, {"WATER": 5}, cut_off=["QX-D"])
    assert make_plan(area, request_id)[0] == [("QX-A", "WATER", "bureau", 5, 11.1, None)]


@pytest.mark.parametrize("valid_to_days, used", [(30, True), (-1, False)])
def test_an_agreement_site_is_a_source_only_while_its_agreement_is_valid(area, today, valid_to_days, used):
    make_site(area, "QX-A-DC", kind="agreement_site", parent="QX-A", name="代储超市", latitude=39.05,
              longitude=99.0, agreement={"partner": "超市", "number": "XY-1",
                                         "valid_from": in_days(today, -400),
                                         "valid_to": in_days(today, valid_to_days)})
    stock(area, "QX-A-DC", quantity=6)
    stock(area, "QX-C", quantity=6)
    request_id = request_for(area, {"WATER": 6})
    expected = (("QX-A-DC", "WATER", "bureau", 6, 5.6, None) if used
                else ("QX-C", "WATER", "bureau", 6, 33.4, None))
    assert make_plan(area, request_id)[0] == [expected]


def test_expired_damaged_and_inactive_stock_is_never_planned(area, today):
    stock(area, "QX-A", quantity=10, expiry_date=in_days(today, 3), lot="OLD")
    damage(area, stock(area, "QX-B", quantity=10, lot="BROKEN"))
    stock(area, "QX-C", quantity=10, expiry_date=in_days(today, 30), lot="NEW")
    request_id = request_for(area, {"WATER": 30})
    with clock.travel(today + dt.timedelta(days=4)):
        assert make_plan(area, request_id) == ([("QX-C", "WATER", "bureau", 10, 33.4, None)],
                                               [("WATER", 20)])
    assert make_plan(area, request_id)[0] == [("QX-A", "WATER", "bureau", 10, 11.1, None),
                                              ("QX-C", "WATER", "bureau", 10, 33.4, None)]


# --- nearest first, read in widening boxes ---------------------------------------------------------

def far_sites(app):
    """Towns due north of QX-D at 0.045° (5.0 km), 0.72° (80.1 km) and 3.6° (400.3 km): each in
    a wider search box (30, 90, 270, 810 km) than the one before."""
    for code, latitude in (("QX-N5", 39.045), ("QX-N80", 39.72), ("QX-N400", 42.6)):
        make_site(app, code, parent="QX", name=f"镇{code}", latitude=latitude, longitude=99.0,
                  planning_population=0)


def full_read_plan(app, request_id, *, allow_below_norm=False):
    """The greedy over every candidate source, read at once: what the widening search must equal."""
    with app.app_context():
        request = get_request(request_id)
        everything = planning.candidate_sources(request, allow_below_norm=allow_below_norm)
        return [(db.session.get(Site, a.from_site_id).code, a.material_id, a.owner, a.quantity, a.distance_km,
                 a.minutes) for a in planning.greedy(request, everything)]


def widened_plan(app, request_id, *, allow_below_norm=False):
    """The plan as planning.plan makes it (nearest_plan), and per read whether it was restricted
    (to a box, or the box and the timed sites) or read every site."""
    with app.app_context():
        request, reads = get_request(request_id), []
        read = sources_module._read

        def counting_read(*args, **kwargs):
            reads.append(kwargs.get("scope", sources_module.EVERY_SITE) != sources_module.EVERY_SITE)
            return read(*args, **kwargs)

        sources_module._read = counting_read
        try:
            planned = planning.nearest_plan(request, allow_below_norm=allow_below_norm)
        finally:
            sources_module._read = read
        return ([(db.session.get(Site, a["from_site_id"]).code, a["material_id"], a["owner"], a["quantity"],
                  a["distance_km"], a["minutes"]) for a in planned], reads)


def test_the_widening_search_plans_as_the_full_read_with_far_apart_sources(area):
    far_sites(area)
    for site, quantity in (("QX-N5", 3), ("QX-N80", 4), ("QX-N400", 5), ("QX", 6)):
        stock(area, site, quantity=quantity)
    stock(area, "QX-N80", material="TENT", quantity=2)
    request_id = request_for(area, {"WATER": 17, "TENT": 1})
    planned, reads = widened_plan(area, request_id)
    assert planned == full_read_plan(area, request_id)
    water, tent = (planned[0][1], planned[-1][1])
    assert [row[:5] for row in planned] == [
        ("QX-N5", water, "bureau", 3, 5.0), ("QX-N80", water, "bureau", 4, 80.1),
        ("QX-N400", water, "bureau", 5, 400.3), ("QX", water, "bureau", 5, None),
        ("QX-N80", tent, "bureau", 1, 80.1)]
    # No box (30 … 2,430 km) could settle it, QX having no coordinates: then all of it.
    assert reads == [True, True, True, True, True, False]
    assert make_plan(area, request_id)[1] == []


def test_the_first_box_settles_a_plan_its_sources_meet(area):
    far_sites(area)
    stock(area, "QX-N5", quantity=3)
    stock(area, "QX-N80", quantity=4)
    request_id = request_for(area, {"WATER": 3})
    planned, reads = widened_plan(area, request_id)
    assert planned == full_read_plan(area, request_id) and [row[0] for row in planned] == ["QX-N5"]
    assert reads == [True]
    # One more and the 30 km box (QX-N5 only) is not enough: the 90 km one is.
    request_id = request_for(area, {"WATER": 4})
    planned, reads = widened_plan(area, request_id)
    assert planned == full_read_plan(area, request_id) and [row[0] for row in planned] == ["QX-N5", "QX-N80"]
    assert reads == [True, True]


def test_a_cut_off_source_nearby_leaves_the_box_short_and_the_search_widens(area):
    far_sites(area)
    stock(area, "QX-N5", quantity=10)
    stock(area, "QX-A", quantity=2)
    stock(area, "QX-N80", quantity=10)
    request_id = request_for(area, {"WATER": 5}, cut_off=["QX-N5"])
    planned, reads = widened_plan(area, request_id)
    assert planned == full_read_plan(area, request_id)
    assert [row[:4] for row in planned] == [("QX-A", planned[0][1], "bureau", 2),
                                            ("QX-N80", planned[0][1], "bureau", 3)]
    assert reads == [True, True]


def test_the_widening_search_keeps_norm_spares_shared_across_lines(area):
    far_sites(area)
    norm(area, materials=("QUILT", "BLANKET"), min_quantity=4)
    stock(area, "QX-N5", material="QUILT", quantity=5)
    stock(area, "QX-N5", material="BLANKET", quantity=3)
    stock(area, "QX-N400", material="BLANKET", quantity=9)
    request_id = request_for(area, {"QUILT": 3, "BLANKET": 3})
    planned, reads = widened_plan(area, request_id)
    assert planned == full_read_plan(area, request_id)
    # QX-N5 holds 8 under one norm of 4: 3 quilts leave 1 blanket, the rest comes from 400 km.
    assert [(row[0], row[3]) for row in planned] == [("QX-N5", 3), ("QX-N5", 1), ("QX-N400", 2)]
    assert reads == [True, True, True, True]


def test_with_road_times_the_timed_sources_are_read_first_wherever_they_are(area):
    far_sites(area)
    stock(area, "QX-N400", quantity=3)
    stock(area, "QX-N5", quantity=3)
    stock(area, "QX-N80", quantity=3)
    _roads(area, [("QX-D", "QX-N400", 30, False), ("QX-D", "QX-N80", None, True)])
    request_id = request_for(area, {"WATER": 5})
    planned, reads = widened_plan(area, request_id)
    assert planned == full_read_plan(area, request_id)
    assert [(row[0], row[3], row[5]) for row in planned] == [("QX-N400", 3, 30), ("QX-N5", 2, None)]
    assert reads == [True]


def test_the_page_offers_the_nearest_sources_of_each_material(area):
    far_sites(area)
    for site in ("QX-N5", "QX-A", "QX-N80", "QX"):
        stock(area, site, quantity=2)
    stock(area, "QX-N400", material="TENT", quantity=2)
    request_id = request_for(area, {"WATER": 50, "TENT": 1})
    with area.app_context():
        request = get_request(request_id)
        nearest = planning.nearest_per_material(request, allow_below_norm=False, count=2)
        everything = planning.candidate_sources(request, allow_below_norm=False)
    assert [source.code for source in nearest] == ["QX-N5", "QX-A", "QX-N400"]
    assert [source.code for source in everything] == ["QX-N5", "QX-A", "QX-N80", "QX-N400", "QX"]


# --- road times -----------------------------------------------------------------------------------

def _roads(app, pairs):
    """Load the road-time table: (site, site, minutes, cut) in either order."""
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Site.code, Site.id)).all())
        for first, second, minutes, cut in pairs:
            low, high = sorted((ids[first], ids[second]))
            db.session.add(RoadTime(from_site_id=low, to_site_id=high, minutes=minutes, cut=cut))
        db.session.commit()


def test_road_times_override_distance_and_a_cut_road_is_no_way(area):
    for site in ("QX-A", "QX-B", "QX-C", "QX"):
        stock(area, site, quantity=4)
    # QX-C is 15 minutes away by road, QX 40; the road to QX-A is cut; QX-B has no time known.
    _roads(area, [("QX-D", "QX-C", 15, False), ("QX", "QX-D", 40, False), ("QX-A", "QX-D", None, True),
                  ("QX-A", "QX-B", 5, False)])
    request_id = request_for(area, {"WATER": 16})
    assert make_plan(area, request_id) == ([
        ("QX-C", "WATER", "bureau", 4, 33.4, 15), ("QX", "WATER", "bureau", 4, None, 40),
        ("QX-B", "WATER", "bureau", 4, 22.2, None)], [("WATER", 4)])


def test_ties_go_by_site_code(area):
    make_site(area, "QX-E", parent="QX", latitude=39.1, longitude=99.0)
    stock(area, "QX-E", quantity=3)
    stock(area, "QX-A", quantity=3)
    request_id = request_for(area, {"WATER": 4})
    assert [row[:4] for row in make_plan(area, request_id)[0]] == [("QX-A", "WATER", "bureau", 3),
                                                                 ("QX-E", "WATER", "bureau", 1)]


# --- other levels' goods ------------------------------------------------------------------------

def test_provincial_stock_is_planned_only_with_the_owners_approval(area):
    stock(area, "QX-A", quantity=10, owner=PROVINCE)
    stock(area, "QX-B", quantity=2)
    request_id = request_for(area, {"WATER": 8})
    assert make_plan(area, request_id) == ([("QX-B", "WATER", "bureau", 2, 22.2, None)], [("WATER", 6)])
    approval = approve_owner(area, request_id)
    assert (approval.owner, approval.reference) == (PROVINCE, "电话记录 17")
    assert make_plan(area, request_id) == ([("QX-A", "WATER", PROVINCE, 8, 11.1, None)], [])
    with area.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "owner_approval")).one()
        assert entry.entity_key == f"{request_id}/{PROVINCE}" and entry.changes["owner"] == [None, PROVINCE]


def test_an_owner_approves_once_and_never_for_the_bureau(area):
    request_id = request_for(area, {"WATER": 8})
    approve_owner(area, request_id)
    with pytest.raises(Duplicate):
        approve_owner(area, request_id)
    with pytest.raises(ValidationError) as refused:
        approve_owner(area, request_id, owner="bureau")
    assert "owner" in refused.value.details
    with area.app_context():
        assert len(get_request(request_id).owner_approvals) == 1


# --- who may plan, and when ---------------------------------------------------------------------

def test_only_dispatchers_plan_and_only_waiting_requests_of_open_incidents(area):
    stock(area, "QX-A", quantity=10)
    request_id = request_for(area, {"WATER": 2})
    keeper_name, dispatcher_name = make_user(area, "keeper", sites=["QX-D"]), make_user(area, "dispatcher")
    with area.app_context():
        with pytest.raises(Forbidden):
            planning.plan(actor=find_user(keeper_name), request_id=request_id)
        dispatcher = find_user(dispatcher_name)
        assert planning.plan(actor=dispatcher, request_id=request_id).status == "planned"
        cancel_request(actor=COMMAND_LINE, request_id=request_id)
        with pytest.raises(InvalidState):
            planning.plan(actor=dispatcher, request_id=request_id)
    closed_request = request_for(area, {"WATER": 2})
    with area.app_context():
        close_incident(actor=COMMAND_LINE, incident_id=get_request(closed_request).incident_id)
        with pytest.raises(InvalidState):
            planning.plan(actor=find_user(dispatcher_name), request_id=closed_request)
        assert db.session.get(Request, closed_request).status == "open"
        assert db.session.get(Request, closed_request).allocations == []
