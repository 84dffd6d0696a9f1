"""灾情调度 over HTTP exactly as API.md "Incidents and dispatch" says: an incident, a keeper's
request, the plan, its approval into transfers (idempotent), bad input that changes nothing,
scope (keepers read their own sites' requests, viewers write nothing), kits and road times."""

import pytest

from inventory import clock
from tests.factories import Api, check_ledger, receive

INCIDENT_FIELDS = {"id", "name", "type", "level", "started_at", "status", "areas", "cut_off_sites",
                   "note", "version", "created_at", "closed_at"}
COORDINATES = {"GT": (39.377, 99.816), "GT-XB": (39.183, 99.541), "GT-XB-HP": (39.17, 99.52),
               "GT-XB-DC1": (39.19, 99.55), "GT-NH": (39.320, 99.960)}


@pytest.fixture
def county_on_the_map(client, make_user, token_for, county, catalog):
    admin = Api(client, token_for(make_user("admin", username="root")))
    for code, (latitude, longitude) in COORDINATES.items():
        response = client.patch(f"/api/v1/sites/{code}", headers=admin.headers,
                                json={"latitude": latitude, "longitude": longitude})
        assert response.status_code == 200, response.json
    return admin


@pytest.fixture
def dispatcher(client, make_user, token_for, county_on_the_map):
    return Api(client, token_for(make_user("dispatcher", username="duty")))


@pytest.fixture
def nh_keeper(client, make_user, token_for, county_on_the_map):
    return Api(client, token_for(make_user("keeper", username="nh", sites=["GT-NH"])))


@pytest.fixture
def viewer(client, make_user, token_for, county_on_the_map):
    return Api(client, token_for(make_user("viewer", username="watcher")))


@pytest.fixture
def stocked(county_on_the_map):
    """Water at the county depot and at 南华镇 (which the incident cuts off); no quilts anywhere."""
    receive(county_on_the_map, site="GT", material="WATER", quantity=100)
    receive(county_on_the_map, site="GT-NH", material="WATER", quantity=80)
    return county_on_the_map


def incident_body(**fields):
    return {"name": "高台县6.1级地震", "type": "earthquake", "level": 2,
            "started_at": clock.now().isoformat(), "areas": ["GT-XB"],
            "people": [{"site": "GT-XB", "affected_people": 1200, "displaced_people": 300}],
            "cut_off_sites": ["GT-NH"], **fields}


def open_incident(api, **fields) -> dict:
    response = api.post("/incidents", incident_body(**fields))
    assert response.status_code == 201, response.json
    return response.json


def ask(api, incident_id, to_site="GT-XB", lines=None) -> dict:
    response = api.post(f"/incidents/{incident_id}/requests", {
        "to_site": to_site, "lines": lines or [{"material": "WATER", "quantity": 30},
                                               {"material": "QUILT", "quantity": 5}]})
    assert response.status_code == 201, response.json
    return response.json


def water_at(api, site) -> int:
    items = api.get("/stock", query_string={"site": site, "material": "WATER", "per_page": 500}).json["items"]
    return sum(item["quantity"] for item in items)


def movement_count(api) -> int:
    return api.get("/movements").json["total"]


def patch(api, path, body):
    return api.client.patch(f"/api/v1{path}", json=body, headers=api.headers)


