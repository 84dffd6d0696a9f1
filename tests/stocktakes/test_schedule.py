"""The quarterly schedule (季度盘点): which sites are due or overdue for their count, in the
caller's scope, in the alerts, the readiness colour and the dashboard's coverage.

A site's count falls due STOCKTAKE_INTERVAL_DAYS (92) after its last approved full count, or —
never counted — after it was opened; it is listed from STOCKTAKE_DUE_SOON_DAYS (14) before.
"""

import datetime as dt

import sqlalchemy as sa

from inventory import clock
from inventory.alerts.queries import readiness
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.sites.models import Site
from inventory.stocktakes import approval, queries, services
from inventory.stocktakes.models import quarter_of
from tests.factories import Api, check_ledger, log_in, make_material, receive, token_for

INTERVAL, SOON = 92, 14
EVERY_SITE = ["GT", "GT-XB", "GT-XB-HP", "GT-XB-DC1", "GT-NH"]


def _later(today, days):
    return today + dt.timedelta(days=days)


def _due(app, username=None, *, on):
    """{code: (due_on, days_overdue)} of the sites due on ``on``, for ``username`` (or everyone)."""
    with app.app_context():
        user = find_user(username) if username else COMMAND_LINE
        return {due.site.code: (due.due_on, due.days_overdue) for due in queries.due_sites(user, on=on)}


def _count_all(app, site, *, include_sub_sites=False, categories=None, short=0):
    """A whole count through the services, on the clock's day: the manager opens it, the keeper
    of 新坝镇 counts every line as the books say (``short`` fewer on the first), the manager
    approves. Answer the stocktake's number."""
    with app.app_context():
        boss, keeper = find_user("boss"), find_user("xb")
        opened = services.open_stocktake(actor=boss, data={
            "site": site, "period": quarter_of(clock.today()), "include_sub_sites": include_sub_sites,
            **({"categories": categories} if categories else {})})
        stocktake_id, number = opened.id, opened.number
        for n, line in enumerate(queries.lines(services.get_stocktake(stocktake_id), books=False)):
            services.record_count(actor=keeper, stocktake_id=stocktake_id, data={
                "label": line.label, "counted": line.item.quantity - (short if n == 0 else 0)})
        services.submit(actor=keeper, stocktake_id=stocktake_id)
        approval.approve(actor=boss, stocktake_id=stocktake_id, data={})
        assert services.get_stocktake(stocktake_id).status == "closed"
    return number


def test_a_site_never_counted_falls_due_one_interval_after_it_was_opened(app, county, today):
    assert _due(app, on=today) == {}, "a site opened today is not due"
    due_on = _later(today, INTERVAL)
    assert _due(app, on=_later(today, INTERVAL - SOON - 1)) == {}
    listed = _due(app, on=_later(today, INTERVAL - SOON))
    assert list(listed) == EVERY_SITE and set(listed.values()) == {(due_on, 0)}
    assert set(_due(app, on=due_on).values()) == {(due_on, 0)}, "on its due day it is due, not late"
    assert set(_due(app, on=_later(today, INTERVAL + 1)).values()) == {(due_on, 1)}
    with app.app_context():
        assert queries.coverage(COMMAND_LINE, on=today) == (0, 5)


def test_an_approved_count_clears_the_site_until_the_interval_runs_out(app, keeper, manager, today):
    receive(keeper, quantity=20, lot="W1")
    receive(keeper, material="TENT", quantity=4)
    day = _later(today, 85)
    assert "GT-XB" in _due(app, on=day)
    with clock.travel(day):
        number = _count_all(app, "GT-XB", short=1)
        assert "GT-XB" not in _due(app, on=day)
        with app.app_context():
            assert queries.coverage(COMMAND_LINE) == (1, 5)
    assert _due(app, on=_later(day, INTERVAL - SOON - 1)).keys() == set(EVERY_SITE) - {"GT-XB"}
    assert _due(app, on=_later(day, INTERVAL - SOON))["GT-XB"] == (_later(day, INTERVAL), 0)
    with clock.travel(_later(day, INTERVAL + 3)), app.app_context():
        [again] = [due for due in queries.due_sites(COMMAND_LINE) if due.site.code == "GT-XB"]
        assert again.overdue and again.days_overdue == 3 and again.due_on == _later(day, INTERVAL)
        assert again.last_counted.astimezone(clock.timezone()).date() == day
        assert queries.coverage(COMMAND_LINE) == (0, 5)
    assert number.startswith("PD-") and check_ledger(app)[0] == 0


