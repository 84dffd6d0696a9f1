"""POST /auth/token and GET /me."""

from flask import current_app, g, request

from inventory.api.core import json_body
from inventory.api.routes import route
from inventory.api.shapes import Choice, IsoDateTime, ListOf, Shape, Str
from inventory.auth.models import ROLES
from inventory.auth.services import authenticate, issue_token
from inventory.validation import Object, String, load

TOKEN_REQUEST = Object({
    "username": String(max_length=64, required=True),
    "password": String(max_length=256, required=True, verbatim=True),
})
TOKEN = Shape({"token": Str(), "expires_at": IsoDateTime()}, by_key=True)
ME = Shape({"username": Str(), "role": Choice(ROLES), "sites": ListOf(Str("code"))})


@route.post("/auth/token", "用户名和密码换取访问令牌", endpoint="issue_token", body=TOKEN_REQUEST,
            answers=TOKEN, status=201, errors=(400, 401, 422, 429))
def post_token():
    """Exchange a username and password for a bearer token."""
    fields = load(TOKEN_REQUEST, json_body())
    user = authenticate(username=fields["username"], password=fields["password"],
                        address=request.remote_addr)
    token, record = issue_token(user=user, days=current_app.config["API_TOKEN_DAYS"],
                                password=fields["password"])
    return {"token": token, "expires_at": record.expires_at}


@route.get("/me", "当前令牌的用户", answers=ME, errors=(401,))
def me():
    """Who the token belongs to, and the sites their scope covers."""
    return g.api_user
