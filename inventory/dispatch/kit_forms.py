"""The forms of the relief-kit and road-time pages: a kit with its lines, and the road-time CSV.

They carry text, the file and the CSRF token; dispatch/kits.py and roads.py validate what is sent.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, FormField, SelectField, StringField, SubmitField

from inventory.dispatch.models import KIT_BASIS_NAMES
from inventory.forms import choices
from inventory.stock.forms import LineForm

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
