"""GET /openapi.json: the OpenAPI 3.1 document, built from the same specs the services validate with."""

from flask import jsonify

from inventory.api.auth import TOKEN_REQUEST
from inventory.api.core import MAX_PER_PAGE, api
from inventory.catalog.services import CATEGORY, MATERIAL
from inventory.sites.services import AGREEMENT, SITE

ERROR_STATUSES = {
    "400": "请求体不是有效的 JSON (bad_request)",
    "401": "缺少或无效的令牌 (unauthorized)",
    "403": "角色或站点范围不允许 (forbidden)",
    "404": "不存在 (not_found)",
    "409": "冲突 (duplicate, invalid_state …)",
    "422": "输入有误 (validation_error)",
    "429": "尝试过多 (too_many_requests)",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _answer(status: str, description: str, schema: dict | None = None) -> dict:
    answer = {"description": description}
    if schema is not None:
        answer.update(_json(schema))
    return answer


def _errors(*statuses: str) -> dict:
    return {status: {**_answer(status, ERROR_STATUSES[status], _ref("Error"))}
            for status in statuses}


def _output(spec_schema: dict, *, always=(), extra=None) -> dict:
    """A response schema: the input spec with every field present, plus read-only extras."""
    properties = dict(spec_schema["properties"])
    properties.update(extra or {})
    return {"type": "object", "properties": properties,
            "required": sorted(set(spec_schema["properties"]) | set(always))}


def _list_of(name: str) -> dict:
    return {"type": "object", "required": ["items", "total", "page", "per_page"], "properties": {
        "items": {"type": "array", "items": _ref(name)},
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    }}


def _query(name: str, description: str, schema=None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


PAGING = [_query("page", "页码，从 1 开始", {"type": "integer", "minimum": 1}),
          _query("per_page", "每页条数，默认 50，最多 500", {"type": "integer", "minimum": 1})]


def _code_param(description: str) -> dict:
    return {"name": "code", "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 32}}


def build_document() -> dict:
    """The whole OpenAPI document."""
    site_in = SITE.schema()
    agreement_out = _output(AGREEMENT.type_schema())
    agreement_out["type"] = ["object", "null"]
    site_out = _output(site_in, extra={
        "planning_population": {"type": "integer", "minimum": 0,
                                "description": "填写的保障人口，或按站点类型推算"},
        "stated_planning_population": {"type": ["integer", "null"]},
        "agreement": agreement_out,
    }, always=("stated_planning_population",))
    material_out = _output(MATERIAL.schema())
    category_out = _output(CATEGORY.schema())
    secured = [{"bearer": []}]
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
        "Site": site_out, "SiteInput": site_in,
        "Material": material_out, "MaterialInput": MATERIAL.schema(),
        "Category": category_out, "CategoryInput": CATEGORY.schema(),
    }

    def patch_body(name: str) -> dict:
        return {"required": True, **_json({**schemas[f"{name}Input"], "required": []})}

    paths = {
        "/auth/token": {"post": {
            "summary": "用户名和密码换取访问令牌", "security": [],
            "requestBody": {"required": True, **_json(TOKEN_REQUEST.schema())},
            "responses": {"201": _answer("201", "令牌", {
                "type": "object", "required": ["token", "expires_at"], "properties": {
                    "token": {"type": "string"},
                    "expires_at": {"type": "string", "format": "date-time"}}}),
                **_errors("400", "401", "422", "429")}}},
        "/me": {"get": {"summary": "当前令牌的用户", "security": secured, "responses": {
            "200": _answer("200", "用户", {"type": "object", "required": ["username", "role", "sites"],
                                          "properties": {"username": {"type": "string"},
                                                         "role": {"type": "string"},
                                                         "sites": {"type": "array",
                                                                   "items": {"type": "string"}}}}),
            **_errors("401")}}},
        "/sites": {
            "get": {"summary": "站点列表（限于调用者的站点范围）", "security": secured,
                    "parameters": [_query("kind", "站点类型", SITE.fields["kind"].schema()),
                                   _query("parent", "上级站点编码"),
                                   _query("q", "按名称或编码搜索"), *PAGING],
                    "responses": {"200": _answer("200", "站点", _list_of("Site")),
                                  **_errors("401", "422")}},
            "post": {"summary": "新建站点", "security": secured,
                     "requestBody": {"required": True, **_json(_ref("SiteInput"))},
                     "responses": {"201": _answer("201", "新站点", _ref("Site")),
                                   **_errors("400", "401", "403", "409", "422")}}},
        "/sites/{code}": {
            "parameters": [_code_param("站点编码")],
            "get": {"summary": "一个站点", "security": secured,
                    "responses": {"200": _answer("200", "站点", _ref("Site")),
                                  **_errors("401", "403", "404")}},
            "patch": {"summary": "修改站点（协议整体替换）", "security": secured,
                      "requestBody": patch_body("Site"),
                      "responses": {"200": _answer("200", "站点", _ref("Site")),
                                    **_errors("400", "401", "403", "404", "409", "422")}},
            "delete": {"summary": "删除无业务记录的站点（否则 409，请停用）", "security": secured,
                       "responses": {"204": {"description": "已删除"},
                                     **_errors("401", "403", "404", "409")}}},
        "/materials": {
            "get": {"summary": "物资目录", "security": secured,
                    "parameters": [_query("category", "类别编码（一级类别含其下级）"),
                                   _query("q", "按名称或编码搜索"), *PAGING],
                    "responses": {"200": _answer("200", "物资", _list_of("Material")),
                                  **_errors("401", "422")}},
            "post": {"summary": "新增物资", "security": secured,
                     "requestBody": {"required": True, **_json(_ref("MaterialInput"))},
                     "responses": {"201": _answer("201", "新物资", _ref("Material")),
                                   **_errors("400", "401", "403", "409", "422")}}},
        "/materials/{code}": {
            "parameters": [_code_param("物资编码")],
            "get": {"summary": "一种物资", "security": secured,
                    "responses": {"200": _answer("200", "物资", _ref("Material")),
                                  **_errors("401", "404")}},
            "patch": {"summary": "修改物资", "security": secured, "requestBody": patch_body("Material"),
                      "responses": {"200": _answer("200", "物资", _ref("Material")),
                                    **_errors("400", "401", "403", "404", "422")}}},
        "/categories": {
            "get": {"summary": "物资类别", "security": secured,
                    "responses": {"200": _answer("200", "类别", _list_of("Category")),
                                  **_errors("401")}},
            "post": {"summary": "新增类别", "security": secured,
                     "requestBody": {"required": True, **_json(_ref("CategoryInput"))},
                     "responses": {"201": _answer("201", "新类别", _ref("Category")),
                                   **_errors("400", "401", "403", "409", "422")}}},
        "/categories/{code}": {
            "parameters": [_code_param("类别编码")],
            "patch": {"summary": "修改类别", "security": secured, "requestBody": patch_body("Category"),
                      "responses": {"200": _answer("200", "类别", _ref("Category")),
                                    **_errors("400", "401", "403", "404", "422")}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "应急物资管理 API", "version": "1.0.0",
                 "description": "县应急管理局救灾物资库存系统的数据接口（统一数据接口与共享协议）。"},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": secured,
        "paths": paths,
    }


@api.get("/openapi.json", endpoint="openapi_document")
def openapi_document():
    """The OpenAPI document of this API."""
    return jsonify(build_document())
