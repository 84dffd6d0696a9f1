"""What the stocktake actions accept: the field specs that services validate with and OpenAPI shows."""

from inventory.stock.schemas import LABEL, MAX_QUANTITY, NOTE
from inventory.validation import Array, Boolean, Date, Integer, Mapping, Object, String

# A count is what a person saw on a shelf: at most a billion, never negative.
COUNTED = Integer(minimum=0, maximum=MAX_QUANTITY, required=True,
                  description="清点数量；一物一码为 1（在）或 0（不在）")
USERNAME = String(max_length=80)
REASON = String(max_length=200, min_length=0, description="差异原因")

OPENING = Object({
    "site": String(max_length=32, required=True),
    "period": String(max_length=7, pattern=r"\d{4}-Q[1-4]", required=True, description="季度，如 2026-Q4"),
    "include_sub_sites": Boolean(description="含下级站点"),
    "categories": Array(String(max_length=32), max_items=50, unique=True,
                        description="仅盘点这些分类（循环盘点）；不填为全部"),
    "counters": Array(USERNAME, max_items=20, unique=True, description="盘点人用户名"),
    "witness": String(max_length=80, nullable=True, description="监盘人用户名（审计员或管理员）；不填为审批人"),
    "note": NOTE,
})

COUNT = Object({"label": String(max_length=40, required=True), "counted": COUNTED})

FOUND = Object({
    "material": String(max_length=32, required=True),
    "quantity": Integer(minimum=1, maximum=MAX_QUANTITY, required=True),
    "lot": String(max_length=64, nullable=True),
    "expiry_date": Date(nullable=True),
    "serial": String(max_length=64, nullable=True),
    "note": String(max_length=200, min_length=0),
})

RECOUNT = Object({"labels": Array(LABEL, min_items=1, max_items=10_000, unique=True, required=True)})

APPROVAL = Object({
    "reasons": Mapping(String(max_length=40), REASON, max_items=10_000,
                       description="差异原因，按标签：{label: 原因}；未填写的行在差异表上记为“未说明”"),
})
