"""Material and category forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField

from inventory.catalog.models import TRACKING_NAMES
from inventory.forms import choices


class MaterialForm(FlaskForm):
    code = StringField(_l("物资编码"), description=_l("创建后不可修改，如 1-01-001"))
    name = StringField(_l("名称"))
    name_en = StringField(_l("英文名称"))
    category = SelectField(_l("类别"), validate_choice=False)
    unit = StringField(_l("计量单位"), description=_l("如 顶、床、件、台、箱"))
    spec = StringField(_l("规格型号"))
    tracking = SelectField(_l("管理方式"), choices=choices(TRACKING_NAMES.items()), validate_choice=False)
    returnable = BooleanField(_l("可归还（借用后收回）"))
    shelf_life_days = StringField(_l("保质期（天）"), render_kw={"inputmode": "numeric"},
                                  description=_l("无保质期则留空"))
    needs_testing = BooleanField(_l("需定期试机"))
    unit_price = StringField(_l("参考单价（元）"), render_kw={"inputmode": "decimal"},
                             description=_l("用于计算盘点差异金额；不知道可留空"))
    active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class CategoryForm(FlaskForm):
    code = StringField(_l("类别编码"))
    name = StringField(_l("名称"))
    parent = SelectField(_l("上级类别"), validate_choice=False)
    submit = SubmitField(_l("保存"))
