"""The count page: 盘点 on a phone in scanner mode, blind.

Scan or type a label → the item (name, lot, expiry, serial; never the books) → a number pad (or
在 / 不在 for a serial item) → the next scan. Goods found with no label or off the books are
recorded as found lines (盘盈), and the counter submits the count for review.

Every form works as a plain POST that redirects back here; static/js/stocktake-count.js sends
the count form with fetch instead (``Accept: application/json``) and reads the answer, so the
page does not reload between scans.
"""

from flask import g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from inventory.auth.access import authorize
from inventory.errors import BadRequest, DomainError, ValidationError
from inventory.extensions import idempotency
from inventory.forms import FOREIGN_FORM, FORM_ERRORS, KEPT_FORM, collect, press, submit
from inventory.labels.codes import format_label
from inventory.stock.views.common import material_choices
from inventory.stocktakes import queries, services
from inventory.stocktakes.forms import CountForm, FoundForm, StocktakeActionForm
from inventory.stocktakes.models import Stocktake
from inventory.stocktakes.views.common import blueprint, stocktake_or_404


def _json_error(error: DomainError):
    """A refusal as the app's error JSON (API.md), for the page's own scripts."""
    body = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return jsonify(error=body), error.status


# --- the blind lookup ----------------------------------------------------------------------------

@blueprint.get("/<int(max=2147483647):stocktake_id>/lookup/<label>")
@login_required
def lookup(stocktake_id, label):
    """扫码 → the item, blind (JSON): what the count page shows of a label before its count.
    Reads only; a label the stocktake does not count answers 422, a stocktake the user may not
    see 404."""
    try:
        stocktake = queries.stocktake_to_count(current_user, stocktake_id)
        authorize(current_user, "stocktakes.count", stocktake.site)
        return jsonify(queries.blind_item(current_user, stocktake, label))
    except DomainError as error:
        return _json_error(error)


# --- the page -----------------------------------------------------------------------------------

def _countable(stocktake_id: int) -> Stocktake:
    stocktake = stocktake_or_404(stocktake_id)
    authorize(current_user, "stocktakes.count", stocktake.site)
    return stocktake


def _page(stocktake: Stocktake, *, count_form=None, found_form=None, label: str | None = None) -> dict:
    """What the count page shows: progress, the item being counted, what is left and what is
    counted (names, lots and labels; the counts people made, never the books)."""
    g.camera = True  # the page scans (security.py: the camera and the QR decoder's WebAssembly)
    item = label_error = None
    if label:
        try:
            item = queries.blind_item(current_user, stocktake, label)
        except ValidationError as error:
            label_error = error.details["label"]
    counting = stocktake.status == "counting"
    found_form = found_form or FoundForm(formdata=None)
    found_form.material.choices = material_choices()
    lines = queries.lines(stocktake, books=False)
    return {"stocktake": stocktake, "counting": counting,
            "progress": queries.progress(stocktake), "item": item, "label_error": label_error,
            "typed": label or "",
            "left": [line for line in lines if line.counted is None],
            "counted": sorted((line for line in lines if line.counted is not None),
                              key=lambda line: line.counted_at, reverse=True),
            "found": queries.found(stocktake), "count_form": count_form or CountForm(formdata=None),
            # A fresh key for each button on the page.
            "found_form": found_form, "button": lambda: StocktakeActionForm(formdata=None),
            "sub_sites": stocktake.include_sub_sites}


@blueprint.get("/<int(max=2147483647):stocktake_id>/count")
@login_required
def count(stocktake_id):
    """盘点: scan or type a label, count it on the number pad, next; ``?label=`` opens one."""
    stocktake = _countable(stocktake_id)
    return render_template("stocktakes/count.html", **_page(stocktake, label=request.args.get("label")))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@blueprint.post("/<int(max=2147483647):stocktake_id>/count")
@login_required
def record_count(stocktake_id):
    """清点一个标签: the latest count stands. From the page's script the answer is JSON."""
    stocktake = _countable(stocktake_id)
    form = CountForm()
    page = url_for("stocktakes.count", stocktake_id=stocktake.id)

    def work():
        data = collect(form, text=["label"], integers=["counted"])
        data["label"] = queries.label_of(data["label"])
        services.record_count(actor=current_user, stocktake_id=stocktake.id, data=data)
        return page

    if _wants_json():
        return _count_answer(stocktake, form, work)
    context = _page(stocktake, count_form=form, label=form.label.data)
    counted = context["item"]["name"] if context["item"] else format_label(queries.label_of(form.label.data))
    done = _("已记录：%(name)s = %(n)s", name=counted, n=(form.counted.data or "").strip())
    return submit(form, work, done=done, template="stocktakes/count.html", once=True, **context)


def _count_answer(stocktake: Stocktake, form: CountForm, work):
    """The count form sent by the page's script: the line as it now stands, or why not (JSON)."""
    if g.get("form_expired"):
        # A page left open past its token's life: nothing was saved; with a fresh token the
        # script can send the same count again.
        return jsonify(error={"code": BadRequest.code, "message": str(KEPT_FORM)},
                       csrf_token=generate_csrf()), 400
    if not form.validate_on_submit():
        return _json_error(BadRequest(FOREIGN_FORM))
    try:
        idempotency.submit_form(current_user, form.idempotency_key.data or None, work)
        item = queries.blind_item(current_user, stocktake, form.label.data)
    except DomainError as error:
        return _json_error(error)
    progress = queries.progress(stocktake)
    return jsonify(item=item, progress={"counted": progress.counted, "total": progress.total,
                                        "recount": progress.recount, "left": progress.left})


@blueprint.post("/<int(max=2147483647):stocktake_id>/found")
@login_required
def record_found(stocktake_id):
    """登记盘盈: goods on the shelf with no label or not on the books."""
    stocktake = _countable(stocktake_id)
    form = FoundForm()
    form.material.choices = material_choices()

    def work():
        data = collect(form, text=["material", "lot", "serial", "note"], integers=["quantity"],
                       dates=["expiry_date"])
        # A field left blank is one not given (the lot and serial may be absent, not empty).
        data = {name: value for name, value in data.items() if value != ""}
        services.record_found(actor=current_user, stocktake_id=stocktake.id, data=data)
        return url_for("stocktakes.count", stocktake_id=stocktake.id, _anchor="found")

    return submit(form, work, done=_("已登记盘盈"), template="stocktakes/count.html", once=True,
                  **_page(stocktake, found_form=form))


@blueprint.post("/<int(max=2147483647):stocktake_id>/found/<int(max=2147483647):found_id>/remove")
@login_required
def remove_found(stocktake_id, found_id):
    """A found line entered by mistake, taken off while counting."""
    stocktake = _countable(stocktake_id)
    page = url_for("stocktakes.count", stocktake_id=stocktake.id, _anchor="found")

    def work():
        services.remove_found(actor=current_user, stocktake_id=stocktake.id, found_id=found_id)
        return page

    return press(StocktakeActionForm(), work, done=_("已删除该盘盈记录"), back=page, once=True,
                 refused=FORM_ERRORS)


@blueprint.post("/<int(max=2147483647):stocktake_id>/submit")
@login_required
def submit_count(stocktake_id):
    """提交审核: counting ends; what nobody counted counts as 0 unless the reviewer sends it back."""
    stocktake = _countable(stocktake_id)
    page = url_for("stocktakes.count", stocktake_id=stocktake.id)

    def work():
        services.submit(actor=current_user, stocktake_id=stocktake.id)
        return page

    return press(StocktakeActionForm(), work, done=_("已提交审核，等待管理员审批"), back=page, once=True,
                 refused=FORM_ERRORS)
