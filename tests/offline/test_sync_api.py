"""POST /sync (API.md "Working offline 三断"): every operation recorded offline is applied once,
in its own transaction, whichever way its key arrives; what cannot be applied as it stands is
held for a manager, never dropped, and the ledger never goes negative."""

import datetime as dt
import uuid

import sqlalchemy as sa

from inventory import clock
from inventory.db import db
from inventory.stock.models import Movement
from tests.factories import Api, check_ledger, receive
from tests.offline.test_devices_api import register

RECIPIENT = {"type": "person", "name": "王"}


def operation(kind, body, *, key=None, seq=1) -> dict:
    return {"key": key or str(uuid.uuid4()), "seq": seq, "kind": kind, "body": body,
            "recorded_at": clock.now().isoformat()}


def issue_of(label, quantity, site="GT-XB") -> dict:
    return {"site": site, "recipient": RECIPIENT, "lines": [{"label": label, "quantity": quantity}]}


def movements(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Movement))


def sync(phone, *operations):
    response = phone.post("/sync", {"operations": list(operations)})
    assert response.status_code == 200, response.json
    return response.json["results"]


def quantity(api, label) -> int:
    return api.get(f"/stock/{label}").json["quantity"]


def test_a_batch_is_applied_in_order_each_once_and_a_resent_batch_changes_nothing(app, client, keeper):
    _device, phone = register(client, keeper)
    water = receive(keeper, quantity=10)["items"][0]["label"]
    batch = [operation("issue", issue_of(water, 3), seq=1),
             operation("adjustment", {"label": water, "delta": 2, "reason": "count_correction"}, seq=2),
             operation("adjustment", {"label": water, "delta": 1, "reason": "no such reason"}, seq=3),
             operation("issue", issue_of(water, 4), seq=4)]
    results = sync(phone, *batch)
    assert [r["status"] for r in results] == ["applied", "applied", "rejected", "applied"]
    assert [r["key"] for r in results] == [op["key"] for op in batch]
    assert results[0]["answer"]["number"].startswith("FF-")
    assert results[2]["detail"]["code"] == "validation_error"
    assert quantity(keeper, water) == 10 - 3 + 2 - 4
    before = movements(app)
    again = sync(phone, *batch)
    assert [r["status"] for r in again] == ["duplicate", "duplicate", "rejected", "duplicate"]
    assert again[0]["answer"] == results[0]["answer"]
    assert movements(app) == before and quantity(keeper, water) == 5
    assert check_ledger(app)[0] == 0


def test_a_key_is_applied_once_whether_it_comes_by_sync_or_by_its_endpoint(app, client, keeper):
    _device, phone = register(client, keeper)
    water = receive(keeper, quantity=10)["items"][0]["label"]
    first = operation("issue", issue_of(water, 2))
    [synced] = sync(phone, first)
    # The phone heard no answer and sent it to the endpoint instead: the same issue.
    direct = phone.post("/issues", first["body"], key=first["key"])
    assert direct.status_code == 201 and direct.json["number"] == synced["answer"]["number"]
    # And the other way round.
    second = operation("issue", issue_of(water, 1))
    by_endpoint = keeper.post("/issues", second["body"], key=second["key"])
    assert by_endpoint.status_code == 201
    [result] = sync(phone, second)
    assert result["status"] == "duplicate" and result["answer"]["number"] == by_endpoint.json["number"]
    assert quantity(keeper, water) == 7
    # A key used again for another operation is refused, not applied.
    [reused] = sync(phone, {**operation("issue", issue_of(water, 5)), "key": first["key"]})
    assert reused["status"] == "rejected" and reused["detail"]["code"] == "idempotency_mismatch"
    assert quantity(keeper, water) == 7


