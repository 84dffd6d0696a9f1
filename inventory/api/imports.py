"""Spreadsheets (API.md): import templates, uploads checked in the background, commit, cancel."""

from flask import g, request
from flask_babel import gettext as _

from inventory.api.core import flag_arg
from inventory.api.routes import File, Upload, flag, route
from inventory.api.shapes import Choice, Int, IsoDateTime, ListOf, Nested, Shape, Str
from inventory.errors import ValidationError
from inventory.reports.files import XLSX, download
from inventory.spreadsheets import reading, services, templates
from inventory.spreadsheets.models import IMPORT_KIND_NAMES, IMPORT_KINDS, IMPORT_STATUSES
from inventory.validation import String

PROBLEM = Shape({"row": Int(minimum=1, description="Excel 的行号"), "column": Str(), "value": Str(),
                 "message": Str()}, by_key=True, name="ImportProblem")
IMPORT = Shape({
    "id": Int(), "kind": Choice(IMPORT_KINDS), "status": Choice(IMPORT_STATUSES), "filename": Str(),
    "progress": Nested(Shape({"done": Int(minimum=0), "total": Int(minimum=0)}, by_key=True), services.progress,
                       description="已处理行数与总行数"),
    "counts": Nested(Shape({name: Int(minimum=0) for name in ("new", "changed", "unchanged", "rejected")},
                           by_key=True), lambda job: {"new": 0, "changed": 0, "unchanged": 0, "rejected": 0,
                                                      **(job.counts or {})}),
    "errors": ListOf(PROBLEM, description="最多 1000 条，按行排列"),
    "error_count": Int(minimum=0, description="问题总数"), "message": Str(),
    "created_at": IsoDateTime(), "finished_at": IsoDateTime(nullable=True),
}, name="Import")
KIND = {"kind": String(max_length=20, choices=IMPORT_KINDS, description="导入类型")}
IMPORT_PATH = "/imports/<int(max=2147483647):job_id>"


@route.get("/imports/templates/<kind>", "导入模板（.xlsx，中文表头）", params=KIND,
           query=(flag("filled", "填入本人可见的现有数据（导出后原样导入不产生变化）"),),
           answers=File(XLSX), errors=(401, 422))
def import_template(kind):
    """The first sheet is read on import; the 说明 sheet explains each column, with an example."""
    if kind not in IMPORT_KINDS:
        raise ValidationError({"kind": _("导入类型须为：%(kinds)s", kinds="、".join(IMPORT_KINDS))})
    filled = flag_arg("filled", False)
    rows = services.KINDS[kind].rows_on_the_books(g.api_user) if filled else ()
    return download(templates.workbook(kind, rows), parts=(str(IMPORT_KIND_NAMES[kind]),
                                                           _("导出") if filled else _("导入模板")),
                    ascii_parts=(kind, "export" if filled else "template"), extension=".xlsx")


@route.post("/imports", "上传导入文件：先整体检查，再由用户确认导入",
            body=Upload({"kind": "导入类型：" + "、".join(IMPORT_KINDS)}, max_bytes=reading.MAX_BYTES),
            answers=IMPORT, status=202, errors=(401, 403, 413, 415, 422))
def upload_import():
    """The check runs in the background: poll ``GET /imports/{id}`` until ``ready`` or
    ``invalid``. A file that is not a spreadsheet or over 10 MB → 422, and no import is made."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError({"file": _("请选择要导入的文件")})
    with upload.stream:  # a large upload is spooled to a temporary file: closed once read
        data = upload.read()
    return services.start(actor=g.api_user, kind=request.form.get("kind", ""), filename=upload.filename or "",
                          data=data)


@route.get(IMPORT_PATH, "导入进度与检查结果", answers=IMPORT, errors=(401, 404))
def get_import(job_id):
    """Own imports (an admin sees every one)."""
    return services.get_job(g.api_user, job_id)


@route.post(f"{IMPORT_PATH}/commit", "确认导入：全部写入或全部不写", answers=IMPORT, status=202,
            errors=(401, 403, 404, 409))
def commit_import(job_id):
    """Only a ``ready`` import (else 409 ``invalid_state``); the rows are checked again against the
    books as they are then. Committing the same file's rows again books nothing."""
    return services.commit(actor=g.api_user, job_id=job_id)


@route.post(f"{IMPORT_PATH}/cancel", "取消导入", answers=IMPORT, errors=(401, 404, 409))
def cancel_import(job_id):
    """Before the commit only."""
    return services.cancel(actor=g.api_user, job_id=job_id)
