"""Synthetic benchmark data is ledger-consistent on both engines."""

import sqlalchemy as sa

from inventory.db import db
from inventory.stock.models import Movement, StockItem


def test_synthetic_data_passes_the_ledger_check(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed", "synthetic", "--scale", "tiny"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["check", "ledger"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StockItem)) == 200
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Movement)) == 1000
        assert db.session.scalar(sa.select(sa.func.min(Movement.balance_after))) >= 0
    again = runner.invoke(args=["seed", "synthetic", "--scale", "tiny"])
    assert again.exit_code == 1, "only into an empty database"
    # New rows continue after the bulk-inserted ids (PostgreSQL sequences were moved on).
    assert runner.invoke(args=["users", "create", "after", "--role", "viewer",
                               "--password", "a long password"]).exit_code == 0
