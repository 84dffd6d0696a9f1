"""应急物资: relief-supplies inventory for a county emergency-management bureau."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from inventory import config as config_module
from inventory.extensions import csrf, db, idempotency, label_guessing, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, errors, CLI."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), instance_relative_config=False)
    app.config.update(config_module.from_environment())
    app.config.update(config or {})
    app.instance_path = app.config["INSTANCE_PATH"]
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    register_extensions(app)
    register_blueprints(app)
    register_edge(app)
    return app


def register_extensions(app: Flask) -> None:
    from inventory import (
        jobs,
        models,  # noqa: F401  (every table must be known before use)
        security,
        templating,
    )
    from inventory.db import configure_engine
    from inventory.db import init_app as hold_to_one_unit

    db.init_app(app)
    hold_to_one_unit(app)
    with app.app_context():
        configure_engine(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    app.before_request(security.raise_upload_limit)  # before the CSRF check reads a form
    csrf.init_app(app)
    templating.init_app(app, str(ROOT / "inventory" / "translations"))
    idempotency.init_app(app)
    label_guessing.init_app(app)
    jobs.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # Sessions are revoked server-side (see UserSession), so phones may roam between networks.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load_user(session_id: str):
        from inventory.auth.services import load_session
        return load_session(session_id, app.config["PERMANENT_SESSION_LIFETIME"])


def register_blueprints(app: Flask) -> None:
    from inventory.alerts.views import blueprint as alerts
    from inventory.api import api
    from inventory.audit.views import blueprint as audit
    from inventory.auth.views import blueprint as auth
    from inventory.catalog.views import blueprint as catalog
    from inventory.dashboard.views import blueprint as dashboard
    from inventory.dispatch.views import blueprint as dispatch
    from inventory.labels.views import blueprint as labels
    from inventory.norms.views import blueprint as norms
    from inventory.offline.shell import blueprint as shell
    from inventory.offline.views import blueprint as offline
    from inventory.sites.views import blueprint as sites
    from inventory.spreadsheets.views import blueprint as imports
    from inventory.stock.views import blueprint as stock
    from inventory.stocktakes.views import blueprint as stocktakes

    for blueprint in (auth, dashboard, alerts, stock, stocktakes, dispatch, labels, norms, sites, catalog,
                      audit, offline, shell, imports):
        app.register_blueprint(blueprint)
    # The API authenticates with bearer tokens only, never cookies, so CSRF cannot reach it.
    csrf.exempt(api)
    app.register_blueprint(api)


def register_edge(app: Flask) -> None:
    """What surrounds every request: input checks, headers, error answers, and the CLI."""
    from inventory import forms, security
    from inventory.cli import register_cli
    from inventory.errors import register_error_handlers

    security.init_app(app)
    register_error_handlers(app)
    forms.init_app(app)
    register_cli(app)
