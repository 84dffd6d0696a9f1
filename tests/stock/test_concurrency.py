"""Races between real connections: the app under gunicorn (4 processes × 4 threads) on SQLite
and PostgreSQL, clients in threads released together by a barrier (QUALITY.md R1–R4, R6, R7,
R14–R16)."""

import threading
from collections import Counter

import pytest
import requests
import sqlalchemy as sa

from inventory.db import db
from inventory.stock.models import Movement, StockItem
from tests.conftest import join_all
from tests.factories import check_ledger, http_post, receive

# Deadlines that bound the waits, many times what the work takes (seconds on a shared box).
START_WITHIN_S = 60  # for every racer to be at the barrier
RACE_WITHIN_S = 180  # for every racer to finish


def race(jobs):
    """Run the callables at once from their own threads; return their results in order."""
    barrier = threading.Barrier(len(jobs), timeout=START_WITHIN_S)
    results = [None] * len(jobs)

    def run(index, job):
        barrier.wait()
        results[index] = job()

    threads = [threading.Thread(target=run, args=(i, job), name=f"racer-{i}", daemon=True)
               for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    join_all(threads, within=RACE_WITHIN_S, what="the race")
    return results


def post(base, headers, path, body, key=None):
    response = http_post(base, headers, path, body, key=key)
    return response.status_code, response.json()


def _quantity(app, label):
    with app.app_context():
        return db.session.scalar(sa.select(StockItem.quantity).where(StockItem.label == label))


def _issue(base, headers, quantity, label=None):
    line = {"label": label} if label else {"material": "WATER"}
    return lambda: post(base, headers, "/issues", {
        "site": "GT-XB", "recipient": {"type": "household", "name": "受灾户"},
        "lines": [{**line, "quantity": quantity}]})


def test_twenty_clients_racing_for_the_last_ten_units(app, server, keeper):
    [item] = receive(keeper, quantity=10)["items"]
    results = race([_issue(server, keeper.headers, 1) for _ in range(20)])
    statuses = Counter(status for status, _body in results)
    assert statuses == {201: 10, 409: 10}, statuses
    assert all(body["error"]["code"] == "insufficient_stock" for status, body in results
               if status == 409)
    assert _quantity(app, item["label"]) == 0
    assert check_ledger(app)[0] == 0


def test_concurrent_over_issue_of_mixed_sizes(app, server, keeper):
    """R1: 20 issues of 1 and 10 of 2 against 10 units."""
    [item] = receive(keeper, quantity=10)["items"]
    jobs = [_issue(server, keeper.headers, 1) for _ in range(20)]
    jobs += [_issue(server, keeper.headers, 2, label=item["label"]) for _ in range(10)]
    results = race(jobs)
    issued = sum(body["lines"][0]["quantity"] for status, body in results if status == 201)
    assert issued <= 10
    assert all(status in (201, 409) for status, _body in results), "no 5xx, no lock errors"
    assert _quantity(app, item["label"]) == 10 - issued >= 0
    assert check_ledger(app)[0] == 0


def test_concurrent_receipts_lose_no_update(app, server, keeper):
    """R2/R3/R4: 8 writers × 25 receipts of +1, and a reader summing all the while."""
    [item] = receive(keeper, quantity=1, lot="L")["items"]
    stop, reader_statuses = threading.Event(), Counter()

    def reader():
        while not stop.is_set():
            response = requests.get(f"{server}/api/v1/stock/summary", headers=keeper.headers,
                                    timeout=60)
            reader_statuses[response.status_code] += 1

    def writer():
        return [post(server, keeper.headers, "/receipts", {
            "site": "GT-XB", "material": "WATER", "quantity": 1, "lot": "L"})[0]
            for _ in range(25)]

    watcher = threading.Thread(target=reader, name="reader", daemon=True)
    watcher.start()
    try:
        results = race([writer for _ in range(8)])
    finally:
        stop.set()
        join_all([watcher], within=90, what="the summing reader")
    assert Counter(status for batch in results for status in batch) == {201: 200}
    assert set(reader_statuses) == {200}
    assert _quantity(app, item["label"]) == 201
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Movement)) == 201
        numbers = db.session.scalars(sa.select(Movement.document)).all()
    assert len(set(numbers)) == 201, "every receipt got its own number"
    assert check_ledger(app)[0] == 0


