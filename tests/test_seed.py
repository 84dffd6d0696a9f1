"""The 高台县 demo: `flask seed demo` loads the county from the project's own data files."""

import os
import stat

import sqlalchemy as sa

from inventory.auth.access import COMMAND_LINE
from inventory.auth.models import User
from inventory.catalog.models import Material
from inventory.db import db
from inventory.sites.models import Agreement, Site
from inventory.stock.models import IssueLine, Movement, StockItem, Transfer
from inventory.stocktakes import queries as stocktake_queries
from inventory.stocktakes.models import Stocktake


def test_the_demo_loads_gaotai(app, client, today):
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        kinds = dict(db.session.execute(sa.select(Site.kind, sa.func.count()).group_by(Site.kind)).all())
        xinba = db.session.scalar(sa.select(Site).where(Site.code == "GT-XB"))
        materials = db.session.scalar(sa.select(sa.func.count()).select_from(Material))
        serial = db.session.scalars(sa.select(Material.name).where(Material.tracking == "serial")).all()
        roles = sorted(db.session.scalars(sa.select(User.role)).all())
        agreement_sites = db.session.scalars(sa.select(Site).where(Site.kind == "agreement_site")).all()
        agreements_complete = all(site.agreement is not None and site.agreement.lines
                                  for site in agreement_sites)
        xinba_summary = (xinba.name, xinba.population, xinba.hazards, xinba.planning_population)
    assert kinds["county_depot"] == 1 and kinds["town_store"] == 9
    assert 15 <= kinds["village_point"] <= 25 and 4 <= kinds["agreement_site"] <= 6
    assert xinba_summary[0] == "新坝镇物资储备室" and xinba_summary[1] == 16934
    assert "three_outages" in xinba_summary[2] and xinba_summary[3] == 509
    assert 75 <= materials <= 85
    assert any("卫星电话" in name for name in serial) and any("发电机" in name for name in serial)
    assert agreements_complete
    assert roles == sorted(["admin", "manager", "dispatcher", "keeper", "auditor", "viewer"])

    logins = os.path.join(app.config["INSTANCE_PATH"], "demo-logins.txt")
    assert stat.S_IMODE(os.stat(logins).st_mode) == 0o600
    with open(logins, encoding="utf-8") as f:
        username, _role, password = f.readline().split()
    assert password in result.output, "the passwords are printed once"
    assert client.post("/login", data={"username": username, "password": password}).status_code == 302
    assert "高台县救灾物资储备库" in client.get("/sites/").get_data(as_text=True)

    with app.app_context():
        depot_quilts = db.session.scalar(
            sa.select(sa.func.sum(StockItem.quantity))
            .where(StockItem.site.has(code="GT-XJK"), StockItem.material.has(code="1-02-001")))
        sites_with_stock = db.session.scalar(sa.select(sa.func.count(sa.distinct(StockItem.site_id))))
        all_sites = db.session.scalar(sa.select(sa.func.count()).select_from(Site))
        phones = db.session.scalar(sa.select(sa.func.count()).select_from(StockItem).where(
            StockItem.material.has(code="2-01-001"), StockItem.serial.is_not(None)))
        loans_out = db.session.scalars(sa.select(IssueLine).where(IssueLine.is_loan.is_(True))).all()
        in_transit = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)
                                       .where(Transfer.status == "in_transit"))
    assert depot_quilts > 1000 and sites_with_stock == all_sites and phones >= 10
    assert len(loans_out) >= 2
    assert sum(1 for line in loans_out if line.due_date < today) == 1, "one overdue loan"
    assert in_transit == 2, "罗城镇's top-up and the earthquake drill's first batch"

    # 季度盘点: the last round closed at all sites but two (one overdue, one joined since), one
    # count in progress, a few variances posted with their reasons, agreement sites verified.
    with app.app_context():
        counted, active = stocktake_queries.coverage(COMMAND_LINE)
        due = stocktake_queries.due_sites(COMMAND_LINE)
        statuses = sorted(db.session.scalars(sa.select(Stocktake.status)).all())
        counting = db.session.scalar(sa.select(Stocktake).where(Stocktake.status == "counting"))
        progress = stocktake_queries.progress(counting)
        variances = db.session.scalars(sa.select(Movement.note).where(Movement.kind == "stocktake")).all()
        verified = dict(db.session.execute(sa.select(Site.code, Agreement.last_verified).join(Agreement)).all())
    assert counted == active - 2 and active == all_sites
    assert [d.site.code for d in due if d.overdue] == ["GT-NH-DC1"], "one site overdue"
    assert [d.site.code for d in due if not d.overdue] == ["GT-XB"], "新坝镇 due, its count under way"
    assert statuses.count("counting") == 1 and set(statuses) == {"closed", "counting"}
    assert counting.site.code == "GT-XB" and 0 < progress.counted < progress.total
    assert len(variances) >= 2 and all("未说明" not in note for note in variances)
    assert (today - verified["GT-XB-DC1"]).days <= 92 and verified["GT-XB-HP-DC1"] is None
    assert (today - verified["GT-NH-DC1"]).days > 92
    assert app.test_cli_runner().invoke(args=["check", "ledger"]).exit_code == 0

    again = app.test_cli_runner().invoke(args=["seed", "demo", "--if-empty"])
    assert again.exit_code == 0 and "跳过" in again.output


