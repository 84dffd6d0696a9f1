"""What every dispatch page shares: the blueprint and finding the incident or request a URL names."""

from flask import Blueprint
from flask_login import current_user

from inventory.dispatch import services
from inventory.dispatch.models import Incident, Request

blueprint = Blueprint("dispatch", __name__, url_prefix="/incidents")


def incident_or_404(incident_id: int) -> Incident:
    """The incident of the URL (a 404 page when there is none); everyone who may read incidents
    reads every one."""
    return services.visible_incident(current_user, incident_id)


def request_or_404(request_id: int) -> Request:
    """The request of the URL if the user may see its site (403 otherwise; 404 when none)."""
    return services.visible_request(current_user, request_id)