def test_goods_issued_offline_on_two_phones_beyond_the_books_are_held_and_applied_with_a_correction(
        app, client, keeper, manager, make_user, token_for):
    water = receive(keeper, quantity=10)["items"][0]["label"]
    _one, first_phone = register(client, keeper, "一号机")
    colleague = Api(client, token_for(make_user("keeper", username="xb2", sites=["GT-XB"])))
    _two, second_phone = register(client, colleague, "二号机")
    assert sync(first_phone, operation("issue", issue_of(water, 8)))[0]["status"] == "applied"
    short = operation("issue", issue_of(water, 8), seq=1)
    after = operation("adjustment", {"label": water, "delta": 1, "reason": "count_correction"}, seq=2)
    other = receive(keeper, material="QUILT", quantity=4)["items"][0]["label"]
    unrelated = operation("issue", issue_of(other, 1), seq=3)
    results = sync(second_phone, short, after, unrelated)
    # Held, never dropped; what follows on the same goods waits; the rest goes on.
    assert [r["status"] for r in results] == ["conflict", "deferred", "applied"]
    assert results[0]["detail"]["code"] == "insufficient_stock"
    assert quantity(keeper, water) == 2
    assert sync(second_phone, short)[0]["status"] == "conflict"  # sent again: still held, once
    assert keeper.get("/sync/conflicts").status_code == 403  # a manager's
    [held] = manager.get("/sync/conflicts?status=open").json["items"]
    assert (held["key"], held["reason"], held["user"], held["device"], held["site"]) == (
        short["key"], "stock_short", "xb2", "二号机", "GT-XB")
    resolved = manager.post(f"/sync/conflicts/{held['id']}/resolve",
                            {"action": "apply_with_correction", "note": "实物已发出，盘点更正"})
    assert resolved.status_code == 200 and resolved.json["status"] == "applied"
    # The correction (+6) then the issue (−8): never below 0.
    moves = manager.get(f"/movements?label={water}").json["items"]
    assert [(m["kind"], m["quantity"], m["balance_after"]) for m in moves[:2]] == [
        ("issue", -8, 0), ("adjustment", 6, 8)]
    again = manager.post(f"/sync/conflicts/{held['id']}/resolve", {"action": "reject", "note": "x"})
    assert again.status_code == 409
    [duplicate, deferred_now] = sync(second_phone, short, after)
    assert duplicate["status"] == "duplicate" and duplicate["answer"]["number"].startswith("FF-")
    assert deferred_now["status"] == "applied" and quantity(keeper, water) == 1
    assert manager.get("/sync/conflicts?status=open").json["items"] == []
    assert check_ledger(app)[0] == 0


