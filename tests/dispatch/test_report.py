"""The incident's reports (dispatch/queries.py, views/reports.py, api/incident_reports.py), worked
by hand, on SQLite and PostgreSQL.

The scene: towns QX-A (39.0°N) and QX-B (39.3°N) are hit; sources QX-S1 (39.1°, 11.1 km from A)
and QX-S2 (39.2°) hold the goods; QX-C is cut off. One norm: every town store keeps 30 tents
(nobody has a planning population, so min_quantity is what it requires).

  S1: 100 water, 50 tents (20 above the norm) · S2: 40 water, 20 quilts of the province (省厅).
  R1 to A: 120 water, 15 tents — planned S1 100 water + 15 tents, S2 20 water; approved.
  R2 to B: 30 water, 10 quilts — the province agreed; planned S2 20 water (all that is left),
           10 province quilts; 10 water unmet; approved.
  R3 to B: 5 tents, left open.   R4 to A: 999 water, cancelled (counts nowhere).
  Receipts: S1→A arrives with 95 of its 100 water (5 short); S2→A is still on the road;
  S2→B arrives whole.
  Issues at A: household 张 30 water + 4 tents (loan), household 李 2 tents (loan); 张 brings
  back 1 tent good and 1 damaged. At B: 3 province quilts to 王; 5 water to 赵, reversed.
"""

import datetime as dt
import io
import zipfile

import openpyxl
import pypdfium2
import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch import planning, queries
from inventory.dispatch.services import (
    cancel_request,
    close_incident,
    create_request,
    get_incident,
    open_incident,
)
from inventory.feed.queries import timeline
from inventory.norms.queries import binding_shortfalls
from inventory.norms.services import create_norm
from inventory.stock import services as stock
from inventory.stock import transfers
from inventory.stock.models import Issue
from tests.factories import Api, make_site, make_user, page_client, token_for

PROVINCE = "省应急管理厅"
NAME = "东岭地震"


def _request(incident_id, to_site, lines):
    return create_request(actor=COMMAND_LINE, incident_id=incident_id, data={
        "to_site": to_site, "lines": [{"material": code, "quantity": n} for code, n in lines.items()]})


def _issue(site, incident_id, name, lines):
    return stock.issue(actor=COMMAND_LINE, data={
        "site": site, "incident": incident_id, "recipient": {"type": "household", "name": name},
        "lines": [{"material": code, "quantity": n} for code, n in lines.items()]})


