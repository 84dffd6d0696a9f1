"""GET /openapi.json: the OpenAPI 3.1 document, built from the routes' own declarations.

Every route declared with ``route`` (inventory/api/routes.py) becomes an operation: its summary,
its docstring, parameters, body (the spec the service validates with), answer (the shape that
writes it) and error statuses. Tests call build_document() outside any app, so it reads the
declarations, not ``current_app.url_map``; each declaration is exactly one rule of the blueprint.
"""

import copy
import inspect

from flask import jsonify

from inventory.api.core import BODY_METHODS, MAX_PER_PAGE, PUBLIC_ENDPOINTS, api
from inventory.api.routes import RULE_ARGUMENT, Body, File, Operation, Page, Upload, route

ERROR_STATUSES = {
    400: "请求体不是有效的 JSON (bad_request)",
    401: "缺少或无效的令牌 (unauthorized)",
    403: "角色或站点范围不允许 (forbidden)",
    404: "不存在 (not_found)",
    409: "冲突 (duplicate, invalid_state …)",
    413: "请求体过大 (payload_too_large)",
    415: "请求体不是 JSON：Content-Type 应为 application/json (unsupported_media_type)",
    422: "输入有误 (validation_error)",
    429: "尝试过多 (too_many_requests)",
}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "1–100 个可见 ASCII 字符；同一用户同一键同一请求体只执行一次，"
                                  "再次发送得到第一次的应答；请求体不同则 422",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 100,
                              "pattern": "^[\\x21-\\x7e]+$"}}
BUSY = {"description": "系统繁忙，稍后重试",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
SECURED = [{"bearer": []}]
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str, schema: dict, components: dict) -> dict:
    if components.setdefault(name, schema) != schema:
        raise ValueError(f"two different schemas are named {name}")
    return {"$ref": f"#/components/schemas/{name}"}


def _request_body(body: Body | Upload, components: dict) -> dict:
    if isinstance(body, Upload):
        properties = {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                               "description": f"at most {body.max_bytes // (1024 * 1024)} MB"},
                      **{name: {"type": "string", "description": text} for name, text in body.fields.items()}}
        return {"required": True, "content": {body.media_type: {"schema": {
            "type": "object", "required": ["file", *body.fields], "properties": properties}}}}
    schema = body.spec.schema()
    if body.partial:
        schema = {**schema, "required": []}
    elif body.name:
        schema = _ref(body.name, schema, components)
    return {"required": body.required, **_json(schema)}


def _answer_content(answers, components: dict) -> dict:
    if answers is None:
        return {}
    if isinstance(answers, File):
        media = answers.media_type
        return {"content": {media: {"schema": {"type": "string", "contentMediaType": media}}}}
    if isinstance(answers, Page):
        return _json({"type": "object", "required": ["items", "total", "page", "per_page"],
                      "properties": {
                          "items": {"type": "array", "items": answers.shape.schema(components)},
                          "total": {"type": "integer", "minimum": 0},
                          "page": {"type": "integer", "minimum": 1},
                          "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}}})
    return _json(answers.schema(components))


def _operation(operation: Operation, components: dict, *, public: bool) -> dict:
    document = {"summary": operation.summary, "security": [] if public else SECURED}
    if description := inspect.getdoc(operation.view):
        document["description"] = description
    parameters = [IDEMPOTENCY_KEY] if operation.idempotent else []
    parameters += operation.query
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = _request_body(operation.body, components)
    responses = {str(operation.status): {"description": operation.summary,
                                         **_answer_content(operation.answers, components)}}
    # Any body sent with these methods must be JSON (core._require_json), body declared or not.
    errors = {*operation.errors, 415} if operation.method in BODY_METHODS else set(operation.errors)
    for status in sorted(errors):
        responses[str(status)] = {"description": ERROR_STATUSES[status], **_json(ERROR_REF)}
    if operation.idempotent:
        responses["503"] = BUSY
    document["responses"] = responses
    return document


def _path_parameters(operation: Operation) -> list[dict]:
    parameters = []
    for name, spec in operation.path_params.items():
        parameter = {"name": name, "in": "path", "required": True, "schema": spec.type_schema()}
        if spec.description:
            parameter["description"] = spec.description
        parameters.append(parameter)
    return parameters


def build_document() -> dict:
    """The whole OpenAPI document, from the routes declared on the blueprint (no app needed)."""
    components, paths = {"Error": ERROR}, {}
    for operation in route.operations:
        path = RULE_ARGUMENT.sub(r"{\2}", operation.rule)
        item = paths.setdefault(path, {})
        parameters = _path_parameters(operation)
        if parameters and item.setdefault("parameters", parameters) != parameters:
            raise ValueError(f"{path}: its routes describe its parameters differently")
        item[operation.method.lower()] = _operation(operation, components,
                                                    public=operation.endpoint in PUBLIC_ENDPOINTS)
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "应急物资管理 API", "version": "1.0.0",
                 "description": "县应急管理局救灾物资库存系统的数据接口（统一数据接口与共享协议）。"},
        "servers": [{"url": api.url_prefix}],
        "components": {"schemas": dict(sorted(components.items())), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": SECURED,
        "paths": paths,
    })


@api.get("/openapi.json", endpoint="openapi_document")
def openapi_document():
    """The OpenAPI document of this API."""
    return jsonify(build_document())
