"""POST /auth/token and GET /me."""

from flask import current_app, g, jsonify, request

from inventory.api.core import api, json_body
from inventory.auth.services import authenticate, issue_token
from inventory.validation import Object, String, load

TOKEN_REQUEST = Object({
    "username": String(max_length=64, required=True),
    "password": String(max_length=256, required=True),
})


@api.post("/auth/token", endpoint="issue_token")
def post_token():
    """Exchange a username and password for a bearer token."""
    fields = load(TOKEN_REQUEST, json_body())
    user = authenticate(username=fields["username"], password=fields["password"],
                        address=request.remote_addr)
    token, record = issue_token(user=user, days=current_app.config["API_TOKEN_DAYS"],
                                password=fields["password"])
    return jsonify(token=token, expires_at=record.expires_at.isoformat()), 201


@api.get("/me")
def me():
    """Who the token belongs to, and the sites their scope covers."""
    user = g.api_user
    return jsonify(username=user.username, role=user.role, sites=[site.code for site in user.sites])
