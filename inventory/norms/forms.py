"""The norm form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField

from inventory.forms import CheckboxesField, choices
from inventory.norms.models import READINESS_NAMES
from inventory.sites.models import HAZARD_NAMES, KIND_NAMES


class NormForm(FlaskForm):
    name = StringField(_l("名称"))
    site_kind = SelectField(_l("适用站点类型"), choices=choices(KIND_NAMES.items()),
                            validate_choice=False)
    hazard = SelectField(_l("仅限灾害标签"), choices=choices([("", _l("（所有该类站点）")),
                                                            *HAZARD_NAMES.items()]),
                         validate_choice=False)
    materials = CheckboxesField(_l("可计入的物资（任一）"), validate_choice=False)
    min_quantity = StringField(_l("最低数量"), render_kw={"inputmode": "numeric"})
    per_person = StringField(_l("每名保障人口数量"), render_kw={"inputmode": "decimal"},
                             description=_l("按物资计量单位，如每人 0.682 箱饮用水"))
    count_agreement_sites = BooleanField(_l("计入核查未超过 92 天的下属代储点库存"))
    readiness = SelectField(_l("“三断”评估类别"), choices=choices([("", "—"),
                                                               *READINESS_NAMES.items()]),
                            validate_choice=False)
    basis = TextAreaField(_l("依据"))
    submit = SubmitField(_l("保存"))
