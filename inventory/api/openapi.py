"""GET /openapi.json: the OpenAPI 3.1 document, built from the same specs the services validate with."""

from flask import jsonify

from inventory.api.auth import TOKEN_REQUEST
from inventory.api.core import MAX_ID, MAX_PER_PAGE, api
from inventory.catalog.services import CATEGORY, MATERIAL
from inventory.norms.services import NORM
from inventory.sites.services import AGREEMENT, SITE
from inventory.stock.models import MOVEMENT_KINDS, RETURN_CONDITIONS, STATUSES, TRANSFER_STATUSES
from inventory.stock.schemas import (
    ADJUSTMENT,
    EQUIPMENT_TEST,
    ISSUE,
    RECEIPT,
    RETURN,
    REVERSAL,
    TRANSFER,
    TRANSFER_RECEIPT,
)

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


def _or_empty(schema: dict) -> dict:
    """A filter's schema: an empty value (``?status=``) is the same as leaving the filter out."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


PAGING = [_query("page", "页码，从 1 开始", {"type": "integer", "minimum": 1, "maximum": 10**9}),
          _query("per_page", "每页条数，默认 50，最多 500（更大的值按 500）",
                 {"type": "integer", "minimum": 1, "maximum": 10**9})]


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
                    "parameters": [_query("kind", "站点类型", _or_empty(SITE.fields["kind"].schema())),
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
    schemas.update(STOCK_SCHEMAS)
    paths.update(stock_paths(secured))
    schemas.update(NormInput=NORM.schema(), Norm=_output(NORM.schema(), extra={"id": _INTEGER}),
                   Shortfalls=_object({"items": {"type": "array", "items": _object({
                       "site": _STRING, "norm": _INTEGER, "name": _STRING,
                       "materials": {"type": "array", "items": _STRING},
                       "required": _INTEGER, "usable": _INTEGER,
                       "shortfall": {"type": "integer", "minimum": 0}})}}))
    paths.update(norm_paths(secured, patch_body))
    paths.update(alert_paths(secured))
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


# --- the stock ledger ----------------------------------------------------------------------------

def _object(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_INTEGER = {"type": "integer"}
_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
_DATETIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}

STOCK_SCHEMAS = {
    "StockItem": _object({
        "label": _STRING, "site": _STRING, "material": _STRING, "lot": _NULLABLE_STRING,
        "serial": _NULLABLE_STRING, "expiry_date": _NULLABLE_DATE,
        "quantity": {"type": "integer", "minimum": 0},
        "status": {"type": "string", "enum": list(STATUSES)}, "owner": _STRING,
        "received_at": _DATETIME}),
    "Movement": _object({
        "id": _INTEGER, "at": _DATETIME, "kind": {"type": "string", "enum": list(MOVEMENT_KINDS)},
        "site": _STRING, "material": _STRING, "label": _STRING, "quantity": _INTEGER,
        "balance_after": {"type": "integer", "minimum": 0}, "document": _NULLABLE_STRING,
        "user": _NULLABLE_STRING}, {"reason": _NULLABLE_STRING,
                                    "reverses": {"type": ["integer", "null"]}}),
    "Issue": _object({
        "number": _STRING, "site": _STRING, "issued_at": _DATETIME,
        "lines": {"type": "array", "items": _object({
            "id": _INTEGER, "label": _STRING, "material": _STRING, "quantity": _INTEGER,
            "returnable": {"type": "boolean"}, "due_back": _NULLABLE_DATE,
            "outstanding": {"type": "integer", "minimum": 0}})}},
        {"recipient": {"type": "object"}, "purpose": _STRING}),
    "Return": _object({
        "number": _STRING, "issue": _STRING, "returned_at": _DATETIME,
        "lines": {"type": "array", "items": _object({
            "id": _INTEGER, "issue_line": _INTEGER, "quantity": _INTEGER,
            "condition": {"type": "string", "enum": list(RETURN_CONDITIONS)},
            "label": _NULLABLE_STRING})}}),
    "Transfer": _object({
        "number": _STRING, "status": {"type": "string", "enum": list(TRANSFER_STATUSES)},
        "from_site": _STRING, "to_site": _STRING, "created_at": _DATETIME,
        "dispatched_at": _NULLABLE_DATETIME, "received_at": _NULLABLE_DATETIME,
        "lines": {"type": "array", "items": _object({
            "id": _INTEGER, "material": _STRING, "lot": _NULLABLE_STRING,
            "serial": _NULLABLE_STRING, "quantity": _INTEGER,
            "received": {"type": ["integer", "null"]},
            "discrepancy": {"type": ["integer", "null"]},
            "from_label": _NULLABLE_STRING, "to_label": _NULLABLE_STRING})}},
        {"note": _STRING}),
    "EquipmentTestAnswer": _object({"id": _INTEGER, "label": _STRING, "tested_on": _STRING,
                                    "result": _STRING, "status": _STRING}),
    "ReceiptAnswer": _object({"number": _STRING, "items": {"type": "array",
                                                           "items": _ref("StockItem")}}),
    "StockSummary": _object({"items": {"type": "array", "items": _object({
        "material": _STRING, "available": _INTEGER, "on_loan": _INTEGER,
        "in_transit": _INTEGER, "damaged": _INTEGER})}}),
}

IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "1–100 个可见 ASCII 字符；同一用户同一键同一请求体只执行一次，"
                                  "再次发送得到第一次的应答；请求体不同则 422",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 100,
                              "pattern": "^[\\x21-\\x7e]+$"}}


def _post(summary: str, body: dict | None, status: str, answer: str, errors=("400", "401", "403",
                                                                            "404", "409", "422"),
          secured=None) -> dict:
    operation = {"summary": summary, "security": secured, "parameters": [IDEMPOTENCY_KEY],
                 "responses": {status: _answer(status, summary, _ref(answer)),
                               **_errors(*errors), "503": {"description": "系统繁忙，稍后重试",
                                                           **_json(_ref("Error"))}}}
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    return operation


def _number_param(description: str) -> dict:
    return {"name": "number", "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 20}}


def stock_paths(secured) -> dict:
    """The ledger's paths: stock, receipts, issues, returns, transfers, adjustments, movements."""
    site = _query("site", "站点编码")
    sub_sites = _query("include_sub_sites", "是否包含下级站点",
                       {"type": "string", "enum": ["true", "false", "1", "0"]})
    get = {"security": secured}
    return {
        "/stock": {"get": {**get, "summary": "库存件列表（限于调用者的站点范围）", "parameters": [
            site, sub_sites, _query("material", "物资编码"),
            _query("status", "状态", _or_empty({"type": "string", "enum": list(STATUSES)})),
            _query("expiring_before", "在此日期前到期",
                   _or_empty({"type": "string", "format": "date"})),
            *PAGING],
            "responses": {"200": _answer("200", "库存件", _list_of("StockItem")),
                          **_errors("401", "403", "422")}}},
        "/stock/summary": {"get": {**get, "summary": "按物资汇总：在库、借出、在途（调入中）、损坏",
                                   "parameters": [site, sub_sites],
                                   "responses": {"200": _answer("200", "汇总", _ref("StockSummary")),
                                                 **_errors("401", "403", "422")}}},
        "/stock/{label}": {
            "parameters": [{"name": "label", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 40}}],
            "get": {**get, "summary": "一个库存件，含扫码地址与最近 20 条台账",
                    "responses": {"200": _answer("200", "库存件", {"allOf": [_ref("StockItem"), {
                        "type": "object", "required": ["scan_url", "movements"],
                        "properties": {"scan_url": _STRING, "movements": {
                            "type": "array", "items": _ref("Movement")}}}]}),
                        **_errors("401", "403", "404", "429")}}},
        **{f"/stock/{{label}}/qr.{kind}": {
            "parameters": [{"name": "label", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 40}}],
            "get": {**get, "summary": f"扫码地址的二维码（{kind.upper()}）", "responses": {
                "200": {"description": "二维码图片",
                        "content": {media: {"schema": {"type": "string",
                                                       "contentMediaType": media}}}},
                **_errors("401", "403", "404", "429")}}}
            for kind, media in (("png", "image/png"), ("svg", "image/svg+xml"))},
        "/receipts": {"post": _post("入库", RECEIPT.schema(), "201", "ReceiptAnswer",
                                    secured=secured)},
        "/issues": {
            "post": _post("发放（可归还物资为借用）", ISSUE.schema(), "201", "Issue", secured=secured),
            "get": {**get, "summary": "发放单列表", "parameters": [
                site, _query("incident", "灾情事件编号",
                             _or_empty({"type": "integer", "minimum": 1, "maximum": MAX_ID})),
                _query("outstanding", "仅含未归还借用", {"type": "string",
                                                   "enum": ["true", "false", "1", "0"]}),
                *PAGING],
                "responses": {"200": _answer("200", "发放单", _list_of("Issue")),
                              **_errors("401", "403", "422")}}},
        "/issues/{number}": {"parameters": [_number_param("发放单号")], "get": {
            **get, "summary": "一张发放单",
            "responses": {"200": _answer("200", "发放单", _ref("Issue")),
                          **_errors("401", "403", "404")}}},
        "/returns": {"post": _post("归还", RETURN.schema(), "201", "Return", secured=secured)},
        "/returns/{number}": {"parameters": [_number_param("归还单号")], "get": {
            **get, "summary": "一张归还单",
            "responses": {"200": _answer("200", "归还单", _ref("Return")),
                          **_errors("401", "403", "404")}}},
        "/transfers": {
            "post": _post("调拨申请", TRANSFER.schema(), "201", "Transfer", secured=secured),
            "get": {**get, "summary": "调拨单列表（调出或调入为调用者站点）", "parameters": [
                _query("status", "状态",
                       _or_empty({"type": "string", "enum": list(TRANSFER_STATUSES)})),
                site, *PAGING],
                "responses": {"200": _answer("200", "调拨单", _list_of("Transfer")),
                              **_errors("401", "403", "422")}}},
        "/transfers/{number}": {"parameters": [_number_param("调拨单号")], "get": {
            **get, "summary": "一张调拨单",
            "responses": {"200": _answer("200", "调拨单", _ref("Transfer")),
                          **_errors("401", "403", "404")}}},
        "/transfers/{number}/dispatch": {"parameters": [_number_param("调拨单号")], "post": _post(
            "发出：库存离开调出站点", None, "200", "Transfer", secured=secured)},
        "/transfers/{number}/receive": {"parameters": [_number_param("调拨单号")], "post": {
            **_post("收货：未列出的行按全部收到", TRANSFER_RECEIPT.schema(), "200", "Transfer",
                    secured=secured), "requestBody": {"required": False,
                                                      **_json(TRANSFER_RECEIPT.schema())}}},
        "/transfers/{number}/cancel": {"parameters": [_number_param("调拨单号")], "post": _post(
            "撤销（仅限未发出）", None, "200", "Transfer", secured=secured)},
        "/adjustments": {"post": _post("调整或报废", ADJUSTMENT.schema(), "201", "Movement",
                                       secured=secured)},
        "/movements": {"get": {**get, "summary": "台账（最新在前）", "parameters": [
            site, _query("material", "物资编码"), _query("label", "标签"),
            _query("kind", "类型", _or_empty({"type": "string", "enum": list(MOVEMENT_KINDS)})),
            _query("since", "起始日期", _or_empty({"type": "string", "format": "date"})),
            _query("until", "截止日期（含）", _or_empty({"type": "string", "format": "date"})),
            *PAGING],
            "responses": {"200": _answer("200", "台账", _list_of("Movement")),
                          **_errors("401", "403", "422")}}},
        "/movements/{movement_id}/reverse": {
            "parameters": [{"name": "movement_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}],
            "post": {**_post("冲销入库、调整、报废或盘点记录", None, "201", "Movement",
                             secured=secured),
                     "requestBody": {"required": False, **_json(REVERSAL.schema())}}},
    }


def norm_paths(secured, patch_body) -> dict:
    """Norms and shortfalls."""
    norm_id = {"name": "norm_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
    flag = {"type": "string", "enum": ["true", "false", "1", "0"]}
    return {
        "/norms": {
            "get": {"summary": "储备定额", "security": secured, "parameters": PAGING,
                    "responses": {"200": _answer("200", "定额", _list_of("Norm")),
                                  **_errors("401", "422")}},
            "post": {"summary": "新增定额", "security": secured,
                     "requestBody": {"required": True, **_json(_ref("NormInput"))},
                     "responses": {"201": _answer("201", "新定额", _ref("Norm")),
                                   **_errors("400", "401", "403", "422")}}},
        "/norms/{norm_id}": {
            "parameters": [norm_id],
            "get": {"summary": "一条定额", "security": secured,
                    "responses": {"200": _answer("200", "定额", _ref("Norm")),
                                  **_errors("401", "404")}},
            "patch": {"summary": "修改定额", "security": secured, "requestBody": patch_body("Norm"),
                      "responses": {"200": _answer("200", "定额", _ref("Norm")),
                                    **_errors("400", "401", "403", "404", "422")}},
            "delete": {"summary": "删除定额", "security": secured,
                       "responses": {"204": {"description": "已删除"},
                                     **_errors("401", "403", "404")}}},
        "/shortfalls": {"get": {
            "summary": "对照储备定额的短缺（默认只列短缺行）", "security": secured,
            "parameters": [_query("site", "站点编码"), _query("include_sub_sites", "含下级站点", flag),
                           _query("all", "列出全部行", flag)],
            "responses": {"200": _answer("200", "短缺", _ref("Shortfalls")),
                          **_errors("401", "403", "422")}}},
    }


def alert_paths(secured) -> dict:
    """Alerts and equipment tests."""
    items = {"type": "array", "items": _ref("StockItem")}
    codes = {"type": "array", "items": _STRING}
    return {
        "/alerts": {"get": {
            "summary": "需要关注的事项（调用者站点范围内，每类最多 200 条）", "security": secured,
            "parameters": [_query("expiring_days", "到期预警天数，默认 90",
                                  {"type": "integer", "minimum": 1, "maximum": 3650})],
            "responses": {"200": _answer("200", "预警", _object({
                "shortfalls": _INTEGER, "expiring": items, "expired": items,
                "overdue_loans": {"type": "array", "items": {"type": "object"}},
                "untested_equipment": items, "stocktakes_due": codes,
                "agreements_expiring": codes}, {"transfers_late": codes,
                                                 "counts": {"type": "object"}})),
                **_errors("401", "422")}}},
        "/equipment-tests": {"post": _post("登记试机（故障则标记损坏）", EQUIPMENT_TEST.schema(),
                                           "201", "EquipmentTestAnswer", secured=secured)},
    }
