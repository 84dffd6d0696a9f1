"""The road-time table: a CSV loads all or nothing, replaces what was there, and every bad row
is named."""

import pytest
import sqlalchemy as sa

from inventory.audit.models import AuditEntry
from inventory.auth.access import COMMAND_LINE
from inventory.auth.services import find_user
from inventory.db import db
from inventory.dispatch.models import RoadTime
from inventory.dispatch.roads import MAX_ROWS, clear_road_times, load_road_times, road_time_count, road_times
from inventory.errors import Forbidden, ValidationError
from inventory.sites.services import get_site

GOOD = "from_site,to_site,minutes,cut\nGT,GT-XB,45,\nGT-NH,GT,30,0\nGT-XB,GT-NH,,1\n"
# GOOD as _table() reads it.
LOADED = {("GT", "GT-XB", 45, False), ("GT", "GT-NH", 30, False), ("GT-NH", "GT-XB", None, True)}


def _table() -> set[tuple]:
    """The table as (codes in code order, minutes, cut): which end is stored first is the ids' business."""
    return {(*sorted((row["from_site"], row["to_site"])), row["minutes"], row["cut"]) for row in road_times()}


def _load(text, actor=COMMAND_LINE):
    return load_road_times(actor=actor, text=text)


def test_a_csv_loads_each_pair_once_lower_site_first(app, county):
    with app.app_context():
        assert _load(GOOD) == 3
        ids = {code: get_site(code).id for code in ("GT", "GT-XB", "GT-NH")}
        stored = db.session.execute(sa.select(RoadTime.from_site_id, RoadTime.to_site_id, RoadTime.minutes,
                                              RoadTime.cut)).all()
        assert all(start < end for start, end, _minutes, _cut in stored)
        assert {(min(ids["GT"], ids["GT-XB"]), max(ids["GT"], ids["GT-XB"]), 45, False),
                (min(ids["GT"], ids["GT-NH"]), max(ids["GT"], ids["GT-NH"]), 30, False),
                (min(ids["GT-XB"], ids["GT-NH"]), max(ids["GT-XB"], ids["GT-NH"]), None, True)} == set(stored)
        assert _table() == LOADED
        audited = sa.select(AuditEntry.changes).where(AuditEntry.entity == "road_times")
        assert db.session.scalars(audited).all() == [{"count": [0, 3]}]


def test_chinese_headers_a_byte_order_mark_and_chinese_cut_marks_are_read(app, county):
    with app.app_context():
        text = "\ufeff起点,终点,分钟,断路\r\nGT,GT-XB,45,否\r\nGT,GT-NH,50,是\r\nGT-XB,GT-NH,,断\r\n"
        assert _load(text.encode("utf-8")) == 3
        assert _table() == {("GT", "GT-XB", 45, False), ("GT", "GT-NH", 50, True),
                            ("GT-NH", "GT-XB", None, True)}


def test_a_pair_given_both_ways_alike_is_stored_once(app, county):
    with app.app_context():
        assert _load("from_site,to_site,minutes,cut\nGT,GT-XB,45,\nGT-XB,GT,45,\n") == 1
        assert road_time_count() == 1


def test_a_new_file_replaces_the_whole_table_and_clearing_empties_it(app, county):
    with app.app_context():
        _load(GOOD)
        assert _load("from_site,to_site,minutes\nGT,GT-XB,20\n") == 1
        assert _table() == {("GT", "GT-XB", 20, False)}
        assert clear_road_times(actor=COMMAND_LINE) == 1
        assert road_time_count() == 0
        changes = db.session.scalars(sa.select(AuditEntry.changes).where(AuditEntry.entity == "road_times")
                                     .order_by(AuditEntry.id)).all()
        assert changes == [{"count": [0, 3]}, {"count": [3, 1]}, {"count": [1, 0]}]


HEADER = "from_site,to_site,minutes,cut\n"


@pytest.mark.parametrize(("text", "key", "says"), [
    (HEADER + "GT,GT-XB,45,\nGT,NOPE,10,\n", "row 3", "NOPE"),
    (HEADER + "GT,GT-XB,-5,\n", "row 2", "负数"),
    (HEADER + "GT,GT-XB,4.5,\n", "row 2", "整数"),
    (HEADER + "GT,GT-XB,abc,\n", "row 2", "整数"),
    (HEADER + "GT,GT-XB,,\n", "row 2", "分钟"),
    (HEADER + "GT,GT-XB,10,maybe\n", "row 2", "断路"),
    (HEADER + "GT,GT,10,\n", "row 2", "同一站点"),
    (HEADER + "GT,GT-XB,10,\nGT,GT-XB,10,\n", "row 3", "重复"),
    (HEADER + "GT,GT-XB,10,\nGT-XB,GT,12,\n", "row 3", "不一致"),
    (HEADER + "GT,GT-XB\n", "row 2", "列"),
    ("site,minutes\nGT,10\n", "row 1", "表头"),
    ("", "row 1", "表头"),
    (b"from_site,to_site,minutes\n\xff\xfe,GT,1\n", "file", "UTF-8"),
    ("from_site,to_site,minutes\nGT,GT-XB,1\x00\n", "file", "UTF-8"),
    (HEADER + "GT,GT-XB,10,\n" * (MAX_ROWS + 1), "file", "20000"),
    (HEADER + "GT,GT-XB,10," + " " * (2 * 1024 * 1024) + "\n", "file", "2 MB"),
])
def test_a_bad_file_is_refused_naming_the_problem_and_changes_nothing(app, county, text, key, says):
    with app.app_context():
        _load(GOOD)
        with pytest.raises(ValidationError) as refused:
            _load(text)
        assert says in refused.value.details[key], refused.value.details
        assert _table() == LOADED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.entity == "road_times")) == 1


def test_every_bad_row_is_named_at_once(app, county):
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            _load(HEADER + "GT,NOPE,10,\nGT,GT-XB,10,\nGT-XB,GT-XB,-1,\n")
        assert set(refused.value.details) == {"row 2", "row 4"}
        assert "同一站点" in refused.value.details["row 4"] and "负数" in refused.value.details["row 4"]
        assert road_time_count() == 0


def test_only_dispatchers_and_managers_load_road_times(app, county, make_user):
    dispatcher, viewer = make_user("dispatcher"), make_user("viewer")
    keeper = make_user("keeper", sites=["GT-XB"])
    with app.app_context():
        assert _load(GOOD, actor=find_user(dispatcher)) == 3
        for username in (keeper, viewer):
            with pytest.raises(Forbidden):
                _load("from_site,to_site,minutes\nGT,GT-XB,1\n", actor=find_user(username))
            with pytest.raises(Forbidden):
                clear_road_times(actor=find_user(username))
        assert road_time_count() == 3
