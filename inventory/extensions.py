"""Extensions, created unbound; create_app binds them."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from inventory.db import db
from inventory.guessing import LabelGuessing
from inventory.idempotency import Idempotency

# Batch mode lets later migrations alter tables on SQLite too.
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
idempotency = Idempotency()
label_guessing = LabelGuessing()

__all__ = ["babel", "csrf", "db", "idempotency", "label_guessing", "login_manager", "migrate"]
