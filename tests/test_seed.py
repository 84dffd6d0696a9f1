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
    assert in_transit == 1

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
