"""发放队列: the fast household issue for a queue of people (issue 17, 5) — the keeper picks the
site and the incident once, then each person is scanned, counted and named (or 先发后补) in one
short form that comes back empty for the next, with the last few issued beneath it."""

import sqlalchemy as sa
from flask import g, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from inventory.auth.access import authorize, authorize_somewhere
from inventory.db import db
from inventory.dispatch import queries as dispatch_queries
from inventory.dispatch.models import Incident
from inventory.errors import NotFound
from inventory.forms import submit
from inventory.stock import queries, services
from inventory.stock.forms import Lines, QueueForm
from inventory.stock.models import Issue, IssueLine
from inventory.stock.schemas import ISSUE
from inventory.stock.views.common import blueprint, home_site, incident_arg, prepare_lines, site_choices

# How many of the queue's last issues the page shows, to check the one just made.
RECENT = 5


def _queue_incident() -> Incident | None:
    """The open incident ``?incident=`` names (None when none is): the picker offers open ones
    only, so another is a URL nobody was given (404)."""
    incident = incident_arg()
    if incident is not None and not incident.is_open:
        raise NotFound(_("灾情事件“%(name)s”已结束", name=incident.name))
    return incident


def _queue(site, incident):
    """This queue's issues: to households at ``site`` for ``incident`` (or for none)."""
    return (Issue.site_id == site.id, Issue.recipient_type == "household",
            Issue.incident_id == incident.id if incident else Issue.incident_id.is_(None))


def _recent(site, incident) -> list:
    """The user's last issues of this queue: number, name, pending flag, quantity, in one query."""
    return db.session.execute(
        sa.select(Issue.number, Issue.recipient_name, Issue.recipient_pending,
                  sa.func.sum(IssueLine.quantity).label("quantity"))
        .join(IssueLine, IssueLine.issue_id == Issue.id)
        .where(*_queue(site, incident), Issue.user_id == current_user.id)
        .group_by(Issue.id, Issue.number, Issue.recipient_name, Issue.recipient_pending)
        .order_by(Issue.id.desc()).limit(RECENT)).all()


def _pending(site, incident) -> int:
    """How many issues at the site (for the incident, when the queue has one) still wait for
    their recipient: the list its 待补登 button opens."""
    pending = queries.issues(current_user, site=site, incident=incident, recipient_pending=True)
    return db.session.scalar(sa.select(sa.func.count()).select_from(pending.order_by(None).subquery()))


@blueprint.route("/issue/queue", methods=["GET", "POST"])
@login_required
def queue():
    """发放队列: without a site, the picker of site and incident; with one, the form for the next
    person, issued to a household through the stock services like any issue."""
    authorize_somewhere(current_user, "stock.issue")
    incident = _queue_incident()
    site = home_site()
    if site is not None:
        authorize(current_user, "stock.issue", site)
    g.camera = True
    form = QueueForm()
    prepare_lines(form)
    lines = Lines(form, ISSUE, none_filled=_("请扫码、填写标签或选择物资"))
    context = {
        "site": site, "incident": incident, "sites": site_choices("stock.issue"),
        "incidents": db.session.scalars(dispatch_queries.incidents(status="open")).all(),
        "recent": _recent(site, incident) if site else [],
        "pending": _pending(site, incident) if site else 0,
    }
    if site is None:
        return render_template("stock/queue.html", form=form, **context)
    here = url_for("stock.queue", site=site.code, incident=incident.id if incident else None)

    def work():
        services.issue(actor=current_user, data={
            "site": site.code, "incident": incident.id if incident else None,
            "recipient": {"type": "household", "name": (form.recipient_name.data or "").strip(),
                          "id_number": (form.recipient_id_number.data or "").strip()},
            "recipient_pending": bool(form.recipient_pending.data), "lines": lines.data()})
        return here

    return submit(form, work, done=_("已发放，请接待下一位"), template="stock/queue.html", once=True,
                  show=lines.show_errors, **context)
