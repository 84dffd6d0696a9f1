"""S13 beyond tests/labels/test_labels.py: label codes are random, far apart and not enumerable,
and no scanning route tells an unknown label from another town's."""

import sqlalchemy as sa

from inventory.db import db
from inventory.labels.codes import LABEL_ALPHABET, LABEL_LENGTH
from inventory.stock.models import StockItem
from tests.factories import masked, receive

SCAN_ROUTES = ("/s/{}", "/scan/lookup/{}", "/labels/qr/{}.svg")


def _value(label: str) -> int:
    """A label read as the base-32 number it spells."""
    number = 0
    for char in label:
        number = number * 32 + LABEL_ALPHABET.index(char)
    return number


def _spell(number: int) -> str:
    return "".join(LABEL_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(LABEL_LENGTH)))


def test_labels_are_far_apart_and_their_neighbours_do_not_exist(app, keeper):
    items = receive(keeper, material="GEN", quantity=100,
                    serials=[f"SN-{n:03d}" for n in range(100)])["items"]
    labels = [item["label"] for item in items]
    assert all(len(label) == LABEL_LENGTH and set(label) <= set(LABEL_ALPHABET) for label in labels)
    values = sorted(_value(label) for label in labels)
    closest = min(b - a for a, b in zip(values, values[1:], strict=False))
    assert closest > 2**40, "labels made one after another are nowhere near each other"
    assert len({label[:8] for label in labels}) == len(labels), "no shared prefixes"
    guesses = {_spell(value + step) for value in values for step in range(-10, 11) if step}
    with app.app_context():
        hits = db.session.scalar(sa.select(sa.func.count()).select_from(StockItem)
                                 .where(StockItem.label.in_(guesses)))
    assert len(guesses) == 2000 and hits == 0, "counting up or down from a label finds nothing"


def test_an_unknown_label_and_another_towns_look_the_same_on_every_scan_route(
        app, client, login, make_user, keeper):
    [item] = receive(keeper, quantity=3, lot="XB-LOT")["items"]
    unknown = "ZZZZZZZZZZZZZZZZ"
    # Logged out, an existing label and an unknown one both lead to the login page.
    for route in SCAN_ROUTES:
        real, fake = client.get(route.format(item["label"])), client.get(route.format(unknown))
        assert real.status_code == fake.status_code == 302, route
        assert real.headers["Location"].replace(item["label"], unknown) == fake.headers["Location"]
    login(make_user("keeper", sites=["GT-NH"]))
    for route in SCAN_ROUTES:
        foreign, fake = client.get(route.format(item["label"])), client.get(route.format(unknown))
        assert foreign.status_code == fake.status_code == 404, route
        assert foreign.mimetype == fake.mimetype, route
        # Compared with what changes at every render (the logout form's CSRF token) masked.
        assert masked(foreign.get_data(as_text=True)).replace(item["label"], unknown) == \
            masked(fake.get_data(as_text=True)), route
        assert "XB-LOT" not in foreign.get_data(as_text=True)
