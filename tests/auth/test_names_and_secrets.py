"""A display name is refused like any name with bidi or invisible characters; a password is a
secret, taken exactly as sent by the API as by the login page (issue 14, finding 10)."""

import pytest

from inventory.auth.access import COMMAND_LINE
from inventory.errors import ValidationError


@pytest.mark.parametrize("name", ["王\u202e五", "\u200b", "王\u2066五"])
def test_a_display_name_that_spoofs_a_list_is_refused(app, name):
    from inventory.auth.services import create_user
    with app.app_context(), pytest.raises(ValidationError) as refused:
        create_user(actor=COMMAND_LINE, username="wang", role="viewer", password="a long password",
                    display_name=name)
    assert "display_name" in refused.value.details


def test_a_password_reaches_the_api_exactly_as_typed(app, client, make_user):
    secret = " spaced\u00ad password\u200b "
    make_user("viewer", username="lin", password=secret)
    token = client.post("/api/v1/auth/token", json={"username": "lin", "password": secret})
    assert token.status_code == 201, token.json
    trimmed = client.post("/api/v1/auth/token", json={"username": "lin", "password": secret.strip()})
    assert trimmed.status_code == 401
    page = client.post("/login", data={"username": "lin", "password": secret})
    assert page.status_code == 302, "the page takes the same password"
