"""What every feature's forms share: typed values out of posted text, a service's errors back on
fields, and the one way a page's form calls a service (``submit``; ``press`` for a button).

Forms only carry text and the CSRF token; the services validate, so a rule lives in one place.
The text is read by the field types the services validate with (validation.py ``from_text``).
"""

from flask import flash, g, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms import SelectMultipleField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from inventory.errors import (
    BadRequest,
    DomainError,
    Duplicate,
    IdempotencyMismatch,
    InsufficientStock,
    InvalidState,
    ValidationError,
    error_response,
)
from inventory.extensions import idempotency
from inventory.validation import Date, Integer, Invalid, Number, whole_number

# What a form shows the user to correct; Forbidden and NotFound go on to the error page.
FORM_ERRORS = (ValidationError, Duplicate, InvalidState, InsufficientStock, IdempotencyMismatch)
# Flask-WTF's reason for a token past WTF_CSRF_TIME_LIMIT.
CSRF_EXPIRED = "The CSRF token has expired."
FOREIGN_FORM = _l("表单已过期或来源不明，请刷新页面后重试")
KEPT_FORM = _l("页面打开太久，表单已过期：填写的内容都已保留，请核对后再次提交")


def init_app(app) -> None:
    """Answer a form whose CSRF token is refused."""

    @app.errorhandler(CSRFError)
    def _refused_token(error: CSRFError):
        """A form left open past its token's life (a long shift on a slow link) comes back as
        typed, with a fresh token, to be checked and sent again: the view runs with
        ``g.form_expired`` set, and submit() shows the form without applying it (a button,
        press(), is refused as before). Any other refused token is a bare 400."""
        view = app.view_functions.get(request.endpoint)
        if error.description == CSRF_EXPIRED and view is not None and request.blueprint != "api":
            g.form_expired = True
            try:
                return app.ensure_sync(view)(**(request.view_args or {}))
            except (DomainError, HTTPException):
                pass
        return error_response(400, BadRequest.code, str(FOREIGN_FORM))


class ConfirmForm(FlaskForm):
    """A form with nothing but a button: it puts a CSRF token on every POST action."""

    submit = SubmitField(_l("确定"))


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as checkboxes, which a thumb can hit on a phone."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(str(value), label) for value, label in pairs]


# A form's numbers and dates are read by the field types the services validate them with.
AS_INTEGER, AS_NUMBER, AS_DATE = Integer(), Number(), Date()


def collect(form, *, text=(), integers=(), numbers=(), dates=(), flags=(), lists=()) -> dict:
    """Return the posted values, typed: text stripped (blank is ""), numbers and dates read as
    their type (blank is None), flags as booleans, lists as lists.

    The service says what is required; a number or date that does not read raises
    ValidationError naming the field.
    """
    data = {name: (form[name].data or "").strip() for name in text}
    errors = {}
    for reader, names in ((AS_INTEGER, integers), (AS_NUMBER, numbers), (AS_DATE, dates)):
        for name in names:
            try:
                data[name] = reader.from_text(form[name].data)
            except Invalid as problem:
                errors[name] = str(problem)
    data.update({name: bool(form[name].data) for name in flags})
    data.update({name: list(form[name].data or []) for name in lists})
    if errors:
        raise ValidationError(errors)
    return data


def show_errors(form, error, prefix: str = "") -> None:
    """Put a service's field errors on the form's fields; others go to the form as a whole."""
    form.form_errors = list(form.form_errors)
    if not isinstance(error, ValidationError):
        form.form_errors.append(error.message)
        return
    for field, problem in (error.details or {}).items():
        name = field.removeprefix(prefix).replace(".", "_")
        if name in form._fields:
            form[name].errors = [*form[name].errors, problem]
        else:
            form.form_errors.append(problem)


def _run(form, work, once: bool) -> str:
    """``work()``, or for a form that may be sent only once (an OnceForm), its first answer."""
    if once:
        return idempotency.submit_form(current_user, form.idempotency_key.data or None, work)
    return work()


def submit(form, work, /, *, done, template, once=False, show=show_errors, refused=FORM_ERRORS,
           **context):
    """The one way a page's form calls a service: validate, work, then redirect or show why not.

    ``work()`` calls the service and returns the URL to go to next; ``done`` is flashed there (None:
    nothing is). When the service refuses with one of ``refused``, ``show(form, error)`` puts the
    problem on the form and ``template`` is rendered again with what was typed, answering 422 for
    what the user can correct on it (FORM_ERRORS) and the refusal's own status for anything else
    in ``refused`` (a wrong password 401, a keeper's write-off 403, a throttle 429). A GET renders
    ``template`` with ``form`` and ``context`` (which may name another form ``form``, for a page
    with two). ``once=True`` applies the work once per rendered form: sent again, it gets the
    first answer. A form whose token expired is shown again as sent (init_app).
    """
    if g.get("form_expired"):
        # Its token was refused (init_app): nothing is applied, and the form shows again as typed.
        flash(KEPT_FORM, "error")
        return render_template(template, **{"form": form, **context}), 400
    if form.validate_on_submit():
        try:
            location = _run(form, work, once)
        except refused as error:
            show(form, error)
            status = 422 if isinstance(error, FORM_ERRORS) else error.status
            return render_template(template, **{"form": form, **context}), status
        if done:
            flash(done, "success")
        return redirect(location)
    return render_template(template, **{"form": form, **context})


def _said(error) -> str:
    """What a refused button tells the user: a validation error's problems, else its message."""
    if isinstance(error, ValidationError):
        return "；".join(error.details.values())
    return error.message


def press(form, work, *, done, back=None, once=False, refused=(), category="success"):
    """The one way a POST button (ConfirmForm, TransferActionForm) calls a service.

    A button has only its token, so a request without a good one is refused (400). ``work()``
    calls the service and returns the URL to go to next, where ``done`` is flashed. When the
    service refuses with one of ``refused``, what it said is flashed and the browser sent
    ``back``; other refusals go on to the error page.
    """
    if not form.validate_on_submit():
        raise BadRequest()
    try:
        location = _run(form, work, once)
    except refused as error:
        flash(_said(error), "error")
        return redirect(back)
    flash(done, category)
    return redirect(location)


def page_number() -> int:
    """?page= of a list page; anything that is not a sensible page number means the first."""
    page = whole_number(request.args.get("page", "1"))
    return page if page is not None and 0 < page < 10**6 else 1
