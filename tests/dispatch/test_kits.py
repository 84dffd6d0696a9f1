"""Relief kits (救灾物资包): editing them, and the needs calculator's arithmetic, worked by hand."""

import datetime as dt

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.audit.models import AuditEntry
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch import kits as kit_actions
from inventory.dispatch.models import Kit, KitLine
from inventory.dispatch.services import close_incident, open_incident
from inventory.errors import Duplicate, Forbidden, InvalidState, NotFound, ValidationError
from inventory.sites.services import get_site
from tests.factories import make_site


def _kit(name="帐篷包", basis="person", lines=None, **fields):
    return kit_actions.create_kit(actor=COMMAND_LINE, data={
        "name": name, "basis": basis, "lines": lines or [{"material": "TENT", "quantity": 0.34}],
        **fields})


def _incident(people=None, **fields):
    return open_incident(actor=COMMAND_LINE, data={
        "name": "新坝镇地震", "type": "earthquake", "level": 3,
        "started_at": (clock.now() - dt.timedelta(hours=1)).isoformat(),
        "people": people or [{"site": "GT-XB", "affected_people": 100, "displaced_people": 40}],
        **fields})


def _needs(site_code, kits, people):
    return [(material.code, quantity) for material, quantity in
            kit_actions.needs(site=get_site(site_code), kits=kits, displaced_people=people)]


# --- editing kits ------------------------------------------------------------------------------

def test_a_kit_is_created_changed_and_deleted_with_an_audit_entry_each(app, county, catalog):
    with app.app_context():
        kit = _kit(lines=[{"material": "TENT", "quantity": 0.34}, {"material": "WATER", "quantity": 3}])
        assert kit_actions.kit_snapshot(kit_actions.get_kit(kit.id))["lines"] == [
            {"material": "TENT", "quantity": 0.34}, {"material": "WATER", "quantity": 3.0}]
        # A full replace: TENT stays (with a new quantity), WATER goes, QUILT comes.
        kit_actions.update_kit(actor=COMMAND_LINE, kit_id=kit.id, data={
            "name": "帐篷被褥包", "basis": "household", "active": False,
            "lines": [{"material": "QUILT", "quantity": 2}, {"material": "TENT", "quantity": 1}]})
        db.session.expire_all()
        changed = kit_actions.get_kit(kit.id)
        assert (changed.name, changed.basis, changed.active, changed.note) == (
            "帐篷被褥包", "household", False, "")
        assert [(line.material.code, line.quantity) for line in changed.lines] == [
            ("QUILT", 2.0), ("TENT", 1.0)]
        kit_actions.delete_kit(actor=COMMAND_LINE, kit_id=kit.id)
        with pytest.raises(NotFound):
            kit_actions.get_kit(kit.id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(KitLine)) == 0
        entries = db.session.execute(sa.select(AuditEntry.action, AuditEntry.entity_key).where(
            AuditEntry.entity == "kit").order_by(AuditEntry.id)).all()
        assert entries == [("create", str(kit.id)), ("update", str(kit.id)), ("delete", str(kit.id))]


@pytest.mark.parametrize(("lines", "field"), [
    ([{"material": "NOPE", "quantity": 1}], "lines.0.material"),
    ([{"material": "TENT", "quantity": 1}, {"material": "TENT", "quantity": 2}], "lines.1.material"),
    ([{"material": "TENT", "quantity": 0}], "lines.0.quantity"),
    ([], "lines"),
])
def test_a_kit_with_bad_lines_is_refused_and_nothing_is_made(app, county, catalog, lines, field):
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            kit_actions.create_kit(actor=COMMAND_LINE, data={"name": "坏包", "basis": "person", "lines": lines})
        assert field in refused.value.details
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Kit)) == 0


def test_a_kit_name_is_taken_once(app, county, catalog):
    with app.app_context():
        _kit("帐篷包")
        other = _kit("饮水包", lines=[{"material": "WATER", "quantity": 1}])
        with pytest.raises(Duplicate):
            _kit("帐篷包")
        with pytest.raises(Duplicate):
            kit_actions.update_kit(actor=COMMAND_LINE, kit_id=other.id, data={
                "name": "帐篷包", "basis": "person", "lines": [{"material": "WATER", "quantity": 1}]})
        assert db.session.get(Kit, other.id).name == "饮水包"


def test_a_bad_update_leaves_the_kit_as_it_was(app, county, catalog):
    with app.app_context():
        kit = _kit(lines=[{"material": "TENT", "quantity": 0.5}])
        with pytest.raises(ValidationError):
            kit_actions.update_kit(actor=COMMAND_LINE, kit_id=kit.id, data={
                "name": "改名", "basis": "person", "lines": [{"material": "NOPE", "quantity": 1}]})
        db.session.expire_all()
        kept = kit_actions.get_kit(kit.id)
        assert kept.name == "帐篷包"
        assert [(line.material.code, line.quantity) for line in kept.lines] == [("TENT", 0.5)]


def test_only_managers_edit_kits(app, county, catalog, make_user):
    dispatcher, keeper = make_user("dispatcher"), make_user("keeper", sites=["GT-XB"])
    with app.app_context():
        kit = _kit()
        for username in (dispatcher, keeper):
            with pytest.raises(Forbidden):
                kit_actions.create_kit(actor=find_user(username), data={
                    "name": "x", "basis": "person", "lines": [{"material": "TENT", "quantity": 1}]})
            with pytest.raises(Forbidden):
                kit_actions.delete_kit(actor=find_user(username), kit_id=kit.id)
        assert kit_actions.get_kit(kit.id).name == "帐篷包"


# --- the needs calculator ----------------------------------------------------------------------