@pytest.fixture
def scene(app, catalog):
    """The scene of the module docstring; answers the incident's id and when it started."""
    make_site(app, "QX", name="县库")
    for code, name, latitude in (("QX-A", "甲镇", 39.0), ("QX-S1", "一号库", 39.1), ("QX-S2", "二号库", 39.2),
                                 ("QX-B", "乙镇", 39.3), ("QX-C", "丙镇", 39.5)):
        make_site(app, code, parent="QX", name=name, latitude=latitude, longitude=99.0, planning_population=0)
    started = (clock.now() - dt.timedelta(minutes=25)).replace(microsecond=0)
    with app.app_context():
        create_norm(actor=COMMAND_LINE, data={"name": "帐篷储备", "site_kind": "town_store",
                                              "materials": ["TENT"], "min_quantity": 30})
        for site, material, quantity, owner in (("QX-S1", "WATER", 100, None), ("QX-S1", "TENT", 50, None),
                                                ("QX-S2", "WATER", 40, None), ("QX-S2", "QUILT", 20, PROVINCE)):
            stock.receive(actor=COMMAND_LINE, data={"site": site, "material": material, "quantity": quantity,
                                                    **({"owner": owner} if owner else {})})
        incident = open_incident(actor=COMMAND_LINE, data={
            "name": NAME, "type": "earthquake", "level": 2, "started_at": started.isoformat(),
            "people": [{"site": "QX-A", "affected_people": 1200, "displaced_people": 300},
                       {"site": "QX-B", "affected_people": 800, "displaced_people": 150}],
            "cut_off_sites": ["QX-C"]})
        r1 = _request(incident.id, "QX-A", {"WATER": 120, "TENT": 15})
        planning.plan(actor=COMMAND_LINE, request_id=r1.id)
        approved = planning.approve(actor=COMMAND_LINE, request_id=r1.id, data={})
        sent_to_a = {transfer.from_site.code: transfer for transfer in approved}
        r2 = _request(incident.id, "QX-B", {"WATER": 30, "QUILT": 10})
        planning.record_owner_approval(actor=COMMAND_LINE, request_id=r2.id, data={
            "owner": PROVINCE, "approved_by": "省厅值班室", "reference": "电话记录 3",
            "approved_at": (clock.now() - dt.timedelta(minutes=1)).isoformat()})
        planning.plan(actor=COMMAND_LINE, request_id=r2.id)
        [sent_to_b] = planning.approve(actor=COMMAND_LINE, request_id=r2.id, data={})
        _request(incident.id, "QX-B", {"TENT": 5})
        cancel_request(actor=COMMAND_LINE, request_id=_request(incident.id, "QX-A", {"WATER": 999}).id)

        from_s1 = sent_to_a["QX-S1"]
        water_line = next(line for line in from_s1.lines if line.material.code == "WATER")
        transfers.receive_transfer(actor=COMMAND_LINE, number=from_s1.number,
                                   data={"lines": [{"line": water_line.id, "received": 95}]})
        transfers.receive_transfer(actor=COMMAND_LINE, number=sent_to_b.number)

        zhang = _issue("QX-A", incident.id, "张", {"WATER": 30, "TENT": 4})
        _issue("QX-A", incident.id, "李", {"TENT": 2})
        tents = next(line for line in zhang.lines if line.item.material.code == "TENT")
        stock.return_items(actor=COMMAND_LINE, data={"issue": zhang.number, "lines": [
            {"issue_line": tents.id, "quantity": 1, "condition": "good"},
            {"issue_line": tents.id, "quantity": 1, "condition": "damaged"}]})
        _issue("QX-B", incident.id, "王", {"QUILT": 3})
        wrong = _issue("QX-B", incident.id, "赵", {"WATER": 5})
        stock.reverse_issue(actor=COMMAND_LINE, number=wrong.number, note="错发")
        return incident.id, started


FIELDS = ("requested", "planned", "dispatched", "in_transit", "received", "shortage", "issued", "returned",
          "outstanding_loans", "unmet")


def _figures(rows, *keys) -> dict:
    return {tuple(getattr(row, key) for key in keys): tuple(getattr(row, name) for name in FIELDS)
            for row in rows}


# Worked by hand from the module docstring, in FIELDS order.
BY_SITE = {
    ("QX-A", "WATER"): (120, 120, 0, 20, 95, 5, 30, 0, 0, 0),    # 100 + 20 left for A: met
    ("QX-A", "TENT"): (15, 15, 0, 0, 15, 0, 6, 2, 4, 0),         # 6 lent, 1 good + 1 damaged back
    ("QX-S1", "WATER"): (0, 0, 100, 0, 0, 0, 0, 0, 0, 0),
    ("QX-S1", "TENT"): (0, 0, 15, 0, 0, 0, 0, 0, 0, 0),
    ("QX-S2", "WATER"): (0, 0, 40, 0, 0, 0, 0, 0, 0, 0),         # 20 to A, 20 to B
    ("QX-S2", "QUILT"): (0, 0, 10, 0, 0, 0, 0, 0, 0, 0),
    ("QX-B", "WATER"): (30, 20, 0, 0, 20, 0, 0, 0, 0, 10),       # the reversed issue counts nowhere
    ("QX-B", "QUILT"): (10, 10, 0, 0, 10, 0, 3, 0, 0, 0),
    ("QX-B", "TENT"): (5, 0, 0, 0, 0, 0, 0, 0, 0, 5),            # R3, open
}
BY_MATERIAL = {
    ("WATER",): (150, 140, 140, 20, 115, 5, 30, 0, 0, 10),
    ("TENT",): (20, 15, 15, 0, 15, 0, 6, 2, 4, 5),
    ("QUILT",): (10, 10, 10, 0, 10, 0, 3, 0, 0, 0),
}


