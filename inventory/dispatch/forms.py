"""The dispatch pages' forms: an incident (立案 and its edit), a site's request with the needs
calculator, the plan's buttons, the approval with its edited allocations and the driver, and the
owner's approval of their goods (省级前置物资); a relief kit with its lines, and the road-time CSV.

They carry text, the file and the CSRF token; the services (dispatch/services.py, planning.py,
kits.py, roads.py) validate what is sent. An area's people are fields of their own,
``affected_people-<site>`` and ``displaced_people-<site>``, one pair per site the form offers
(views/incidents.py reads them).
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

from inventory import clock
from inventory.dispatch.models import KIT_BASIS_NAMES, LEVEL_NAMES, TYPE_NAMES
from inventory.forms import CheckboxesField, choices
from inventory.stock.forms import LineForm, OnceForm

# A request form starts with this many empty rows; 再加一行 adds more (app.js).
REQUEST_ROWS = 3


def local_now() -> str:
    """Now as a datetime-local field shows it: the bureau's time, to the minute."""
    return clock.now().astimezone(clock.timezone()).strftime("%Y-%m-%dT%H:%M")


class IncidentForm(OnceForm):
    """立案 or 修改: what happened, when, how bad, and where (areas, cut-off sites, people)."""

    name = StringField(_l("事件名称"), render_kw={"maxlength": 100, "autocomplete": "off"},
                       description=_l("如：高台县 6.1 级地震"))
    type = SelectField(_l("灾害类型"), choices=choices(TYPE_NAMES.items()), validate_choice=False)
    level = SelectField(_l("响应级别"), choices=choices(LEVEL_NAMES.items()), default="4",
                        validate_choice=False, description=_l("Ⅰ级最高"))
    started_at = StringField(_l("发生时间"), default=local_now, render_kw={"type": "datetime-local"},
                             description=_l("北京时间"))
    areas = CheckboxesField(_l("受灾区域"), validate_choice=False)
    cut_off_sites = CheckboxesField(_l("断路站点（车辆无法到达）"), validate_choice=False)
    note = TextAreaField(_l("备注"), render_kw={"maxlength": 1000, "rows": 3})
    # The version the form was drawn from: saved over a newer edit, it is refused.
    version = HiddenField()
    submit = SubmitField(_l("保存"))


class RequestLineForm(LineForm):
    """One line of a request: a material and how many."""

    filled_by = ("material", "quantity")

    material = SelectField(_l("物资"), validate_choice=False)
    quantity = StringField(_l("数量"), render_kw={"inputmode": "numeric", "autocomplete": "off"})


class RequestForm(OnceForm):
    """需求申报: the site, its lines, a note; the needs calculator fills the lines from kits."""

    to_site = SelectField(_l("申报站点"), validate_choice=False)
    lines = FieldList(FormField(RequestLineForm), min_entries=REQUEST_ROWS)
    note = StringField(_l("备注"), render_kw={"maxlength": 500})
    kits = CheckboxesField(_l("救灾物资包"), validate_choice=False)
    displaced_people = StringField(_l("紧急转移安置人数"), render_kw={"inputmode": "numeric",
                                                               "autocomplete": "off"},
                                   description=_l("不填时按灾情登记的本站点人数"))
    # The calculator's button: fills the lines and shows the form again, nothing is sent.
    calculate = SubmitField(_l("按人数计算需求"))
    submit = SubmitField(_l("提交申报"))


class PlanForm(OnceForm):
    """生成方案: sources nearest first; below a source's own norm only when ticked."""

    allow_below_norm = BooleanField(_l("允许动用调出站点的定额储备"),
                                    description=_l("默认不动用各站点自身“三断”定额内的储备"))
    submit = SubmitField(_l("生成方案"))


class AllocationLineForm(LineForm):
    """One allocation of the plan as the dispatcher edits it: from where, what, how many."""

    filled_by = ("from_site", "material", "quantity")
    errors_on = "quantity"

    from_site = SelectField(_l("调出站点"), validate_choice=False)
    material = SelectField(_l("物资"), validate_choice=False)
    quantity = StringField(_l("数量"), render_kw={"inputmode": "numeric", "autocomplete": "off"})
    owner = HiddenField()
    remove = BooleanField(_l("删除"))

    def is_filled(self) -> bool:
        return not self.remove.data and super().is_filled()

    def texts(self) -> dict:
        texts = {name: self[name].data for name in ("from_site", "material", "quantity")}
        if (self.owner.data or "").strip():
            texts["owner"] = self.owner.data
        return texts


class ApprovalForm(OnceForm):
    """批准调拨: the allocations as edited, who drives, which vehicle; the plan's version."""

    # Named ``lines`` like every line form, so 再加一行 (app.js) numbers a new row's fields.
    lines = FieldList(FormField(AllocationLineForm))
    driver_name = StringField(_l("驾驶员"), render_kw={"maxlength": 50, "autocomplete": "off"})
    driver_phone = StringField(_l("联系电话"), render_kw={"maxlength": 30, "inputmode": "tel",
                                                      "autocomplete": "off"})
    vehicle = StringField(_l("车牌号"), render_kw={"maxlength": 30, "autocomplete": "off"})
    version = HiddenField()
    submit = SubmitField(_l("批准调拨"))


class OwnerApprovalForm(OnceForm):
    """The owner's consent to use their goods (省级前置物资): who agreed, when, under what reference."""

    owner = StringField(_l("物资所有者"), render_kw={"maxlength": 100},
                        description=_l("如：省应急管理厅"))
    approved_by = StringField(_l("批准人"), render_kw={"maxlength": 100})
    approved_at = StringField(_l("批准时间"), default=local_now, render_kw={"type": "datetime-local"})
    reference = StringField(_l("批准文号或电话记录号"), render_kw={"maxlength": 100})
    submit = SubmitField(_l("登记批准"))


class DispatchActionForm(OnceForm):
    """结束事件 or 撤销申报: a button with its CSRF token and its own once-only key."""

    submit = SubmitField(_l("确定"))


# --- relief kits and road times ------------------------------------------------------------------

# Spare empty rows under a kit's lines: without JavaScript they are all a form can add.
SPARE_KIT_ROWS = 3


class KitLineForm(LineForm):
    """One line of a kit: a material and how much of it per person or household."""

    filled_by = ("material", "quantity")

    material = SelectField(_l("物资"), validate_choice=False)
    quantity = StringField(_l("每人/每户数量"), render_kw={"inputmode": "decimal", "autocomplete": "off"})


class KitForm(FlaskForm):
    """救灾物资包: its name, whether per person or per household, and its lines."""

    name = StringField(_l("名称"), render_kw={"maxlength": 100, "autocomplete": "off"},
                       description=_l("如：紧急转移安置基本生活包"))
    basis = SelectField(_l("计算基数"), choices=choices(KIT_BASIS_NAMES.items()), validate_choice=False)
    note = StringField(_l("说明"), render_kw={"maxlength": 500})
    active = BooleanField(_l("启用（需求测算时可选）"), default=True)
    lines = FieldList(FormField(KitLineForm), min_entries=SPARE_KIT_ROWS)
    submit = SubmitField(_l("保存"))


class RoadTimesForm(FlaskForm):
    """The road-time CSV to load in place of the table."""

    file = FileField(_l("CSV 文件"), render_kw={"accept": ".csv,text/csv"},
                     description=_l("表头 from_site,to_site,minutes,cut（或 起点,终点,分钟,断路），"
                                    "UTF-8 编码，不超过 2 MB；断路填 1 或 是"))
    submit = SubmitField(_l("载入并替换"))
