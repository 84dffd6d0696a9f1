"""Every route of the app, with requests that name site B's objects (QUALITY.md S1, S3, S9, S10).

``calls(world)`` answers, for each endpoint, requests covering each of its methods. A route that
is neither here nor in PUBLIC/OWN_SESSION fails tests/security/test_site_isolation.py: whoever
adds a route says here what it reads or changes, and the access, CSRF, header and escaping tests
then cover it without further work.
"""

import io
import uuid
from dataclasses import dataclass

from inventory import clock
from inventory.stocktakes.models import quarter_of

# Endpoints nobody needs to be logged in for, and why that is safe.
PUBLIC = {
    "static": "stylesheets, scripts and the QR decoder: files in the repository, no data",
    "auth.login": "the way in; refusals and throttling in tests/auth/test_login.py",
    "api.issue_token": "the API's way in; wrong credentials answer 401 (tests/api)",
    "api.openapi_document": "describes the API (API.md) and holds no data",
    "shell.app": "the offline app's shell: no user's data and no CSRF token — the phone's IndexedDB fills "
                 "it in; it must open after 72 hours offline, signed in or not (tests/offline)",
    "shell.service_worker": "the service worker's script: a list of the shell's static files",
    "shell.manifest": "the web manifest: names and icons",
}
# Endpoints that act on the caller's own session and on nothing else.
OWN_SESSION = {
    "auth.logout": "ends the caller's own login session (tests/auth/test_login.py, test_sessions.py)",
}


@dataclass(frozen=True)
class Call:
    """One request. ``body`` is form fields for pages and JSON for /api/.

    ``shared``: a read any signed-in user may make (the catalog, norms, their own lists); it must
    answer 200 without any of site B's records. Any other read of B's objects must be refused.
    ``found``: whether someone allowed to see it gets it (False: a filter that matches nothing).
    """

    method: str
    path: str
    body: dict | None = None
    shared: bool = False
    found: bool = True
    # A write that is the caller's own (registering their phone): it succeeds, changing only
    # these tables.
    own: tuple[str, ...] = ()
    # A batch answered 200 with each operation's own status (POST /sync): refused means every
    # operation rejected.
    per_operation: bool = False
    # A file sent as multipart/form-data with ``body`` as its other fields: name → (bytes, file name).
    files: dict | None = None

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def read(path: str, *, shared: bool = False, found: bool = True) -> Call:
    return Call("GET", path, shared=shared, found=found)


def write(path: str, body: dict | None = None, method: str = "POST", *, own: tuple[str, ...] = (),
          per_operation: bool = False) -> Call:
    return Call(method, path, body=body, own=own, per_operation=per_operation)


def form(path: str, **fields) -> Call:
    """A stock form: each rendered form carries its own idempotency key."""
    return write(path, {"idempotency_key": uuid.uuid4().hex, **fields})


