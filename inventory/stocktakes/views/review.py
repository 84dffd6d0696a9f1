"""The bureau's stocktake pages: the list (and the sites due), opening one, a stocktake's page —
the review with the books for auditors and managers, the header and progress alone for the
people who count — and its buttons: approve, send lines back for a recount, cancel."""

import re

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory import clock
from inventory.auth.access import authorize, authorize_somewhere, scope_condition
from inventory.auth.models import ROLE_NAMES, User
from inventory.catalog.models import Category
from inventory.db import db
from inventory.errors import Forbidden, ValidationError
from inventory.forms import FORM_ERRORS, choices, collect, page_number, press, submit
from inventory.labels.codes import format_label
from inventory.sites.models import Site
from inventory.sites.services import get_site
from inventory.stock.views.common import site_choices, sites_for
from inventory.stocktakes import approval, queries, services
from inventory.stocktakes.forms import OpenStocktakeForm, StocktakeActionForm
from inventory.stocktakes.models import PERIOD, STATUSES, Stocktake
from inventory.stocktakes.views.common import blueprint, stocktake_or_404

DUE_SHOWN = 20


# --- the list -----------------------------------------------------------------------------------

def _site_filter() -> Site | None:
    """The site ``?site=`` names, which the user must be allowed to see (403 otherwise)."""
    if not (code := request.args.get("site")):
        return None
    site = get_site(code)
    authorize(current_user, "stocktakes.view", site)
    return site


@blueprint.get("/")
@login_required
def index():
    """盘点单 in the user's sites, by site, quarter and status; and the sites due this quarter."""
    site = _site_filter()
    period = (request.args.get("period") or "").strip().upper()
    period_error = None
    if period and not PERIOD.fullmatch(period):
        period_error, period = _("季度格式应为 2026-Q4，已忽略此条件"), ""
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    # A row shows none of the people: they are loaded only if asked for.
    people = [sa.orm.lazyload(relation) for relation in (Stocktake.witness, Stocktake.created_by,
                                                          Stocktake.approved_by, Stocktake.counters)]
    listed = queries.stocktakes(current_user, site=site, period=period or None, status=status)
    page = db.paginate(listed.options(*people), page=page_number(), per_page=50, error_out=False)
    due = queries.due_sites(current_user)
    return render_template("stocktakes/index.html", page=page, site=site, period=period,
                   period_error=period_error, status=status, sites=sites_for("stocktakes.view"),
                   progress=queries.progress_of([stocktake.id for stocktake in page.items]),
                   due=due[:DUE_SHOWN], due_total=len(due), today=clock.today())


# --- opening ------------------------------------------------------------------------------------

def _category_choices():
    return choices((category.code, f"{category.code} {category.full_name}") for category in
                   db.session.scalars(sa.select(Category).order_by(Category.code)))


def _person(user: User) -> str:
    return user.display_name or user.username


def _people(roles: tuple[str, ...], *, everywhere: tuple[str, ...] = ()) -> list[User]:
    """Active users of ``roles`` who work somewhere in the current user's scope (those of
    ``everywhere`` wherever they work), by username."""
    query = sa.select(User).where(User.active.is_(True), User.role.in_(roles)).order_by(User.username)
    if (condition := scope_condition(current_user, Site.path)) is not None:
        query = query.where(sa.or_(User.role.in_(everywhere), User.sites.any(condition)))
    return list(db.session.scalars(query))


def _counter_choices():
    """The keepers and auditors who may be named as 盘点人 (the service checks the site)."""
    def named(user):
        where = "、".join(site.name for site in user.sites)
        return f"{_person(user)}（{ROLE_NAMES[user.role]}{'·' + where if where else ''}）"

    return choices((user.username, named(user)) for user in _people(("keeper", "auditor")))


def _witness_choices():
    """The auditors and managers who may watch the count (监盘人), headed by "the approver"."""
    people = _people(("auditor", "manager"), everywhere=("manager",))
    return choices([("", _("— 不指定：由审批人监盘 —")),
                    *((user.username, f"{_person(user)}（{ROLE_NAMES[user.role]}）") for user in people)])


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """开始盘点: a site (with its sub-sites, or some categories), a quarter, who counts and who
    watches; the snapshot is taken on the spot, and the stocktake's page opens."""
    authorize_somewhere(current_user, "stocktakes.open")
    form = OpenStocktakeForm()
    form.site.choices = site_choices("stocktakes.open")
    form.categories.choices = _category_choices()
    form.counters.choices = _counter_choices()
    form.witness.choices = _witness_choices()
    if request.method == "GET" and (code := request.args.get("site")):
        form.site.data = code

    def work():
        data = collect(form, text=("site", "period", "witness", "note"), flags=("include_sub_sites",),
                       lists=("categories", "counters"))
        data["period"] = data["period"].upper()
        data["witness"] = data["witness"] or None
        stocktake = services.open_stocktake(actor=current_user, data=data)
        return url_for("stocktakes.detail", stocktake_id=stocktake.id)

    return submit(form, work, done=_("已开始盘点，开盘账面已记录"), template="stocktakes/open.html",
                  once=True)


