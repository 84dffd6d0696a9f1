"""A permission follows the effect, not a label the client picks (issue 14, findings 3 and 4).

At their own site a keeper may raise a count and keep addresses and contacts current; whatever
lowers the books outside an issue or a loan's return (a downward adjustment for any reason, a
loan returned as lost), a reversal of an issue (its goods back on the books, the recipient's
record void), whatever decides the norms or whose stock counts (kind, hazards,
population figures, active, the tree, the agreement and its verification), and a receipt at a
site one does not keep, needs the people who own that effect. Each such request is refused
(403, logged) and changes nothing; the same request from a manager then goes through, so the
refusal is about the role and not the request.
"""

import logging
import re
import uuid

import pytest

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from tests.factories import PASSWORD, page_client, token_for
from tests.security.conftest import changed_tables, table_rows
from tests.security.routes import Call, send

ADJUSTMENT_REASONS = ("count_correction", "damaged", "expired", "disposal", "other")


@pytest.fixture
def own(app, world):
    """At the keeper's own site GT-XB: a loan, a generator, an agreement site with a village
    beside it, a transfer on its way in, and a manager and a dispatcher of the county."""
    from inventory.auth.services import create_user
    from inventory.sites.services import create_site
    from inventory.stock import services as stock
    from inventory.stock import transfers
    from inventory.stock.queries import document_items

    with app.app_context():
        today = clock.today()
        create_user(actor=COMMAND_LINE, username="county-manager", role="manager", password=PASSWORD)
        create_user(actor=COMMAND_LINE, username="duty-office", role="dispatcher", password=PASSWORD)
        loan = stock.issue(actor=COMMAND_LINE, data={
            "site": "GT-XB", "recipient": {"type": "household", "name": "李家"},
            "lines": [{"label": world.a_label, "quantity": 2,
                       "due_back": today.replace(year=today.year + 1)}]})
        generator = stock.receive(actor=COMMAND_LINE, data={
            "site": "GT-XB", "material": world.equipment, "quantity": 1, "serials": ["XB-GEN-1"]})
        [generator_item] = document_items(generator.number)
        create_site(actor=COMMAND_LINE, data={
            "code": "GT-XB-DC1", "name": "新坝惠民超市", "kind": "agreement_site", "parent": "GT-XB",
            "agreement": {"partner": "惠民超市", "number": "XY-1", "valid_from": "2026-01-01",
                          "valid_to": "2028-12-31", "contact_name": "赵", "contact_phone": "1",
                          "lines": [{"material": world.material, "quantity": 50}]}})
        for number in (1, 2, 3):  # villages nothing refers to, one for each way of removing one
            create_site(actor=COMMAND_LINE, data={"code": f"GT-XB-EMPTY{number}", "name": "空村",
                                                  "kind": "village_point", "parent": "GT-XB"})
        # Enough of the keeper's lot for every reduction below to succeed for the manager.
        stock.receive(actor=COMMAND_LINE, data={"site": "GT-XB", "material": world.material,
                                                "quantity": 30, "lot": world.a_lot})
        stock.receive(actor=COMMAND_LINE, data={"site": "GT-XJK", "material": world.material,
                                                "quantity": 4})
        # Two issues made by mistake, to be reversed whole (冲销发放单), by API and by page.
        mistakes = [stock.issue(actor=COMMAND_LINE, data={
            "site": "GT-XB", "recipient": {"type": "person", "name": "错发"},
            "lines": [{"label": world.a_label, "quantity": 1}]}).number for _ in range(2)]
        inbound = transfers.create_transfer(actor=COMMAND_LINE, data={
            "from_site": "GT-XJK", "to_site": "GT-XB",
            "lines": [{"material": world.material, "quantity": 4}]})
        transfers.dispatch_transfer(actor=COMMAND_LINE, number=inbound.number)
        return {"loan": loan.number, "loan_line": loan.lines[0].id, "serial": generator_item.label,
                "inbound": inbound.number, "inbound_line": inbound.lines[0].id,
                "mistakes": mistakes, "today": today.isoformat()}


def _api(path, body=None, method="POST") -> Call:
    return Call(method, f"/api/v1{path}", body=body)


def _form(path, **fields) -> Call:
    return Call("POST", path, body={"idempotency_key": uuid.uuid4().hex, **fields})


