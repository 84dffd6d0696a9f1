"""Every page on a 360-px phone, for each kind of user, with the demo county loaded: nothing
wider than the screen, no text smaller than 12 px (SVG text as drawn, not as written), and the
tab bar's targets at least 48 px (issue 15)."""

import re

import pytest

from tests.browser.conftest import PHONE
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PAGES = ["/", "/more", "/scan", "/stock/", "/stock/summary", "/stock/issue", "/stock/receive",
         "/stock/issues", "/stock/loans", "/stock/transfers", "/stock/transfers/new", "/stock/ledger",
         "/alerts/", "/norms/shortfalls", "/norms/", "/sites/", "/sites/GT-CG", "/catalog/", "/labels/",
         "/password"]
MANAGER_PAGES = ["/sites/new", "/norms/new", "/catalog/new", "/audit/"]

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


@pytest.mark.parametrize("role", ["keeper", "manager", "dispatcher", "auditor", "viewer"])
def test_every_page_fits_a_phone(app, live_server, phone, make_user, demo, role):
    sites = ["GT-CG"] if role in ("keeper", "auditor") else ()
    username = make_user(role, username=f"phone-{role}", sites=sites)
    paths = [*PAGES, *(MANAGER_PAGES if role == "manager" else [])]
    problems = _walk(phone, live_server, username, paths)
    assert not problems, "\n".join(problems)
