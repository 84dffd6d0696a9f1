"""Device tokens (API.md "Working offline 三断"): registered while online, the bearer of sync and
snapshot requests, expired after 30 days unused, revoked by their user or an admin, marked lost
by an admin."""

import datetime as dt
import uuid

from inventory import clock
from tests.factories import Api, receive


def register(client, api, name="张三的手机") -> tuple[dict, Api]:
    response = api.post("/devices", {"name": name})
    assert response.status_code == 201, response.json
    device = response.json
    return device, Api(client, {"Authorization": f"Bearer {device['token']}"})


def test_a_device_token_is_the_keepers_bearer_and_only_its_owner_sees_it(client, keeper, make_user, token_for):
    device, phone = register(client, keeper)
    assert phone.get("/me").json["username"] == "xb"
    assert receive(phone, quantity=3)["items"][0]["quantity"] == 3
    other = Api(client, token_for(make_user("keeper", username="nh", sites=["GT-NH"])))
    listed = keeper.get("/devices").json["items"]
    assert [(d["id"], d["name"], d["status"]) for d in listed] == [(device["id"], "张三的手机", "active")]
    assert "token" not in listed[0]
    assert other.get("/devices").json["items"] == []
    # Another keeper cannot revoke it: as if it did not exist.
    assert other.client.delete(f"/api/v1/devices/{device['id']}", headers=other.headers).status_code == 404
    assert phone.get("/me").status_code == 200


def test_a_revoked_device_answers_401_and_revoking_twice_is_refused(client, keeper):
    device, phone = register(client, keeper)
    assert keeper.client.delete(f"/api/v1/devices/{device['id']}", headers=keeper.headers).status_code == 204
    assert phone.get("/me").status_code == 401
    assert phone.post("/sync", {"operations": [{"key": "k", "seq": 1, "kind": "receipt", "body": {},
                                                "recorded_at": clock.now().isoformat()}]}).status_code == 401
    again = keeper.client.delete(f"/api/v1/devices/{device['id']}", headers=keeper.headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert keeper.get("/devices").json["items"][0]["status"] == "revoked"


def test_a_device_unused_for_30_days_expires_but_one_in_use_does_not(client, keeper):
    idle, idle_phone = register(client, keeper, "抽屉里的手机")
    _busy, busy_phone = register(client, keeper, "值班手机")
    start = clock.now()
    for day in (10, 20, 29):  # 72 hours offline, and more, expire nothing while it is used
        with clock.travel(start + dt.timedelta(days=day)):
            assert busy_phone.get("/me").status_code == 200
    with clock.travel(start + dt.timedelta(days=31)):
        assert busy_phone.get("/me").status_code == 200
        assert idle_phone.get("/me").status_code == 401
        statuses = {d["id"]: d["status"] for d in busy_phone.get("/devices").json["items"]}
        assert statuses[idle["id"]] == "expired"


def test_a_lost_device_is_wiped_at_its_next_contact_and_what_it_sends_is_held(client, keeper, make_user,
                                                                              token_for, app):
    device, phone = register(client, keeper)
    item = receive(keeper, quantity=10)["items"][0]
    admin = Api(client, token_for(make_user("admin", username="root")))
    assert keeper.post(f"/devices/{device['id']}/lost").status_code == 403  # an admin's act
    lost = admin.post(f"/devices/{device['id']}/lost")
    assert lost.status_code == 200 and lost.json["status"] == "lost"
    answer = phone.post("/sync", {"operations": [{
        "key": str(uuid.uuid4()), "seq": 1, "kind": "issue", "recorded_at": clock.now().isoformat(),
        "body": {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                 "lines": [{"label": item["label"], "quantity": 2}]}}]})
    assert answer.status_code == 200
    assert answer.headers["Clear-Site-Data"] == '"cache", "storage"'
    [result] = answer.json["results"]
    assert result["status"] == "conflict"
    assert keeper.get(f"/stock/{item['label']}").json["quantity"] == 10  # nothing applied
    [held] = admin.get("/sync/conflicts").json["items"]
    assert (held["reason"], held["device"], held["site"]) == ("lost_device", "张三的手机", "GT-XB")
    # Whoever holds it now can do nothing else with it, and is told to clear it again.
    for refused in (phone.get("/me"), phone.get("/sites/GT-XB/snapshot"),
                    phone.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                           "lines": [{"label": item["label"], "quantity": 1}]})):
        assert refused.status_code == 401 and refused.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert keeper.get(f"/stock/{item['label']}").json["quantity"] == 10


def test_device_names_are_checked(keeper):
    for body in ({}, {"name": ""}, {"name": "x" * 65}, {"name": 3}, {"name": "a", "extra": 1}):
        response = keeper.post("/devices", body)
        assert response.status_code == 422, body
    assert keeper.get("/devices").json["items"] == []
