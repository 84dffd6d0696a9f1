"""What every feature's forms share: turning posted text into typed data, and errors back onto fields.

Forms only carry text and the CSRF token; the services validate, so a rule lives in one place.
"""

import datetime as dt
import re

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from inventory.errors import Duplicate, InvalidState, ValidationError

# What a form shows the user to correct; Forbidden and NotFound go on to the error page.
FORM_ERRORS = (ValidationError, Duplicate, InvalidState)


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


def _integer(text: str):
    if not re.fullmatch(r"[+-]?\d{1,12}", text):
        raise ValueError(_("应为整数"))
    return int(text)


def _number(text: str):
    if not re.fullmatch(r"[+-]?\d{1,12}(\.\d{1,12})?", text):
        raise ValueError(_("应为数字"))
    return float(text)


def _date(text: str):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("应为日期 YYYY-MM-DD")) from None


CONVERTERS = {"integer": _integer, "number": _number, "date": _date}


def collect(form, *, text=(), optional_text=(), integers=(), numbers=(), dates=(), flags=(),
            lists=()) -> dict:
    """Return the posted values, typed; blank optional values become None.

    ``text`` fields are passed as typed (the service says when one is required), ``optional_text``
    blank becomes "", numbers and dates blank become None; a value that does not parse raises
    ValidationError naming the field.
    """
    data, errors = {}, {}
    for name in text:
        data[name] = (form[name].data or "").strip()
    for name in optional_text:
        data[name] = (form[name].data or "").strip()
    for kind, names in (("integer", integers), ("number", numbers), ("date", dates)):
        for name in names:
            raw = (form[name].data or "").strip()
            try:
                data[name] = CONVERTERS[kind](raw) if raw else None
            except ValueError as problem:
                errors[name] = str(problem)
    for name in flags:
        data[name] = bool(form[name].data)
    for name in lists:
        data[name] = list(form[name].data or [])
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


def page_number() -> int:
    """?page= of a list page; anything that is not a sensible page number means the first."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1