def test_an_incident_from_opening_to_approved_transfers(app, dispatcher, keeper, stocked):
    incident = open_incident(dispatcher)
    assert incident.keys() >= INCIDENT_FIELDS
    assert incident["status"] == "open" and incident["level"] == 2 and incident["closed_at"] is None
    assert incident["areas"] == [{"site": "GT-XB", "affected_people": 1200, "displaced_people": 300}]
    assert incident["cut_off_sites"] == ["GT-NH"]
    assert dispatcher.get(f"/incidents/{incident['id']}").json == incident
    listed = dispatcher.get("/incidents", query_string={"status": "open"}).json
    assert [item["id"] for item in listed["items"]] == [incident["id"]] and listed["total"] == 1

    request = ask(keeper, incident["id"])
    assert request["status"] == "open" and request["to_site"] == "GT-XB"
    assert request["incident"] == incident["id"]
    assert request["lines"] == [{"material": "WATER", "quantity": 30}, {"material": "QUILT", "quantity": 5}]
    assert [item["id"] for item in keeper.get(f"/incidents/{incident['id']}/requests").json["items"]] \
        == [request["id"]]

    planned = dispatcher.post(f"/requests/{request['id']}/plan", {})
    assert planned.status_code == 200, planned.json
    plan = planned.json
    # 南华镇 holds more water but is cut off; the depot is the only reachable source.
    assert [(a["from_site"], a["material"], a["quantity"], a["owner"]) for a in plan["allocations"]] \
        == [("GT", "WATER", 30, "bureau")]
    assert plan["allocations"][0]["distance_km"] > 0
    assert plan["unmet"] == [{"material": "QUILT", "quantity": 5}]
    assert plan["version"] > request["version"]

    before = movement_count(dispatcher)
    body = {"driver_name": "李师傅", "driver_phone": "13900000000", "vehicle": "甘G·12345",
            "version": plan["version"]}
    approved = dispatcher.post(f"/requests/{request['id']}/approve", body, key="approve-1")
    assert approved.status_code == 201, approved.json
    [number] = approved.json["transfers"]
    after = movement_count(dispatcher)
    assert after > before
    assert water_at(dispatcher, "GT") == 70

    # The same key and body: the first answer again, and nothing moves a second time.
    again = dispatcher.post(f"/requests/{request['id']}/approve", body, key="approve-1")
    assert (again.status_code, again.json) == (201, approved.json)
    assert movement_count(dispatcher) == after and water_at(dispatcher, "GT") == 70
    # The same key with another body is another request: refused.
    other = dispatcher.post(f"/requests/{request['id']}/approve", {**body, "vehicle": "甘G·99999"},
                            key="approve-1")
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_mismatch"
    assert movement_count(dispatcher) == after

    transfer = dispatcher.get(f"/transfers/{number}").json
    assert transfer["status"] == "in_transit" and transfer["incident"] == incident["id"]
    assert (transfer["from_site"], transfer["to_site"]) == ("GT", "GT-XB")
    assert (transfer["driver_name"], transfer["driver_phone"], transfer["vehicle"]) \
        == ("李师傅", "13900000000", "甘G·12345")
    assert [t["number"] for t in dispatcher.get("/transfers", query_string={
        "incident": incident["id"]}).json["items"]] == [number]

    detail = keeper.get(f"/requests/{request['id']}").json
    assert detail["status"] == "approved"
    assert [(a["from_site"], a["quantity"], a["transfer"]) for a in detail["allocations"]] \
        == [("GT", 30, number)]
    assert detail["unmet"] == [{"material": "QUILT", "quantity": 5}]
    assert check_ledger(app)[0] == 0


def test_documents_carry_their_incident_and_filter_by_it(dispatcher, keeper, stocked):
    incident = open_incident(dispatcher)
    receive(keeper, site="GT-XB", material="WATER", quantity=20)
    label = keeper.get("/stock", query_string={"site": "GT-XB", "material": "WATER"}).json["items"][0]["label"]
    for_incident = keeper.post("/issues", {"site": "GT-XB", "incident": incident["id"],
                                           "recipient": {"type": "household", "name": "张家"},
                                           "lines": [{"label": label, "quantity": 2}]})
    assert for_incident.status_code == 201, for_incident.json
    assert for_incident.json["incident"] == incident["id"] and for_incident.json["recipient_pending"] is False
    plain = keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                    "lines": [{"label": label, "quantity": 1}]})
    assert plain.status_code == 201 and plain.json["incident"] is None
    listed = keeper.get("/issues", query_string={"incident": incident["id"]}).json
    assert [item["number"] for item in listed["items"]] == [for_incident.json["number"]]
    assert listed["total"] == 1
    assert keeper.get("/issues").json["total"] == 2
    for query in ({"incident": "999999"}, {"incident": "x"}, {"incident": "0"}):
        response = keeper.get("/issues", query_string=query)
        assert response.status_code == 422 and "incident" in response.json["error"]["details"], query
        assert keeper.get("/transfers", query_string=query).status_code == 422, query

    transfer = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT", "incident": incident["id"],
                                          "lines": [{"material": "WATER", "quantity": 1}]})
    assert transfer.status_code == 201, transfer.json
    assert transfer.json["incident"] == incident["id"]
    assert transfer.json["driver_name"] == "" and transfer.json["vehicle"] == ""

    # Naming an unknown or a closed incident is refused, and nothing is issued.
    before = keeper.get("/issues").json["total"]
    assert dispatcher.post(f"/incidents/{incident['id']}/close").status_code == 200
    for incident_id in (incident["id"], 424242):
        response = keeper.post("/issues", {"site": "GT-XB", "incident": incident_id,
                                           "recipient": {"type": "person", "name": "王"},
                                           "lines": [{"label": label, "quantity": 1}]})
        assert response.status_code == 422 and "incident" in response.json["error"]["details"]
        response = keeper.post("/transfers", {"from_site": "GT-XB", "to_site": "GT", "incident": incident_id,
                                              "lines": [{"material": "WATER", "quantity": 1}]})
        assert response.status_code == 422 and "incident" in response.json["error"]["details"]
    assert keeper.get("/issues").json["total"] == before


