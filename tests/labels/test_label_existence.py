"""Whether a label exists shows nowhere to those who may not see its site (issue 14, finding 9;
QUALITY.md S13): every route that takes a label answers another site's label exactly as an
unknown one, or counts it as a miss towards the guessing limit — and the count is one for all
the workers."""

import pytest

from inventory import create_app
from inventory.db import db
from tests.factories import masked, page_client, receive

UNKNOWN = "ZZZZZZZZZZZZZZZZ"


@pytest.fixture
def foreign(manager):
    """A label of 南华镇, which the keeper of 新坝镇 may not see."""
    return receive(manager, site="GT-NH", material="WATER", quantity=5)["items"][0]["label"]


def _alike(response, label):
    """An answer with the label itself (and a page's per-render tokens) taken out: what is left
    must not tell labels apart."""
    return response.status_code, masked(response.get_data(as_text=True)).replace(label, "<label>")


@pytest.mark.parametrize("write", [
    lambda label: ("/adjustments", {"label": label, "delta": 1, "reason": "count_correction"}),
    lambda label: ("/equipment-tests", {"label": label, "result": "ok"}),
    lambda label: ("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                               "lines": [{"label": label, "quantity": 1}]}),
    lambda label: ("/transfers", {"from_site": "GT-XB", "to_site": "GT-NH",
                                  "lines": [{"label": label, "quantity": 1}]}),
], ids=["adjustment", "equipment-test", "issue", "transfer"])
def test_writes_answer_another_sites_label_as_an_unknown_one(keeper, foreign, write):
    path, body = write(foreign)
    seen = keeper.post(path, body)
    path, body = write(UNKNOWN)
    unknown = keeper.post(path, body)
    assert seen.status_code == 422
    assert _alike(seen, foreign) == _alike(unknown, UNKNOWN)
    assert "南华" not in seen.get_data(as_text=True)


def test_a_manager_is_still_told_where_a_label_is_not(manager, foreign):
    """Who may see the label's site learns it is elsewhere, as before."""
    answer = manager.post("/issues", {"site": "GT-XB", "recipient": {"type": "person", "name": "王"},
                                      "lines": [{"label": foreign, "quantity": 1}]})
    assert answer.status_code == 422 and "不在" in answer.json["error"]["details"]["lines.0.label"]


def test_item_pages_answer_another_sites_label_as_an_unknown_one(app, keeper, foreign):
    pages = page_client(app, "xb")
    for path in ("/stock/item/{}", "/stock/item/{}/adjust", "/stock/item/{}/test"):
        seen, unknown = pages.get(path.format(foreign)), pages.get(path.format(UNKNOWN))
        assert seen.status_code == unknown.status_code == 404, path
        assert _alike(seen, foreign) == _alike(unknown, UNKNOWN), path


def test_the_ledger_filter_counts_another_sites_label_as_a_miss(app, keeper, foreign):
    app.extensions["label_misses"].limit = 3
    answers = [keeper.get(f"/movements?label={foreign}").status_code,
               keeper.get(f"/movements?label={UNKNOWN}").status_code,
               keeper.get(f"/movements?label={foreign}").status_code]
    assert answers == [403, 422, 403]
    refused = keeper.get(f"/movements?label={foreign}")
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_requests"


def test_every_worker_counts_the_same_misses(app, make_user, manager, foreign):
    """Two workers of one machine (two apps on one instance, as gunicorn forks them): a guesser
    who spreads the guesses over both meets one limit, not one each."""
    second_worker = create_app({**app.config})
    for worker in (app, second_worker):
        worker.extensions["label_misses"].limit = 4
    guesser = make_user("keeper", sites=["GT-XB"])
    clients = [page_client(app, guesser), page_client(second_worker, guesser)]
    misses = [clients[n % 2].get(f"/scan/lookup/{UNKNOWN[:-1]}{n}").status_code for n in range(4)]
    assert misses == [404] * 4
    assert [client.get(f"/s/{foreign}").status_code for client in clients] == [429, 429]
    with second_worker.app_context():
        db.engine.dispose()
