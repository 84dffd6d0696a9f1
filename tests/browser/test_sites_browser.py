"""Real Chromium: log in, create a site through the form, read it back, at phone width."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def test_a_manager_logs_in_and_creates_a_site_on_a_phone(live_server, page, make_user, county):
    manager = make_user("manager", username="guan")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/sites/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", manager)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("站点")

    page.click("text=新建站点")
    page.fill("#code", "GT-LC")
    page.fill("#name", "罗城镇物资储备室")
    page.select_option("#kind", "town_store")
    page.select_option("#parent", "GT")
    page.fill("#population", "10001")
    page.check("input[name=hazards][value=three_outages]")
    expect(page.locator("fieldset.agreement")).to_be_hidden()
    page.click("button:has-text('保存')")

    expect(page).to_have_url(f"{live_server}/sites/GT-LC")
    expect(page.locator("h1")).to_contain_text("罗城镇物资储备室")
    expect(page.locator(".facts")).to_contain_text("301")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], \
        "nothing overflows a 360-px screen"


def test_the_agreement_section_follows_the_kind(live_server, page, make_user, county):
    manager = make_user("manager", username="guan")
    page.goto(f"{live_server}/login")
    page.fill("#username", manager)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/sites/new")
    agreement = page.locator("fieldset.agreement")
    expect(agreement).to_be_hidden()
    page.select_option("#kind", "agreement_site")
    expect(agreement).to_be_visible()


def test_english_in_the_browser(live_server, page):
    page.goto(f"{live_server}/login?lang=en")
    expect(page.locator("h1")).to_have_text("Log in")
    page.goto(f"{live_server}/login?lang=zh")
    expect(page.locator("h1")).to_have_text("登录")


def test_the_dashboard_draws_the_county_with_the_demo_data(app, live_server, page, make_user):
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    manager = make_user("manager", username="guan")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/login")
    page.fill("#username", manager)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("储备态势")
    dots = page.locator("svg.map .dot")
    assert dots.count() == 35, "every demo site with coordinates is on the map"
    assert page.locator("svg.map .dot.red").count() >= 1
    assert page.locator("table.heatmap tbody tr").count() == 10, "the depot and nine towns"
    assert page.locator("svg.bars rect").count() == 12
    shot = page.screenshot(full_page=True)
    assert len(shot) > 50_000
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
