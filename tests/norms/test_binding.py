"""Shortfalls count once (issue 15): where two norms ask the same materials of one site (棉被 per
person, and the 三断 minimum of 棉被), the pages, the export and the dashboard's count show one
row per site and material — the requirement that binds, naming both norms — while the API keeps
its per-norm rows (API.md)."""

import io
import re

import openpyxl
import pytest

from inventory.auth.access import COMMAND_LINE
from tests.factories import receive


@pytest.fixture
def overlapping(app, manager):
    """Two norms of 棉被 for town rooms: one per person for every town, a floor for 三断 towns.
    新坝镇 (三断) is under both, 南华镇 under the first only; each town holds 10 quilts."""
    from inventory.norms.services import create_norm
    with app.app_context():
        create_norm(actor=COMMAND_LINE, data={"name": "棉被", "site_kind": "town_store",
                                              "materials": ["QUILT"], "per_person": 0.1})
        create_norm(actor=COMMAND_LINE, data={"name": "棉被", "site_kind": "town_store",
                                              "hazard": "three_outages", "materials": ["QUILT"],
                                              "min_quantity": 800})
    for town in ("GT-XB", "GT-NH"):
        receive(manager, site=town, material="QUILT", quantity=10)
    return manager


def test_the_api_answers_per_norm_the_pages_per_site_and_material(app, client, login, make_user,
                                                                  overlapping):
    api_rows = overlapping.get("/shortfalls?site=GT-XB").json["items"]
    assert len(api_rows) == 2, "the API keeps one row per norm"
    binding = max(api_rows, key=lambda row: row["shortfall"])
    [nanhua] = overlapping.get("/shortfalls?site=GT-NH").json["items"]
    login(make_user("manager"))
    page = client.get("/norms/shortfalls").get_data(as_text=True)
    rows = re.findall(r"<tr><td><a href=\"/stock/\?site=(GT-[A-Z]+)\">", page)
    assert rows == ["GT-XB", "GT-NH"], "one row per site and material"
    xb = page.split('/stock/?site=GT-XB">')[1].split("</tr>")[0]
    assert f'num out">{binding["shortfall"]}<' in xb and "棉被（易“三断”）、棉被" in xb
    assert "富余不能抵补" in page
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/norms/shortfalls.xlsx").data)).active
    exported = [row for row in sheet.iter_rows(min_row=4, values_only=True)]  # under title, date, header
    assert [(row[0], row[6]) for row in exported] == [
        ("GT-XB", binding["shortfall"]), ("GT-NH", nanhua["shortfall"])]
    assert exported[0][7:] == ("床", "棉被（易“三断”）、棉被")


def test_the_dashboard_counts_what_the_report_lists(app, client, login, make_user, overlapping):
    login(make_user("manager"))
    page = client.get("/norms/shortfalls").get_data(as_text=True)
    listed = len(re.findall(r"<tr><td><a href=\"/stock/\?site=", page))
    counts = overlapping.get("/alerts").json["counts"]
    assert counts["shortfalls"] == listed == 2


def test_a_town_rollup_adds_binding_requirements_site_by_site(app, client, login, make_user,
                                                              overlapping):
    """The roll-up of 新坝镇 counts 棉被 once, at the binding requirement."""
    from inventory.auth.models import User
    from inventory.db import db
    from inventory.norms.queries import shortfall_rollup

    api_rows = overlapping.get("/shortfalls?site=GT-XB&all=true").json["items"]
    binding = max(api_rows, key=lambda row: row["shortfall"])
    with app.app_context():
        boss = db.session.scalar(db.select(User).where(User.username == "boss"))
        [town] = [row for row in shortfall_rollup(boss, level="town") if row["area"] == "GT-XB"]
    assert (town["required"], town["shortfall"]) == (binding["required"], binding["shortfall"])
