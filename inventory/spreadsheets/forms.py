"""The upload form of the imports page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, SubmitField

from inventory.forms import choices
from inventory.spreadsheets.models import IMPORT_KIND_NAMES


class UploadForm(FlaskForm):
    kind = SelectField(_l("导入内容"), choices=choices(IMPORT_KIND_NAMES.items()), validate_choice=False)
    file = FileField(_l("文件"), render_kw={"accept": ".xlsx,.xls,.csv"},
                     description=_l("Excel（.xlsx、.xls）或 CSV（UTF-8 或 GBK），不超过 10 MB；"
                                    "请用下载的模板填写"))
    submit = SubmitField(_l("上传并检查"))
