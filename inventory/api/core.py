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
from inventory.errors import BadRequest, NotFound, Unauthorized, UnsupportedMediaType, ValidationError
from inventory.extensions import idempotency
from inventory.offline.services import user_for_device_token
from inventory.security import UPLOAD_LIMITS, refuse_nul
from inventory.sites.models import Site
from inventory.validation import listing

api = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.issue_token", "api.openapi_document"}
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_ID = 2**31 - 1  # integer ids (norms, movements, incidents) are 32-bit


def existing_id(row_id: int) -> int:
    """The id, or NotFound when it lies past what the column can hold.

    Checked in the view, not by the route converter, where one path takes several methods: a
    converter that refuses a value makes Werkzeug answer 405 to all but the first of them
    instead of 404.
    """
    if row_id > MAX_ID:
        raise NotFound()
    return row_id


@api.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    user = (user_for_token(token) or user_for_device_token(token)) if token else None
    if user is None:
        raise Unauthorized(_("缺少或无效的访问令牌"))
    g.api_user = user
    if getattr(user, "device_lost", False) and request.endpoint != "api.sync_operations":
        # A phone reported lost may only hand in what it holds (held for review), and is wiped.
        raise Unauthorized(_("设备已挂失，请联系管理员"))


@api.after_request
def _wipe_a_lost_device(response):
    """A phone reported lost is told to clear what it holds, at its next contact (OFFLINE.md)."""
    if getattr(g.get("api_user"), "device_lost", False):
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


BODY_METHODS = {"POST", "PUT", "PATCH"}  # whose bodies the API reads, or keys idempotency on


@api.before_request
def _require_json():
    """A body sent to the API must say it is JSON (``application/json``, or a ``+json`` type such
    as ``application/merge-patch+json``, with or without a charset); else 415, nothing changes.

    Checked here, for every route, not only where ``json_body`` reads the body: a route whose
    body is optional asks ``request.get_data()`` whether there is one, and once a form-encoded
    body had been parsed as a form (refuse_nul reads ``request.form``) that answer was empty, so
    the body was taken for none. Reading it here first keeps it for whatever reads it next. A
    request without a body needs no Content-Type.
    """
    if request.endpoint in UPLOAD_LIMITS:  # a route that takes a file (routes.Upload)
        if request.mimetype != "multipart/form-data":
            raise UnsupportedMediaType()
        return
    if request.method in BODY_METHODS and request.get_data(cache=True) and not request.is_json:
        raise UnsupportedMediaType()


api.before_request(refuse_nul)  # after _authenticate: a stranger gets 401 first


# No body the API takes nests deeper than a handful of levels (a site's agreement's lines' fields:
# 4). Far below Python's recursion limit, so that whatever serialises a body again (the
# idempotency fingerprint, a log line) can: nesting the parser just managed (~970 levels) made the
# fingerprint's json.dumps, a few frames deeper, raise RecursionError, a 500.
MAX_NESTING = 32


def _nests_deeper_than(value, limit: int) -> bool:
    """Whether ``value`` has arrays or objects more than ``limit`` levels deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_body() -> dict:
    """The request body as a JSON object; malformed JSON answers 400 (and a body that is not JSON
    by its Content-Type 415, before the view: ``_require_json``).

    Malformed includes what JSON allows but text cannot hold: a lone surrogate such as "\\ud800"
    (no UTF-8 for it, so no database, hash or fingerprint could take it), and nesting deeper than
    the parser's recursion limit or than MAX_NESTING. The text must be UTF-8 (a BOM is let pass):
    given bytes, json.loads would also read UTF-16 and UTF-32, and decode a lone surrogate written
    out raw (b"\\xed\\xa0\\x80", which is no UTF-8) as if it were one.
    """
    raw = request.get_data(cache=True) or b"null"
    try:
        body = json.loads(raw.decode("utf-8-sig"))
        if b"\\u" in raw:
            json.dumps(body, ensure_ascii=False).encode()
    except (ValueError, UnicodeError, RecursionError):
        raise BadRequest(_("请求体不是有效的 JSON")) from None
    if _nests_deeper_than(body, MAX_NESTING):
        raise BadRequest(_("请求体的 JSON 嵌套超过 %(n)d 层", n=MAX_NESTING))
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
