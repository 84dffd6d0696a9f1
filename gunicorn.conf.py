"""gunicorn settings the project relies on (make run, production: gunicorn -c gunicorn.conf.py)."""

import gc


def post_worker_init(worker):
    """Once a worker has built the app, move everything built so far out of the collector's way.

    The app holds ~100k long-lived objects (mappers, templates, catalogs); without this, every
    full collection rescans them, which cost a third of a 15,000-row report's time (bench/README).
    """
    gc.freeze()
