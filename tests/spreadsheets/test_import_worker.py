"""An import committed by the real job worker, killed mid-way (QUALITY.md R19): the booking's one
transaction rolls back — nothing half-committed — and the worker, started again, finds the job
under way and commits it once."""

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from inventory import jobs
from inventory.db import db
from inventory.stock.models import Movement
from tests.factories import check_ledger
from tests.spreadsheets.test_opening_stock_import import upload

ROWS = 40_000
CHUNK = 500  # the worker's batches, small: it is killed after its first one, long before its last
WAIT_S = 240  # generous: a shared CPU may be slow; nothing here is timed


@pytest.fixture
def queue(app, tmp_path):
    """The job queue in a file of the test's own, worked by real consumer processes."""
    path = tmp_path / "jobs.sqlite"
    before = dict(jobs.huey.storage_kwargs)
    jobs.huey.storage_kwargs["filename"] = str(path)
    jobs.huey.immediate = False  # recreates the storage, in that file
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "JOBS_FILE": str(path),
           "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": app.config["SECRET_KEY"],
           "IMPORT_CHUNK_ROWS": str(CHUNK)}
    workers = []

    def start():
        worker = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "huey_consumer"),
                                   "inventory.worker.huey", "--workers", "1", "--delay", "0.1"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    jobs.huey.storage_kwargs.clear()
    jobs.huey.storage_kwargs.update(before)
    jobs.huey.immediate = True


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if (value := condition()) is not None and value is not False:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {WAIT_S} s for {what}")


def _movements(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Movement))


def test_a_worker_killed_mid_commit_leaves_nothing_half_done_and_the_next_one_commits_it_once(
        app, keeper, queue):
    rows = "".join(f"GT-XB,WATER,{n % 9 + 1},LOT-{n:05d}\n" for n in range(ROWS))
    response = upload(keeper, f"站点编码,物资编码,数量,批次号\n{rows}".encode(), "大批期初.csv")
    assert response.status_code == 202, response.json
    job = response.json["id"]
    worker = queue()
    status = _wait_for(lambda: (s := keeper.get(f"/imports/{job}").json)["status"] != "checking" and s,
                       "the check")
    assert status["status"] == "ready" and status["counts"]["new"] == ROWS, status
    assert keeper.post(f"/imports/{job}/commit").status_code == 202
    _wait_for(lambda: (jobs.progress("import", job) or 0) >= CHUNK, "the booking to be under way")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert keeper.get(f"/imports/{job}").json["status"] == "committing"
    assert _movements(app) == 0  # the booking's transaction died with the worker

    queue()  # a new worker finds the job under way and commits it, whole
    done = _wait_for(lambda: (s := keeper.get(f"/imports/{job}").json)["status"] in ("done", "failed") and s,
                     "the commit")
    assert done["status"] == "done", done
    assert _movements(app) == ROWS
    assert check_ledger(app)[0] == 0