def test_report_figures_equal_the_hand_worked_numbers(app, scene):
    incident_id, _started = scene
    with app.app_context():
        report = queries.report(COMMAND_LINE, get_incident(incident_id))
        assert _figures(report.rows, "site", "material") == BY_SITE
        assert _figures(report.totals, "material") == BY_MATERIAL
        # The province's quilts, apart: planned and received at B, sent from S2, 3 handed out.
        assert {(row.owner, row.site, row.material): (row.planned, row.dispatched, row.received, row.issued)
                for row in report.owned} == {(PROVINCE, "QX-S2", "QUILT"): (0, 10, 0, 0),
                                             (PROVINCE, "QX-B", "QUILT"): (10, 0, 10, 3)}
        assert report.scoped is False
        assert [row.site for row in report.rows][:2] == ["QX-A", "QX-A"]  # by the site tree


def test_keepers_see_their_own_sites_rows_and_viewers_read_everything(app, scene):
    incident_id, _started = scene
    keeper_a = make_user(app, "keeper", sites=["QX-A"])
    viewer = make_user(app, "viewer")
    with app.app_context():
        incident = get_incident(incident_id)
        mine = queries.report(find_user(keeper_a), incident)
        assert {row.site for row in mine.rows} == {"QX-A"} and mine.owned == [] and mine.scoped
        assert _figures(mine.totals, "material") == {
            ("WATER",): BY_SITE[("QX-A", "WATER")], ("TENT",): BY_SITE[("QX-A", "TENT")]}
        assert {row.to_site.code for row in db.session.scalars(
            queries.requests(find_user(keeper_a), incident=incident))} == {"QX-A"}
        assert len(db.session.scalars(queries.requests(find_user(viewer), incident=incident)).all()) == 4
    page = page_client(app, keeper_a).get(f"/incidents/{incident_id}/report").get_data(as_text=True)
    assert "甲镇" in page and "乙镇" not in page.split("按站点", 1)[1] and "仅含您负责的站点" in page
    answer = Api(app.test_client(), token_for(app, keeper_a)).get(f"/incidents/{incident_id}/report")
    assert answer.status_code == 200
    assert {row["site"] for row in answer.json["sites"]} == {"QX-A"} and answer.json["scoped"] is True
    assert answer.json["other_owners"] == []
    everyone = page_client(app, viewer)
    for path in ("report", "first-report", "replenishment"):
        response = everyone.get(f"/incidents/{incident_id}/{path}")
        assert response.status_code == 200, path
    whole = everyone.get(f"/incidents/{incident_id}/report").get_data(as_text=True)
    assert "乙镇" in whole and PROVINCE in whole


def test_the_api_report_answers_every_figure(app, scene):
    incident_id, _started = scene
    api = Api(app.test_client(), token_for(app, make_user(app, "dispatcher")))
    answer = api.get(f"/incidents/{incident_id}/report").json
    assert {(row["site"], row["material"]): tuple(row[name] for name in FIELDS)
            for row in answer["sites"]} == BY_SITE
    assert {(row["material"],): tuple(row[name] for name in FIELDS)
            for row in answer["materials"]} == BY_MATERIAL
    assert answer["incident"]["name"] == NAME and answer["scoped"] is False
    assert {(row["owner"], row["site"]): row["received"] for row in answer["other_owners"]} == {
        (PROVINCE, "QX-S2"): 0, (PROVINCE, "QX-B"): 10}
    assert api.get("/incidents/999999/report").status_code == 404
    assert api.get(f"/incidents/{2**31}/report").status_code == 404


def test_incident_counts_and_transfers_late_on_the_road(app, scene):
    incident_id, _started = scene
    with app.app_context():
        incident = get_incident(incident_id)
        # R3 waits; B lacks 10 water and 5 tents; S2→A is on the road, not late yet.
        assert queries.incident_counts(incident) == {
            "open_requests": 1, "unmet_lines": 2, "in_transit": 1, "overdue_transfers": 0}
        with clock.travel(clock.today() + dt.timedelta(days=5)):
            assert queries.incident_counts(incident)["overdue_transfers"] == 1
        events = [event.type for event in timeline(incident)]
        assert events[0] == "incident.opened" and events.count("request.created") == 4
        assert events.count("request.approved") == 2 and "request.cancelled" in events


