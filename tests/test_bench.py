"""The benchmarks still run (on tiny data; no timing is asserted here)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each benchmark's subprocess has its own deadline, up to 600 s, which names the command when it
# passes; the suite's per-test timeout (pyproject.toml) is set past them here, not before them.
pytestmark = pytest.mark.timeout(660)


def test_the_label_pdf_benchmark_runs():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "labels_pdf.py"), "12", "1"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "ratio" in result.stdout and "12 labels" in result.stdout


def test_the_shortfall_benchmark_runs_and_agrees_with_raw_sql():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "shortfalls.py"), "40", "1"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "identical results: True" in result.stdout


def test_the_ledger_check_benchmark_runs_and_finds_the_ledger_clean():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "ledger_check.py"), "tiny", "1"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ledger clean: True" in result.stdout


def test_the_stocktake_approval_benchmark_runs_and_leaves_the_ledger_clean():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "stocktake_approval.py"), "40", "1"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PB8" in result.stdout and "correct: True" in result.stdout


def test_the_http_benchmarks_run_through_gunicorn():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "http_bench.py"), "tiny", "1",
                             "1"], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert {'"PB4"', '"PB4-PD"', '"PB9"'} <= {line.split(",")[0].split(": ")[1] for line in rows}


def test_the_history_benchmark_runs():
    script = ("import sys; sys.path.insert(0, 'bench'); import http_bench, json; "
              "print(json.dumps(http_bench.measure_history('tiny', 'tiny', 1, 1)))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"PB7"' in result.stdout and '"correct": true' in result.stdout


def test_the_dispatch_plan_benchmark_runs_and_plans_as_the_raw_baseline_does():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "dispatch_plan.py"), "464", "1"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PB12" in result.stdout and "plans equal: True" in result.stdout
