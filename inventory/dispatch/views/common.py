"""What every dispatch page shares: the blueprint."""

from flask import Blueprint

blueprint = Blueprint("dispatch", __name__, url_prefix="/incidents")