def test_first_report_sums_people_and_goods_and_runs_the_one_hour_clock(app, scene):
    incident_id, started = scene
    with app.app_context():
        incident = get_incident(incident_id)
        with clock.travel(started + dt.timedelta(minutes=25, seconds=30)):
            sheet = queries.first_report(incident)
        assert (sheet["kind"], sheet["title"]) == ("first", "首报")
        assert (sheet["affected_people"], sheet["displaced_people"]) == (2000, 450)
        assert [area["site"] for area in sheet["areas"]] == ["QX-A", "QX-B"]
        assert sheet["cut_off_sites"] == ["QX-C"]
        assert {line["material"]: (line["dispatched"], line["in_transit"], line["received"])
                for line in sheet["goods"]} == {"WATER": (140, 20, 115), "TENT": (15, 0, 15),
                                                "QUILT": (10, 0, 10)}
        assert {(line["site"], line["material"]): line["quantity"] for line in sheet["unmet"]} == {
            ("QX-B", "WATER"): 10, ("QX-B", "TENT"): 5}
        assert sheet["open_requests"] == 1
        assert sheet["clock"] == {"minutes_since_start": 25, "target_minutes": 60, "minutes_left": 35,
                                  "overdue": False, "text": "剩余 35 分钟"}
        with clock.travel(started + dt.timedelta(minutes=85, seconds=30)):
            late = queries.first_report(incident, sequence=2)
        assert late["title"] == "续报（第 2 次）" and late["kind"] == "follow_up"
        assert (late["clock"]["overdue"], late["clock"]["text"]) == (True, "已超时 25 分钟")
    api = Api(app.test_client(), token_for(app, make_user(app, "viewer")))
    with clock.travel(started + dt.timedelta(minutes=25, seconds=30)):
        answer = api.get(f"/incidents/{incident_id}/first-report?sequence=1")
    assert answer.status_code == 200
    assert (answer.json["sequence"], answer.json["title"]) == (1, "续报（第 1 次）")
    assert answer.json["displaced_people"] == 450
    assert answer.json["clock"]["minutes_left"] == 35
    unmet = {line["material"]: line["quantity"] for line in answer.json["unmet_totals"]}
    assert unmet == {"WATER": 10, "TENT": 5}
    assert api.get(f"/incidents/{incident_id}/first-report?sequence=x").status_code == 422


def test_replenishment_is_the_norm_shortfall_of_the_sites_the_incident_drew_on(app, scene):
    incident_id, _started = scene
    with app.app_context():
        incident = get_incident(incident_id)
        plan = queries.replenishment(incident)
        # A holds 15 − 6 + 1 good back = 10 tents; B and S2 none; S1 35 (above 30); C drew nothing.
        assert {row["site"]: row["shortfall"] for row in plan.rows} == {"QX-A": 20, "QX-S2": 30, "QX-B": 30}
        assert plan.purchases == [{"materials": ["TENT"], "names": ["棉帐篷"], "quantity": 80, "sites": 3,
                                   "unit": "顶"}]
        norms = {row["site"]: row["shortfall"] for row in binding_shortfalls(COMMAND_LINE)}
        assert {site: norms[site] for site in ("QX-A", "QX-S2", "QX-B")} == {row["site"]: row["shortfall"]
                                                                           for row in plan.rows}
        assert "QX-C" in norms and not plan.finished
    client = page_client(app, make_user(app, "manager"))
    assert "事件未结束" in client.get(f"/incidents/{incident_id}/replenishment").get_data(as_text=True)
    with app.app_context():
        close_incident(actor=COMMAND_LINE, incident_id=incident_id)
    assert "事件未结束" not in client.get(f"/incidents/{incident_id}/replenishment").get_data(as_text=True)
    answer = Api(app.test_client(), token_for(app, make_user(app, "viewer"))).get(
        f"/incidents/{incident_id}/replenishment").json
    assert answer["finished"] is True and answer["purchases"][0]["quantity"] == 80
    assert {row["site"] for row in answer["sites"]} == {"QX-A", "QX-S2", "QX-B"}


# --- the paper -------------------------------------------------------------------------------------

def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(data)
    try:
        return "".join("".join(page.get_textpage().get_text_range().split()) for page in document)
    finally:
        document.close()


