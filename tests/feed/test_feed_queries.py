"""Reading the change feed: cursor order, types, scope, and a cursor that misses nothing and
repeats nothing."""

import pytest
import sqlalchemy as sa

from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db, run_in_transaction
from inventory.feed.models import Event
from inventory.feed.queries import events, events_query, timeline
from inventory.feed.services import record
from inventory.sites.services import get_site


def _record(*entries) -> None:
    """Append (type, ref, site code or None, incident id or None) events, one unit of work."""

    def work():
        for type_, ref, site, incident in entries:
            record(type_, ref, site=get_site(site) if site else None, incident=incident)

    run_in_transaction(work)


@pytest.fixture
def feed(app, county, make_user):
    """Six events: two of no site, two of 新坝镇 (one at its village), two of 南华镇."""
    users = {"keeper_xb": make_user("keeper", sites=["GT-XB"]),
             "keeper_nh": make_user("keeper", sites=["GT-NH"]),
             "viewer": make_user("viewer"), "dispatcher": make_user("dispatcher")}
    with app.app_context():
        _record(("incident.opened", 1, None, None),
                ("request.created", 1, "GT-XB", None),
                ("request.created", 2, "GT-NH", None),
                ("transfer.dispatched", "T-1", "GT-XB-HP", None),
                ("incident.changed", 1, None, None),
                ("transfer.received", "T-2", "GT-NH", None))
    return users


def _seen(username_or_user, **kwargs):
    user = find_user(username_or_user) if isinstance(username_or_user, str) else username_or_user
    found, cursor = events(user, **kwargs)
    return [(event.type, event.ref) for event in found], cursor


def test_events_come_in_the_order_they_happened_after_the_cursor(app, feed):
    with app.app_context():
        everything, last = _seen(COMMAND_LINE)
        assert everything == [("incident.opened", "1"), ("request.created", "1"), ("request.created", "2"),
                              ("transfer.dispatched", "T-1"), ("incident.changed", "1"),
                              ("transfer.received", "T-2")]
        ids = db.session.scalars(sa.select(Event.id).order_by(Event.id)).all()
        assert last == ids[-1]
        assert _seen(COMMAND_LINE, after=ids[2])[0] == everything[3:]
        assert _seen(COMMAND_LINE, after=ids[0], limit=2) == (everything[1:3], ids[2])


def test_asking_again_with_next_sees_each_event_once(app, feed):
    with app.app_context():
        seen, cursor = [], 0
        for _page in range(5):
            page, cursor = _seen(COMMAND_LINE, after=cursor, limit=4)
            seen += page
        assert len(seen) == 6 == len(set(seen))
        # Nothing new: nothing comes, and the cursor stays where it was, twice.
        assert _seen(COMMAND_LINE, after=cursor) == ([], cursor)
        assert _seen(COMMAND_LINE, after=cursor) == ([], cursor)
        _record(("request.approved", 3, "GT-XB", None))
        assert _seen(COMMAND_LINE, after=cursor)[0] == [("request.approved", "3")]


def test_types_filter_the_feed_and_unknown_types_match_nothing(app, feed):
    with app.app_context():
        assert _seen(COMMAND_LINE, types=["request.created", "incident.changed"])[0] == [
            ("request.created", "1"), ("request.created", "2"), ("incident.changed", "1")]
        assert _seen(COMMAND_LINE, types=["no.such.type"]) == ([], 0)


def test_a_keeper_never_sees_another_towns_events(app, feed):
    with app.app_context():
        xb = _seen(feed["keeper_xb"])[0]
        assert xb == [("incident.opened", "1"), ("request.created", "1"), ("transfer.dispatched", "T-1"),
                      ("incident.changed", "1")]
        nh = _seen(feed["keeper_nh"])[0]
        assert nh == [("incident.opened", "1"), ("request.created", "2"), ("incident.changed", "1"),
                      ("transfer.received", "T-2")]
        # The cursor moves past what the keeper may not see, not back to it.
        ids = db.session.scalars(sa.select(Event.id).order_by(Event.id)).all()
        assert _seen(feed["keeper_xb"], after=ids[4]) == ([], ids[4])
        assert len(_seen(feed["viewer"])[0]) == len(_seen(feed["dispatcher"])[0]) == 6


def test_the_timeline_is_the_incidents_events_in_order(app, county):
    from tests.dispatch.test_kits import _incident

    with app.app_context():
        incident = _incident()
        _record(("request.created", 7, "GT-XB", incident.id), ("request.created", 8, "GT-NH", None),
                ("request.cancelled", 7, "GT-XB", incident.id))
        assert [(event.type, event.ref) for event in timeline(incident)] == [
            ("incident.opened", str(incident.id)), ("request.created", "7"), ("request.cancelled", "7")]


def test_a_high_cursor_is_a_search_of_the_primary_key_not_a_scan(sqlite_app):
    with sqlite_app.app_context():
        for types in (None, ["request.created"]):
            statement = events_query(COMMAND_LINE, after=10**9, types=types)
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = " ".join(row[-1] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
            # By the key alone, or by type and then the key (ix_events_type holds the rowid).
            assert "SEARCH events USING" in plan and "rowid>?" in plan and "SCAN events" not in plan, plan
