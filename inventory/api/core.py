"""The API blueprint and what every route shares: token auth, JSON bodies, pagination."""

import datetime as dt
import json

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from inventory.auth.access import authorize
from inventory.auth.services import user_for_token
from inventory.catalog.models import Material
from inventory.db import db
from inventory.errors import BadRequest, Unauthorized, ValidationError
from inventory.extensions import idempotency
from inventory.sites.models import Site
from inventory.validation import listing, refuse_nul

api = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi_document"}
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_ID = 2**31 - 1  # integer ids (norms, movements, incidents) are 32-bit


@api.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        raise Unauthorized(_("缺少或无效的访问令牌"))
    g.api_user = user


api.before_request(refuse_nul)  # after _authenticate: a stranger gets 401 first


def json_body() -> dict:
    """The request body as a JSON object; malformed JSON answers 400.

    Malformed includes what JSON allows but text cannot hold: a lone surrogate such as "\\ud800"
    (no UTF-8 for it, so no database, hash or fingerprint could take it), and nesting deeper than
    the parser's recursion limit.
    """
    raw = request.get_data(cache=True) or b"null"
    try:
        body = json.loads(raw)
        if b"\\u" in raw:
            json.dumps(body, ensure_ascii=False).encode()
    except (ValueError, UnicodeError, RecursionError):
        raise BadRequest(_("请求体不是有效的 JSON")) from None
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


def idempotent(work):
    """Answer a state-changing POST once per Idempotency-Key (API.md, Conventions).

    ``work() -> (status, body)`` runs inside the transaction that also stores the answer.
    """
    body = json_body() if request.get_data(cache=True) else None
    status, answer = idempotency.answer_api(g.api_user, work, body)
    return jsonify(answer), status


def _record_arg(name: str, model, unknown):
    code = request.args.get(name)
    if not code:
        return None
    record = db.session.scalar(sa.select(model).where(model.code == code))
    if record is None:
        raise ValidationError({name: unknown(code[:40])})
    return record


def site_arg(name: str = "site"):
    """A site named by a query parameter, or None; an unknown code is a validation error."""
    return _record_arg(name, Site, lambda code: _("站点 %(code)s 不存在", code=code))


def scoped_site():
    """The site of ?site=, which the caller must be allowed to see stock of, or None."""
    site = site_arg()
    if site is not None:
        authorize(g.api_user, "stock.view", site)
    return site


def material_arg(name: str = "material"):
    """A material named by a query parameter, or None; an unknown code is a validation error."""
    return _record_arg(name, Material, lambda code: _("物资 %(code)s 不存在", code=code))


def date_arg(name: str):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: _("应为日期 YYYY-MM-DD")}) from None


def choice_arg(name: str, choices):
    raw = request.args.get(name)
    if not raw:
        return None
    if raw not in choices:
        raise ValidationError({name: _("应为以下之一：%(choices)s", choices=listing(choices))})
    return raw
