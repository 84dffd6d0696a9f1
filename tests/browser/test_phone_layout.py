"""Every page on a 360-px phone, for each kind of user, with the demo county loaded: nothing
wider than the screen, no text smaller than 12 px (SVG text as drawn, not as written), and the
tab bar's targets at least 48 px (issue 15)."""

import re

import pytest
import sqlalchemy as sa

from inventory import clock
from inventory.auth.access import COMMAND_LINE
from inventory.db import db
from inventory.sites.models import Site
from inventory.stock.models import StockItem
from inventory.stocktakes.models import Stocktake, StocktakeLine, quarter_of
from inventory.stocktakes.services import open_stocktake
from tests.browser.conftest import PHONE
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PAGES = ["/", "/more", "/scan", "/stock/", "/stock/summary", "/stock/issue", "/stock/receive",
         "/stock/issues", "/stock/loans", "/stock/transfers", "/stock/transfers/new", "/stock/ledger",
         "/alerts/", "/norms/shortfalls", "/norms/", "/sites/", "/sites/GT-CG", "/catalog/", "/labels/",
         "/password", "/stocktakes/", "/stocktakes/new", "/incidents/kits", "/incidents/roads",
         "/stock/issue/queue", "/incidents/", "/incidents/new", "/offline/devices",
         "/offline/app", "/imports/"]
MANAGER_PAGES = ["/sites/new", "/norms/new", "/catalog/new", "/audit/", "/incidents/kits/new",
                 "/offline/conflicts"]

# Each visible text's size as the eye sees it: an SVG's text is scaled with its drawing.
SMALL_TEXT = """() => {
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!node.textContent.trim() || !element || element.closest("[hidden], .sr-only, title, script")) continue;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    let size = parseFloat(style.fontSize);
    if (element instanceof SVGElement && element.getScreenCTM()) {
      const m = element.getScreenCTM();
      size *= Math.hypot(m.a, m.b);
    }
    const what = node.textContent.trim().slice(0, 24);
    if (size < 11.9) small.push(`${element.tagName} "${what}" ${size.toFixed(1)}px`);
  }
  return small;
}"""


def _walk(page, base, username, paths):
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    problems = []
    # The pages a list links to first: an item, an issue slip, a transfer.
    page.goto(f"{base}/stock/")
    if (item := page.locator(".list.stock a").first).count():
        paths = [*paths, item.get_attribute("href")]
    # A stocktake (the newest: counting, in review or closed) and a closed one, as this role sees it.
    page.goto(f"{base}/stocktakes/")
    for row in (".list.stocktakes a", ".list.stocktakes li:has(.stocktake-closed) a"):
        if (stocktake := page.locator(row).first).count():
            paths = [*paths, stocktake.get_attribute("href"), f"{stocktake.get_attribute('href')}?lines=all"]
    # The newest incident's reports (the demo's open drill): the report, the 首报 and the
    # replenishment list, as this role reads them.
    page.goto(f"{base}/incidents/")
    if (incident := page.locator(".list.incidents a").first).count():
        href = incident.get_attribute("href").rstrip("/")
        paths = [*paths, f"{href}/report", f"{href}/first-report", f"{href}/replenishment"]
        # The incident screen, its requests, asking for goods and the incident form (403 for some).
        paths = [*paths, href, f"{href}/requests", f"{href}/requests/new", f"{href}/edit"]
        page.goto(f"{base}{href}/requests")
        if (asked := page.locator(".list.requests a").first).count():
            paths = [*paths, asked.get_attribute("href")]
    for path in paths:
        answer = page.goto(f"{base}{path}")
        # A form the role may not use answers 403 with a page of its own, which must fit too.
        if answer.status >= 400 and answer.status != 403:
            problems.append(f"{path}: {answer.status}")
            continue
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{path}: {width} px wide")
        problems += [f"{path}: {text}" for text in page.evaluate(SMALL_TEXT)]
        for box in (tab.bounding_box() for tab in page.locator("nav.tabbar a").all()):
            if box["height"] < 48 or box["width"] < 48:
                problems.append(f"{path}: tab {box}")
    return problems


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def count_pages(app, demo) -> list[str]:
    """The count page of a stocktake at GT-CG (the keeper's and the auditor's site), empty and
    with an item on its card: the demo's open one there, else one opened for the test."""
    with app.app_context():
        stocktake_id = db.session.scalar(
            sa.select(Stocktake.id).join(Stocktake.site)
            .where(Site.code == "GT-CG", Stocktake.status.in_(("counting", "review")))
            .order_by(Stocktake.status))
        if stocktake_id is None:
            stocktake_id = open_stocktake(actor=COMMAND_LINE, data={
                "site": "GT-CG", "period": quarter_of(clock.today())}).id
        label = db.session.scalar(sa.select(StockItem.label).join(StocktakeLine)
                                  .where(StocktakeLine.stocktake_id == stocktake_id)
                                  .order_by(StockItem.serial.is_(None), StockItem.id))
    return [f"/stocktakes/{stocktake_id}/count", f"/stocktakes/{stocktake_id}/count?label={label}"]


@pytest.mark.parametrize("role", ["keeper", "manager", "dispatcher", "auditor", "viewer"])
def test_every_page_fits_a_phone(app, live_server, phone, make_user, count_pages, role):
    sites = ["GT-CG"] if role in ("keeper", "auditor") else ()
    username = make_user(role, username=f"phone-{role}", sites=sites)
    paths = [*PAGES, *count_pages, *(MANAGER_PAGES if role == "manager" else [])]
    problems = _walk(phone, live_server, username, paths)
    assert not problems, "\n".join(problems)
