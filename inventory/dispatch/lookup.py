"""Finding the incident a request or a stock document names.

Apart from dispatch/services.py so that the stock actions (stock/services.py, stock/transfers.py),
which dispatch's own services build on, can look an incident up without importing them back:
it needs only the models.
"""

from flask_babel import gettext as _

from inventory.db import db
from inventory.dispatch.models import Incident
from inventory.errors import NotFound, ValidationError


def get_incident(incident_id: int) -> Incident:
    """The incident of this id; raise NotFound."""
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(_("灾情事件 %(id)s 不存在", id=incident_id))
    return incident


def open_incident_for(incident_id: int | None, field: str = "incident") -> Incident | None:
    """The open incident a document names in ``field`` (None when it names none); an unknown or
    closed incident is that field's error (API.md: 422)."""
    if incident_id is None:
        return None
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise ValidationError({field: _("灾情事件 %(id)s 不存在", id=incident_id)})
    if not incident.is_open:
        raise ValidationError({field: _("灾情事件“%(name)s”已结束", name=incident.name)})
    return incident
