"""Stock forms. Each rendered form carries its own idempotency key, so a double tap, a resent
form or a second tab applies once (QUALITY.md R6)."""

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from inventory.forms import choices
from inventory.stock.models import (
    ADJUSTMENT_REASONS,
    CONDITION_NAMES,
    REASON_NAMES,
    RECIPIENT_NAMES,
    SOURCE_NAMES,
    TEST_RESULT_NAMES,
)

# Rows a line form offers without JavaScript; app.js adds more on demand.
BLANK_ROWS = 3


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
    submit = SubmitField(_l("确认入库"))


class ItemLineForm(Form):
    """A line that names a material (taken first-expiry-first-out) or scans one label."""

    material = SelectField(_l("物资"), validate_choice=False)
    label = StringField(_l("或标签"), render_kw={"autocapitalize": "characters",
                                               "autocomplete": "off"})
    quantity = StringField(_l("数量"), render_kw={"inputmode": "numeric"})
    due_back = StringField(_l("应还日期"), render_kw={"type": "date"},
                           description=_l("可归还物资（借用）"))


class IssueForm(OnceForm):
    site = SelectField(_l("发放站点"), validate_choice=False)
    recipient_type = SelectField(_l("领用方类型"), choices=choices(RECIPIENT_NAMES.items()),
                                 validate_choice=False)
    recipient_name = StringField(_l("领用人/单位"))
    recipient_contact = StringField(_l("联系电话"), render_kw={"inputmode": "tel"})
    recipient_id_number = StringField(_l("身份证号"), render_kw={"autocomplete": "off"})
    purpose = StringField(_l("用途"))
    lines = FieldList(FormField(ItemLineForm), min_entries=BLANK_ROWS)
    submit = SubmitField(_l("确认发放"))


class ReturnLineForm(Form):
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


class TransferReceiveLineForm(Form):
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
