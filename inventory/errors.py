"""Domain errors, and the handlers that turn them (and HTTP errors) into pages or API JSON."""

from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed


class DomainError(Exception):
    """A rule of the domain refused the request; nothing was changed."""

    code = "invalid_state"
    status = 409
    default_message = _l("操作无法完成")

    def __init__(self, message=None, details=None):
        self.message = str(message or self.default_message)
        self.details = details
        super().__init__(self.message)


class ValidationError(DomainError):
    """Input is malformed or breaks a rule; ``details`` maps each field to its problem."""

    code = "validation_error"
    status = 422
    default_message = _l("输入有误")

    def __init__(self, details: dict, message=None):
        super().__init__(message, {field: str(problem) for field, problem in details.items()})


class BadRequest(DomainError):
    """The request itself is malformed: a body that is not JSON, a header or a form token that
    is not what it must be."""

    code = "bad_request"
    status = 400
    default_message = _l("请求格式有误")


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    default_message = _l("请先登录")


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    default_message = _l("没有权限执行此操作")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _l("页面或记录不存在")


class Duplicate(DomainError):
    code = "duplicate"
    status = 409
    default_message = _l("已存在")


class InvalidState(DomainError):
    code = "invalid_state"
    status = 409


class InsufficientStock(DomainError):
    """Not enough stock; ``details`` lists each short line: {"line", "requested", "available"}."""

    code = "insufficient_stock"
    status = 409
    default_message = _l("库存不足")


class Unavailable(DomainError):
    """Something the answer needs is missing on the server (a font, a busy database)."""

    code = "unavailable"
    status = 503
    default_message = _l("系统繁忙，请稍后重试")


class IdempotencyMismatch(DomainError):
    code = "idempotency_mismatch"
    status = 422
    default_message = _l("该 Idempotency-Key 已用于另一个不同的请求")


class IdempotencyInProgress(DomainError):
    code = "idempotency_in_progress"
    status = 409
    default_message = _l("相同 Idempotency-Key 的请求正在处理，请稍后重试")


class TooManyAttempts(DomainError):
    """Too many tries (logins, label look-ups) in the window; try again later."""

    code = "too_many_requests"
    status = 429
    default_message = _l("请求过于频繁，请稍后再试")


HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 429: "too_many_requests"}

# Database answers that mean "busy, try again": SQLite's lock wait ran out, or PostgreSQL kept
# failing to serialize after every retry. The client gets 503 with Retry-After, never a 500.
BUSY_SQLSTATES = {"40001", "40P01", "55P03"}
RETRY_AFTER_SECONDS = 2

HTTP_MESSAGES = {
    400: _l("请求格式有误"),
    401: _l("请先登录"),
    403: _l("没有权限访问此页面"),
    404: _l("页面或记录不存在"),
    405: _l("不支持此请求方法"),
    413: _l("提交的内容过大"),
    429: _l("请求过于频繁，请稍后再试"),
}


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

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        return error_response(400, "bad_request", str(_l("表单已过期或来源不明，请刷新页面后重试")))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        message = HTTP_MESSAGES.get(status, error.description or "")
        response = app.make_response(error_response(status, HTTP_CODES.get(status, "error"),
                                                    str(message)))
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
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
        response, status = error_response(503, "unavailable", str(_l("系统繁忙，请稍后重试")))
        response = app.make_response((response, status))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", str(_l("服务器内部错误，请稍后再试")))
