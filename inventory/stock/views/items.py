"""Stock pages: a site's stock and its totals, an item and its history, adjustments and test
runs, and the ledger."""

import datetime as dt

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize
from inventory.db import db
from inventory.errors import Forbidden
from inventory.forms import AS_DATE, FORM_ERRORS, collect, page_number, submit
from inventory.stock import queries, services
from inventory.stock.forms import AdjustForm, TestForm
from inventory.stock.models import MOVEMENT_KINDS, STATUSES
from inventory.stock.views.common import (
    blueprint,
    home_site,
    material_arg,
    material_names,
    scanned_item,
    site_arg,
    sites_for,
)
from inventory.validation import Invalid, whole_number

EXPIRY_WINDOWS = (30, 90, 180)


# --- stock and items ---------------------------------------------------------------------------

@blueprint.get("/")
@login_required
def index():
    """A site's stock (or all the user's), filtered by material, status and expiry."""
    site = home_site()
    material = material_arg()
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    days = request.args.get("expiring", "")
    expiring = whole_number(days)
    expiring = expiring if expiring in EXPIRY_WINDOWS else None
    include_sub = request.args.get("sub") == "1"
    query = queries.stock_items(
        current_user, site=site, include_sub_sites=include_sub, material=material, status=status,
        expiring_before=clock.today() + dt.timedelta(days=expiring) if expiring else None)
    page = db.paginate(query, page=page_number(), per_page=50, error_out=False)
    return render_template("stock/index.html", page=page, site=site, material=material,
                           status=status, expiring=expiring, include_sub=include_sub,
                           sites=sites_for("stock.view"), materials=material_names(),
                           windows=EXPIRY_WINDOWS, today=clock.today())


@blueprint.get("/summary")
@login_required
def summary():
    """Per material, at a site and below (or everywhere the user sees): on the shelf, out on
    loan, on its way here, damaged. Its own page, so the stock list a keeper opens after every
    scan does not pay for totals they seldom look at."""
    site = home_site()
    return render_template("stock/summary.html", site=site,
                           rows=queries.stock_summary(current_user, site=site,
                                                      include_sub_sites=True))


@blueprint.get("/item/<label>")
@login_required
def item(label):
    """One item: what, where, how many, its state, and every movement."""
    stock_item = scanned_item(label)
    page = db.paginate(queries.movements(current_user, item=stock_item), page=page_number(),
                       per_page=50, error_out=False)
    return render_template("stock/item.html", item=stock_item, page=page,
                           loans=queries.open_loans_of(stock_item), today=clock.today())


@blueprint.route("/item/<label>/adjust", methods=["GET", "POST"])
@login_required
def adjust(label):
    """Correct an item's quantity with a reason (lowering it needs a manager)."""
    stock_item = scanned_item(label)
    authorize(current_user, "stock.adjust", stock_item.site)
    form = AdjustForm()

    def work():
        data = collect(form, text=["reason", "note"], integers=["delta"])
        services.adjust(actor=current_user, data={**data, "label": stock_item.label})
        return url_for("stock.item", label=stock_item.label)

    # A keeper's downward count is refused on the form itself, saying who can do it (403).
    return submit(form, work, done=_("已调整"), template="stock/adjust.html", once=True,
                  refused=(*FORM_ERRORS, Forbidden), item=stock_item)


@blueprint.route("/item/<label>/test", methods=["GET", "POST"])
@login_required
def test_run(label):
    """试机: a dial test or a generator run; a fault takes the item out of service."""
    stock_item = scanned_item(label)
    authorize(current_user, "stock.test", stock_item.site)
    form = TestForm()
    tests = None  # past runs are listed on the empty form, not again under a refused one
    if request.method == "GET":
        form.result.data = "ok"
        tests = queries.tests_of(stock_item)

    def work():
        data = collect(form, text=["result", "note"], dates=["tested_on"])
        services.record_test(actor=current_user, data={**data, "label": stock_item.label})
        return url_for("stock.item", label=stock_item.label)

    return submit(form, work, done=_("已登记试机"), template="stock/test.html", once=True,
                  item=stock_item, tests=tests)


# --- the ledger --------------------------------------------------------------------------------

@blueprint.get("/ledger")
@login_required
def ledger():
    """台账: every movement, newest first, by site, material, kind and date."""
    site = site_arg()
    material = material_arg()
    kind = request.args.get("kind") if request.args.get("kind") in MOVEMENT_KINDS else None

    def date_arg(name):
        try:
            return AS_DATE.from_text(request.args.get(name))
        except Invalid:
            return None  # a date that is not one filters nothing

    since, until = date_arg("since"), date_arg("until")
    page = db.paginate(queries.movements(current_user, site=site, material=material, kind=kind,
                                         since=since, until=until),
                       page=page_number(), per_page=50, error_out=False)
    return render_template("stock/ledger.html", page=page, site=site, material=material, kind=kind,
                           since=since, until=until, sites=sites_for("stock.view"),
                           materials=material_names(), kinds=MOVEMENT_KINDS)
