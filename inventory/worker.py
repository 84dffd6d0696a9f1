"""The background worker's entry point: ``huey_consumer inventory.worker.huey`` (``make run``
starts it beside the web server). Importing the features that define jobs registers them."""

from inventory.jobs import huey
from inventory.spreadsheets import services as _spreadsheets  # noqa: F401  (its jobs)

__all__ = ["huey"]
