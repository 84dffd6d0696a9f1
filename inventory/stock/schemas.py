"""What the stock actions accept: the field specs that services validate with and OpenAPI shows."""

from inventory.stock.models import (
    ADJUSTMENT_REASONS,
    RECIPIENT_TYPES,
    RETURN_CONDITIONS,
    SOURCES,
    TEST_RESULTS,
)
from inventory.validation import Array, Boolean, Date, Integer, Object, String

MAX_QUANTITY = 1_000_000_000

QUANTITY = Integer(minimum=1, maximum=MAX_QUANTITY, required=True)
CODE = String(max_length=32)
LABEL = String(max_length=40, description="库存件标签码（可含空格或 -）")
NOTE = String(max_length=500, min_length=0, multiline=True)
# An incident's id (incidents.id is a 32-bit integer: a larger one is no incident, not a 500).
INCIDENT = Integer(minimum=1, maximum=2**31 - 1, nullable=True, description="灾情事件（须为处置中的事件）")

RECEIPT = Object({
    "site": String(max_length=32, required=True),
    "material": String(max_length=32, required=True),
    "quantity": QUANTITY,
    "lot": String(max_length=64, nullable=True),
    "production_date": Date(nullable=True),
    "expiry_date": Date(nullable=True),
    "serials": Array(String(max_length=64), max_items=1000, description="序列号，每台一个"),
    "source": String(max_length=20, choices=SOURCES, nullable=True),
    "donor": String(max_length=100, min_length=0),
    "owner": String(max_length=100, description="物资所有者：局方（bureau）或代储企业"),
    "note": NOTE,
})

# Who received an issue: what completing a 先发后补 issue's recipient takes (补登).
RECIPIENT = Object({
    "type": String(max_length=12, choices=RECIPIENT_TYPES, required=True),
    "name": String(max_length=100, required=True),
    "contact": String(max_length=50, min_length=0),
    "id_number": String(max_length=30, min_length=0, pattern=r"[0-9A-Za-z]*"),
})

ISSUE = Object({
    "site": String(max_length=32, required=True),
    "recipient": Object({**RECIPIENT.fields, "name": String(
        max_length=100, required=True, description="先发后补（recipient_pending）时可不填，记为“待补登”")},
        required=True),
    "recipient_pending": Boolean(description="先发后补：先发放，领用人姓名、身份证号稍后补登"),
    "incident": INCIDENT,
    "purpose": NOTE,
    "lines": Array(Object({
        "label": LABEL,
        "material": CODE,
        "quantity": QUANTITY,
        "due_back": Date(nullable=True),
    }), max_items=200, min_items=1, required=True),
})

RETURN = Object({
    "issue": String(max_length=20, required=True),
    "lines": Array(Object({
        "issue_line": Integer(minimum=1, maximum=2**62, required=True),
        "quantity": QUANTITY,
        "condition": String(max_length=10, choices=RETURN_CONDITIONS, required=True),
    }), max_items=200, min_items=1, required=True),
    "note": NOTE,
})

TRANSFER = Object({
    "from_site": String(max_length=32, required=True),
    "to_site": String(max_length=32, required=True),
    "incident": INCIDENT,
    "note": NOTE,
    "lines": Array(Object({"label": LABEL, "material": CODE, "quantity": QUANTITY}),
                   max_items=200, min_items=1, required=True),
})

TRANSFER_RECEIPT = Object({
    "lines": Array(Object({
        "line": Integer(minimum=1, maximum=2**62, required=True),
        "received": Integer(minimum=0, maximum=MAX_QUANTITY, required=True),
    }), max_items=400),
    "note": NOTE,
})

ADJUSTMENT = Object({
    "label": String(max_length=40, required=True),
    "delta": Integer(minimum=-MAX_QUANTITY, maximum=MAX_QUANTITY, required=True),
    "reason": String(max_length=20, choices=ADJUSTMENT_REASONS, required=True),
    "note": NOTE,
})

EQUIPMENT_TEST = Object({
    "label": String(max_length=40, required=True),
    "result": String(max_length=8, choices=TEST_RESULTS, required=True),
    "tested_on": Date(nullable=True, description="默认今天"),
    "note": NOTE,
})

REVERSAL = Object({"note": NOTE})

# Why a whole issue is reversed (冲销发放单) is kept on the issue and on every movement it
# appends, after "冲销 FF-…：", within the movement's 500 characters.
ISSUE_REVERSAL = Object({
    "note": String(max_length=400, multiline=True, required=True, description="冲销原因"),
})