def test_a_rejected_operation_stays_rejected_and_an_unknown_label_is_held(app, client, keeper, manager):
    _device, phone = register(client, keeper)
    [result] = sync(phone, unknown := operation("issue", issue_of("NO-SUCH-LABEL", 1)))
    assert result["status"] == "conflict"
    [held] = manager.get("/sync/conflicts").json["items"]
    assert held["reason"] == "unknown_label" and held["body"] == unknown["body"]
    rejected = manager.post(f"/sync/conflicts/{held['id']}/resolve", {"action": "reject", "note": "标签写错"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    [again] = sync(phone, unknown)
    assert again["status"] == "rejected" and "标签写错" in again["detail"]["message"]
    assert check_ledger(app)[0] == 0


def test_a_batch_is_checked_as_a_whole_only_for_its_envelope(client, keeper):
    _device, phone = register(client, keeper)
    for body in ({}, {"operations": []}, {"operations": "x"},
                 {"operations": [operation("count", {})] * 101}):
        assert phone.post("/sync", body).status_code == 422, body
    results = sync(phone, {"key": 7}, operation("teleport", {}),
                   operation("count", {"label": "x", "counted": 1}), operation("transfer_receive", {}),
                   operation("count", {"stocktake": 2**70, "label": "x", "counted": 1}),
                   operation("count", {"stocktake": True, "label": "x", "counted": 1}),
                   operation("transfer_receive", {"number": "D" * 400}),
                   operation("transfer_receive", {"number": "DB-2026-999999"}))
    assert [r["status"] for r in results] == ["rejected"] * 8
    assert results[0]["key"] is None and results[2]["detail"]["code"] == "validation_error"
    assert [r["detail"]["code"] for r in results[4:]] == ["not_found", "validation_error", "validation_error",
                                                           "not_found"]


def test_72_hours_offline_expire_nothing_on_the_sync_path(app, client, keeper):
    _device, phone = register(client, keeper)
    water = receive(keeper, quantity=5)["items"][0]["label"]
    recorded = operation("issue", issue_of(water, 1))
    with clock.travel(clock.now() + dt.timedelta(hours=72, minutes=5)):
        [result] = sync(phone, recorded)
    assert result["status"] == "applied" and quantity(keeper, water) == 4


def test_an_operation_is_held_when_the_keepers_rights_changed_after_it_was_recorded(app, client, keeper,
                                                                                      manager):
    from inventory.auth.access import COMMAND_LINE
    from inventory.auth.services import update_user

    _device, phone = register(client, keeper)
    water = receive(keeper, quantity=5)["items"][0]["label"]
    recorded = operation("issue", issue_of(water, 1))  # recorded while the keeper kept 新坝镇
    # Another town's goods, never the keeper's: refused, not held.
    nanhua = receive(manager, site="GT-NH", quantity=5)["items"][0]["label"]
    with app.app_context():
        update_user(actor=COMMAND_LINE, username="xb", role="keeper", site_codes=["GT-NH"])
    later = operation("issue", issue_of(water, 1))  # recorded after the keeper was moved
    results = sync(phone, recorded, later)
    assert [r["status"] for r in results] == ["conflict", "deferred"]
    [held] = manager.get("/sync/conflicts").json["items"]
    assert held["reason"] == "rights" and held["key"] == recorded["key"]
    [refused] = sync(phone, later)
    assert refused["status"] == "rejected" and refused["detail"]["code"] == "forbidden"
    with app.app_context():
        update_user(actor=COMMAND_LINE, username="xb", role="keeper", site_codes=["GT-XB"])
    never_allowed = operation("issue", issue_of(nanhua, 1, site="GT-NH"))  # recorded since
    [elsewhere] = sync(phone, never_allowed)
    assert elsewhere["status"] == "rejected" and manager.get("/sync/conflicts").json["total"] == 1
    # A label the keeper may not see is refused, not held as unknown.
    [hidden] = sync(phone, operation("adjustment", {"label": nanhua, "delta": 1, "reason": "count_correction"}))
    assert hidden["status"] == "rejected" and manager.get("/sync/conflicts").json["total"] == 1
    assert quantity(keeper, water) == 5 and quantity(manager, nanhua) == 5


def test_a_held_operation_sent_since_through_its_endpoint_is_applied_once_and_not_corrected(
        app, client, keeper, manager):
    _device, phone = register(client, keeper)
    water = receive(keeper, quantity=2)["items"][0]["label"]
    short = operation("issue", issue_of(water, 5))
    assert sync(phone, short)[0]["status"] == "conflict"
    receive(keeper, quantity=10, lot=None)  # the delivery the books were waiting for
    direct = phone.post("/issues", short["body"], key=short["key"])
    assert direct.status_code == 201 and quantity(keeper, water) == 7
    [again] = sync(phone, short)
    assert again["status"] == "duplicate" and again["answer"]["number"] == direct.json["number"]
    [held] = manager.get("/sync/conflicts?status=open").json["items"]
    before = movements(app)
    resolved = manager.post(f"/sync/conflicts/{held['id']}/resolve",
                            {"action": "apply_with_correction", "note": "已由保管员补交"})
    assert resolved.status_code == 200 and resolved.json["status"] == "applied"
    assert movements(app) == before and quantity(keeper, water) == 7


def test_a_count_made_offline_is_booked_unless_the_item_moved_after_the_snapshot_it_was_made_on(
        app, client, keeper, manager, today):
    from inventory.stocktakes.models import quarter_of

    water = receive(keeper, quantity=10)["items"][0]["label"]
    tent = receive(keeper, material="TENT", quantity=4)["items"][0]["label"]
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
    _device, phone = register(client, keeper)
    snapshot = phone.get("/sites/GT-XB/snapshot").json
    assert [s["id"] for s in snapshot["stocktakes"]] == [stocktake["id"]]
    position = snapshot["position"]
    counts = [{**operation("count", {"stocktake": stocktake["id"], "label": label, "counted": counted},
                          seq=seq), "position": position}
              for seq, (label, counted) in enumerate(((water, 9), (tent, 4)), start=1)]
    receive(keeper, quantity=1, lot=None)  # the water moves after the snapshot, the tents do not
    results = sync(phone, *counts)
    assert [r["status"] for r in results] == ["conflict", "applied"]
    assert results[0]["detail"]["code"] == "snapshot_moved" and results[1]["answer"]["counted"] == 4
    [held] = manager.get("/sync/conflicts").json["items"]
    assert held["reason"] == "snapshot_moved"
    assert manager.post(f"/sync/conflicts/{held['id']}/resolve",
                        {"action": "apply_with_correction", "note": "已复核"}).status_code == 200
    lines = {line["label"]: line for line in manager.get(f"/stocktakes/{stocktake['id']}").json["lines"]}
    assert (lines[water]["counted"], lines[tent]["counted"]) == (9, 4)
    assert quantity(keeper, water) == 11  # a count moves nothing until the stocktake is approved


def test_a_count_after_the_phones_own_issue_of_the_same_goods_is_booked(app, client, keeper, manager, today):
    from inventory.stocktakes.models import quarter_of

    water = receive(keeper, quantity=10)["items"][0]["label"]
    stocktake = manager.post("/stocktakes", {"site": "GT-XB", "period": quarter_of(today)}).json
    _device, phone = register(client, keeper)
    position = phone.get("/sites/GT-XB/snapshot").json["position"]
    handed_out = {**operation("issue", issue_of(water, 3), seq=1), "position": position}
    counted = {**operation("count", {"stocktake": stocktake["id"], "label": water, "counted": 7}, seq=2),
               "position": position}
    # The phone knows of its own issue (it was in its outbox): the books moved only by it.
    assert [r["status"] for r in sync(phone, handed_out, counted)] == ["applied", "applied"]
    [line] = [line for line in manager.get(f"/stocktakes/{stocktake['id']}").json["lines"]
              if line["label"] == water]
    assert (line["counted"], line["expected"], line["variance"]) == (7, 7, 0)
