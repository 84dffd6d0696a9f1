"""Run every benchmark, print the table of ratios and write bench/results.json.

`make bench` (full sizes) or `make bench QUICK=1` (smaller, a few minutes). PostgreSQL is
measured too when BENCH_DATABASE_URL names a server (a fresh database is made and dropped) or the
local one answers at postgresql+psycopg://postgres@127.0.0.1:5432/postgres.
"""

import json
import secrets
import sys
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dispatch_plan  # noqa: E402
import http_bench  # noqa: E402
import labels_pdf  # noqa: E402
import ledger_check  # noqa: E402
import shortfalls  # noqa: E402
import stocktake_approval  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.json"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class FreshPostgres:
    """An empty PostgreSQL database for one benchmark, dropped afterwards."""

    def __init__(self, server_url: str):
        self.admin = sa.make_url(server_url).set(drivername="postgresql")
        self.name = f"inventory_bench_{secrets.token_hex(4)}"
        self.url = sa.make_url(server_url).set(database=self.name).render_as_string(
            hide_password=False)

    def __enter__(self) -> str:
        with psycopg.connect(self.admin.render_as_string(hide_password=False),
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc):
        with psycopg.connect(self.admin.render_as_string(hide_password=False),
                             autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def postgres_server() -> str | None:
    import os

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER)
    try:
        with psycopg.connect(sa.make_url(url).set(drivername="postgresql")
                             .render_as_string(hide_password=False), connect_timeout=3):
            return url
    except psycopg.Error:
        return None


def main() -> None:
    quick = "--quick" in sys.argv
    sizes = {"labels": 200 if quick else 1000, "sites": 300 if quick else 1000,
             "scale": "county" if quick else "province", "rounds": 3 if quick else 5,
             "seconds": 1.5 if quick else 15}
    results = [labels_pdf.measure(sizes["labels"], 3)]
    server = postgres_server()
    engines = [None] + ([server] if server else [])
    runs = (lambda url: [shortfalls.measure(sizes["sites"], sizes["rounds"], url)],
            lambda url: [ledger_check.measure(sizes["scale"], sizes["rounds"], url)],
            # PB8 is defined at 5,000 lines: a quick run takes fewer rounds, not fewer lines.
            lambda url: [stocktake_approval.measure(5000, sizes["rounds"], url)],
            # PB12 is defined at province scale (20,000 sites): likewise fewer rounds when quick.
            lambda url: [dispatch_plan.measure(20_000, sizes["rounds"], url)],
            # The HTTP benchmarks use county data even in a full run: their figures are per
            # request, and PB7 (history length) is the benchmark that varies the ledger's size.
            lambda url: http_bench.measure("county", sizes["rounds"], sizes["seconds"], url))
    small, big = ("tiny", "county") if quick else ("county", "province")
    for engine in engines:
        for run in runs:
            if engine is None:
                results.extend(run(None))
            else:
                with FreshPostgres(engine) as url:
                    results.extend(run(url))
        if engine is None:
            results.append(http_bench.measure_history(small, big, sizes["rounds"],
                                                      sizes["seconds"]))
        else:
            with FreshPostgres(engine) as small_url, FreshPostgres(engine) as big_url:
                results.append(http_bench.measure_history(small, big, sizes["rounds"],
                                                          sizes["seconds"], small_url, big_url))
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"{'id':7} {'what':58} {'app':>9} {'baseline':>9} {'ratio':>6} {'gate':>5} "
          f"{'stretch':>7} {'db':10} correct")
    for r in results:
        print(f"{r['id']:7} {r['what'][:58]:58} {r['app']:>7}{r['unit']:>2} "
              f"{r['baseline']:>7}{r['unit']:>2} {r['ratio']:>6} {r['gate']:>5} {r['stretch']:>7} "
              f"{r['db']:10} {r['correct']}")
    if not server:
        print("PostgreSQL not reachable: measured SQLite only (set BENCH_DATABASE_URL).")
    if not all(r["correct"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