@pytest.mark.parametrize(("fields", "field"), [
    ({"level": 0}, "level"), ({"level": 5}, "level"), ({"type": "meteor"}, "type"),
    ({"areas": ["GT-NOWHERE"]}, "areas"),
    ({"areas": [], "people": [], "cut_off_sites": ["GT-NOWHERE"]}, "cut_off_sites"),
    ({"started_at": "yesterday"}, "started_at"), ({"name": ""}, "name"),
])
def test_a_bad_incident_is_refused_and_nothing_is_opened(dispatcher, fields, field):
    response = dispatcher.post("/incidents", incident_body(**fields))
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["details"]
    assert dispatcher.get("/incidents").json["total"] == 0


def test_a_bad_request_is_refused_and_nothing_is_asked(dispatcher, keeper, stocked):
    incident = open_incident(dispatcher)
    path = f"/incidents/{incident['id']}/requests"
    for body, field in (
            ({"to_site": "GT-NOWHERE", "lines": [{"material": "WATER", "quantity": 1}]}, "to_site"),
            ({"to_site": "GT-XB", "lines": [{"material": "NOPE", "quantity": 1}]}, "lines.0.material"),
            ({"to_site": "GT-XB", "lines": [{"material": "WATER", "quantity": 0}]}, "lines.0.quantity"),
            ({"to_site": "GT-XB", "lines": []}, "lines")):
        response = dispatcher.post(path, body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["error"]["details"], (body, response.json)
    assert dispatcher.get(path).json["total"] == 0
    assert dispatcher.post("/incidents/2147483647/requests", {
        "to_site": "GT-XB", "lines": [{"material": "WATER", "quantity": 1}]}).status_code == 404

    assert dispatcher.post(f"/incidents/{incident['id']}/close").status_code == 200
    closed = keeper.post(path, {"to_site": "GT-XB", "lines": [{"material": "WATER", "quantity": 1}]})
    assert closed.status_code == 409 and closed.json["error"]["code"] == "invalid_state"
    again = dispatcher.post(f"/incidents/{incident['id']}/close")
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert dispatcher.get(path).json["total"] == 0
    assert dispatcher.get(f"/incidents/{incident['id']}").json["status"] == "closed"


def test_allocations_from_a_cut_off_site_or_above_the_source_are_refused(dispatcher, keeper, stocked):
    incident = open_incident(dispatcher)
    request = ask(keeper, incident["id"], lines=[{"material": "WATER", "quantity": 30}])
    assert dispatcher.post(f"/requests/{request['id']}/plan").status_code == 200
    before = (movement_count(dispatcher), water_at(dispatcher, "GT"), water_at(dispatcher, "GT-NH"))
    for allocation, problem in (
            ({"from_site": "GT-NH", "material": "WATER", "quantity": 30}, "cut off"),
            ({"from_site": "GT", "material": "WATER", "quantity": 101}, "more than the depot holds"),
            ({"from_site": "GT-NOWHERE", "material": "WATER", "quantity": 1}, "unknown site")):
        response = dispatcher.post(f"/requests/{request['id']}/approve", {"allocations": [allocation]})
        assert response.status_code == 422, (problem, response.json)
        assert response.json["error"]["code"] == "validation_error", problem
    after = (movement_count(dispatcher), water_at(dispatcher, "GT"), water_at(dispatcher, "GT-NH"))
    assert after == before
    assert dispatcher.get(f"/requests/{request['id']}").json["status"] == "planned"
    assert dispatcher.get("/transfers", query_string={"incident": incident["id"]}).json["total"] == 0


def test_approving_when_the_stock_moved_since_the_plan_answers_409_and_sends_nothing(
        dispatcher, keeper, stocked):
    admin = stocked
    incident = open_incident(dispatcher)
    request = ask(keeper, incident["id"], lines=[{"material": "WATER", "quantity": 90}])
    assert dispatcher.post(f"/requests/{request['id']}/plan").json["allocations"][0]["quantity"] == 90
    label = dispatcher.get("/stock", query_string={"site": "GT", "material": "WATER"}).json["items"][0]["label"]
    taken = admin.post("/adjustments", {"label": label, "delta": -20, "reason": "damaged"})
    assert taken.status_code == 201, taken.json
    response = dispatcher.post(f"/requests/{request['id']}/approve", {})
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "insufficient_stock"
    assert response.json["error"]["details"]
    assert water_at(dispatcher, "GT") == 80
    assert dispatcher.get(f"/requests/{request['id']}").json["status"] == "planned"


def test_an_incident_edit_over_a_newer_one_is_refused(dispatcher, stocked):
    incident = open_incident(dispatcher)
    path = f"/incidents/{incident['id']}"
    edited = patch(dispatcher, path, {"level": 1, "version": incident["version"]})
    assert edited.status_code == 200, edited.json
    assert edited.json["level"] == 1 and edited.json["version"] == incident["version"] + 1
    assert edited.json["areas"] == incident["areas"], "a partial edit keeps what it does not name"
    stale = patch(dispatcher, path, {"level": 3, "version": incident["version"]})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "invalid_state"
    bad = patch(dispatcher, path, {"level": 5})
    assert bad.status_code == 422 and "level" in bad.json["error"]["details"]
    assert dispatcher.get(path).json == edited.json


def test_keepers_read_only_their_own_sites_requests_and_viewers_write_nothing(
        client, dispatcher, keeper, nh_keeper, viewer, stocked):
    incident = open_incident(dispatcher)
    nh_request = ask(nh_keeper, incident["id"], to_site="GT-NH",
                     lines=[{"material": "WATER", "quantity": 5}])
    xb_request = ask(keeper, incident["id"])

    assert keeper.get(f"/requests/{nh_request['id']}").status_code == 403
    assert keeper.get(f"/requests/{xb_request['id']}").status_code == 200
    listed = keeper.get(f"/incidents/{incident['id']}/requests").json
    assert [item["id"] for item in listed["items"]] == [xb_request["id"]]
    refused = keeper.post(f"/incidents/{incident['id']}/requests", {
        "to_site": "GT-NH", "lines": [{"material": "WATER", "quantity": 1}]})
    assert refused.status_code == 403
    for path in (f"/requests/{nh_request['id']}/plan", f"/requests/{nh_request['id']}/approve",
                 f"/requests/{nh_request['id']}/cancel", f"/incidents/{incident['id']}/close"):
        assert keeper.post(path).status_code == 403, path

    # A viewer reads everything and changes nothing.
    assert viewer.get(f"/requests/{nh_request['id']}").status_code == 200
    assert viewer.get(f"/incidents/{incident['id']}/requests").json["total"] == 2
    writes = [("/incidents", incident_body()),
              (f"/incidents/{incident['id']}/requests",
               {"to_site": "GT-XB", "lines": [{"material": "WATER", "quantity": 1}]}),
              (f"/requests/{xb_request['id']}/plan", None),
              (f"/requests/{xb_request['id']}/approve", None),
              (f"/requests/{xb_request['id']}/cancel", None),
              (f"/incidents/{incident['id']}/close", None),
              ("/kits", {"name": "包", "basis": "person", "lines": [{"material": "WATER", "quantity": 1}]})]
    for path, body in writes:
        response = viewer.post(path, body)
        assert response.status_code == 403, (path, response.json)
        assert response.json["error"]["code"] == "forbidden"
    assert patch(viewer, f"/incidents/{incident['id']}", {"level": 1}).status_code == 403
    assert dispatcher.get(f"/incidents/{incident['id']}/requests").json["total"] == 2
    assert dispatcher.get(f"/requests/{xb_request['id']}").json["status"] == "open"
    assert dispatcher.get("/incidents").json["total"] == 1

    for method, path in (("get", "/incidents"), ("post", "/incidents"),
                         ("get", f"/requests/{xb_request['id']}"),
                         ("post", f"/requests/{xb_request['id']}/plan"), ("get", "/kits"),
                         ("get", "/road-times"), ("get", "/events")):
        response = getattr(client, method)(f"/api/v1{path}", json={} if method == "post" else None)
        assert response.status_code == 401, (method, path)


def test_a_request_is_cancelled_once(dispatcher, keeper, stocked):
    incident = open_incident(dispatcher)
    request = ask(keeper, incident["id"])
    cancelled = keeper.post(f"/requests/{request['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    again = keeper.post(f"/requests/{request['id']}/cancel")
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert dispatcher.get(f"/incidents/{incident['id']}/requests",
                          query_string={"status": "cancelled"}).json["total"] == 1
    assert dispatcher.get("/requests/2147483647").status_code == 404
    # An id past the 32-bit column names nothing, whichever method asks (never 405 or 500).
    for method in ("get", "patch", "put", "delete"):
        path = "/api/v1/kits/2147483648" if method in ("put", "delete") else "/api/v1/incidents/2147483648"
        body = {"name": "x", "basis": "person", "lines": [{"material": "WATER", "quantity": 1}]} \
            if method == "put" else {"level": 1}
        response = getattr(stocked.client, method)(path, json=body, headers=stocked.headers)
        assert response.status_code == 404, (method, response.status_code)
    assert dispatcher.post("/incidents/2147483648/requests", {
        "to_site": "GT-XB", "lines": [{"material": "WATER", "quantity": 1}]}).status_code == 404


def test_kits_and_the_needs_they_give(dispatcher, county_on_the_map):
    admin = county_on_the_map
    incident = open_incident(dispatcher)
    made = admin.post("/kits", {"name": "基本生活包", "basis": "person",
                                "lines": [{"material": "WATER", "quantity": 1.5},
                                          {"material": "QUILT", "quantity": 0.5}]})
    assert made.status_code == 201, made.json
    kit = made.json
    assert kit["lines"] == [{"material": "WATER", "quantity": 1.5}, {"material": "QUILT", "quantity": 0.5}]
    assert kit["id"] in [item["id"] for item in dispatcher.get("/kits").json["items"]]
    assert dispatcher.get(f"/kits/{kit['id']}").json == kit

    needs = dispatcher.post(f"/incidents/{incident['id']}/needs", {"to_site": "GT-XB", "kits": [kit["id"]]})
    assert needs.status_code == 200, needs.json
    assert needs.json["lines"] == [{"material": "WATER", "quantity": 450},
                                   {"material": "QUILT", "quantity": 150}]
    told = dispatcher.post(f"/incidents/{incident['id']}/needs",
                           {"to_site": "GT-XB", "kits": [kit["id"]], "displaced_people": 10})
    assert told.json["lines"] == [{"material": "WATER", "quantity": 15}, {"material": "QUILT", "quantity": 5}]
    unknown = dispatcher.post(f"/incidents/{incident['id']}/needs", {"to_site": "GT-XB", "kits": [999999]})
    assert unknown.status_code in (404, 422)

    bad = admin.post("/kits", {"name": "坏包", "basis": "person",
                               "lines": [{"material": "NOPE", "quantity": 1}]})
    assert bad.status_code == 422
    # Past what the column holds (NUMERIC(12, 4)): refused as input, not a database error.
    huge = admin.post("/kits", {"name": "大包", "basis": "person",
                                "lines": [{"material": "WATER", "quantity": 999_999_999}]})
    assert huge.status_code == 422 and "lines.0.quantity" in huge.json["error"]["details"]
    assert len(dispatcher.get("/kits").json["items"]) == 1

    replaced = admin.client.put(f"/api/v1/kits/{kit['id']}", headers=admin.headers, json={
        "name": "基本生活包", "basis": "household", "lines": [{"material": "TENT", "quantity": 1}]})
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["basis"] == "household"
    assert replaced.json["lines"] == [{"material": "TENT", "quantity": 1}]
    assert dispatcher.client.put(f"/api/v1/kits/{kit['id']}", headers=dispatcher.headers, json={
        "name": "x", "basis": "person", "lines": [{"material": "TENT", "quantity": 1}]}).status_code == 403
    assert dispatcher.client.delete(f"/api/v1/kits/{kit['id']}", headers=dispatcher.headers).status_code == 403
    assert admin.client.delete(f"/api/v1/kits/{kit['id']}", headers=admin.headers).status_code == 204
    assert admin.get(f"/kits/{kit['id']}").status_code == 404


def test_the_road_time_table_is_loaded_whole_or_not_at_all(client, dispatcher, keeper, stocked):
    def put(api, body):
        return client.put("/api/v1/road-times", json=body, headers=api.headers)

    csv = "from_site,to_site,minutes,cut\nGT,GT-XB,50,\nGT-NH,GT-XB,,true\n"
    loaded = put(dispatcher, {"csv": csv})
    assert loaded.status_code == 200, loaded.json
    assert loaded.json == {"loaded": 2}
    table = dispatcher.get("/road-times").json
    assert table["total"] == 2
    # A pair holds either way; the table keeps it once.
    pairs = {(frozenset((row["from_site"], row["to_site"])), row["minutes"], row["cut"])
             for row in table["items"]}
    assert pairs == {(frozenset(("GT", "GT-XB")), 50, False), (frozenset(("GT-NH", "GT-XB")), None, True)}

    for bad in ("from_site,to_site,minutes,cut\nGT,GT-NOWHERE,10,\n",
                "from_site,to_site,minutes,cut\nGT,GT-XB,-5,\n"):
        response = put(dispatcher, {"csv": bad})
        assert response.status_code == 422, response.json
        assert dispatcher.get("/road-times").json["total"] == 2
    assert put(dispatcher, {"text": csv}).status_code == 422
    assert put(keeper, {"csv": csv}).status_code == 403

    incident = open_incident(dispatcher, cut_off_sites=[])
    request = ask(keeper, incident["id"], lines=[{"material": "WATER", "quantity": 10}])
    plan = dispatcher.post(f"/requests/{request['id']}/plan").json
    # 南华镇 is not cut off in this incident, but the road from it is.
    assert [(a["from_site"], a["minutes"]) for a in plan["allocations"]] == [("GT", 50)]

    assert client.delete("/api/v1/road-times", headers=keeper.headers).status_code == 403
    assert client.delete("/api/v1/road-times", headers=dispatcher.headers).status_code == 204
    assert dispatcher.get("/road-times").json["total"] == 0


def test_an_issue_handed_out_first_gets_its_recipient_later(dispatcher, keeper, nh_keeper, stocked):
    incident = open_incident(dispatcher)
    label = receive(keeper, site="GT-XB", material="WATER", quantity=10)["items"][0]["label"]
    made = keeper.post("/issues", {"site": "GT-XB", "incident": incident["id"], "recipient_pending": True,
                                   "recipient": {"type": "household"},
                                   "lines": [{"label": label, "quantity": 2}]})
    assert made.status_code == 201, made.json
    assert made.json["recipient_pending"] is True and made.json["incident"] == incident["id"]
    number = made.json["number"]
    keeper.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                            "lines": [{"label": label, "quantity": 1}]})
    pending = keeper.get("/issues", query_string={"recipient_pending": "true"}).json
    assert [item["number"] for item in pending["items"]] == [number]

    path = f"/issues/{number}/recipient"
    recipient = {"type": "household", "name": "李四家", "id_number": "620123199001011234"}
    assert nh_keeper.post(path, recipient).status_code == 403
    bad = keeper.post(path, {"type": "household", "name": ""})
    assert bad.status_code == 422 and "name" in bad.json["error"]["details"]
    assert keeper.get(f"/issues/{number}").json["recipient_pending"] is True

    completed = keeper.post(path, recipient, key="complete-1")
    assert completed.status_code == 200, completed.json
    assert completed.json["recipient_pending"] is False
    assert completed.json["recipient"]["name"] == "李四家"
    assert completed.json["lines"] == made.json["lines"], "the goods stay as they were issued"
    assert keeper.post(path, recipient, key="complete-1").json == completed.json
    again = keeper.post(path, recipient)
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert keeper.get("/issues", query_string={"recipient_pending": "true"}).json["total"] == 0
    assert keeper.post("/issues/FF-0000-000000/recipient", recipient).status_code == 404
