"""GET /alerts and POST /equipment-tests."""

from flask import g, jsonify, request

from inventory.alerts import queries
from inventory.api.core import api, idempotent, json_body
from inventory.api.stock import item_json
from inventory.errors import ValidationError
from inventory.stock import services


def _loan_json(line) -> dict:
    return {"id": line.id, "issue": line.issue.number, "site": line.issue.site.code,
            "label": line.item.label, "material": line.item.material.code,
            "recipient": line.issue.recipient_name, "outstanding": line.outstanding,
            "due_back": line.due_date.isoformat() if line.due_date else None}


@api.get("/alerts")
def alerts():
    """Everything that needs attention within the caller's scope (lists capped at 200)."""
    raw = request.args.get("expiring_days", "90")
    if not raw.isdigit() or not 1 <= int(raw) <= 3650:
        raise ValidationError({"expiring_days": "1–3650"})
    found = queries.alerts(g.api_user, expiry_days=int(raw))
    return jsonify(
        shortfalls=found["shortfalls"],
        expiring=[item_json(item) for item in found["expiring"]],
        expired=[item_json(item) for item in found["expired"]],
        overdue_loans=[_loan_json(line) for line in found["overdue_loans"]],
        untested_equipment=[item_json(item) for item in found["untested_equipment"]],
        stocktakes_due=[],
        agreements_expiring=[site.code for site in found["agreements_expiring"]],
        transfers_late=[transfer.number for transfer in found["transfers_late"]],
        counts=found["counts"])


@api.post("/equipment-tests")
def record_equipment_test():
    """试机: record a test run; a fault marks the item damaged."""
    def work():
        test = services.record_test(actor=g.api_user, data=json_body())
        return 201, {"id": test.id, "label": test.item.label, "tested_on": test.tested_on.isoformat(),
                     "result": test.result, "status": test.item.status}
    return idempotent(work)