def _sheets(data: bytes) -> dict[str, list[tuple]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert not any("<f>" in archive.read(name).decode() for name in archive.namelist()
                       if name.startswith("xl/worksheets/"))
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_the_report_prints_as_pdf_and_exports_numbers_as_numbers(app, scene):
    incident_id, _started = scene
    client = page_client(app, make_user(app, "dispatcher"))
    answer = client.get(f"/incidents/{incident_id}/report?format=pdf")
    assert answer.mimetype == "application/pdf"
    text = _pdf_text(answer.data)
    assert NAME in text and "物资调度统计" in text and PROVINCE in text
    answer = client.get(f"/incidents/{incident_id}/report?format=xlsx")
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    sheets = _sheets(answer.data)
    header = sheets["按站点"][2]
    rows = {(row[0], row[2]): row[5:] for row in sheets["按站点"][3:]}
    assert header[5:] == ("申报", "已计划", "已调出", "在途", "已接收", "短少", "已发放", "已归还",
                          "未归还借用", "未满足")
    assert rows == BY_SITE
    assert all(isinstance(value, int) for row in rows.values() for value in row)
    by_material = {row[0]: row[3:] for row in sheets["按物资"][3:]}
    assert by_material == {key[0]: value for key, value in BY_MATERIAL.items()}
    # owner, site, …, then planned, dispatched, in transit, received, issued
    assert [(row[0], row[1], row[7], row[10]) for row in sheets["其他所有者物资"][3:]] == [
        (PROVINCE, "QX-S2", 10, 0), (PROVINCE, "QX-B", 0, 3)]


def test_the_first_report_prints_on_one_page(app, scene):
    incident_id, started = scene
    client = page_client(app, make_user(app, "dispatcher"))
    with clock.travel(started + dt.timedelta(minutes=25, seconds=30)):
        page = client.get(f"/incidents/{incident_id}/first-report").get_data(as_text=True)
        data = client.get(f"/incidents/{incident_id}/first-report?format=pdf&sequence=0").data
    assert "首报" in page and "剩余 35 分钟" in page and 'data-figure="displaced_people">450<' in page
    document = pypdfium2.PdfDocument(data)
    assert len(document) == 1
    document.close()
    text = _pdf_text(data)
    assert NAME in text and "首报" in text and "剩余35分钟" in text and "2000" in text


def test_the_replenishment_list_exports_what_to_buy(app, scene):
    incident_id, _started = scene
    client = page_client(app, make_user(app, "manager"))
    sheets = _sheets(client.get(f"/incidents/{incident_id}/replenishment?format=xlsx").data)
    assert sheets["采购清单"][3:] == [("TENT", "棉帐篷", "顶", 80, 3)]
    assert {row[0]: row[6] for row in sheets["按站点"][3:]} == {"QX-A": 20, "QX-S2": 30, "QX-B": 30}
    assert NAME in _pdf_text(client.get(f"/incidents/{incident_id}/replenishment?format=pdf").data)


def test_bad_report_requests_get_a_clear_answer(app, scene):
    incident_id, _started = scene
    client = page_client(app, make_user(app, "viewer"))
    assert client.get(f"/incidents/{incident_id}/report?format=doc").status_code == 422
    assert client.get(f"/incidents/{incident_id}/first-report?format=xlsx").status_code == 422
    assert client.get(f"/incidents/{incident_id}/first-report?sequence=-1").status_code == 422
    for odd in ("²", "1000", "1.5", "9" * 40):
        assert client.get(f"/incidents/{incident_id}/first-report?sequence={odd}").status_code == 422, odd
    assert client.get("/incidents/999999/report").status_code == 404
    assert client.get("/incidents/999999/first-report").status_code == 404


def test_a_new_incident_reports_nothing_sent_yet(app, scene):
    with app.app_context():
        incident = open_incident(actor=COMMAND_LINE, data={
            "name": "空报", "type": "flood", "level": 4, "started_at": clock.now().isoformat(),
            "areas": ["QX-C"]})
        report = queries.report(COMMAND_LINE, incident)
        assert (report.rows, report.totals, report.owned) == ([], [], [])
        sheet = queries.first_report(incident)
        assert (sheet["goods"], sheet["unmet"], sheet["affected_people"]) == ([], [], 0)
        assert queries.replenishment(incident).rows == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)
                                 .where(Issue.incident_id == incident.id)) == 0