def calls(w) -> dict[str, list[Call]]:
    """Requests for every endpoint, aimed at site B's objects (``w`` is a tests.security World)."""
    a, b = w.site_a, w.site_b
    today = clock.today().isoformat()
    api = "/api/v1"
    recipient = {"type": "person", "name": "王"}
    return {
        # --- pages: dashboard, alerts, audit, account ------------------------------------------
        "dashboard.index": [read("/", shared=True)],
        "dashboard.more": [read("/more", shared=True)],
        "alerts.index": [read("/alerts/", shared=True)],
        "audit.index": [read("/audit/"), read(f"/audit/?entity=site&key={b}")],
        "auth.change_password": [
            read("/password", shared=True),
            write("/password", {"current_password": "not the password",
                                "new_password": "a new long password",
                                "confirm_password": "a new long password"})],
        "auth.users": [read("/users")],
        "auth.new_user": [read("/users/new"),
                          write("/users/new", {"username": "intruder", "role": "admin",
                                               "password": "a long enough password"})],
        "auth.edit_user": [read(f"/users/{w.keeper_b}/edit"),
                           write(f"/users/{w.keeper_b}/edit", {"role": "admin", "active": "y",
                                                               "display_name": "x"})],
        "auth.reset_password": [write(f"/users/{w.keeper_b}/password",
                                      {"reset-password": "a brand new password"})],
        # --- sites -----------------------------------------------------------------------------
        "sites.index": [read("/sites/", shared=True), read("/sites/?q=nh", shared=True)],
        "sites.show": [read(f"/sites/{b}"), read(f"/sites/{w.leaf_b}")],
        "sites.new": [read(f"/sites/new?parent={b}"),
                      write("/sites/new", {"code": "GT-NH-NEW", "name": "新村",
                                           "kind": "village_point", "parent": b})],
        "sites.edit": [read(f"/sites/{b}/edit"),
                       write(f"/sites/{b}/edit", {"name": "改名", "kind": "town_store",
                                                  "parent": "GT-XJK", "active": "y"})],
        "sites.set_active": [write(f"/sites/{w.leaf_b}/active", {"active": "0"})],
        "sites.delete": [write(f"/sites/{w.leaf_b}/delete", {})],
        # --- catalog and norms: shared reference data; only managers change it -----------------
        "catalog.index": [read("/catalog/", shared=True)],
        "catalog.show": [read(f"/catalog/{w.material}", shared=True)],
        "catalog.new": [read("/catalog/new"),
                        write("/catalog/new", {"code": "NEW-1", "name": "新物资", "unit": "个",
                                               "category": w.category, "tracking": "lot"})],
        "catalog.edit": [read(f"/catalog/{w.material}/edit"),
                         write(f"/catalog/{w.material}/edit", {
                             "name": "改名", "unit": "顶", "category": w.category,
                             "tracking": "lot", "active": "y"})],
        "catalog.category_index": [read("/catalog/categories", shared=True)],
        "catalog.new_category": [read("/catalog/categories/new"),
                                 write("/catalog/categories/new", {"code": "NEWC", "name": "新类"})],
        "catalog.edit_category": [read(f"/catalog/categories/{w.category}/edit"),
                                  write(f"/catalog/categories/{w.category}/edit", {"name": "改名"})],
        "norms.index": [read("/norms/", shared=True)],
        "norms.new": [read("/norms/new"),
                      write("/norms/new", {"name": "新定额", "site_kind": "town_store",
                                           "materials": [w.material], "min_quantity": "1"})],
        "norms.edit": [read(f"/norms/{w.norm_id}/edit"),
                       write(f"/norms/{w.norm_id}/edit", {"name": "改名", "site_kind": "town_store",
                                                          "materials": [w.material],
                                                          "min_quantity": "1"})],
        "norms.delete": [write(f"/norms/{w.norm_id}/delete", {})],
        "norms.shortfalls": [read("/norms/shortfalls?all=1", shared=True),
                             read(f"/norms/shortfalls?site={b}&all=1")],
        "norms.shortfalls_workbook": [read("/norms/shortfalls.xlsx?all=1", shared=True),
                                      read(f"/norms/shortfalls.xlsx?site={b}&all=1")],
        # --- relief kits and road times: shared reference data; managers / the duty office edit
        "dispatch.kits": [read("/incidents/kits", shared=True)],
        "dispatch.new_kit": [read("/incidents/kits/new"),
                             write("/incidents/kits/new", {"name": "新包", "basis": "person",
                                                           "lines-0-material": w.material,
                                                           "lines-0-quantity": "1"})],
        "dispatch.edit_kit": [read(f"/incidents/kits/{w.kit}/edit"),
                              write(f"/incidents/kits/{w.kit}/edit", {
                                  "name": "改名", "basis": "person", "lines-0-material": w.material,
                                  "lines-0-quantity": "1"})],
        "dispatch.delete_kit": [write(f"/incidents/kits/{w.kit}/delete", {})],
        "dispatch.roads": [read("/incidents/roads", shared=True), write("/incidents/roads", {})],
        "dispatch.clear_roads": [write("/incidents/roads/clear", {})],
        # --- an incident's reports: read by everyone; a keeper's figures are their own sites'
        "dispatch.report": [read(f"/incidents/{w.incident}/report", shared=True),
                            read(f"/incidents/{w.incident}/report?format=pdf", shared=True),
                            read(f"/incidents/{w.incident}/report?format=xlsx", shared=True)],
        "dispatch.first_report": [read(f"/incidents/{w.incident}/first-report", shared=True),
                                  read(f"/incidents/{w.incident}/first-report?format=pdf&sequence=1",
                                       shared=True)],
        "dispatch.replenishment": [read(f"/incidents/{w.incident}/replenishment", shared=True),
                                   read(f"/incidents/{w.incident}/replenishment?format=xlsx", shared=True)],
        # --- incident pages: incidents are read by everyone; requests by their site's people ------
        "dispatch.index": [read("/incidents/", shared=True), read("/incidents/?status=open", shared=True)],
        "dispatch.new": [read("/incidents/new"),
                         write("/incidents/new", {"name": "入侵", "type": "earthquake", "level": "3",
                                                  "started_at": "2026-07-01T08:00", "areas": b})],
        "dispatch.edit": [read(f"/incidents/{w.incident}/edit"),
                          write(f"/incidents/{w.incident}/edit", {
                              "name": "改名", "type": "earthquake", "level": "1",
                              "started_at": "2026-07-01T08:00", "areas": b})],
        "dispatch.close": [form(f"/incidents/{w.incident}/close")],
        "dispatch.screen": [read(f"/incidents/{w.incident}", shared=True)],
        "dispatch.live": [read(f"/incidents/{w.incident}/live", shared=True)],
        "dispatch.requests": [read(f"/incidents/{w.incident}/requests", shared=True),
                              read(f"/incidents/{w.incident}/requests?status=pending", shared=True)],
        "dispatch.new_request": [read(f"/incidents/{w.incident}/requests/new?site={b}", shared=True),
                                 form(f"/incidents/{w.incident}/requests/new", to_site=b,
                                      **{"lines-0-material": w.material, "lines-0-quantity": "1"})],
        "dispatch.request_detail": [read(f"/incidents/requests/{w.b_request}")],
        "dispatch.cancel_request": [form(f"/incidents/requests/{w.b_request}/cancel")],
        "dispatch.make_plan": [form(f"/incidents/requests/{w.b_request}/plan")],
        "dispatch.approve": [form(f"/incidents/requests/{w.b_request}/approve", **{
            "lines-0-from_site": "GT-XJK", "lines-0-material": w.material, "lines-0-quantity": "1"})],
        "dispatch.owner_approval": [form(f"/incidents/requests/{w.b_request}/owner-approvals",
                                         owner="省应急管理厅", approved_by="李",
                                         approved_at="2026-07-01T08:00")],
        # --- labels and scanning ---------------------------------------------------------------
        "labels.index": [read("/labels/", shared=True), read(f"/labels/?site={b}", shared=True)],
        "labels.item_labels": [read(f"/labels/items.pdf?site={b}"),
                               read(f"/labels/items.pdf?site={a}&label={w.b_label}", found=False)],
        "labels.receipt_labels": [read(f"/labels/receipt/{w.b_receipt}.pdf")],
        "labels.site_label": [read(f"/labels/site/{b}.pdf")],
        "labels.qr_image": [read(f"/labels/qr/{w.b_label}.svg")],
        "labels.scan": [read(f"/s/{w.b_label}"), read(f"/s/{w.b_serial_label}")],
        "labels.scan_site": [read(f"/s/site/{b}")],
        "labels.scanner": [read("/scan", shared=True)],
        "labels.lookup": [read(f"/scan/lookup/{w.b_label}")],
        # --- stock pages -----------------------------------------------------------------------
        "stock.index": [read("/stock/", shared=True),
                        read(f"/stock/?material={w.material}&sub=1", shared=True),
                        read(f"/stock/?site={b}"), read(f"/stock/?site={b}&sub=1")],
        "stock.summary": [read("/stock/summary", shared=True), read(f"/stock/summary?site={b}")],
        "stock.item": [read(f"/stock/item/{w.b_label}"), read(f"/stock/item/{w.b_serial_label}")],
        "stock.adjust": [read(f"/stock/item/{w.b_label}/adjust"),
                         form(f"/stock/item/{w.b_label}/adjust", delta="-1",
                              reason="count_correction")],
        "stock.test_run": [read(f"/stock/item/{w.b_serial_label}/test"),
                           form(f"/stock/item/{w.b_serial_label}/test", result="fault",
                                tested_on=today)],
        "stock.receive": [read("/stock/receive", shared=True),
                          form("/stock/receive", site=b, material=w.material, quantity="5")],
        "stock.receipt": [read(f"/stock/receipts/{w.b_receipt}")],
        "stock.issue": [read("/stock/issue", shared=True),
                        form("/stock/issue", site=b, recipient_type="person", recipient_name="王",
                             **{"lines-0-label": w.b_label, "lines-0-quantity": "1"}),
                        form("/stock/issue", site=a, recipient_type="person", recipient_name="王",
                             **{"lines-0-label": w.b_label, "lines-0-quantity": "1"})],
        "stock.issues": [read("/stock/issues", shared=True), read(f"/stock/issues?site={b}")],
        "stock.issue_slip": [read(f"/stock/issues/{w.b_issue}")],
        "stock.reverse_issue": [form(f"/stock/issues/{w.b_issue}/reverse", note="错发")],
        "stock.complete_recipient": [form(f"/stock/issues/{w.b_issue}/recipient", recipient_type="person",
                                          recipient_name="王")],
        "stock.queue": [read("/stock/issue/queue", shared=True), read(f"/stock/issue/queue?site={b}"),
                        form(f"/stock/issue/queue?site={b}", recipient_name="王",
                             **{"lines-0-label": w.b_label, "lines-0-quantity": "1"}),
                        form(f"/stock/issue/queue?site={a}", recipient_name="王",
                             **{"lines-0-label": w.b_label, "lines-0-quantity": "1"})],
        "stock.loans": [read("/stock/loans", shared=True), read(f"/stock/loans?site={b}"),
                        read("/stock/loans?overdue=1", shared=True)],
        "stock.give_back": [read(f"/stock/issues/{w.b_issue}/return"),
                            form(f"/stock/issues/{w.b_issue}/return", **{
                                "lines-0-issue_line": str(w.b_issue_line), "lines-0-quantity": "1",
                                "lines-0-condition": "good"})],
        "stock.return_slip": [read(f"/stock/returns/{w.b_return}")],
        "stock.transfers": [read("/stock/transfers", shared=True),
                            read(f"/stock/transfers?site={b}")],
        "stock.new_transfer": [read("/stock/transfers/new", shared=True),
                               form("/stock/transfers/new", from_site=b, to_site=a, **{
                                   "lines-0-material": w.material, "lines-0-quantity": "1"}),
                               form("/stock/transfers/new", from_site=a, to_site=b, **{
                                   "lines-0-label": w.b_label, "lines-0-quantity": "1"})],
        "stock.transfer": [read(f"/stock/transfers/{w.b_transfer}"),
                           read(f"/stock/transfers/{w.b_inbound}")],
        "stock.dispatch": [form(f"/stock/transfers/{w.b_transfer}/dispatch")],
        "stock.cancel": [form(f"/stock/transfers/{w.b_transfer}/cancel")],
        "stock.receive_transfer": [read(f"/stock/transfers/{w.b_inbound}/receive"),
                                   form(f"/stock/transfers/{w.b_inbound}/receive", **{
                                       "lines-0-line": str(w.b_inbound_line),
                                       "lines-0-received": "3"})],
        "stock.ledger": [read("/stock/ledger", shared=True),
                         read(f"/stock/ledger?material={w.material}", shared=True),
                         read(f"/stock/ledger?site={b}")],
        # --- stocktake pages: the list, opening, review and its buttons ------------------------
        "stocktakes.index": [read("/stocktakes/", shared=True), read(f"/stocktakes/?site={b}")],
        "stocktakes.new": [read(f"/stocktakes/new?site={b}"),
                           form("/stocktakes/new", site=b, period=quarter_of(clock.today()))],
        "stocktakes.detail": [read(f"/stocktakes/{w.b_stocktake}"),
                              read(f"/stocktakes/{w.b_stocktake}?lines=all")],
        "stocktakes.approve": [form(f"/stocktakes/{w.b_stocktake}/approve", **{f"reason-{w.b_label}": "x"})],
        "stocktakes.recount": [form(f"/stocktakes/{w.b_stocktake}/recount", labels=w.b_label)],
        "stocktakes.cancel": [form(f"/stocktakes/{w.b_stocktake}/cancel")],
        "stocktakes.count": [read(f"/stocktakes/{w.b_stocktake}/count"),
                             read(f"/stocktakes/{w.b_stocktake}/count?label={w.b_label}")],
        "stocktakes.lookup": [read(f"/stocktakes/{w.b_stocktake}/lookup/{w.b_label}")],
        "stocktakes.record_count": [form(f"/stocktakes/{w.b_stocktake}/count", label=w.b_label, counted="1")],
        "stocktakes.record_found": [form(f"/stocktakes/{w.b_stocktake}/found", material=w.material,
                                         quantity="1")],
        "stocktakes.remove_found": [form(f"/stocktakes/{w.b_stocktake}/found/{w.b_found}/remove")],
        "stocktakes.submit_count": [form(f"/stocktakes/{w.b_stocktake}/submit")],
        "stocktakes.count_sheet": [read(f"/stocktakes/{w.b_stocktake}/count-sheet")],
        "stocktakes.count_sheet_pdf": [read(f"/stocktakes/{w.b_stocktake}/count-sheet.pdf")],
        "stocktakes.count_sheet_xlsx": [read(f"/stocktakes/{w.b_stocktake}/count-sheet.xlsx")],
        "stocktakes.variance_sheet": [read(f"/stocktakes/{w.b_stocktake}/variance-sheet"),
                                      read(f"/stocktakes/{w.b_stocktake}/variance-sheet?all=1")],
        "stocktakes.variance_sheet_pdf": [read(f"/stocktakes/{w.b_stocktake}/variance-sheet.pdf?all=1")],
        "stocktakes.variance_sheet_xlsx": [read(f"/stocktakes/{w.b_stocktake}/variance-sheet.xlsx?all=1")],
        # --- the API ---------------------------------------------------------------------------
        "api.me": [read(f"{api}/me", shared=True)],
        "api.alerts": [read(f"{api}/alerts", shared=True)],
        "api.list_sites": [read(f"{api}/sites", shared=True),
                           read(f"{api}/sites?parent={b}", shared=True),
                           read(f"{api}/sites?q=nh", shared=True)],
        "api.get_site": [read(f"{api}/sites/{b}"), read(f"{api}/sites/{w.leaf_b}")],
        "api.create_site": [write(f"{api}/sites", {"code": "GT-NH-NEW", "name": "新村",
                                                   "kind": "village_point", "parent": b})],
        "api.update_site": [write(f"{api}/sites/{b}", {"population": 1}, "PATCH")],
        "api.delete_site": [write(f"{api}/sites/{w.leaf_b}", method="DELETE")],
        "api.list_materials": [read(f"{api}/materials", shared=True)],
        "api.get_material": [read(f"{api}/materials/{w.material}", shared=True)],
        "api.create_material": [write(f"{api}/materials", {"code": "NEW-1", "name": "x",
                                                           "category": w.category, "unit": "个"})],
        "api.update_material": [write(f"{api}/materials/{w.material}", {"name": "改名"}, "PATCH")],
        "api.list_categories": [read(f"{api}/categories", shared=True)],
        "api.create_category": [write(f"{api}/categories", {"code": "NEWC", "name": "新类"})],
        "api.update_category": [write(f"{api}/categories/{w.category}", {"name": "改名"}, "PATCH")],
        "api.list_norms": [read(f"{api}/norms", shared=True)],
        "api.get_norm": [read(f"{api}/norms/{w.norm_id}", shared=True)],
        "api.create_norm": [write(f"{api}/norms", {"name": "x", "site_kind": "town_store",
                                                   "materials": [w.material], "min_quantity": 1})],
        "api.update_norm": [write(f"{api}/norms/{w.norm_id}", {"min_quantity": 1}, "PATCH")],
        "api.delete_norm": [write(f"{api}/norms/{w.norm_id}", method="DELETE")],
        "api.shortfalls": [read(f"{api}/shortfalls?all=true", shared=True),
                           read(f"{api}/shortfalls?site={b}&all=true")],
        "api.record_equipment_test": [write(f"{api}/equipment-tests",
                                            {"label": w.b_serial_label, "result": "fault"})],
        "api.list_stock": [read(f"{api}/stock", shared=True),
                           read(f"{api}/stock?material={w.material}", shared=True),
                           read(f"{api}/stock?site={b}"),
                           read(f"{api}/stock?site={b}&include_sub_sites=true")],
        "api.stock_summary": [read(f"{api}/stock/summary", shared=True),
                              read(f"{api}/stock/summary?site={b}")],
        "api.get_stock_item": [read(f"{api}/stock/{w.b_label}"),
                               read(f"{api}/stock/{w.b_serial_label}")],
        "api.stock_qr_png": [read(f"{api}/stock/{w.b_label}/qr.png")],
        "api.stock_qr_svg": [read(f"{api}/stock/{w.b_label}/qr.svg")],
        "api.create_receipt": [write(f"{api}/receipts", {"site": b, "material": w.material,
                                                         "quantity": 5})],
        "api.create_issue": [
            write(f"{api}/issues", {"site": b, "recipient": recipient,
                                    "lines": [{"label": w.b_label, "quantity": 1}]}),
            write(f"{api}/issues", {"site": a, "recipient": recipient,
                                    "lines": [{"label": w.b_label, "quantity": 1}]})],
        "api.list_issues": [read(f"{api}/issues", shared=True),
                            read(f"{api}/issues?outstanding=true", shared=True),
                            read(f"{api}/issues?site={b}"),
                            read(f"{api}/issues?incident={w.incident}", shared=True)],
        "api.get_issue": [read(f"{api}/issues/{w.b_issue}")],
        "api.reverse_issue": [write(f"{api}/issues/{w.b_issue}/reverse", {"note": "错发"})],
        "api.create_return": [write(f"{api}/returns", {"issue": w.b_issue, "lines": [
            {"issue_line": w.b_issue_line, "quantity": 1, "condition": "good"}]})],
        "api.get_return": [read(f"{api}/returns/{w.b_return}")],
        "api.create_transfer": [
            write(f"{api}/transfers", {"from_site": b, "to_site": a,
                                       "lines": [{"material": w.material, "quantity": 1}]}),
            write(f"{api}/transfers", {"from_site": a, "to_site": b,
                                       "lines": [{"label": w.b_label, "quantity": 1}]})],
        "api.list_transfers": [read(f"{api}/transfers", shared=True),
                               read(f"{api}/transfers?site={b}"),
                               read(f"{api}/transfers?incident={w.incident}", shared=True)],
        "api.get_transfer": [read(f"{api}/transfers/{w.b_transfer}"),
                             read(f"{api}/transfers/{w.b_inbound}")],
        "api.dispatch_transfer": [write(f"{api}/transfers/{w.b_transfer}/dispatch")],
        "api.cancel_transfer": [write(f"{api}/transfers/{w.b_transfer}/cancel")],
        "api.receive_transfer": [write(f"{api}/transfers/{w.b_inbound}/receive", {"lines": [
            {"line": w.b_inbound_line, "received": 3}]})],
        "api.create_adjustment": [write(f"{api}/adjustments", {"label": w.b_label, "delta": -1,
                                                               "reason": "count_correction"})],
        "api.reverse_movement": [write(f"{api}/movements/{w.b_movement}/reverse")],
        "api.open_stocktake": [write(f"{api}/stocktakes", {"site": b, "period": quarter_of(clock.today())})],
        "api.list_stocktakes": [read(f"{api}/stocktakes", shared=True),
                                read(f"{api}/stocktakes?site={b}")],
        "api.get_stocktake": [read(f"{api}/stocktakes/{w.b_stocktake}")],
        "api.record_stocktake_count": [write(f"{api}/stocktakes/{w.b_stocktake}/counts",
                                   {"label": w.b_label, "counted": 1})],
        "api.record_found_goods": [write(f"{api}/stocktakes/{w.b_stocktake}/found",
                                   {"material": w.material, "quantity": 1})],
        "api.submit_stocktake": [write(f"{api}/stocktakes/{w.b_stocktake}/submit")],
        "api.recount_stocktake": [write(f"{api}/stocktakes/{w.b_stocktake}/recount", {"labels": [w.b_label]})],
        "api.approve_stocktake": [write(f"{api}/stocktakes/{w.b_stocktake}/approve", {})],
        "api.cancel_stocktake": [write(f"{api}/stocktakes/{w.b_stocktake}/cancel")],
        "api.incident_report": [read(f"{api}/incidents/{w.incident}/report", shared=True)],
        "api.incident_first_report": [read(f"{api}/incidents/{w.incident}/first-report", shared=True)],
        "api.incident_replenishment": [read(f"{api}/incidents/{w.incident}/replenishment", shared=True)],
        # --- 灾情调度 API: incidents, kits, road times and the change feed are read by everyone;
        # B's request is B's; nothing of it may be changed by A's keeper
        "api.open_incident": [write(f"{api}/incidents", {"name": "入侵", "type": "earthquake", "level": 3,
                                                         "started_at": clock.now().isoformat(), "areas": [b]})],
        "api.list_incidents": [read(f"{api}/incidents", shared=True),
                               read(f"{api}/incidents?status=open", shared=True)],
        "api.get_incident": [read(f"{api}/incidents/{w.incident}", shared=True)],
        "api.update_incident": [write(f"{api}/incidents/{w.incident}", {"level": 1}, "PATCH")],
        "api.close_incident": [write(f"{api}/incidents/{w.incident}/close")],
        "api.create_request": [write(f"{api}/incidents/{w.incident}/requests", {
            "to_site": b, "lines": [{"material": w.material, "quantity": 1}]})],
        "api.list_requests": [read(f"{api}/incidents/{w.incident}/requests", shared=True),
                              read(f"{api}/incidents/{w.incident}/requests?status=open", shared=True)],
        "api.calculate_needs": [write(f"{api}/incidents/{w.incident}/needs", {"to_site": b, "kits": [w.kit]})],
        "api.get_request": [read(f"{api}/requests/{w.b_request}")],
        "api.plan_request": [write(f"{api}/requests/{w.b_request}/plan", {})],
        "api.approve_request": [write(f"{api}/requests/{w.b_request}/approve", {
            "allocations": [{"from_site": a, "material": w.material, "quantity": 1}]})],
        "api.cancel_request": [write(f"{api}/requests/{w.b_request}/cancel")],
        "api.record_owner_approval": [write(f"{api}/requests/{w.b_request}/owner-approvals", {
            "owner": "省应急管理厅", "approved_by": "张", "approved_at": clock.now().isoformat()})],
        "api.list_kits": [read(f"{api}/kits", shared=True)],
        "api.create_kit": [write(f"{api}/kits", {"name": "新包", "basis": "person",
                                                 "lines": [{"material": w.material, "quantity": 1}]})],
        "api.get_kit": [read(f"{api}/kits/{w.kit}", shared=True)],
        "api.replace_kit": [write(f"{api}/kits/{w.kit}", {
            "name": "改名", "basis": "person", "lines": [{"material": w.material, "quantity": 1}]}, "PUT")],
        "api.delete_kit": [write(f"{api}/kits/{w.kit}", method="DELETE")],
        "api.list_road_times": [read(f"{api}/road-times", shared=True)],
        "api.load_road_times": [write(f"{api}/road-times",
                                      {"csv": f"from_site,to_site,minutes,cut\n{a},{b},5,\n"}, "PUT")],
        "api.clear_road_times": [write(f"{api}/road-times", method="DELETE")],
        "api.list_events": [read(f"{api}/events", shared=True),
                            read(f"{api}/events?types=request.created,issue.created", shared=True)],
        "api.complete_recipient": [write(f"{api}/issues/{w.b_issue}/recipient",
                                         {"type": "person", "name": "王"})],
        # --- 三断 pages: the devices list is the caller's own; B's device, B's held operations
        "offline.devices": [read("/offline/devices", shared=True)],
        "offline.register_device": [write("/offline/devices/new", {"name": "入侵"},
                                          own=("devices", "audit_log"))],
        "offline.revoke_device": [write(f"/offline/devices/{w.b_device}/revoke", {})],
        "offline.mark_device_lost": [write(f"/offline/devices/{w.b_device}/lost", {})],
        "offline.conflicts": [read("/offline/conflicts"), read("/offline/conflicts?status=applied")],
        "offline.resolve_conflict": [form(f"/offline/conflicts/{w.b_conflict}/resolve", note="x", apply="1")],
        # B's paper forms name B's site, loans and goods, and the keys B's keeper will enter
        "offline.paper_form": [read(f"/offline/paper/{b}/issue"), read(f"/offline/paper/{b}/return"),
                               read(f"/offline/paper/{b}/count?stocktake={w.b_stocktake}")],
        # --- 三断: a device is its user's; B's snapshot and held operations are B's; a batch
        # of B's operations from A's keeper is refused operation by operation
        "api.register_device": [write(f"{api}/devices", {"name": "入侵"}, own=("devices", "audit_log"))],
        "api.list_devices": [read(f"{api}/devices", shared=True)],
        "api.revoke_device": [write(f"{api}/devices/{w.b_device}", method="DELETE")],
        "api.mark_device_lost": [write(f"{api}/devices/{w.b_device}/lost")],
        "api.site_snapshot": [read(f"{api}/sites/{b}/snapshot")],
        "api.sync_operations": [write(f"{api}/sync", {"operations": [
            {"key": f"intrusion-{kind}", "seq": 1, "kind": kind, "body": body,
             "recorded_at": clock.now().isoformat()}
            for kind, body in (
                ("issue", {"site": b, "recipient": {"type": "person", "name": "王"},
                           "lines": [{"label": w.b_label, "quantity": 1}]}),
                ("adjustment", {"label": w.b_label, "delta": 5, "reason": "count_correction"}),
                ("return", {"issue": w.b_issue, "lines": [
                    {"issue_line": w.b_issue_line, "quantity": 1, "condition": "good"}]}),
                ("count", {"stocktake": w.b_stocktake, "label": w.b_label, "counted": 1}),
                ("transfer_receive", {"number": w.b_inbound}))]}, per_operation=True)],
        "api.list_conflicts": [read(f"{api}/sync/conflicts"), read(f"{api}/sync/conflicts?site={b}")],
        # --- spreadsheets: an import is its uploader's; an upload of B's goods by A's keeper is
        # A's own (refused row by row when checked: tests/spreadsheets); A's export holds A's
        "api.import_template": [read(f"{api}/imports/templates/opening_stock", shared=True),
                                read(f"{api}/imports/templates/opening_stock?filled=true", shared=True)],
        "api.upload_import": [Call("POST", f"{api}/imports", {"kind": "opening_stock"}, own=("import_jobs",),
                                   files={"file": (f"站点编码,物资编码,数量\n{b},{w.material},9\n".encode(),
                                                   "入侵.csv")})],
        "api.get_import": [read(f"{api}/imports/{w.b_import}")],
        "imports.index": [read("/imports/", shared=True),
                          Call("POST", "/imports/", {"kind": "opening_stock"}, own=("import_jobs",),
                               files={"file": (f"站点编码,物资编码,数量\n{b},{w.material},9\n".encode(),
                                               "入侵.csv")})],
        "imports.template": [read("/imports/templates/opening_stock.xlsx", shared=True),
                             read("/imports/templates/opening_stock.xlsx?filled=1", shared=True)],
        "imports.detail": [read(f"/imports/{w.b_import}")],
        "imports.progress": [read(f"/imports/{w.b_import}/progress")],
        "imports.commit": [write(f"/imports/{w.b_import}/commit", {})],
        "imports.cancel": [write(f"/imports/{w.b_import}/cancel", {})],
        "api.commit_import": [write(f"{api}/imports/{w.b_import}/commit")],
        "api.cancel_import": [write(f"{api}/imports/{w.b_import}/cancel")],
        "api.resolve_conflict": [write(f"{api}/sync/conflicts/{w.b_conflict}/resolve",
                                       {"action": "apply_with_correction", "note": "x"})],
        "api.list_movements": [read(f"{api}/movements", shared=True),
                               read(f"{api}/movements?material={w.material}", shared=True),
                               read(f"{api}/movements?site={b}"),
                               read(f"{api}/movements?label={w.b_label}")],
    }


def send(client, call: Call, headers: dict | None = None):
    """Make ``call`` with ``client``: JSON and ``headers`` for the API, form fields for pages."""
    if call.files:
        files = {name: (io.BytesIO(data), filename) for name, (data, filename) in call.files.items()}
        return client.open(call.path, method=call.method, data={**(call.body or {}), **files},
                           headers=headers or {}, content_type="multipart/form-data")
    if call.api:
        return client.open(call.path, method=call.method, json=call.body, headers=headers or {})
    return client.open(call.path, method=call.method, data=call.body)
