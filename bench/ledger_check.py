"""PB10: `flask check ledger` (the app's query, through the ORM) against a raw GROUP BY of the
same rows through the driver, on synthetic data.

Usage: .venv/bin/python bench/ledger_check.py [SCALE] [ROUNDS] [DATABASE_URL]
(default county, 5 rounds, a fresh SQLite file). Target: ratio ≤ 2.0 (stretch 1.2).
"""

import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from inventory import create_app  # noqa: E402
from inventory.db import db  # noqa: E402
from inventory.seed.synthetic import load  # noqa: E402
from inventory.stock.queries import ledger_drift  # noqa: E402

GATE, STRETCH = 2.0, 1.2
RAW_SQL = """
SELECT i.label, i.quantity, COALESCE(m.total, 0)
FROM stock_items i
LEFT JOIN (SELECT item_id, SUM(quantity) AS total FROM movements GROUP BY item_id) m
  ON m.item_id = i.id
WHERE i.quantity <> COALESCE(m.total, 0) OR i.quantity < 0
ORDER BY i.id
"""


def measure(scale: str, rounds: int, url: str | None) -> dict:
    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{instance}/bench.db"})
        with app.app_context():
            upgrade()
            made = load(scale)
            gc.freeze()  # as gunicorn.conf.py does in every worker
            dialect = db.engine.dialect.name
            raw = db.engine.raw_connection()
            app_times, raw_times = [], []
            for _round in range(rounds):
                start = time.perf_counter()
                cursor = raw.cursor()
                cursor.execute(RAW_SQL)
                baseline = cursor.fetchall()
                cursor.close()
                raw_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                drift = ledger_drift()
                app_times.append(time.perf_counter() - start)
                db.session.rollback()
            raw.close()
            db.engine.dispose()
    app_seconds, raw_seconds = statistics.median(app_times), statistics.median(raw_times)
    return {"id": "PB10", "what": f"check ledger over {made['movements']:,} movements",
            "app": round(app_seconds * 1000, 1), "baseline": round(raw_seconds * 1000, 1),
            "unit": "ms", "ratio": round(app_seconds / raw_seconds, 2), "gate": GATE,
            "stretch": STRETCH, "correct": drift == [] and baseline == [], "scale": scale,
            "db": dialect}


def main() -> None:
    scale = sys.argv[1] if len(sys.argv) > 1 else "county"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    result = measure(scale, rounds, sys.argv[3] if len(sys.argv) > 3 else None)
    print(f"PB10 {result['what']} ({result['db']}): app {result['app']} ms, raw GROUP BY "
          f"{result['baseline']} ms, ratio {result['ratio']} (gate ≤ {GATE}, stretch ≤ {STRETCH}), "
          f"ledger clean: {result['correct']}")
    if not result["correct"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
