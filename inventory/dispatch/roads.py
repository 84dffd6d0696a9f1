"""The road-time table (道路通行时间): truck minutes between pairs of sites, or the road cut.

Loaded from a CSV the county's transport office keeps (``from_site,to_site,minutes,cut``, or
the Chinese headers 起点,终点,分钟,断路), all or nothing: a file with any bad row changes
nothing and every bad row is named. A good file replaces the whole table, so what plans use is
exactly the last file loaded. Each pair is stored once, the lower site id first; plans read the
table in bulk (dispatch/planning.py).
"""

import csv
import io

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory import clock
from inventory.audit.services import record_change
from inventory.auth.access import authorize
from inventory.db import db, transactional
from inventory.dispatch.models import RoadTime
from inventory.errors import ValidationError
from inventory.sites.models import Site

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
# A day and more on the road is no road a plan should count on; a larger figure is a typo.
MAX_MINUTES = 10_000
# Errors named one by one; a file wrong throughout says how many more rows are wrong.
MAX_REPORTED = 100

COLUMNS = {"from_site": "from_site", "起点": "from_site", "to_site": "to_site", "终点": "to_site",
           "minutes": "minutes", "分钟": "minutes", "cut": "cut", "断路": "cut"}
CUT = {"1", "true", "yes", "y", "是", "断"}
OPEN = {"", "0", "false", "no", "n", "否"}


