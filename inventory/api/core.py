"""The API blueprint and what every route shares: token auth, JSON bodies, pagination."""

import json

from flask import Blueprint, g, request
from flask_babel import gettext as _

from inventory.auth.services import user_for_token
from inventory.errors import Unauthorized, ValidationError

api = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi_document"}
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


class BadRequest(Exception):
    """The body is not JSON at all."""


@api.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        raise Unauthorized(_("缺少或无效的访问令牌"))
    g.api_user = user


def json_body() -> dict:
    """The request body as a JSON object; malformed JSON answers 400."""
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest() from None
    if not isinstance(body, dict):
        raise ValidationError({"body": _("请求体应为 JSON 对象")})
    return body


def page_args() -> tuple[int, int]:
    """?page= (from 1) and ?per_page= (default 50, at most 500)."""
    errors, values = {}, {}
    for name, default in (("page", 1), ("per_page", DEFAULT_PER_PAGE)):
        raw = request.args.get(name, str(default))
        try:
            values[name] = int(raw)
            if values[name] < 1 or values[name] > 10**9:
                raise ValueError
        except ValueError:
            errors[name] = _("应为正整数")
    if errors:
        raise ValidationError(errors)
    return values["page"], min(values["per_page"], MAX_PER_PAGE)


def paginated(query, serialize) -> dict:
    """Answer a list in the envelope of API.md."""
    from inventory.db import db

    page, per_page = page_args()
    result = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    return {"items": [serialize(item) for item in result.items], "total": result.total,
            "page": page, "per_page": per_page}


def flag_arg(name: str, default: bool) -> bool:
    """A true/false query parameter; anything else is a validation error."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValidationError({name: _("应为 true 或 false")})


@api.errorhandler(BadRequest)
def _bad_json(_error):
    from inventory.errors import error_response
    return error_response(400, "bad_request", _("请求体不是有效的 JSON"))

