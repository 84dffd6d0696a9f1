"""Label text wraps only at spaces and beside CJK characters: never inside a Latin word, a number
with its unit, a date or a lot number; a run wider than the line shrinks the text instead, and
nothing is ever cut (issue 15)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from inventory.labels import pdf

# The text column of a 50 × 30 mm thermal label: what is left beside its 25 mm QR code.
THERMAL_WIDTH = 21 * mm
SMALL = pdf.LAYOUTS["thermal"].font_size * 0.9
# Runs that must come out whole wherever they fall.
WHOLE = ["4×6m", "30kg", "2026-12-31", "ZP-2026-01", "MZ/T", "500毫升", "12平方米", "(12m²)"]


def width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, pdf.FONT, size)


@pytest.mark.parametrize(("text", "pieces"), [
    ("棉被", ["棉", "被"]),
    ("批号 ZP-2026-01", ["批", "号", " ", "ZP-2026-01"]),
    ("有效期至 2026-12-31", ["有", "效", "期", "至", " ", "2026-12-31"]),
    ("棉被4×6m 30kg", ["棉", "被", "4×6m", " ", "30kg"]),
    ("单帐篷(12m²)", ["单", "帐", "篷", "(12m²)"]),
    ("每瓶500毫升，每箱24瓶", ["每", "瓶", "500毫升，", "每", "箱", "24瓶"]),
    ("帐篷（加厚型）", ["帐", "篷", "（加", "厚", "型）"]),
    ("MZ/T 011.2-2010；3.7m×3.2m", ["MZ/T", " ", "011.2-2010；", "3.7m×3.2m"]),
    ("2026年12月31日", ["2026年", "12月", "31日"]),
    ("  two   spaces ", ["two", " ", "spaces", " "]),
])
def test_a_line_may_break_only_between_these_pieces(text, pieces):
    assert pdf.runs(text) == pieces


@pytest.mark.parametrize("run", WHOLE)
def test_a_number_with_its_unit_is_never_split_however_narrow_the_line(run):
    text = f"救灾专用物资规格 {run} 加厚型{run}，另附"
    for room in (12, 20, 30, 45, 60):
        lines = pdf.wrap(text, room, SMALL)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert sum(line.count(run) for line in lines) == 2, lines


def test_chinese_breaks_between_characters_and_every_line_fits():
    text = "超长名称的救灾专用多功能折叠式野外保温防水帐篷（加厚加大型）"
    lines = pdf.wrap(text, THERMAL_WIDTH, SMALL)
    assert len(lines) > 1 and "".join(lines) == text
    assert all(width(line, SMALL) <= THERMAL_WIDTH for line in lines)
    assert not any(line.startswith("）") or line.endswith("（") for line in lines)


def test_a_line_breaks_at_a_space_and_drops_it():
    lines = pdf.wrap("批号 ZP-2026-01", width("批号 ZP", SMALL), SMALL)
    assert lines == ["批号", "ZP-2026-01"]


def test_a_run_wider_than_the_line_shrinks_the_text_and_stays_whole():
    run = "SN-ABCDEFGH-20261231-0042"
    assert width(run, SMALL) > THERMAL_WIDTH
    lines, size = pdf.fit(f"序列号 {run}", THERMAL_WIDTH, SMALL, 2)
    assert size < SMALL and run in lines
    assert all(width(line, size) <= THERMAL_WIDTH for line in lines)


def test_text_too_long_even_at_half_size_breaks_mid_run_rather_than_being_cut():
    run = "X" * 80
    lines, size = pdf.fit(run, THERMAL_WIDTH, SMALL, 2)
    assert size == SMALL * 0.5 and "".join(lines) == run
    assert all(width(line, size) <= THERMAL_WIDTH for line in lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*WHOLE, "棉", "被", "（", "）", "，", " ", "帐篷", "Tent", "x"]),
                max_size=30),
       st.floats(min_value=15, max_value=200))
def test_wrapping_keeps_every_character_and_every_whole_run(pieces, room):
    text = "".join(pieces)
    lines = pdf.wrap(text, room, SMALL)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for line in lines:
        # A line wider than the room is one unbreakable piece standing alone.
        assert width(line, SMALL) <= room or len(pdf.runs(line)) == 1
    for run in WHOLE:  # no occurrence straddles two lines
        assert sum(line.count(run) for line in lines) == text.count(run), (run, lines)