def _text(content: str | bytes) -> str:
    """The file as text: UTF-8, a byte-order mark dropped; anything else is refused."""
    size = len(content) if isinstance(content, bytes) else len(content.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise ValidationError({"file": _("文件超过 2 MB")})
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError({"file": _("文件不是 UTF-8 编码的 CSV 文本")}) from None
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError({"file": _("文件不是 UTF-8 编码的 CSV 文本")}) from None
    if "\x00" in content:
        raise ValidationError({"file": _("文件不是 UTF-8 编码的 CSV 文本")})
    return content.removeprefix("\ufeff")


def _header(header: list[str]) -> list[str]:
    """What each column holds; raise for a header that is not the table's."""
    names = [COLUMNS.get(name.strip().lower()) for name in header]
    if None in names or len(set(names)) != len(names) or not {"from_site", "to_site", "minutes"} <= set(names):
        raise ValidationError({"row 1": _("表头应为 from_site,to_site,minutes,cut（或 起点,终点,分钟,断路）")})
    return names


def _minutes(text: str, cut: bool) -> tuple[int | None, str | None]:
    """The minutes a cell says, or the problem with it."""
    if not text:
        return None, None if cut else _("未断路时必须填写分钟数")
    if not text.isascii() or not text.lstrip("-").isdigit():
        return None, _("分钟数应为整数：%(value)s", value=text[:20])
    minutes = int(text)
    if minutes < 0:
        return None, _("分钟数不能为负数")
    if minutes > MAX_MINUTES:
        return None, _("分钟数不能大于 %(n)d", n=MAX_MINUTES)
    return minutes, None


def parse(content: str | bytes) -> dict[tuple[int, int], tuple[int | None, bool]]:
    """The pairs of a road-time CSV: {(lower site id, higher site id): (minutes, cut)}; raise
    ValidationError naming every bad row (``row N``, N as a spreadsheet numbers it)."""
    reader = csv.reader(io.StringIO(_text(content), newline=""))
    try:
        rows = list(reader)
    except csv.Error:
        raise ValidationError({"file": _("文件不是有效的 CSV")}) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ValidationError({"row 1": _("第 1 行应为表头 from_site,to_site,minutes,cut")})
    if len(rows) - 1 > MAX_ROWS:
        raise ValidationError({"file": _("最多 %(n)d 行", n=MAX_ROWS)})
    names = _header(rows[0])
    site_ids = dict(db.session.execute(sa.select(Site.code, Site.id)).all())
    pairs: dict[tuple[int, int], tuple[int | None, bool]] = {}
    given: dict[tuple[int, int], int] = {}  # the row that gave each pair in its direction
    errors: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        problems = []
        if len(row) != len(names):
            errors[f"row {number}"] = _("应有 %(n)d 列，实有 %(m)d 列", n=len(names), m=len(row))
            continue
        cells = {name: cell.strip() for name, cell in zip(names, row, strict=True)}
        for column in ("from_site", "to_site"):
            if not cells[column]:
                problems.append(_("站点编码不能为空"))
            elif cells[column] not in site_ids:
                problems.append(_("站点 %(code)s 不存在", code=cells[column][:40]))
        cut_text = cells.get("cut", "").lower()
        if cut_text not in CUT | OPEN:
            problems.append(_("断路应填 1/是/断 或留空：%(value)s", value=cut_text[:20]))
        cut = cut_text in CUT
        minutes, problem = _minutes(cells["minutes"], cut)
        if problem:
            problems.append(problem)
        if cells["from_site"] and cells["from_site"] == cells["to_site"]:
            problems.append(_("起点和终点是同一站点"))
        if not problems:
            a, b = site_ids[cells["from_site"]], site_ids[cells["to_site"]]
            pair = (min(a, b), max(a, b))
            if (a, b) in given:
                problems.append(_("与第 %(n)d 行重复", n=given[(a, b)]))
            elif pair in pairs and pairs[pair] != (minutes, cut):
                problems.append(_("与第 %(n)d 行（反方向）不一致", n=given[(b, a)]))
            else:
                given[(a, b)] = number
                pairs[pair] = (minutes, cut)
        if problems:
            errors[f"row {number}"] = "；".join(problems)
    if errors:
        raise ValidationError(_reported(errors))
    return pairs


def _reported(errors: dict[str, str]) -> dict[str, str]:
    if len(errors) <= MAX_REPORTED:
        return errors
    shown = dict(list(errors.items())[:MAX_REPORTED])
    shown["file"] = _("另有 %(n)d 行有误", n=len(errors) - MAX_REPORTED)
    return shown


@transactional
def load_road_times(*, actor, text: str | bytes) -> int:
    """Replace the road-time table with a CSV's pairs; answer how many were loaded.

    Raise ValidationError (every bad row; nothing changes) or Forbidden."""
    authorize(actor, "dispatch.manage")
    pairs = parse(text)
    before = road_time_count()
    db.session.execute(sa.delete(RoadTime))
    if pairs:
        now = clock.now()
        db.session.execute(sa.insert(RoadTime), [
            {"from_site_id": a, "to_site_id": b, "minutes": minutes, "cut": cut, "updated_at": now}
            for (a, b), (minutes, cut) in sorted(pairs.items())])
    record_change(actor=actor, action="update", entity="road_times", key="road_times",
                  changes={"count": [before, len(pairs)]})
    return len(pairs)


@transactional
def clear_road_times(*, actor) -> int:
    """Empty the road-time table (plans order by distance again); answer how many pairs went."""
    authorize(actor, "dispatch.manage")
    removed = db.session.execute(sa.delete(RoadTime)).rowcount
    record_change(actor=actor, action="delete", entity="road_times", key="road_times",
                  changes={"count": [removed, 0]})
    return removed


def road_times(*, limit: int | None = None) -> list[dict]:
    """The table as loaded, pair by pair (the lower site id's end first, ordered by its code):
    {from_site, from_name, to_site, to_name, minutes, cut}. Road times are no one's secret:
    every site's people read them."""
    start, end = sa.orm.aliased(Site), sa.orm.aliased(Site)
    query = (sa.select(start.code, start.name, end.code, end.name, RoadTime.minutes, RoadTime.cut)
             .join(start, start.id == RoadTime.from_site_id).join(end, end.id == RoadTime.to_site_id)
             .order_by(start.code, end.code))
    if limit is not None:
        query = query.limit(limit)
    return [{"from_site": from_code, "from_name": from_name, "to_site": to_code, "to_name": to_name,
             "minutes": minutes, "cut": cut}
            for from_code, from_name, to_code, to_name, minutes, cut in db.session.execute(query)]


def road_time_count() -> int:
    """How many pairs the table holds."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(RoadTime))
