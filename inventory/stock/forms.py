"""Stock forms. Each rendered form carries its own idempotency key, so a double tap, a resent
form or a second tab applies once (QUALITY.md R6). Line forms (issue, transfer, return, transfer
receipt) are read and shown their errors one way: ``Lines``."""

import re
import uuid

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from inventory.errors import InsufficientStock, ValidationError
from inventory.forms import choices, show_errors
from inventory.stock.models import (
    ADJUSTMENT_REASONS,
    CONDITION_NAMES,
    REASON_NAMES,
    RECIPIENT_NAMES,
    SOURCE_NAMES,
    TEST_RESULT_NAMES,
)

# A line form starts with one empty row: scanning fills it and adds more (app.js, scan-lines.js).
# Without JavaScript that one row is all a form sends.
BLANK_ROWS = 1


class OnceForm(FlaskForm):
    """A form that may be sent only once: its key is made when the form is rendered."""

    idempotency_key = HiddenField(default=lambda: uuid.uuid4().hex)


class ReceiveForm(OnceForm):
    site = SelectField(_l("入库站点"), validate_choice=False)
    material = SelectField(_l("物资"), validate_choice=False)
    quantity = StringField(_l("数量"), render_kw={"inputmode": "numeric"})
    lot = StringField(_l("批号"))
    production_date = StringField(_l("生产日期"), render_kw={"type": "date"})
    expiry_date = StringField(_l("有效期至"), render_kw={"type": "date"},
                              description=_l("不填时按生产日期和保质期推算"))
    serials = TextAreaField(_l("序列号"), description=_l("一物一码物资：每行一个序列号，个数与数量一致"))
    source = SelectField(_l("来源"), choices=choices([("", "—"), *SOURCE_NAMES.items()]),
                         validate_choice=False)
    donor = StringField(_l("捐赠方"))
    note = StringField(_l("备注"))
    # Shown once the receipt was refused for a past expiry (services.receive, warn_expired).
    confirm_expired = BooleanField(_l("物资已过期，仍然入库"))
    submit = SubmitField(_l("确认入库"))


class LineForm(Form):
    """One row of a line form's ``lines``."""

    # A row left blank in all of these is a spare one, not sent (none named: every row is sent).
    filled_by: tuple[str, ...] = ()
    # Where a problem of the row as a whole shows, or one of a field it does not show.
    errors_on = "quantity"

    def is_filled(self) -> bool:
        return not self.filled_by or any((self[name].data or "").strip() for name in self.filled_by)

    def texts(self) -> dict:
        """What the row says, field by field, as typed."""
        return {name: field.data for name, field in self._fields.items()}


class Lines:
    """A line form's rows as the lines a service takes, and its errors back on those rows.

    The rows are read by the service's own spec of a line; its errors name ``lines.N.field``
    (InsufficientStock lists ``line`` numbers), N counting the lines sent, not the rows shown.
    """

    def __init__(self, form, spec, *, none_filled=None):
        self.form = form
        self.spec = spec.fields["lines"]
        # What the first row says when no row was filled in (else the spec's own "at least 1").
        self.none_filled = none_filled
        self.rows: list[int] = []  # the row each line sent came from

    def data(self) -> list[dict]:
        """The filled-in rows as lines; raise ValidationError naming lines.N.field."""
        entries = self.form.lines.entries
        self.rows = [row for row, entry in enumerate(entries) if entry.form.is_filled()]
        if not self.rows and entries and self.none_filled:
            self.rows = [0]
            raise ValidationError({"lines.0": self.none_filled})
        try:
            return self.spec.from_text([entries[row].form.texts() for row in self.rows])
        except ValidationError as error:
            raise ValidationError({f"lines.{key}": problem
                                   for key, problem in error.details.items()}) from None

    def show_errors(self, form, error) -> None:
        """Put each line's problems on the row it came from; the others on the form."""
        if isinstance(error, InsufficientStock):
            for short in error.details or []:
                self._row_field(f"lines.{short['line']}").errors = [
                    _("库存不足：需要 %(requested)d，可用 %(available)d",
                      requested=short["requested"], available=short["available"])]
            form.form_errors = [error.message]
            return
        if not isinstance(error, ValidationError):
            show_errors(form, error)
            return
        others = {}
        for key, problem in error.details.items():
            if (field := self._row_field(key)) is not None:
                field.errors = [*field.errors, problem]
            elif key.startswith("lines"):
                form.form_errors = [*form.form_errors, problem]
            else:
                others[key] = problem
        if others:
            show_errors(form, ValidationError(others))

    def _row_field(self, key: str):
        """The field of its row that shows a ``lines.N[.field]`` problem; None for other keys."""
        match = re.fullmatch(r"lines\.(\d+)(?:\.(\w+))?", key)
        if not match or int(match[1]) >= len(self.rows):
            return None
        row = self.form.lines.entries[self.rows[int(match[1])]].form
        field = row._fields.get(match[2] or "")
        return field if field is not None and field.type != "HiddenField" else row[row.errors_on]


