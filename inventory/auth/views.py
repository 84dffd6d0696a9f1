"""Login, logout and change password."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from inventory.auth import services
from inventory.auth.forms import LoginForm, PasswordForm
from inventory.errors import DomainError, ValidationError
from inventory.forms import ConfirmForm, show_errors

blueprint = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the dashboard: no open redirects."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password, then go back where the user was headed."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(username=form.username.data or "",
                                         password=form.password.data or "",
                                         address=request.remote_addr)
        except DomainError as error:
            form.form_errors = [error.message]
            status = error.status
        else:
            login_session = services.start_session(user, request.remote_addr)
            # A fresh cookie at login: nothing planted before it survives (session fixation).
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session.permanent = True
            user.session_id = login_session.id
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), status


@blueprint.post("/logout")
@login_required
def logout():
    """End this login session on the server, so its cookie is worthless even if copied."""
    if ConfirmForm().validate_on_submit():
        services.end_session(current_user.session_id)
        logout_user()
        session.clear()
        flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other devices are logged out."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            if form.new_password.data != form.confirm_password.data:
                raise ValidationError({"confirm_password": _("两次输入的新密码不一致")})
            services.change_password(user=current_user, current_password=form.current_password.data,
                                     new_password=form.new_password.data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            flash(_("密码已修改，其他设备上的登录已失效"), "success")
            return redirect(url_for("dashboard.index"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
