"""Text fields refuse what would spoof a list or a printed slip (issue 14, finding 10): bidi
controls anywhere, invisible characters in one-line fields, and text that is only invisible where
something must be written; pages refuse them like the API does."""

import datetime as dt
import html

import pytest
import sqlalchemy as sa

from inventory.catalog.models import Material
from inventory.db import db
from inventory.validation import DateTime, Invalid, String

BIDI_CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
                 "\u2069", "\u200e", "\u200f", "\u061c"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
NAME = String(max_length=100)
OPTIONAL_NAME = String(max_length=100, min_length=0)
NOTE = String(max_length=500, min_length=0, multiline=True)
REQUIRED_NOTE = String(max_length=500, multiline=True)


def _refusal(field: String, value: str) -> str:
    with pytest.raises(Invalid) as refused:
        field.convert(value)
    return str(refused.value)


@pytest.mark.parametrize("control", BIDI_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", [NAME, OPTIONAL_NAME, NOTE], ids=["name", "optional", "note"])
def test_a_bidi_control_is_refused_anywhere_in_any_text(field, control):
    for value in (f"新坝{control}镇", f"{control}abc", f"帐篷{control}"):
        assert _refusal(field, value) == "含有不允许的文字方向控制字符"


@pytest.mark.parametrize("invisible", ZERO_WIDTH, ids=lambda c: f"U+{ord(c):04X}")
def test_text_of_invisible_characters_alone_is_empty(invisible):
    for field in (NAME, REQUIRED_NOTE):
        assert _refusal(field, invisible) == "不能为空"
        assert _refusal(field, f" {invisible}{invisible} ") == "不能为空"
    assert NOTE.convert(invisible * 3) == ""


@pytest.mark.parametrize("invisible", [*ZERO_WIDTH, "\u3164", "\u00ad", "\U000e0041"],
                         ids=lambda c: f"U+{ord(c):04X}")
def test_a_one_line_field_refuses_invisible_characters_anywhere(invisible):
    for field in (NAME, OPTIONAL_NAME, String(max_length=32, pattern=r"[A-Z0-9-]+")):
        assert _refusal(field, f"GT{invisible}XB") == "含有不允许的不可见字符（如零宽空格）"


def test_free_text_keeps_joiners_between_visible_characters():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert NOTE.convert(f"帐篷已送到 {family}") == f"帐篷已送到 {family}"


def test_ordinary_text_still_passes():
    assert NAME.convert("  新坝镇储备室（一号库） ") == "新坝镇储备室（一号库）"
    assert NOTE.convert("第一行\n第二行") == "第一行\n第二行"
    assert OPTIONAL_NAME.convert("") == ""


def _materials(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Material))


def test_a_bidi_override_in_a_material_name_is_refused_on_its_page(app, client, login, make_user,
                                                                    catalog):
    login(make_user("manager"))
    before = _materials(app)
    response = client.post("/catalog/new", data={"code": "RLO-1", "name": "帐篷\u202e01-GT",
                                                 "category": "1-05", "unit": "顶",
                                                 "tracking": "lot"})
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "含有不允许的文字方向控制字符" in page
    assert _materials(app) == before


def test_a_name_of_zero_width_spaces_is_refused_as_empty_on_its_page(app, client, login, make_user,
                                                                     catalog):
    login(make_user("manager"))
    before = _materials(app)
    response = client.post("/catalog/new", data={"code": "ZW-1", "name": "\u200b\u200b",
                                                 "category": "1-05", "unit": "顶",
                                                 "tracking": "lot"})
    assert response.status_code == 422
    assert "不能为空" in response.get_data(as_text=True)
    assert _materials(app) == before


# --- instants (灾情事件的发生时间) ------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2026-12-03T08:30:00+08:00", "2026-12-03T00:30:00Z",
                                   "2026-12-03 08:30+08:00"])
def test_an_instant_with_its_offset_is_kept_in_utc(value):
    assert DateTime().convert(value) == dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["2026-12-03T08:30:00", "2026-02-30T08:30:00+08:00", "明天",
                                   # a valid instant whose UTC time falls outside years 1–9999
                                   "9999-12-31T23:59:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_an_instant_without_offset_or_outside_the_calendar_is_refused(value):
    with pytest.raises(Invalid):
        DateTime().convert(value)


def test_a_whole_number_is_ascii_digits_only():
    from inventory.validation import whole_number

    assert [whole_number(text) for text in ("0", "42", "007", "9" * 18)] == [0, 42, 7, int("9" * 18)]
    refused = ("²", "٣", "１", "", "-1", "+1", "1.0", " 1", "9" * 19, None, 3)
    assert [whole_number(text) for text in refused] == [None] * len(refused)
