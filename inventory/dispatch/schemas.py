"""What the dispatch actions accept: the field specs that services validate with and OpenAPI shows."""

from inventory.dispatch.models import KIT_BASES, TYPES
from inventory.stock.schemas import CODE, NOTE, QUANTITY
from inventory.validation import Array, Boolean, DateTime, Integer, Number, Object, String

PEOPLE = Integer(minimum=0, maximum=100_000_000)
KIT_QUANTITY_MAX = 1_000_000  # per person or household; far above any real kit, within the column
SITE_CODES = Array(CODE, max_items=500, unique=True)

# An affected area: a site code, or the site with its people (受灾人口 / 紧急转移安置人数).
AREA = Object({
    "site": String(max_length=32, required=True),
    "affected_people": PEOPLE,
    "displaced_people": PEOPLE,
})

INCIDENT = Object({
    "name": String(max_length=100, required=True),
    "type": String(max_length=20, choices=TYPES, required=True,
                   description="earthquake 地震 · flood 洪涝 · debris_flow 泥石流 · fire 火灾 · "
                               "chemical 危化品 · drought 干旱 · other 其他"),
    "level": Integer(minimum=1, maximum=4, required=True, description="响应级别 1–4（Ⅰ级最高）"),
    "started_at": DateTime(required=True, description="发生时间"),
    "areas": SITE_CODES,
    "people": Array(AREA, max_items=500,
                    description="各受灾区域的受灾人口、紧急转移安置人数；所列站点计为受灾区域"),
    "cut_off_sites": SITE_CODES,
    "note": String(max_length=1000, min_length=0, multiline=True),
})

# What PATCH /incidents/{id} may change; status moves only by close (a closed incident stays closed).
INCIDENT_CHANGES = Object({**INCIDENT.fields,
                           "version": Integer(minimum=1, description="编辑时的版本号；已被他人修改则拒绝")})

REQUEST = Object({
    "to_site": String(max_length=32, required=True),
    "lines": Array(Object({"material": String(max_length=32, required=True), "quantity": QUANTITY}),
                   min_items=1, max_items=200, required=True),
    "note": NOTE,
})

PLANNING = Object({"allow_below_norm": Boolean(description="允许动用调出站点自身定额储备")})

ALLOCATION = Object({
    "from_site": String(max_length=32, required=True),
    "material": String(max_length=32, required=True),
    "quantity": QUANTITY,
    "owner": String(max_length=100, description="物资所有者；默认局方（bureau）"),
})

APPROVAL = Object({
    "allocations": Array(ALLOCATION, max_items=2000, description="调整后的分配；不填为当前方案"),
    "driver_name": String(max_length=50, min_length=0),
    "driver_phone": String(max_length=30, min_length=0),
    "vehicle": String(max_length=30, min_length=0),
    "version": Integer(minimum=1, description="方案版本号；方案已被重新生成则拒绝"),
})

OWNER_APPROVAL = Object({
    "owner": String(max_length=100, required=True, description="物资所有者，如 省应急管理厅"),
    "approved_by": String(max_length=100, required=True, description="所有者一方的批准人"),
    "approved_at": DateTime(required=True),
    "reference": String(max_length=100, min_length=0, description="批准文号或电话记录号"),
})

KIT = Object({
    "name": String(max_length=100, required=True),
    "basis": String(max_length=10, choices=KIT_BASES, required=True,
                    description="person 每人 · household 每户"),
    "note": String(max_length=500, min_length=0),
    "active": Boolean(),
    "lines": Array(Object({
        "material": String(max_length=32, required=True),
        # kit_lines.quantity is NUMERIC(12, 4): past 99,999,999.9999 PostgreSQL refuses it (a 500).
        "quantity": Number(minimum=0.0001, maximum=KIT_QUANTITY_MAX, required=True,
                           description="每人或每户的数量，可为小数（如 0.34 顶帐篷）"),
    }), min_items=1, max_items=100, required=True),
})

NEEDS = Object({
    "to_site": String(max_length=32, required=True),
    "kits": Array(Integer(minimum=1, maximum=2**31 - 1), min_items=1, max_items=20, unique=True,
                  required=True),
    "displaced_people": PEOPLE,
})
