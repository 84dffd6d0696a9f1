"""The imports pages: upload a spreadsheet, see it checked (every problem at its row and column),
commit or cancel it, and watch the commit's progress."""

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.db import db
from inventory.errors import InvalidState, ValidationError
from inventory.forms import ConfirmForm, press, submit
from inventory.reports.files import download
from inventory.security import UPLOAD_LIMITS
from inventory.spreadsheets import reading, services, templates
from inventory.spreadsheets.forms import UploadForm
from inventory.spreadsheets.models import IMPORT_KIND_NAMES, IMPORT_KINDS, ImportJob

blueprint = Blueprint("imports", __name__, url_prefix="/imports")
RECENT = 20
SHOWN_ERRORS = 200  # on the page; all that are kept (KEPT_ERRORS) through the API
JOB = "/<int(max=2147483647):job_id>"


@blueprint.route("/", methods=["GET", "POST"])
@login_required
def index():
    """导入: the upload form, the templates, and the user's recent imports."""
    form = UploadForm()
    recent = db.session.scalars(db.select(ImportJob).where(ImportJob.user_id == current_user.id)
                                .order_by(ImportJob.id.desc()).limit(RECENT)).all()

    def work():
        upload = form.file.data
        if upload is None or not hasattr(upload, "read"):
            raise ValidationError({"file": _("请选择要导入的文件")})
        with upload.stream:
            data = upload.read()
        job = services.start(actor=current_user, kind=form.kind.data, filename=upload.filename or "", data=data)
        return url_for("imports.detail", job_id=job.id)

    return submit(form, work, done=_("已上传，正在检查"), template="spreadsheets/index.html", recent=recent,
                  kinds=IMPORT_KIND_NAMES)


UPLOAD_LIMITS["imports.index"] = reading.MAX_BYTES


@blueprint.get("/templates/<kind>.xlsx")
@login_required
def template(kind):
    """The template of ``kind`` (``?filled=1``: with what the user sees, as an export)."""
    if kind not in IMPORT_KINDS:
        raise ValidationError({"kind": _("导入类型须为：%(kinds)s", kinds="、".join(IMPORT_KINDS))})
    filled = request.args.get("filled") == "1"
    rows = services.KINDS[kind].rows_on_the_books(current_user) if filled else ()
    return download(templates.workbook(kind, rows), parts=(str(IMPORT_KIND_NAMES[kind]),
                                                           _("导出") if filled else _("导入模板")),
                    ascii_parts=(kind, "export" if filled else "template"), extension=".xlsx")


@blueprint.get(JOB)
@login_required
def detail(job_id):
    """One import: its progress while checked or committed, then its counts and problems, and
    the two decisions while it waits."""
    job = services.get_job(current_user, job_id)
    return render_template("spreadsheets/detail.html", job=job, progress=services.progress(job),
                           errors=job.errors[:SHOWN_ERRORS], confirm=ConfirmForm())


@blueprint.get(f"{JOB}/progress")
@login_required
def progress(job_id):
    """For the page's progress bar: the status and how far it has come."""
    job = services.get_job(current_user, job_id)
    return jsonify(status=job.status, **services.progress(job))


@blueprint.post(f"{JOB}/commit")
@login_required
def commit(job_id):
    """确认导入: all or nothing, in the background."""

    def work():
        services.commit(actor=current_user, job_id=job_id)
        return url_for("imports.detail", job_id=job_id)

    return press(ConfirmForm(), work, done=_("已开始导入"), back=url_for("imports.detail", job_id=job_id),
                 refused=(InvalidState,))


@blueprint.post(f"{JOB}/cancel")
@login_required
def cancel(job_id):
    """取消: before the commit only."""

    def work():
        services.cancel(actor=current_user, job_id=job_id)
        return url_for("imports.index")

    return press(ConfirmForm(), work, done=_("已取消导入"), back=url_for("imports.detail", job_id=job_id),
                 refused=(InvalidState,))
