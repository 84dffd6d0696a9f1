"""Security fixtures: a county where 南华镇 (site B) holds records of every kind that a keeper of
新坝镇 (site A) must never read or change, with markup wherever a careless template would run it.
"""

import datetime as dt
import html
import io
import json
from dataclasses import dataclass

import openpyxl
import pypdfium2
import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.catalog.services import create_category
from inventory.db import db
from tests.factories import PASSWORD, make_site

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
# What must never reach a page as markup: the tags themselves, unescaped.
RAW_TAGS = ("<script>alert(1)", "<img src=x onerror")


@dataclass(frozen=True)
class World:
    """Names of what the security tests aim at. ``b_*`` belong to site B only."""

    site_a: str
    site_b: str
    leaf_b: str  # a village of B that nothing refers to (so deleting it would succeed)
    keeper_a: str
    keeper_b: str
    admin: str
    material: str  # lot-tracked, returnable
    equipment: str  # serial, needs testing
    category: str
    norm_id: int
    a_label: str
    a_lot: str
    b_label: str
    b_serial_label: str
    b_receipt: str
    b_issue: str
    b_issue_line: int
    b_return: str
    b_transfer: str  # requested, B → county depot
    b_inbound: str  # in transit, county depot → B
    b_inbound_line: int
    b_movement: int
    b_stocktake: int  # counting at B, one label counted, one found line
    b_found: int
    incident: int  # open, with B as an affected area; incidents are read by everyone
    b_request: int  # B's keeper's request for that incident
    kit: int  # a relief kit: reference data, read by everyone, edited by managers
    b_device: int  # B's keeper's phone (三断)
    b_conflict: int  # an offline issue of B's keeper held at B: more than the books had
    b_import: int  # B's keeper's opening-stock import of B's goods, checked and ready
    secrets: tuple[str, ...]  # strings only B's people (and the county) may read


@pytest.fixture
def world(app) -> World:
    """A small county, three accounts, and site B's documents of every kind."""
    for code, name, kind, parent in (
            ("GT-XJK", "高台县救灾物资储备库", "county_depot", None),
            ("GT-XB", "新坝镇物资储备室", "town_store", "GT-XJK"),
            ("GT-XB-HP", "和平村储备点", "village_point", "GT-XB"),
            ("GT-NH", "南华镇物资储备室", "town_store", "GT-XJK")):
        make_site(app, code, name=name, kind=kind, parent=parent, population=1000)
    with app.app_context():
        create_category(actor=COMMAND_LINE, data={"code": "1", "name": "基本生活保障物资"})
        return _build()


@pytest.fixture
def demo_world(app) -> World:
    """The same on top of the 高台县 demo: 160 sites, stock, loans, transfers and norms."""
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return _build(demo=True)


