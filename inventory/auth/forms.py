"""Login, password and user-administration forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField

from inventory.auth.models import ROLE_NAMES
from inventory.forms import CheckboxesField, choices


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), render_kw={"autocomplete": "username",
                                                  "autocapitalize": "none"})
    password = PasswordField(_l("密码"), render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("登录"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("新密码"), description=_l("至少 10 个字符"),
                                 render_kw={"autocomplete": "new-password"})
    confirm_password = PasswordField(_l("再次输入新密码"), render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("修改密码"))


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), description=_l("2–64 个字母、数字或 _ . -；创建后不可修改"),
                           render_kw={"autocapitalize": "none"})
    display_name = StringField(_l("姓名"))
    role = SelectField(_l("角色"), choices=choices(ROLE_NAMES.items()), validate_choice=False)
    sites = CheckboxesField(_l("负责站点"), validate_choice=False,
                                description=_l("保管员、盘点员只能看到和操作这些站点及其下级站点"))
    password = PasswordField(_l("初始密码"), description=_l("至少 10 个字符；请当面告知本人并要求修改"),
                             render_kw={"autocomplete": "new-password"})
    active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), description=_l("至少 10 个字符；该用户的所有登录将失效"),
                             render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("重设密码"))
