"""The road-time page (道路通行时间): the table as loaded, and for the duty office a CSV upload
that replaces it, or a button that clears it."""

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.auth.access import authorize
from inventory.dispatch import roads as road_actions
from inventory.dispatch.forms import RoadTimesForm
from inventory.dispatch.views.common import blueprint
from inventory.errors import ValidationError
from inventory.forms import ConfirmForm, press, submit

# The page lists this many pairs; the count says how many the table holds.
SHOWN_PAIRS = 200


def _row_errors(form, error) -> None:
    """A refused file's problems on the file field, row by row: 第 3 行：站点 X 不存在."""
    if not isinstance(error, ValidationError):
        form.form_errors = [*form.form_errors, error.message]
        return
    form.form_errors = [*form.form_errors, _("文件有误，未作任何更改")]
    form.file.errors = [_("第 %(n)s 行：%(problem)s", n=key.removeprefix("row "), problem=problem)
                        if key.startswith("row ") else problem for key, problem in error.details.items()]


@blueprint.route("/roads", methods=["GET", "POST"])
@login_required
def roads():
    """The road-time table (first pairs and how many), and the CSV that replaces it."""
    if request.method == "POST":
        authorize(current_user, "dispatch.manage")
    form = RoadTimesForm()
    context = {"pairs": road_actions.road_times(limit=SHOWN_PAIRS),
               "count": road_actions.road_time_count(), "confirm": ConfirmForm(), "shown": SHOWN_PAIRS}

    def work():
        upload = form.file.data
        if upload is None or not hasattr(upload, "read"):
            raise ValidationError({"file": _("请选择 CSV 文件")})
        loaded = road_actions.load_road_times(actor=current_user, text=upload.read(road_actions.MAX_BYTES + 1))
        flash(_("已载入 %(n)d 对站点的道路通行时间", n=loaded), "success")
        return url_for("dispatch.roads")

    return submit(form, work, done=None, template="dispatch/roads.html",
                  show=_row_errors, **context)


@blueprint.post("/roads/clear")
@login_required
def clear_roads():
    """Empty the table: plans order sources by distance again."""

    def work():
        road_actions.clear_road_times(actor=current_user)
        return url_for("dispatch.roads")

    return press(ConfirmForm(), work, done=_("已清空道路通行时间，调度将按直线距离排序"))