def test_a_cycle_count_of_some_categories_is_not_the_quarterly_count(app, keeper, manager, today):
    make_material(app, "SAT", "天通卫星电话", category="2-01", unit="部")
    receive(keeper, quantity=20, lot="W1")
    receive(keeper, material="SAT", quantity=2)
    day = _later(today, 85)
    with clock.travel(day):
        _count_all(app, "GT-XB", categories=["1-05"])
    assert "GT-XB" in _due(app, on=day), "only water and tents were counted"
    with clock.travel(day):
        _count_all(app, "GT-XB")
    assert "GT-XB" not in _due(app, on=day)


def test_a_count_of_a_town_with_its_sub_sites_covers_them(app, keeper, manager, today):
    receive(keeper, quantity=20, lot="W1")
    receive(manager, site="GT-XB-HP", quantity=5, lot="W2")
    day = _later(today, 85)
    with clock.travel(day):
        _count_all(app, "GT-XB", include_sub_sites=True)
    assert list(_due(app, on=day)) == ["GT", "GT-NH"]
    with app.app_context():
        assert queries.coverage(COMMAND_LINE, on=day) == (3, 5)
        assert queries.coverage(find_user("xb"), on=day) == (3, 3)


def test_a_keeper_sees_only_the_due_sites_of_their_own_subtree(app, client, keeper, manager, today):
    with clock.travel(_later(today, INTERVAL + 2)):
        own = Api(client, token_for(app, "xb")).get("/alerts").json
        everyone = Api(client, token_for(app, "boss")).get("/alerts").json
    assert own["stocktakes_due"] == ["GT-XB", "GT-XB-HP", "GT-XB-DC1"]
    assert own["counts"]["stocktakes_due"] == 3
    assert everyone["stocktakes_due"] == EVERY_SITE and everyone["counts"]["stocktakes_due"] == 5
    assert manager.get("/alerts").json["stocktakes_due"] == [], "nothing is due today"


def test_an_inactive_site_is_never_due(app, county, today):
    with app.app_context():
        db.session.execute(sa.update(Site).where(Site.code == "GT-NH").values(active=False))
        db.session.commit()
    assert "GT-NH" not in _due(app, on=_later(today, 200))
    with app.app_context():
        assert queries.coverage(COMMAND_LINE, on=today) == (0, 4)


def test_an_overdue_count_turns_the_readiness_amber(app, keeper, manager, today):
    assert manager.post("/norms", {"name": "棉被", "site_kind": "town_store", "materials": ["QUILT"],
                                   "min_quantity": 10}).status_code == 201
    receive(keeper, material="QUILT", quantity=10)
    with app.app_context():
        xinba = db.session.scalar(sa.select(Site.id).where(Site.code == "GT-XB"))
        assert readiness(COMMAND_LINE, today=_later(today, INTERVAL))[xinba]["colour"] == "green"
        late = readiness(COMMAND_LINE, today=_later(today, INTERVAL + 1))[xinba]
    assert late == {"colour": "amber", "reasons": ["季度盘点逾期"]}
    day = _later(today, INTERVAL + 1)
    with clock.travel(day):
        _count_all(app, "GT-XB")
        with app.app_context():
            assert readiness(COMMAND_LINE)[xinba]["colour"] == "green"


def test_the_alerts_page_and_the_dashboard_show_the_schedule(app, client, keeper, manager, today):
    receive(keeper, quantity=20, lot="W1")
    day = _later(today, INTERVAL + 5)
    with clock.travel(_later(today, 85)):
        _count_all(app, "GT-XB")
    with clock.travel(day):
        log_in(client, "boss")
        page = client.get("/alerts/").get_data(as_text=True)
        home = client.get("/").get_data(as_text=True)
    section = page[page.index('id="stocktakes"'):page.index('id="transfers"')]
    # 新坝镇 was counted 12 days ago; the others were never counted and are 5 days late.
    assert "新坝镇储备室" not in section and "和平村储备点" in section
    assert section.count("逾期 5 天") == 4 and "从未盘点" in section
    assert 'href="/stocktakes/?site=GT-NH"' in section
    audited = home[home.index('id="audited"'):]
    assert "1 / 5" in audited[:audited.index("</a>")] and "本季度已盘点站点" in audited
