"""Sync under races (gunicorn, real connections, both engines): a batch sent twice at once by a
phone that heard no answer, and the same key through sync and its endpoint together, apply
once; two phones issuing the last units offline leave the ledger never negative and the rest
held."""

from collections import Counter

import sqlalchemy as sa

from inventory.db import db
from inventory.offline.models import SyncConflict
from inventory.stock.models import Movement
from tests.factories import check_ledger, http_post, receive
from tests.offline.test_devices_api import register
from tests.offline.test_sync_api import issue_of, operation
from tests.stock.test_concurrency import race


def _movements(app, label) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Movement).where(
            Movement.item.has(label=label), Movement.kind == "issue"))


def _sync(server, headers, *operations):
    return lambda: http_post(server, headers, "/sync", {"operations": list(operations)})


def test_one_batch_sent_four_times_at_once_applies_each_operation_once(app, server, client, keeper):
    water = receive(keeper, quantity=50)["items"][0]["label"]
    _device, phone = register(client, keeper)
    batch = [operation("issue", issue_of(water, n), seq=n) for n in (1, 2, 3)]
    answers = race([_sync(server, phone.headers, *batch) for _ in range(4)])
    assert all(answer.status_code == 200 for answer in answers), [a.text[:300] for a in answers]
    statuses = Counter(result["status"] for answer in answers for result in answer.json()["results"])
    # Each applied once; the twins heard its answer (or, while it ran, were told to wait).
    assert statuses["applied"] + statuses["duplicate"] + statuses["deferred"] == 12, statuses
    assert statuses["conflict"] == statuses["rejected"] == 0, statuses
    assert _movements(app, water) == 3
    assert keeper.get(f"/stock/{water}").json["quantity"] == 50 - 6
    assert check_ledger(app)[0] == 0


def test_a_key_racing_through_sync_and_its_endpoint_is_one_issue(app, server, client, keeper):
    water = receive(keeper, quantity=10)["items"][0]["label"]
    _device, phone = register(client, keeper)
    recorded = operation("issue", issue_of(water, 2))
    jobs = [_sync(server, phone.headers, recorded),
            lambda: http_post(server, phone.headers, "/issues", recorded["body"], key=recorded["key"])] * 3
    answers = race(jobs)
    assert all(answer.status_code in (200, 201, 409) for answer in answers), [a.text[:200] for a in answers]
    assert _movements(app, water) == 1 and keeper.get(f"/stock/{water}").json["quantity"] == 8
    assert check_ledger(app)[0] == 0


def test_two_phones_issuing_the_last_units_offline_never_take_the_ledger_below_zero(
        app, server, client, keeper, make_user, token_for):
    from tests.factories import Api

    water = receive(keeper, quantity=10)["items"][0]["label"]
    phones = [register(client, keeper, "一号机")[1],
              register(client, Api(client, token_for(make_user("keeper", username="xb2", sites=["GT-XB"]))),
                       "二号机")[1]]
    answers = race([_sync(server, phone.headers, operation("issue", issue_of(water, 7))) for phone in phones])
    statuses = sorted(answer.json()["results"][0]["status"] for answer in answers)
    assert statuses == ["applied", "conflict"], statuses
    assert keeper.get(f"/stock/{water}").json["quantity"] == 3
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncConflict)) == 1
    assert check_ledger(app)[0] == 0