def test_first_receipts_at_a_new_site_make_one_item(app, server, keeper):
    """R15: the first receipts of a lot at a site race; one item holds them all."""
    results = race([lambda: post(server, keeper.headers, "/receipts", {
        "site": "GT-XB-HP", "material": "QUILT", "quantity": 3, "lot": "NEW"}) for _ in range(8)])
    assert [status for status, _body in results] == [201] * 8
    with app.app_context():
        items = db.session.scalars(sa.select(StockItem).where(StockItem.lot == "NEW")).all()
    assert [item.quantity for item in items] == [24]


def test_a_serial_number_exists_once_and_is_issued_once(app, server, keeper):
    """R14."""
    results = race([lambda: post(server, keeper.headers, "/receipts", {
        "site": "GT-XB", "material": "GEN", "quantity": 1, "serials": ["SN-RACE"]})
        for _ in range(6)])
    assert sorted(status for status, _body in results) == [201] + [409] * 5
    label = next(body["items"][0]["label"] for status, body in results if status == 201)
    issued = race([_issue(server, keeper.headers, 1, label=label) for _ in range(6)])
    assert sorted(status for status, _body in issued) == [201] + [409] * 5
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.sum(StockItem.quantity))
                                 .where(StockItem.serial == "SN-RACE")) == 0
    assert check_ledger(app)[0] == 0


def test_crossing_transfers_never_deadlock(app, server, manager):
    """R16: A→B (m1, m2) and B→A (m2, m1) at once, round after round."""
    for site in ("GT-XB", "GT-NH"):
        for material in ("WATER", "QUILT"):
            receive(manager, site=site, material=material, quantity=100, lot="X")

    def transfer(source, destination, materials):
        def job():
            status, body = post(server, manager.headers, "/transfers", {
                "from_site": source, "to_site": destination,
                "lines": [{"material": m, "quantity": 1} for m in materials]})
            assert status == 201, body
            return post(server, manager.headers, f"/transfers/{body['number']}/dispatch", None)
        return job

    for _round in range(15):
        results = race([transfer("GT-XB", "GT-NH", ["WATER", "QUILT"]),
                        transfer("GT-NH", "GT-XB", ["QUILT", "WATER"])])
        assert [status for status, _body in results] == [200, 200], results
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.sum(StockItem.quantity)))
    assert total == 400 - 4 * 15, "what left is in transit, nothing appeared or vanished"
    assert check_ledger(app)[0] == 0


def test_a_retried_request_applies_once_and_twins_wait(app, server, keeper):
    """R6/R7: the same key again gives the first answer; a changed body is refused; simultaneous
    twins apply once."""
    [item] = receive(keeper, quantity=10)["items"]
    body = {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
            "lines": [{"material": "WATER", "quantity": 1}]}
    first = post(server, keeper.headers, "/issues", body, key="issue-001")
    again = post(server, keeper.headers, "/issues", body, key="issue-001")
    assert first[0] == again[0] == 201 and first[1] == again[1]
    changed = post(server, keeper.headers, "/issues",
                   {**body, "lines": [{"material": "WATER", "quantity": 2}]}, key="issue-001")
    assert changed[0] == 422 and changed[1]["error"]["code"] == "idempotency_mismatch"
    twins = race([lambda: post(server, keeper.headers, "/issues", body, key="issue-002")
                  for _ in range(3)])
    assert {status for status, _body in twins} <= {201, 409}
    answers = [answer for status, answer in twins if status == 201]
    assert answers and all(answer == answers[0] for answer in answers)
    assert _quantity(app, item["label"]) == 8, "two keys, two issues, whatever the retries"
    assert check_ledger(app)[0] == 0


@pytest.mark.parametrize("key", ["", "x" * 101, "key with spaces", "ключ"])
def test_malformed_idempotency_keys_are_refused(keeper, key):
    response = keeper.post("/receipts", {"site": "GT-XB", "material": "WATER", "quantity": 1},
                           key=key)
    assert response.status_code == 400
    assert keeper.get("/movements").json["total"] == 0


def test_another_user_never_gets_my_stored_answer(keeper, manager):
    """S14: keys are per user."""
    body = {"site": "GT-XB", "material": "WATER", "quantity": 1}
    mine = keeper.post("/receipts", body, key="shared-key")
    theirs = manager.post("/receipts", body, key="shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json["number"] != theirs.json["number"]