def keepers_refusals(w, own) -> list[Call]:
    """What a keeper may not do at their own site GT-XB, each a request a manager may make
    (in this order: the last one deactivates GT-XB)."""
    a = w.site_a
    lost = [{"issue_line": own["loan_line"], "quantity": 1, "condition": "lost"}]
    return [
        # Stock down, whatever the reason named (finding 3) — the generator as much as a lot.
        *(_api("/adjustments", {"label": w.a_label, "delta": -1, "reason": reason})
          for reason in ADJUSTMENT_REASONS),
        _api("/adjustments", {"label": own["serial"], "delta": -1, "reason": "count_correction"}),
        _form(f"/stock/item/{w.a_label}/adjust", delta="-5", reason="other"),
        # A loan returned as lost is a write-off.
        _api("/returns", {"issue": own["loan"], "lines": lost}),
        _form(f"/stock/issues/{own['loan']}/return", **{
            "lines-0-issue_line": str(own["loan_line"]), "lines-0-quantity": "1",
            "lines-0-condition": "lost"}),
        # An issue reversed: the goods back on the shelf, the recipient's record void.
        _api(f"/issues/{own['mistakes'][0]}/reverse", {"note": "数量填错"}),
        _form(f"/stock/issues/{own['mistakes'][1]}/reverse", note="物资选错"),
        # What decides the norms, where dispatch looks and whether a site counts (finding 4).
        _api(f"/sites/{a}", {"planning_population": 0, "hazards": ["flood"]}, "PATCH"),
        *(_api(f"/sites/{a}", {field: value}, "PATCH") for field, value in (
            ("name", "改名"), ("population", 1), ("households", 1), ("planning_population", 7),
            ("hazards", ["earthquake"]))),
        _api(f"/sites/{a}", {"latitude": 39.3, "longitude": 99.1}, "PATCH"),
        _api("/sites/GT-XB-EMPTY1", {"kind": "agreement_site", "agreement": {
            "partner": "x", "number": "1", "valid_from": "2026-01-01", "valid_to": "2027-01-01"}},
             "PATCH"),
        _api("/sites/GT-XB-DC1", {"kind": "agreement_site", "agreement": {
            "partner": "惠民超市", "number": "XY-1", "valid_from": "2026-01-01",
            "valid_to": "2028-12-31", "contact_name": "赵", "contact_phone": "1",
            "last_verified": own["today"], "lines": [{"material": w.material, "quantity": 50}]}},
             "PATCH"),
        _api("/sites/GT-XB-DC1", {"agreement": {
            "partner": "惠民超市", "number": "XY-1", "valid_from": "2026-01-01",
            "valid_to": "2028-12-31", "contact_name": "赵", "contact_phone": "1",
            "lines": [{"material": w.material, "quantity": 5}]}}, "PATCH"),
        _api("/sites", {"code": "GT-XB-NEW1", "name": "新村", "kind": "village_point", "parent": a}),
        _form("/sites/new", code="GT-XB-NEW2", name="新村", kind="village_point", parent=a),
        _api("/sites/GT-XB-EMPTY1", method="DELETE"),
        _form("/sites/GT-XB-EMPTY2/active", active="0"),
        _form("/sites/GT-XB-EMPTY3/delete"),
        _api(f"/sites/{a}", {"active": False}, "PATCH"),
    ]


class Clients:
    """A user's two ways in, opened once (logging in writes; the requests must not)."""

    def __init__(self, app, username):
        self.pages = page_client(app, username)
        self.api, self.headers = app.test_client(), token_for(app, username)

    def send(self, call):
        return send(self.api, call, self.headers) if call.api else send(self.pages, call)


def test_what_only_a_manager_may_do_at_a_keepers_own_site(app, world, own, caplog):
    """Each request is refused for the keeper of GT-XB — 403, logged, every table as it was —
    and then goes through for a manager."""
    keeper, manager = Clients(app, world.keeper_a), Clients(app, "county-manager")
    failures = []
    for call in keepers_refusals(world, own):
        where = f"{call.method} {call.path} {call.body}"
        before = table_rows(app)
        with caplog.at_level(logging.WARNING, logger="inventory.access"):
            caplog.clear()
            response = keeper.send(call)
        if response.status_code != 403:
            failures.append(f"keeper: {where} → {response.status_code}")
        elif f"user={world.keeper_a}" not in caplog.text:
            failures.append(f"keeper: {where}: the denial was not logged")
        if changed := changed_tables(before, table_rows(app)):
            failures.append(f"keeper: {where} changed {changed}")
        allowed = manager.send(call)
        if allowed.status_code not in (200, 201, 204, 302):
            failures.append(f"manager: {where} → {allowed.status_code} {allowed.get_data(True)[:300]}")
    assert not failures, "\n".join(failures)


