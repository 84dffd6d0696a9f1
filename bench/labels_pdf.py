"""Label PDF benchmark: rendering N labels as a PDF against generating the N QR codes alone.

Target (issue 4): the PDF costs at most 2× the QR codes. Both run in this process, interleaved
over several rounds; medians are reported. Usage: .venv/bin/python bench/labels_pdf.py [N] [ROUNDS]
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory import create_app  # noqa: E402
from inventory.labels import pdf, qr  # noqa: E402
from inventory.labels.codes import format_label, new_label  # noqa: E402

TARGET = 2.0


def labels(count: int) -> list[pdf.LabelText]:
    names = ["棉被", "单帐篷(12m²)", "多功能睡袋", "便携式储能电源", "瓶装饮用水"]
    result = []
    for n in range(count):
        label = new_label()
        result.append(pdf.LabelText(
            payload=qr.scan_url(label), name=names[n % len(names)],
            details=("MZ/T 011.2-2010；3.7m×3.2m", f"批号 BZ-2026-{n:04d}", "有效期至 2027-06-30",
                     "新坝镇物资储备室"), code=format_label(label)))
    return result


def measure(count: int, rounds: int) -> dict:
    """The result row of this benchmark (see bench/run.py)."""
    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/bench.db"})
        with app.app_context():
            texts = labels(count)
            baseline, full = [], []
            for _round in range(rounds):
                start = time.perf_counter()
                for text in texts:
                    qr.make(text.payload).matrix  # noqa: B018  (generate each code)
                baseline.append(time.perf_counter() - start)
                start = time.perf_counter()
                document = pdf.render(texts)
                full.append(time.perf_counter() - start)
    app_seconds, base_seconds = statistics.median(full), statistics.median(baseline)
    return {"id": "LABELS", "what": f"label PDF, {count} labels ({len(document) / 1e6:.1f} MB)",
            "app": round(app_seconds, 2), "baseline": round(base_seconds, 2), "unit": "s",
            "ratio": round(app_seconds / base_seconds, 2), "gate": TARGET, "stretch": TARGET,
            "correct": document.startswith(b"%PDF"), "scale": f"{count} labels", "db": "-"}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    result = measure(count, rounds)
    print(f"labels-pdf  {result['what']}, median of {rounds} rounds")
    print(f"  PDF {result['app']:.2f} s   QR codes alone {result['baseline']:.2f} s   "
          f"ratio {result['ratio']:.2f} (target ≤ {TARGET})  "
          f"{'ok' if result['ratio'] <= TARGET else 'MISSED'}")


if __name__ == "__main__":
    main()