def _build(demo: bool = False) -> World:
    from inventory.api.offline import KINDS
    from inventory.auth.services import create_user
    from inventory.catalog.services import create_material
    from inventory.dispatch import services as dispatch
    from inventory.dispatch.kits import create_kit
    from inventory.labels.codes import format_label
    from inventory.norms.services import create_norm
    from inventory.offline import services as offline
    from inventory.offline import sync
    from inventory.offline.models import SyncConflict
    from inventory.sites.services import create_site, update_site
    from inventory.spreadsheets import services as imports
    from inventory.stock import services as stock
    from inventory.stock import transfers
    from inventory.stock.models import Movement
    from inventory.stock.queries import document_items
    from inventory.stocktakes import services as stocktakes
    from inventory.stocktakes.models import quarter_of

    today = clock.today()
    admin = create_user(actor=COMMAND_LINE, username="sec-admin", role="admin", password=PASSWORD,
                        display_name=f"管理员{SCRIPT}")
    keeper_a = create_user(actor=COMMAND_LINE, username="xb-keeper", role="keeper",
                           password=PASSWORD, site_codes=["GT-XB"])
    keeper_b = create_user(actor=COMMAND_LINE, username="nhusersecret", role="keeper",
                           password=PASSWORD, site_codes=["GT-NH"])
    update_site(actor=COMMAND_LINE, code="GT-NH", changes={
        "name": f"南华镇{IMG}", "address": f"nhaddresssecret{SCRIPT}",
        "keeper_name": f"nhkeepersecret{IMG}", "keeper_phone": "nhphonesecret"})
    create_site(actor=COMMAND_LINE, data={"code": "GT-NH-SEC", "name": f"秘村{SCRIPT}",
                                          "kind": "village_point", "parent": "GT-NH",
                                          "address": "nhvillagesecret"})
    create_category(actor=COMMAND_LINE, data={"code": "SEC", "name": f"类别{IMG}"})
    create_material(actor=COMMAND_LINE, data={
        "code": "SEC-1", "name": f"帐篷{SCRIPT}", "category": "SEC", "unit": "顶", "spec": IMG,
        "tracking": "lot", "returnable": True})
    create_material(actor=COMMAND_LINE, data={
        "code": "SEC-2", "name": f"卫星电话{IMG}", "category": "SEC", "unit": "台",
        "tracking": "serial", "returnable": True, "needs_testing": True})
    norm = create_norm(actor=COMMAND_LINE, data={"name": f"定额{SCRIPT}", "site_kind": "town_store",
                                                 "materials": ["SEC-1"], "min_quantity": 50})

    receipt = stock.receive(actor=keeper_b, data={
        "site": "GT-NH", "material": "SEC-1", "quantity": 20, "lot": f"nhlotsecret{IMG}",
        "note": f"nhnotesecret{SCRIPT}"})
    [b_item] = document_items(receipt.number)
    serial_receipt = stock.receive(actor=keeper_b, data={
        "site": "GT-NH", "material": "SEC-2", "quantity": 1, "serials": [f"nhserialsecret{SCRIPT}"]})
    [b_serial] = document_items(serial_receipt.number)
    loan = stock.issue(actor=keeper_b, data={
        "site": "GT-NH", "recipient": {"type": "household", "name": f"nhrecipientsecret{IMG}"},
        "purpose": f"nhpurposesecret{SCRIPT}",
        "lines": [{"label": b_item.label, "quantity": 4, "due_back": today + dt.timedelta(days=9)}]})
    loan_line = loan.lines[0].id
    back = stock.return_items(actor=keeper_b, data={
        "issue": loan.number, "note": "nhreturnsecret",
        "lines": [{"issue_line": loan_line, "quantity": 1, "condition": "good"}]})
    outbound = transfers.create_transfer(actor=keeper_b, data={
        "from_site": "GT-NH", "to_site": "GT-XJK", "note": f"nhtransfersecret{SCRIPT}",
        "lines": [{"material": "SEC-1", "quantity": 2}]})
    stock.record_test(actor=keeper_b, data={"label": b_serial.label, "result": "ok",
                                            "note": f"nhtestsecret{IMG}"})
    stock.receive(actor=admin, data={"site": "GT-XJK", "material": "SEC-1", "quantity": 5})
    inbound = transfers.create_transfer(actor=admin, data={
        "from_site": "GT-XJK", "to_site": "GT-NH", "note": "nhinboundsecret",
        "lines": [{"material": "SEC-1", "quantity": 3}]})
    transfers.dispatch_transfer(actor=admin, number=inbound.number)
    a_receipt = stock.receive(actor=keeper_a, data={
        "site": "GT-XB", "material": "SEC-1", "quantity": 6, "lot": "xblotvisible"})
    [a_item] = document_items(a_receipt.number)
    movement = db.session.scalar(sa.select(Movement.id).where(Movement.document == receipt.number))
    inbound_line = inbound.lines[0].id
    stocktake = stocktakes.open_stocktake(actor=admin, data={
        "site": "GT-NH", "period": quarter_of(today), "note": f"nhstocktakesecret{SCRIPT}"})
    stocktakes.record_count(actor=keeper_b, stocktake_id=stocktake.id,
                            data={"label": b_item.label, "counted": 15})
    found = stocktakes.record_found(actor=keeper_b, stocktake_id=stocktake.id, data={
        "material": "SEC-1", "quantity": 2, "lot": "nhfoundsecret"})

    incident = dispatch.open_incident(actor=admin, data={
        "name": "安全测试地震", "type": "earthquake", "level": 3,
        "started_at": clock.now().isoformat(), "areas": ["GT-NH"]})
    request = dispatch.create_request(actor=keeper_b, incident_id=incident.id, data={
        "to_site": "GT-NH", "note": f"nhrequestsecret{SCRIPT}",
        "lines": [{"material": "SEC-1", "quantity": 3}]})

    kit = create_kit(actor=admin, data={"name": f"物资包{SCRIPT}", "basis": "person",
                                        "lines": [{"material": "SEC-1", "quantity": 0.25}]})

    _token, device = offline.register_device(actor=keeper_b, data={"name": f"nhdevicesecret{IMG}"})
    [held] = sync.sync(actor=keeper_b, kinds=KINDS, data={"operations": [{
        "key": "nh-offline-1", "seq": 1, "kind": "issue", "recorded_at": clock.now().isoformat(),
        "body": {"site": "GT-NH", "recipient": {"type": "person", "name": f"nhconflictsecret{SCRIPT}"},
                 "lines": [{"label": b_item.label, "quantity": 1000}]}}]})
    assert held["status"] == "conflict", held
    conflict = db.session.scalar(sa.select(SyncConflict.id).where(SyncConflict.key == "nh-offline-1"))
    imported = imports.upload(actor=keeper_b, kind="opening_stock", filename="nhimportsecret.csv",
                              data="站点编码,物资编码,数量,批次号\nGT-NH,SEC-1,4,nhimportlot\n".encode())
    imports.check(job_id=imported.id)

    b_labels = (b_item.label, b_serial.label)
    secrets = ("nhaddresssecret", "nhkeepersecret", "nhphonesecret", "nhvillagesecret",
               "nhlotsecret", "nhserialsecret", "nhrecipientsecret", "nhpurposesecret",
               "nhnotesecret", "nhreturnsecret", "nhtransfersecret", "nhtestsecret",
               "nhinboundsecret", "nhusersecret", *(("南华镇应急抢险队",) if demo else ()),
               *b_labels, *(format_label(label) for label in b_labels),
               receipt.number, serial_receipt.number, loan.number, back.number,
               outbound.number, inbound.number, stocktake.number, "nhstocktakesecret", "nhfoundsecret",
               "nhrequestsecret", "nhdevicesecret", "nhconflictsecret", "nhimportsecret", "nhimportlot")
    return World(
        site_a="GT-XB", site_b="GT-NH", leaf_b="GT-NH-SEC", keeper_a=keeper_a.username,
        keeper_b=keeper_b.username, admin=admin.username, material="SEC-1", equipment="SEC-2",
        category="SEC", norm_id=norm.id, a_label=a_item.label, a_lot="xblotvisible",
        b_label=b_item.label, b_serial_label=b_serial.label, b_receipt=receipt.number,
        b_issue=loan.number, b_issue_line=loan_line, b_return=back.number,
        b_transfer=outbound.number, b_inbound=inbound.number, b_inbound_line=inbound_line,
        b_movement=movement, b_stocktake=stocktake.id, b_found=found.id, incident=incident.id,
        b_request=request.id, kit=kit.id, b_device=device.id, b_conflict=conflict, b_import=imported.id,
        secrets=secrets)


# --- helpers -----------------------------------------------------------------------------------

def table_rows(app) -> dict[str, list[str]]:
    """Every row of every table: a refused request must leave all of it as it was."""
    with app.app_context():
        return {table.name: sorted(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
                for table in db.metadata.sorted_tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def readable(response) -> str:
    """What anyone could read in a response: headers, text, PDF text, spreadsheet cells."""
    parts = [f"{name}: {value}" for name, value in response.headers.items()]
    mimetype, data = response.mimetype, response.get_data()
    if mimetype == "application/pdf" and data.startswith(b"%PDF"):
        document = pypdfium2.PdfDocument(data)
        parts += [page.get_textpage().get_text_range() for page in document]
        document.close()
    elif "spreadsheetml" in mimetype:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        parts += [str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                  for cell in row]
        book.close()
    elif mimetype == "application/json":
        parts.append(json.dumps(response.get_json(), ensure_ascii=False))
    elif mimetype.startswith(("text/", "image/svg")):
        parts.append(html.unescape(data.decode()))
    return "\n".join(parts)