def test_per_person_needs_are_people_times_quantity_rounded_up(app, county, catalog):
    with app.app_context():
        kit = _kit(lines=[{"material": "TENT", "quantity": 0.34}, {"material": "WATER", "quantity": 0.1}])
        # 40 × 0.34 = 13.6 → 14 tents; 30 × 0.1 must be 3 boxes, not 4 (3.0000000000000004).
        assert _needs("GT-XB", [kit], 40) == [("TENT", 14), ("WATER", 4)]
        assert _needs("GT-XB", [kit], 30) == [("TENT", 11), ("WATER", 3)]
        assert _needs("GT-XB", [kit], 0) == []


def test_per_household_needs_use_the_sites_own_household_size(app, county, catalog):
    make_site(app, "GT-LC", parent="GT", name="骆驼城镇", population=2290, households=1000)
    with app.app_context():
        kit = _kit("家庭包", basis="household", lines=[{"material": "QUILT", "quantity": 2}])
        # 2290 / 1000 = 2.29 persons per household: 229 people are exactly 100 households, 230
        # are 100.44 → 101.
        assert _needs("GT-LC", [kit], 229) == [("QUILT", 200)]
        assert _needs("GT-LC", [kit], 230) == [("QUILT", 202)]


def test_per_household_needs_fall_back_to_the_configured_household_size(app, county, catalog):
    make_site(app, "GT-LC", parent="GT", name="骆驼城镇", population=5000)  # households unknown
    with app.app_context():
        kit = _kit("家庭包", basis="household", lines=[{"material": "TENT", "quantity": 1}])
        assert app.config["DISPATCH_PERSONS_PER_HOUSEHOLD"] == 2.29
        # 40 / 2.29 = 17.47 → 18 households, one tent each.
        assert _needs("GT-LC", [kit], 40) == [("TENT", 18)]
        app.config["DISPATCH_PERSONS_PER_HOUSEHOLD"] = 4
        assert _needs("GT-LC", [kit], 40) == [("TENT", 10)]


def test_lines_of_one_material_from_two_kits_add_up(app, county, catalog):
    make_site(app, "GT-LC", parent="GT", name="骆驼城镇", population=2290, households=1000)
    with app.app_context():
        person = _kit("个人包", lines=[{"material": "QUILT", "quantity": 1},
                                      {"material": "WATER", "quantity": 0.5}])
        household = _kit("家庭包", basis="household", lines=[{"material": "TENT", "quantity": 1},
                                                            {"material": "QUILT", "quantity": 0.5}])
        # 50 people: 50 quilts per person; 50 / 2.29 = 21.83 → 22 households, 22 tents and
        # 11 more quilts; 25 boxes of water.
        assert _needs("GT-LC", [person, household], 50) == [("QUILT", 61), ("WATER", 25), ("TENT", 22)]


def test_needs_for_an_incident_default_to_the_sites_displaced_people(app, county, catalog):
    with app.app_context():
        kit = _kit()
        incident = _incident()
        assert kit_actions.needs_for(actor=COMMAND_LINE, incident_id=incident.id,
                                     data={"to_site": "GT-XB", "kits": [kit.id]}) == [
            {"material": "TENT", "quantity": 14}]
        assert kit_actions.needs_for(actor=COMMAND_LINE, incident_id=incident.id, data={
            "to_site": "GT-XB", "kits": [kit.id], "displaced_people": 100}) == [
            {"material": "TENT", "quantity": 34}]
        # A site the incident does not list has no displaced people of its own.
        assert kit_actions.needs_for(actor=COMMAND_LINE, incident_id=incident.id,
                                     data={"to_site": "GT-NH", "kits": [kit.id]}) == []


def test_needs_for_refuses_unknown_or_inactive_kits_unknown_sites_and_closed_incidents(app, county, catalog):
    with app.app_context():
        kit = _kit()
        resting = _kit("停用包", active=False)
        incident = _incident()
        ask = kit_actions.needs_for
        for data, field in (({"to_site": "GT-XB", "kits": [kit.id, 999]}, "kits"),
                            ({"to_site": "GT-XB", "kits": [resting.id]}, "kits"),
                            ({"to_site": "NOPE", "kits": [kit.id]}, "to_site"),
                            ({"to_site": "GT-XB", "kits": []}, "kits"),
                            ({"to_site": "GT-XB", "kits": [kit.id], "displaced_people": -1},
                             "displaced_people")):
            with pytest.raises(ValidationError) as refused:
                ask(actor=COMMAND_LINE, incident_id=incident.id, data=data)
            assert field in refused.value.details, data
        with pytest.raises(NotFound):
            ask(actor=COMMAND_LINE, incident_id=incident.id + 1, data={"to_site": "GT-XB", "kits": [kit.id]})
        close_incident(actor=COMMAND_LINE, incident_id=incident.id)
        with pytest.raises(InvalidState):
            ask(actor=COMMAND_LINE, incident_id=incident.id, data={"to_site": "GT-XB", "kits": [kit.id]})


def test_a_keeper_asks_for_needs_of_their_own_sites_only(app, county, catalog, make_user):
    keeper = make_user("keeper", sites=["GT-XB"])
    with app.app_context():
        kit = _kit()
        incident = _incident(people=[{"site": "GT-XB", "displaced_people": 10},
                                     {"site": "GT-NH", "displaced_people": 10}])
        actor = find_user(keeper)
        assert kit_actions.needs_for(actor=actor, incident_id=incident.id,
                                     data={"to_site": "GT-XB-HP", "kits": [kit.id], "displaced_people": 3}) == [
            {"material": "TENT", "quantity": 2}]
        with pytest.raises(Forbidden):
            kit_actions.needs_for(actor=actor, incident_id=incident.id,
                                  data={"to_site": "GT-NH", "kits": [kit.id]})
