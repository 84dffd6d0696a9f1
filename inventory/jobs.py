"""Background jobs (Huey): work too long for a request — checking and committing an import of
100,000 rows — runs in a consumer process beside the web server (`make run` starts both).

The queue lives in a SQLite file under instance/ on the embedded default and in Redis when
JOBS_REDIS_URL is set (several app servers share it). A job carries only a row id: what it
works on is in the database, so a job runs on any worker, and the job rows themselves say
where each stands. A consumer killed mid-job loses the queued message, not the work: each job
is one transaction that rolls back, and a starting consumer queues again every import left
checking or committing (``resume``). Tests run jobs at once, in the request (JOBS_IMMEDIATE).
"""

import os

from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey

from inventory.config import default_instance_path


def _queue():
    if url := os.environ.get("JOBS_REDIS_URL"):
        return RedisHuey("inventory", url=url)
    path = os.environ.get("JOBS_FILE", str(default_instance_path() / "jobs.sqlite"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return SqliteHuey("inventory", filename=path)


huey = _queue()
_app = None


def app():
    """The application a job runs in: the request's own when run at once, else the consumer's."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from inventory import create_app

        _app = create_app()
    return _app


def init_app(flask_app) -> None:
    huey.immediate = bool(flask_app.config.get("JOBS_IMMEDIATE"))


def progress_key(name: str, job_id: int) -> str:
    return f"{name}-progress-{job_id}"


def put_progress(name: str, job_id: int, done: int) -> None:
    """How far a job has come, kept in the queue's storage — not in the database, whose write
    lock the job's own transaction holds on SQLite."""
    huey.put(progress_key(name, job_id), done)


def progress(name: str, job_id: int) -> int | None:
    return huey.get(progress_key(name, job_id), peek=True)


@huey.on_startup()
def _resume():
    from inventory.spreadsheets.services import resume

    with app().app_context():
        resume()