def test_a_keeper_says_why_not_on_the_form_and_in_the_api(app, world, own):
    """The refusal says who may do it, on the page's form and in the error JSON."""
    api = app.test_client()
    headers = token_for(app, world.keeper_a)
    down = api.post("/api/v1/adjustments", headers=headers,
                    json={"label": world.a_label, "delta": -1, "reason": "other"})
    assert down.status_code == 403 and "管理员" in down.json["error"]["message"]
    fields = api.patch(f"/api/v1/sites/{world.site_a}", headers=headers,
                       json={"population": 1, "hazards": ["flood"], "address": "新地址"})
    assert fields.status_code == 403
    assert "人口、灾害风险须由管理员修改" in fields.json["error"]["message"]
    page = page_client(app, world.keeper_a).post(
        f"/stock/item/{world.a_label}/adjust",
        data={"idempotency_key": uuid.uuid4().hex, "delta": "-1", "reason": "other"})
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "调减库存须由管理员办理" in text and 'name="delta"' in text  # the form, kept


def test_a_keeper_keeps_their_sites_contacts_and_raises_counts(app, world, own):
    """What stays the keeper's: address and contacts (the agreement's too), a site sent back
    whole as read, and an upward count."""
    api = app.test_client()
    headers = token_for(app, world.keeper_a)
    changed = api.patch(f"/api/v1/sites/{world.site_a}", headers=headers, json={
        "address": "新坝镇政府院内", "keeper_name": "王五", "keeper_phone": "13800000000"})
    assert changed.status_code == 200, changed.json
    assert (changed.json["address"], changed.json["keeper_phone"]) == ("新坝镇政府院内", "13800000000")
    site = api.get("/api/v1/sites/GT-XB-DC1", headers=headers).json
    whole = {name: site[name] for name in ("name", "kind", "parent", "population", "households",
                                           "latitude", "longitude", "hazards", "active")}
    agreement = {**site["agreement"], "contact_name": "钱", "contact_phone": "13900000000"}
    sent_back = api.patch("/api/v1/sites/GT-XB-DC1", headers=headers,
                          json={**whole, "agreement": agreement, "address": "商场一楼"})
    assert sent_back.status_code == 200, sent_back.json
    assert sent_back.json["agreement"]["contact_name"] == "钱"
    up = api.post("/api/v1/adjustments", headers=headers,
                  json={"label": world.a_label, "delta": 2, "reason": "count_correction"})
    assert up.status_code == 201 and up.json["quantity"] == 2


def test_a_keepers_site_form_holds_the_managers_fields(app, world, own):
    """The keeper's edit page shows the managers' fields disabled; a request that changes them
    anyway saves the contacts and leaves the rest as it was."""
    pages = page_client(app, world.keeper_a)
    form = pages.get(f"/sites/{world.site_a}/edit").get_data(as_text=True)
    inputs = {re.search(r'name="([\w-]+)"', tag)[1]: tag
              for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", form)}
    assert all("disabled" in inputs[name] for name in ("name", "kind", "population", "hazards"))
    assert not any("disabled" in inputs[name] for name in ("address", "keeper_phone"))
    response = pages.post(f"/sites/{world.site_a}/edit", data={
        "name": "改名", "kind": "town_store", "parent": "GT-XJK", "population": "1",
        "planning_population": "0", "address": "新坝镇政府院内", "keeper_name": "王五",
        "keeper_phone": "1380", "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    site = app.test_client().get(f"/api/v1/sites/{world.site_a}",
                                 headers=token_for(app, world.admin)).json
    assert (site["name"], site["population"], site["stated_planning_population"]) == (
        "新坝镇物资储备室", 1000, None)
    assert (site["address"], site["keeper_phone"]) == ("新坝镇政府院内", "1380")


def test_a_dispatcher_receives_nothing_at_a_site_they_do_not_keep(app, world, own):
    """Receiving counts what arrived: the destination's people, not the duty office (a 0
    would write the goods in transit off as a discrepancy)."""
    dispatcher, keeper = Clients(app, "duty-office"), Clients(app, world.keeper_a)
    path = f"/transfers/{own['inbound']}/receive"
    before = table_rows(app)
    refused = dispatcher.send(_api(path, {"lines": [{"line": own["inbound_line"], "received": 0}]}))
    page = dispatcher.send(_form(f"/stock{path}", **{"lines-0-line": str(own["inbound_line"]),
                                                     "lines-0-received": "0"}))
    assert (refused.status_code, page.status_code) == (403, 403)
    assert changed_tables(before, table_rows(app)) == []
    received = keeper.send(_api(path, {}))
    assert received.status_code == 200 and received.json["status"] == "received"
