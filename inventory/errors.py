"""Domain errors, and the handlers that turn them (and HTTP errors) into pages or API JSON."""

import werkzeug.exceptions
from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain refused the request; nothing was changed.

    Each kind names its API code, its HTTP status and its default message in its class line:
    ``class NotFound(DomainError, code="not_found", status=404, message=_l("…"))``.
    """

    code = "invalid_state"
    status = 409
    default_message = _l("操作无法完成")

    def __init_subclass__(cls, *, code=None, status=None, message=None, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.code = code or cls.code
        cls.status = status or cls.status
        cls.default_message = message or cls.default_message

    def __init__(self, message=None, details=None):
        self.message = str(message or self.default_message)
        self.details = details
        super().__init__(self.message)


class ValidationError(DomainError, code="validation_error", status=422, message=_l("输入有误")):
    """Input is malformed or breaks a rule; ``details`` maps each field to its problem."""

    def __init__(self, details: dict, message=None):
        super().__init__(message, {field: str(problem) for field, problem in details.items()})


class BadRequest(DomainError, code="bad_request", status=400, message=_l("请求格式有误")):
    """The request itself is malformed: a body that is not JSON, a header or a form token that
    is not what it must be."""


class Unauthorized(DomainError, code="unauthorized", status=401, message=_l("请先登录")):
    """No one, or no one we know, is asking."""


class Forbidden(DomainError, code="forbidden", status=403, message=_l("没有权限执行此操作")):
    """The user's role or site scope does not allow it (auth/access.py)."""


class NotFound(DomainError, code="not_found", status=404, message=_l("页面或记录不存在")):
    """No such record (or none the user may know of)."""


class Duplicate(DomainError, code="duplicate", status=409, message=_l("已存在")):
    """A code, serial number or key that must be unique is taken."""


class InvalidState(DomainError, code="invalid_state", status=409):
    """The record is not in a state that allows this (a transfer already sent, an item on loan)."""


class InsufficientStock(DomainError, code="insufficient_stock", status=409, message=_l("库存不足")):
    """Not enough stock; ``details`` lists each short line: {"line", "requested", "available"}."""


class Unavailable(DomainError, code="unavailable", status=503, message=_l("系统繁忙，请稍后重试")):
    """Something the answer needs is missing on the server (a font, a busy database)."""


class IdempotencyMismatch(DomainError, code="idempotency_mismatch", status=422,
                          message=_l("该 Idempotency-Key 已用于另一个不同的请求")):
    """The key was used before, for a different request."""


class IdempotencyInProgress(DomainError, code="idempotency_in_progress", status=409,
                            message=_l("相同 Idempotency-Key 的请求正在处理，请稍后重试")):
    """A twin with the same key is still being answered."""


class TooManyAttempts(DomainError, code="too_many_requests", status=429,
                      message=_l("请求过于频繁，请稍后再试")):
    """Too many tries (logins, label look-ups) in the window; try again later."""


class MethodNotAllowed(DomainError, code="method_not_allowed", status=405,
                       message=_l("不支持此请求方法")):
    """The path exists, the method does not (the answer carries Allow)."""


class PayloadTooLarge(DomainError, code="payload_too_large", status=413,
                      message=_l("提交的内容过大")):
    """The body is over the limit (MAX_CONTENT_LENGTH)."""


class UnsupportedMediaType(DomainError, code="unsupported_media_type", status=415,
                           message=_l("请求体应为 JSON（Content-Type: application/json）")):
    """The API was sent a body that is not JSON by its Content-Type (API.md, Conventions)."""


# What the router, the body parser and CSRF protection refuse, as the domain's own kinds, so that
# pages and API answer them exactly as a service's refusal (403 words it as a page's).
HTTP_KINDS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
              405: MethodNotAllowed, 413: PayloadTooLarge, 415: UnsupportedMediaType,
              429: TooManyAttempts}
HTTP_MESSAGES = {403: _l("没有权限访问此页面")}

# Database answers that mean "busy, try again": SQLite's lock wait ran out, or PostgreSQL kept
# failing to serialize after every retry. The client gets 503 with Retry-After, never a 500.
BUSY_SQLSTATES = {"40001", "40P01", "55P03"}
RETRY_AFTER_SECONDS = 2


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, details=None):
    """Answer an error as API JSON or as a page, depending on where the request went."""
    if wants_json():
        body = {"code": code, "message": message}
        if details is not None:
            body["details"] = details
        return jsonify(error=body), status
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app) -> None:
    """Turn domain and HTTP errors into answers; no bad input may become a 500."""

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        kind = HTTP_KINDS.get(error.code)
        if kind is None:
            return error_response(error.code or 500, "error", error.description or "")
        response = app.make_response(_domain_error(kind(HTTP_MESSAGES.get(error.code))))
        if isinstance(error, werkzeug.exceptions.MethodNotAllowed) and error.valid_methods:
            # The fresh answer would drop the Allow header a 405 must carry (RFC 9110 §15.5.6).
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response

    @app.errorhandler(OperationalError)
    def _database_busy(error: OperationalError):
        busy = (getattr(error.orig, "sqlstate", None) in BUSY_SQLSTATES
                or "database is locked" in str(error.orig))
        if not busy:
            return _unexpected(error)
        app.logger.warning("database busy on %s %s: %s", request.method, request.path, error.orig)
        response = app.make_response(_domain_error(Unavailable()))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", str(_l("服务器内部错误，请稍后再试")))
