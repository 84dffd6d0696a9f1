"""Imports: an upload is kept whole and checked in the background; the manager (or the keeper of
the sites it names) commits it — all or nothing, in one transaction that checks every row again
against the books as they are then — or cancels it.

Committing the same file's rows a second time books nothing: rows the books already hold
exactly are *unchanged* (opening_stock.py). Who may import what follows the rows: each row is
checked against the actor's rights at its site, never against a kind the client names.
"""

import hashlib

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock, jobs
from inventory.auth.access import authorize_somewhere
from inventory.db import db, transactional
from inventory.errors import InvalidState, NotFound, ValidationError
from inventory.spreadsheets import opening_stock, reading
from inventory.spreadsheets.models import IMPORT_KINDS, KEPT_ERRORS, ImportJob

# Each kind: its columns, its check (table, actor → outcome) and how its new rows are booked.
KINDS = {"opening_stock": opening_stock}
# What a kind needs the actor to be able to do somewhere before a file of it is even read.
KIND_PERMISSIONS = {"opening_stock": "stock.receive"}
def start(*, actor, kind, filename: str, data: bytes) -> ImportJob:
    """Keep the file as an import of ``kind`` and, once it is kept, queue its check."""
    job = upload(actor=actor, kind=kind, filename=filename, data=data)
    run_check(job.id)
    return job


@transactional
def upload(*, actor, kind, filename: str, data: bytes) -> ImportJob:
    """Keep the file as an import of ``kind``, to be checked; 422 for a file that cannot be one
    (wrong type, empty, over the limit, not what its name says)."""
    if kind not in IMPORT_KINDS:
        raise ValidationError({"kind": _("导入类型须为：%(kinds)s", kinds="、".join(IMPORT_KINDS))})
    authorize_somewhere(actor, KIND_PERMISSIONS[kind])
    # The name as shown back: control characters (NUL, which PostgreSQL text cannot hold) go.
    filename = "".join(char for char in filename or "" if char.isprintable()).strip()[-200:] or "upload"
    reading.screen(data, filename)
    job = ImportJob(kind=kind, user_id=actor.id, filename=filename, data=data,
                    digest=hashlib.sha256(data).hexdigest(), status="checking")
    db.session.add(job)
    db.session.flush()
    return job


def get_job(actor, job_id: int) -> ImportJob:
    """The actor's own import (an admin sees every one); 404 for anyone else's."""
    job = db.session.get(ImportJob, job_id)
    if job is None or (job.user_id != actor.id and actor.role != "admin"):
        raise NotFound(_("导入不存在"))
    return job


def progress(job: ImportJob) -> dict:
    done = jobs.progress("import", job.id) if job.status in ("checking", "committing") else None
    return {"done": job.done if done is None else done, "total": job.total}


def _outcome(job: ImportJob, actor):
    table = reading.read(job.data, job.filename, KINDS[job.kind].COLUMNS)
    return table, KINDS[job.kind].check(table, actor)


def _keep_outcome(job: ImportJob, outcome, *, total: int) -> None:
    job.counts = outcome.counts
    job.error_count = len(outcome.errors)
    job.errors = sorted(outcome.errors, key=lambda error: error["row"])[:KEPT_ERRORS]
    job.total = total
    job.updated_at = clock.now()


@jobs.huey.task()
def run_check(job_id: int) -> None:
    with jobs.app().app_context():
        check(job_id=job_id)


@transactional
def check(*, job_id: int) -> None:
    """Read and check an import that waits to be checked: ready when every row may be booked,
    invalid with each problem otherwise."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != "checking":
        return
    try:
        table, outcome = _outcome(job, job.user)
    except ValidationError as error:  # not readable after all, or no header
        job.status, job.message = "invalid", "；".join(error.details.values())
        job.errors, job.error_count, job.updated_at = [], 0, clock.now()
        return
    _keep_outcome(job, outcome, total=len(table.rows))
    job.status = "invalid" if outcome.errors else "ready"
    unknown = "、".join(table.unknown)
    job.message = _("以下列不认识，未导入：%(columns)s", columns=unknown) if unknown else ""


def commit(*, actor, job_id: int) -> ImportJob:
    """Claim a ready import for committing (409 otherwise) and queue the commit."""
    job = claim(actor=actor, job_id=job_id)
    run_commit(job.id)
    return job


@transactional
def claim(*, actor, job_id: int) -> ImportJob:
    """Mark a ready import as committing — one conditional UPDATE, so that of two commits sent
    at once exactly one is queued; 409 for an import in any other state."""
    job = get_job(actor, job_id)
    authorize_somewhere(actor, KIND_PERMISSIONS[job.kind])
    claimed = db.session.execute(
        sa.update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == "ready")
        .values(status="committing", started_at=clock.now(), updated_at=clock.now())).rowcount
    if not claimed:
        raise InvalidState(_("只有检查通过（可导入）的文件才能导入；当前状态：%(status)s", status=job.status))
    db.session.refresh(job)
    return job


@jobs.huey.task()
def run_commit(job_id: int) -> None:
    with jobs.app().app_context():
        try:
            book(job_id=job_id)
        except Exception as error:  # the booking rolled back whole: say so on the job
            fail(job_id=job_id, message=_("导入失败，未写入任何数据：%(error)s", error=type(error).__name__))
            raise


@transactional
def book(*, job_id: int) -> None:
    """Check every row again against the books as they are now, then book the new ones — all in
    this one transaction, so a failure anywhere writes nothing. The job's row is locked first: a
    commit queued twice (a consumer's restart re-queues what it finds under way) runs once, the
    second finding it done."""
    job = db.session.get(ImportJob, job_id, with_for_update=True)
    if job is None or job.status != "committing":
        return
    table, outcome = _outcome(job, job.user)
    _keep_outcome(job, outcome, total=len(outcome.lines))
    if outcome.errors:  # the books moved since the check: nothing is booked
        job.status, job.message = "invalid", _("导入前复查发现问题，未写入任何数据")
        return
    KINDS[job.kind].book(outcome.lines, job.user,
                         progress=lambda done: jobs.put_progress("import", job.id, done))
    job.status, job.done, job.finished_at, job.updated_at = "done", len(outcome.lines), clock.now(), clock.now()


@transactional
def fail(*, job_id: int, message: str) -> None:
    job = db.session.get(ImportJob, job_id)
    if job is not None and job.status == "committing":
        job.status, job.message, job.finished_at = "failed", message[:500], clock.now()


@transactional
def cancel(*, actor, job_id: int) -> ImportJob:
    """Cancel an import not yet committed (409 once committing or after)."""
    job = get_job(actor, job_id)
    cancelled = db.session.execute(
        sa.update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status.in_(("checking", "ready", "invalid")))
        .values(status="cancelled", updated_at=clock.now())).rowcount
    if not cancelled:
        raise InvalidState(_("此导入已开始或已结束，不能取消；当前状态：%(status)s", status=job.status))
    db.session.refresh(job)
    return job


def resume() -> None:
    """Queue again every import a killed consumer left under way (its transaction rolled back)."""
    for job_id, status in db.session.execute(
            sa.select(ImportJob.id, ImportJob.status).where(ImportJob.status.in_(("checking", "committing")))):
        (run_check if status == "checking" else run_commit)(job_id)
    db.session.rollback()
