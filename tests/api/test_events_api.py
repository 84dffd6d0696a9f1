"""GET /events (API.md "Change feed"): in the order things happened, from a cursor; a client that
stores ``next`` and asks again misses nothing and sees nothing twice; scoped like every list."""

import pytest

from inventory import clock
from tests.factories import Api, receive

EVENT_FIELDS = {"cursor", "at", "type", "id", "site", "data"}


@pytest.fixture
def admin(client, make_user, token_for, county, catalog):
    return Api(client, token_for(make_user("admin", username="root")))


@pytest.fixture
def dispatcher(client, make_user, token_for, admin):
    return Api(client, token_for(make_user("dispatcher", username="duty")))


@pytest.fixture
def nh_keeper(client, make_user, token_for, admin):
    return Api(client, token_for(make_user("keeper", username="nh", sites=["GT-NH"])))


def feed(api, **query) -> dict:
    response = api.get("/events", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def everything_after(api, cursor=0, **query) -> list[dict]:
    """The feed walked page by page, as a client that stores ``next`` does."""
    seen = []
    while True:
        page = feed(api, after=cursor, **query)
        if not page["items"]:
            assert page["next"] == cursor, "no new events: the cursor stays where it was"
            return seen
        assert page["next"] == page["items"][-1]["cursor"]
        seen += page["items"]
        cursor = page["next"]


@pytest.fixture
def happenings(admin, dispatcher, keeper, nh_keeper):
    """An incident, a request from each town, and an issue for the incident at 新坝镇."""
    incident = dispatcher.post("/incidents", {
        "name": "洪涝", "type": "flood", "level": 3, "started_at": clock.now().isoformat(),
        "areas": ["GT-XB", "GT-NH"]}).json
    xb = keeper.post(f"/incidents/{incident['id']}/requests", {
        "to_site": "GT-XB", "lines": [{"material": "WATER", "quantity": 3}]}).json
    nh = nh_keeper.post(f"/incidents/{incident['id']}/requests", {
        "to_site": "GT-NH", "note": "南华镇的需求", "lines": [{"material": "QUILT", "quantity": 2}]}).json
    label = receive(keeper, site="GT-XB", material="WATER", quantity=5)["items"][0]["label"]
    issued = keeper.post("/issues", {"site": "GT-XB", "incident": incident["id"],
                                     "recipient": {"type": "household", "name": "张家"},
                                     "lines": [{"label": label, "quantity": 1}]}).json
    return {"incident": incident["id"], "xb": xb["id"], "nh": nh["id"], "issue": issued["number"]}


def test_the_feed_tells_what_happened_in_order(dispatcher, happenings):
    assert feed(dispatcher) == feed(dispatcher, after=0)
    events = everything_after(dispatcher)
    assert all(event.keys() >= EVENT_FIELDS for event in events)
    assert [(event["type"], event["id"], event["site"]) for event in events] == [
        ("incident.opened", happenings["incident"], None),
        ("request.created", happenings["xb"], "GT-XB"),
        ("request.created", happenings["nh"], "GT-NH"),
        ("issue.created", happenings["issue"], "GT-XB"),
    ]
    cursors = [event["cursor"] for event in events]
    assert cursors == sorted(set(cursors)), "cursors grow with every event"
    # Incidents and requests are addressed by integer ids, documents by their number.
    assert isinstance(events[0]["id"], int) and isinstance(events[3]["id"], str)
    assert events[1]["data"]["lines"] == [{"material": "WATER", "quantity": 3}]
    assert all(event["incident"] == happenings["incident"] for event in events)


def test_a_client_that_stores_next_misses_nothing_and_sees_nothing_twice(dispatcher, happenings):
    whole = everything_after(dispatcher)
    assert everything_after(dispatcher, limit=1) == whole, "one at a time, the same events"
    last = feed(dispatcher)["next"]
    assert feed(dispatcher, after=last) == {"items": [], "next": last}

    cancelled = dispatcher.post(f"/requests/{happenings['xb']}/cancel")
    assert cancelled.status_code == 200, cancelled.json
    new = everything_after(dispatcher, last)
    assert [(event["type"], event["id"]) for event in new] == [("request.cancelled", happenings["xb"])]
    assert everything_after(dispatcher, new[-1]["cursor"]) == []


def test_types_keep_only_those_events(dispatcher, happenings):
    only = feed(dispatcher, types="request.created")["items"]
    assert [event["id"] for event in only] == [happenings["xb"], happenings["nh"]]
    both = feed(dispatcher, types="incident.opened,issue.created")["items"]
    assert [event["type"] for event in both] == ["incident.opened", "issue.created"]
    assert feed(dispatcher, types="stocktake.closed") == {"items": [], "next": 0}


def test_a_keeper_sees_incidents_and_their_own_sites_only(keeper, nh_keeper, happenings):
    seen = everything_after(keeper)
    assert [(event["type"], event["id"]) for event in seen] == [
        ("incident.opened", happenings["incident"]), ("request.created", happenings["xb"]),
        ("issue.created", happenings["issue"])]
    assert "南华镇的需求" not in str(seen)
    assert [event["id"] for event in everything_after(nh_keeper, types="request.created")] == [happenings["nh"]]


@pytest.mark.parametrize("query", [
    {"after": "abc"}, {"after": "-1"}, {"after": "1.5"}, {"after": str(2**63)}, {"after": "١"},
    {"limit": "0"}, {"limit": "501"}, {"limit": "many"}, {"types": "not a type"}, {"types": ","},
])
def test_a_bad_cursor_limit_or_type_is_refused(dispatcher, query):
    response = dispatcher.get("/events", query_string=query)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert set(response.json["error"]["details"]) == set(query)


def test_the_feed_wants_a_token(client, happenings):
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = client.get("/api/v1/events", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
