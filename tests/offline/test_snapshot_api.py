"""GET /sites/{code}/snapshot: what a phone keeps to work offline, with an ETag."""

from tests.factories import issue, receive
from tests.offline.test_devices_api import register


def test_a_snapshot_holds_the_sites_goods_loans_and_incoming_transfers_at_a_ledger_position(
        client, keeper, manager, today):
    water = receive(keeper, quantity=10, lot="L1")["items"][0]
    tent = receive(keeper, material="TENT", quantity=3)["items"][0]
    receive(keeper, site="GT-XB-HP", quantity=4)  # a village point's own: not this site's snapshot
    issue(keeper, [{"label": tent["label"], "quantity": 1}])
    receive(manager, site="GT", material="QUILT", quantity=5)
    transfer = manager.post("/transfers", {"from_site": "GT", "to_site": "GT-XB",
                                           "lines": [{"material": "QUILT", "quantity": 2}]}).json
    assert manager.post(f"/transfers/{transfer['number']}/dispatch").status_code == 200
    _device, phone = register(client, keeper)
    response = phone.get("/sites/GT-XB/snapshot")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-cache"
    snapshot = response.json
    assert snapshot["site"] == "GT-XB" and snapshot["site_name"] == "新坝镇储备室"
    assert sorted((i["label"], i["quantity"], i["name"]) for i in snapshot["items"]) == sorted([
        (water["label"], 10, "瓶装饮用水"), (tent["label"], 2, "棉帐篷")])
    [loan] = snapshot["loans"]
    assert (loan["label"], loan["outstanding"]) == (tent["label"], 1)
    [incoming] = snapshot["incoming_transfers"]
    assert incoming["number"] == transfer["number"] and incoming["status"] == "in_transit"
    assert snapshot["stocktakes"] == []
    movements = manager.get("/movements?per_page=1").json["items"]
    assert snapshot["position"] == movements[0]["id"]


def test_an_unchanged_snapshot_answers_304_and_a_movement_changes_it(client, keeper):
    water = receive(keeper, quantity=10)["items"][0]
    _device, phone = register(client, keeper)
    first = phone.get("/sites/GT-XB/snapshot")
    etag = first.headers["ETag"]
    again = phone.client.get("/api/v1/sites/GT-XB/snapshot", headers={**phone.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    issue(keeper, [{"label": water["label"], "quantity": 1}])
    moved = phone.client.get("/api/v1/sites/GT-XB/snapshot", headers={**phone.headers, "If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    assert moved.json["position"] > first.json["position"]


def test_a_snapshot_is_only_of_a_site_in_scope(client, keeper):
    _device, phone = register(client, keeper)
    assert phone.get("/sites/GT-NH/snapshot").status_code == 403
    assert phone.get("/sites/NOWHERE/snapshot").status_code == 404
    assert client.get("/api/v1/sites/GT-XB/snapshot").status_code == 401