def test_the_demo_has_the_default_kits_and_seed_norms_restores_them_once(app):
    from inventory.dispatch.models import Kit
    from inventory.norms.models import Norm

    assert app.test_cli_runner().invoke(args=["seed", "demo"]).exit_code == 0
    with app.app_context():
        kits = {kit.name: kit for kit in db.session.scalars(sa.select(Kit))}
        assert set(kits) == {"个人生活包（72小时）", "帐篷安置包（按人）", "家庭安置包（按户）"}
        person = {line.material.code: line.quantity for line in kits["个人生活包（72小时）"].lines}
        assert person == {"1-05-001": 0.682, "1-04-001": 0.3, "1-02-001": 1, "1-02-002": 0.5}
        assert kits["家庭安置包（按户）"].basis == "household" and kits["帐篷安置包（按人）"].basis == "person"
        assert all(kit.note and kit.active for kit in kits.values())
        norms = db.session.scalar(sa.select(sa.func.count()).select_from(Norm))
    again = app.test_cli_runner().invoke(args=["seed", "norms"])
    assert again.exit_code == 0 and "已有救灾物资包，未作改动" in again.output
    # A database from before kits existed: `seed norms` adds them and leaves the norms alone.
    with app.app_context():
        for kit in db.session.scalars(sa.select(Kit)):
            db.session.delete(kit)
        db.session.commit()
    restored = app.test_cli_runner().invoke(args=["seed", "norms"])
    assert restored.exit_code == 0 and "已载入 3 个默认救灾物资包" in restored.output
    with app.app_context():
        lines = db.session.scalar(sa.select(sa.func.count()).select_from(Kit).join(Kit.lines))
        assert lines == 11 and db.session.scalar(sa.select(sa.func.count()).select_from(Norm)) == norms

def test_every_kit_line_names_a_catalog_material_in_its_unit():
    import csv
    from pathlib import Path

    data = Path(__file__).resolve().parent.parent / "inventory" / "seed" / "data"
    with open(data / "materials.csv", encoding="utf-8", newline="") as f:
        units = {row["code"]: row["unit"] for row in csv.DictReader(f)}
    with open(data / "kits.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(row["material"] in units for row in rows)
    assert all(row["basis"] in ("person", "household") and float(row["quantity"]) > 0 for row in rows)
    # 9 L of water a person is 0.682 cases of 13.2 L: the kit is in the catalog's unit, not litres.
    water = [row for row in rows if row["material"] == "1-05-001"]
    assert units["1-05-001"] == "箱" and [float(row["quantity"]) for row in water] == [0.682]


def test_the_demo_has_a_closed_flood_and_an_earthquake_drill_under_way(app, today):
    import datetime as dt

    from inventory import clock
    from inventory.dispatch.models import Incident, Request
    from inventory.stock.models import Issue

    assert app.test_cli_runner().invoke(args=["seed", "demo"]).exit_code == 0
    with app.app_context():
        flood, drill = db.session.scalars(sa.select(Incident).order_by(Incident.started_at)).all()
        assert (flood.type, flood.level, flood.status) == ("flood", 4, "closed")
        assert 14 <= (today - flood.started_at.astimezone(clock.timezone()).date()).days <= 60
        [flood_request] = db.session.scalars(sa.select(Request).where(Request.incident_id == flood.id)).all()
        assert flood_request.status == "approved"
        flood_transfers = {a.transfer for a in flood_request.allocations}
        assert flood_transfers and all(t.status == "received" and t.incident_id == flood.id
                                       for t in flood_transfers)
        issues = db.session.scalars(sa.select(Issue).where(Issue.incident_id == flood.id)).all()
        loans = [line for issue in issues for line in issue.lines if line.is_loan]
        assert len(issues) >= 2 and len(loans) == 1
        assert 0 < loans[0].returned < loans[0].quantity and loans[0].outstanding > 0, "a loan partly back"

        assert (drill.type, drill.level, drill.status) == ("earthquake", 3, "open")
        assert dt.timedelta(0) < clock.now() - drill.started_at <= dt.timedelta(hours=6)
        assert [site.code for site in drill.cut_off_sites] == ["GT-XB"]
        requests = db.session.scalars(sa.select(Request).where(Request.incident_id == drill.id)).all()
        assert sorted(r.status for r in requests) == ["approved", "open"]
        assert len({r.to_site.code for r in requests}) == 2
        [approved] = [r for r in requests if r.status == "approved"]
        [waiting] = [r for r in requests if r.status == "open"]
        assert waiting.to_site.code == "GT-XB" and approved.to_site.code != "GT-XB"
        on_the_road = {a.transfer for a in approved.allocations}
        assert on_the_road and all(t.status == "in_transit" and t.incident_id == drill.id
                                   for t in on_the_road)
        assert all(a.from_site.code != "GT-XB" for a in approved.allocations), "never from a cut-off town"