# --- a stocktake's page -------------------------------------------------------------------------

def _totals(lines: list[queries.Line]) -> dict:
    """盘盈 and 盘亏 of the lines: how many lines, how many units, what they are worth."""
    gains = [line for line in lines if line.delta and line.delta > 0]
    losses = [line for line in lines if line.delta and line.delta < 0]
    values = [line.value for line in lines if line.delta and line.value is not None]
    return {"gain_lines": len(gains), "gain": sum(line.delta for line in gains),
            "loss_lines": len(losses), "loss": sum(line.delta for line in losses),
            "uncounted": sum(line.counted is None for line in lines),
            "value": round(sum(values), 2),
            "unpriced": any(line.delta and line.value is None for line in lines),
            "highlighted": sum(line.highlighted for line in lines)}


@blueprint.get("/<int(max=2147483647):stocktake_id>")
@login_required
def detail(stocktake_id):
    """盘点单: for auditors and managers every line with the books, the variance and its value,
    and the approval; for the people who count only its header and progress (counting is blind)."""
    stocktake = stocktake_or_404(stocktake_id)
    books = queries.sees_books(current_user, stocktake)
    context = {"stocktake": stocktake, "books": books, "progress": queries.progress(stocktake)}
    if books:
        lines = queries.lines(stocktake, books=True)
        everything = request.args.get("lines") == "all"
        found = queries.found(stocktake)
        context.update(
            everything=everything, totals=_totals(lines), line_count=len(lines),
            lines=lines if everything else [line for line in lines if line.delta],
            found=found, found_labels=[entry.item.label for entry in found if entry.item],
            agreement=queries.agreement_check(stocktake),
            only_counter=(stocktake.status == "review"
                          and approval.who_counted(stocktake) == {current_user.id}),
            approval=StocktakeActionForm(), recount=StocktakeActionForm())
    context["cancellation"] = StocktakeActionForm()
    return render_template("stocktakes/review.html", **context)


# --- its buttons --------------------------------------------------------------------------------

REASON_FIELD = re.compile(r"reason-(.{1,40})", re.DOTALL)


def _reasons() -> dict[str, str]:
    """The reasons typed on the review page, by label (``reason-<label>`` fields; blanks left out)."""
    reasons = {}
    for name, text in request.form.items():
        if (match := REASON_FIELD.fullmatch(name)) and text.strip():
            reasons[match[1]] = text
    return reasons


def _acted_on(stocktake_id: int, permission: str):
    """Load (404), authorise (403, logged): the stocktake and the URL of its page."""
    stocktake = stocktake_or_404(stocktake_id)
    authorize(current_user, permission, stocktake.site)
    return stocktake, url_for("stocktakes.detail", stocktake_id=stocktake.id)


@blueprint.post("/<int(max=2147483647):stocktake_id>/approve")
@login_required
def approve(stocktake_id):
    """审批: each variance posted to the ledger with its reason, found goods booked, closed — once.
    A refusal (not in review, already approved, the only counter, a reason too long) is flashed."""
    stocktake, page = _acted_on(stocktake_id, "stocktakes.approve")
    reasons = _reasons()

    def work():
        try:
            approval.approve(actor=current_user, stocktake_id=stocktake.id, data={"reasons": reasons})
        except ValidationError as error:
            raise ValidationError({field: _("%(label)s 的差异原因：%(problem)s",
                                            label=format_label(field.removeprefix("reasons.")),
                                            problem=problem)
                                   if field.startswith("reasons.") else problem
                                   for field, problem in error.details.items()}) from None
        return page

    # Forbidden here is the rule that the only counter may not approve (the role was checked
    # above): what it says is the way forward, so it is shown on the page like a refusal.
    return press(StocktakeActionForm(), work, done=_("已审批：差异已过账，盘点完成"), back=page,
                 once=True, refused=(*FORM_ERRORS, Forbidden))


@blueprint.post("/<int(max=2147483647):stocktake_id>/recount")
@login_required
def recount(stocktake_id):
    """退回复盘: the ticked lines go back to the counters (who still do not see the books)."""
    stocktake, page = _acted_on(stocktake_id, "stocktakes.approve")
    labels = request.form.getlist("labels")

    def work():
        if not labels:
            raise ValidationError({"labels": _("请先勾选要复盘的行")})
        services.request_recount(actor=current_user, stocktake_id=stocktake.id, data={"labels": labels})
        return page

    return press(StocktakeActionForm(), work,
                 done=_("已退回复盘 %(n)d 行：盘点单回到清点中，盘点人可重新清点", n=len(labels)),
                 back=page, once=True, refused=FORM_ERRORS)


@blueprint.post("/<int(max=2147483647):stocktake_id>/cancel")
@login_required
def cancel(stocktake_id):
    """撤销: a stocktake opened by mistake; nothing was posted and nothing is."""
    stocktake, page = _acted_on(stocktake_id, "stocktakes.open")

    def work():
        services.cancel(actor=current_user, stocktake_id=stocktake.id)
        return page

    return press(StocktakeActionForm(), work, done=_("已撤销盘点单"), back=page, once=True,
                 refused=FORM_ERRORS)

