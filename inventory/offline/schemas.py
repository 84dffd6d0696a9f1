"""What the offline endpoints take (inventory.validation specs)."""

from inventory.offline.models import SYNC_KINDS
from inventory.validation import AnyObject, Array, DateTime, Integer, Object, String

DEVICE = Object({"name": String(max_length=64, required=True, description="设备名称，如“张三的手机”")})

MAX_OPERATIONS = 100
OPERATION = Object({
    "key": String(max_length=100, required=True, verbatim=True,
                  description="操作键（UUID），即该操作的 Idempotency-Key"),
    "seq": Integer(minimum=0, maximum=2**53, required=True, description="设备内递增的序号"),
    "kind": String(max_length=20, choices=SYNC_KINDS, required=True),
    "body": AnyObject(required=True, description="对应接口的请求体"),
    "recorded_at": DateTime(required=True, description="手机上记录的时间"),
    "position": Integer(minimum=0, maximum=2**63 - 1,
                        description="记录时所依据快照的台账位置（snapshot 的 position）；盘点清点带上它，"
                                    "物品此后有变动时该记录待管理员确认"),
})
SYNC = Object({"operations": Array(AnyObject(), max_items=MAX_OPERATIONS, min_items=1, required=True)})

RESOLUTION = Object({
    "action": String(max_length=30, choices=("apply_with_correction", "reject"), required=True),
    "note": String(max_length=500, required=True),
})