class ItemLineForm(LineForm):
    """A line that names a material (taken first-expiry-first-out) or scans one label."""

    filled_by = ("material", "label", "quantity")

    material = SelectField(_l("物资"), validate_choice=False)
    label = StringField(_l("或标签"), render_kw={"autocapitalize": "characters",
                                               "autocomplete": "off"})
    quantity = StringField(_l("数量"), render_kw={"inputmode": "numeric"})
    due_back = StringField(_l("应还日期"), render_kw={"type": "date", "required": True},
                           description=_l("可归还物资（借用）必填"))

    def texts(self) -> dict:
        texts = super().texts()
        if (texts["label"] or "").strip():
            texts["material"] = ""  # a scanned label names the item, whatever material is chosen
        return texts


class RecipientFields:
    """Who goods go to: on the issue form, and on the slip where a 先发后补 issue is completed."""

    recipient_type = SelectField(_l("领用方类型"), choices=choices(RECIPIENT_NAMES.items()),
                                 validate_choice=False)
    recipient_name = StringField(_l("领用人/单位"))
    recipient_contact = StringField(_l("联系电话"), render_kw={"inputmode": "tel"})
    recipient_id_number = StringField(_l("身份证号"), render_kw={"autocomplete": "off"})


class IssueForm(RecipientFields, OnceForm):
    site = SelectField(_l("发放站点"), validate_choice=False)
    purpose = StringField(_l("用途"))
    lines = FieldList(FormField(ItemLineForm), min_entries=BLANK_ROWS)
    submit = SubmitField(_l("确认发放"))


class ReturnLineForm(LineForm):
    filled_by = ("quantity",)

    issue_line = HiddenField()
    quantity = StringField(_l("归还数量"), render_kw={"inputmode": "numeric"})
    condition = SelectField(_l("状况"), choices=choices(CONDITION_NAMES.items()),
                            validate_choice=False)


class ReturnForm(OnceForm):
    lines = FieldList(FormField(ReturnLineForm))
    note = StringField(_l("备注"))
    submit = SubmitField(_l("确认归还"))


class TransferForm(OnceForm):
    from_site = SelectField(_l("调出站点"), validate_choice=False)
    to_site = SelectField(_l("调入站点"), validate_choice=False)
    note = StringField(_l("事由"))
    lines = FieldList(FormField(ItemLineForm), min_entries=BLANK_ROWS)
    submit = SubmitField(_l("提交调拨"))


class TransferReceiveLineForm(LineForm):
    errors_on = "received"

    line = HiddenField()
    received = StringField(_l("实收"), render_kw={"inputmode": "numeric"})


class TransferReceiveForm(OnceForm):
    lines = FieldList(FormField(TransferReceiveLineForm))
    submit = SubmitField(_l("确认收货"))


class TransferActionForm(OnceForm):
    """Dispatch or cancel: a button with its CSRF token and its own key."""

    submit = SubmitField(_l("确定"))


class TestForm(OnceForm):
    result = SelectField(_l("结果"), choices=choices(TEST_RESULT_NAMES.items()), validate_choice=False)
    tested_on = StringField(_l("试机日期"), render_kw={"type": "date"}, description=_l("默认今天"))
    note = StringField(_l("说明"), description=_l("如：拨测 12 秒接通；发电机空载运行 15 分钟"))
    submit = SubmitField(_l("登记试机"))


class AdjustForm(OnceForm):
    delta = StringField(_l("调整数量"), render_kw={"inputmode": "numeric"},
                        description=_l("增加填正数，减少填负数，如 -2"))
    reason = SelectField(_l("原因"), choices=choices((r, REASON_NAMES[r]) for r in ADJUSTMENT_REASONS),
                         validate_choice=False)
    note = StringField(_l("说明"))
    submit = SubmitField(_l("确认调整"))


class IssueReversalForm(OnceForm):
    """冲销发放单: why, and the button (app.js asks before it is sent: data-confirm)."""

    note = StringField(_l("冲销原因"), render_kw={"required": True, "maxlength": 400},
                       description=_l("如：物资选错；数量多填（应为 2，填成 20）"))
    submit = SubmitField(_l("冲销"))


class QueueForm(OnceForm):
    """发放队列: one person of a queue at the site and incident the page was opened for, as the
    issue form without what stays the same from person to person."""

    recipient_name = StringField(_l("领用人姓名"), render_kw={"autocomplete": "off"})
    recipient_id_number = StringField(_l("身份证号"), render_kw={"autocomplete": "off"})
    recipient_pending = BooleanField(_l("先发后补"), description=_l("先发放，姓名和身份证号稍后补登"))
    lines = FieldList(FormField(ItemLineForm), min_entries=BLANK_ROWS)
    submit = SubmitField(_l("发放，下一位"))


class RecipientForm(RecipientFields, OnceForm):
    """补登: who a 先发后补 issue went to, completed on its slip."""

    submit = SubmitField(_l("补登领用人"))
