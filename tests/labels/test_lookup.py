"""What a line form's card learns from /scan/lookup: the item's facts for a known label, and for
a typed one that is not, a near miss from the form's own site only (issue 15)."""

import pytest

from inventory.labels.codes import one_slip_apart
from tests.factories import page_client, receive


@pytest.mark.parametrize(("typed", "label", "close"), [
    ("ABCDEFGHJKMNPQRS", "ABCDEFGHJKMNPQRT", True),    # one character wrong
    ("ABCDEFGHJKMNPQSR", "ABCDEFGHJKMNPQRS", True),    # two neighbours swapped
    ("ABCDEFGHJKMNPQRS", "ABCDEFGHJKMNPQRS", False),   # the label itself is not a miss
    ("ABCDEFGHJKMNPRSQ", "ABCDEFGHJKMNPQRS", False),   # three characters moved
    ("ABCDEFGHJKMNPQZZ", "ABCDEFGHJKMNPQRS", False),   # two wrong
    ("ABCDEFGHJKMNPQR", "ABCDEFGHJKMNPQRS", False),    # one short
])
def test_one_slip_apart(typed, label, close):
    assert one_slip_apart(typed, label) is close


def _slip(label: str) -> str:
    """The label with its last character changed."""
    return label[:-1] + ("0" if label[-1] != "0" else "1")


def test_a_known_label_answers_what_its_card_shows(app, keeper):
    [tent] = receive(keeper, material="TENT", quantity=4, lot="ZP-9", expiry_date="2099-01-01")["items"]
    client = page_client(app, "xb")
    answer = client.get(f"/scan/lookup/{tent['label']}?site=GT-XB")
    assert answer.status_code == 200
    assert {
        key: answer.json[key] for key in ("material", "unit", "quantity", "lot", "expiry", "returnable",
                                          "usable", "site")} == {
        "material": "棉帐篷", "unit": "顶", "quantity": 4, "lot": "ZP-9", "expiry": "2099-01-01",
        "returnable": True, "usable": True, "site": "GT-XB"}


def test_a_near_miss_is_suggested_from_the_forms_site(app, keeper):
    [quilts] = receive(keeper, material="QUILT", quantity=3)["items"]
    client = page_client(app, "xb")
    answer = client.get(f"/scan/lookup/{_slip(quilts['label'])}?site=GT-XB")
    assert answer.status_code == 404
    assert answer.json["suggestion"]["label"] == quilts["label"]
    assert answer.json["suggestion"]["material"] == "棉被"
    # Without a site, or far from every label, nothing is guessed.
    assert client.get(f"/scan/lookup/{_slip(quilts['label'])}").json["suggestion"] is None
    assert client.get("/scan/lookup/ZZZZZZZZZZZZZZZZ?site=GT-XB").json["suggestion"] is None


def test_no_near_miss_from_a_site_the_user_may_not_see(app, keeper, manager):
    [water] = receive(manager, site="GT-NH", material="WATER", quantity=5)["items"]
    client = page_client(app, "xb")
    answer = client.get(f"/scan/lookup/{_slip(water['label'])}?site=GT-NH")
    assert answer.status_code == 404 and answer.json["suggestion"] is None
    # Nor does asking the exact label of that site tell it from an unknown one.
    assert client.get(f"/scan/lookup/{water['label']}?site=GT-NH").json == \
        client.get("/scan/lookup/ZZZZZZZZZZZZZZZZ?site=GT-NH").json


def test_a_near_miss_still_counts_towards_the_guessing_limit(app, keeper):
    [quilts] = receive(keeper, material="QUILT", quantity=3)["items"]
    app.extensions["label_misses"].limit = 2
    client = page_client(app, "xb")
    codes = [client.get(f"/scan/lookup/{_slip(quilts['label'])}?site=GT-XB").status_code for _ in range(3)]
    assert codes[:2] == [404, 404] and codes[2] == 429
