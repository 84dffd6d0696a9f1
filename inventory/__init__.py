"""应急物资: relief-supplies inventory for a county emergency-management bureau."""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask.globals import request_ctx
from flask_babel import get_translations
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from inventory import config as config_module
from inventory.extensions import babel, csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, errors, CLI."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), instance_relative_config=False)
    app.config.update(config_module.from_environment())
    app.config.update(config or {})
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", dt.timedelta(days=14))
    app.instance_path = app.config["INSTANCE_PATH"]
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    from inventory.errors import register_error_handlers
    register_error_handlers(app)
    from inventory.cli import register_cli
    register_cli(app)
    return app


def select_locale() -> str | None:
    """?lang= (remembered in the session), else the browser's preference, else Chinese."""
    if not has_request_context():
        return None  # the command line speaks the default language
    wanted = request.args.get("lang")
    if wanted in LANGUAGES and not request.path.startswith("/api/"):
        session["lang"] = wanted
    chosen = wanted if wanted in LANGUAGES else session.get("lang")
    if chosen not in LANGUAGES:
        chosen = request.accept_languages.best_match(list(LANGUAGES), default="zh")
    return LANGUAGES[chosen]


def _request_translations():
    """The request's translations for templates, looked up once per request.

    flask_babel looks them up again on every call (~15 µs), and a 50-row stock list translates
    ~100 strings: ~1.5 ms of the page (bench/README).
    """
    if not has_request_context():
        return get_translations()
    translations = getattr(request_ctx, "translations", None)
    if translations is None:
        translations = request_ctx.translations = get_translations()
    return translations


class _RenderedNames(Mapping):
    """A table of lazily translated names (STATUS_NAMES…) for one render: each name translated
    on first use, then reused. A 50-row stock list asks for the same few statuses 50 times, and
    each lazy name costs a catalog look-up (~8 µs) every time it is shown."""

    def __init__(self, names: Mapping):
        self._names, self._shown = names, {}

    def __getitem__(self, key):
        if key not in self._shown:
            self._shown[key] = str(self._names[key])
        return self._shown[key]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


def register_extensions(app: Flask) -> None:
    from inventory import models  # noqa: F401  (every table must be known before use)

    db.init_app(app)
    with app.app_context():
        from inventory.db import configure_engine
        configure_engine(db.engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(ROOT / "inventory" / "translations"))
    app.jinja_env.install_gettext_callables(
        lambda string: _request_translations().ugettext(string),
        lambda singular, plural, n: _request_translations().ungettext(singular, plural, n),
        newstyle=True)

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
    from inventory.labels.views import blueprint as labels
    from inventory.norms.views import blueprint as norms
    from inventory.sites.views import blueprint as sites
    from inventory.stock.views import blueprint as stock

    for blueprint in (auth, dashboard, alerts, stock, labels, norms, sites, catalog, audit):
        app.register_blueprint(blueprint)
    # The API authenticates with bearer tokens only, never cookies, so CSRF cannot reach it.
    csrf.exempt(api)
    app.register_blueprint(api)


def register_request_hooks(app: Flask) -> None:
    from flask_babel import get_locale

    from inventory.audit.queries import ACTION_NAMES, ENTITY_NAMES, FIELD_NAMES, audit_value
    from inventory.auth.access import ROLE_NAMES, can, can_somewhere
    from inventory.catalog.services import TRACKING_NAMES
    from inventory.norms.services import READINESS_NAMES
    from inventory.sites.services import HAZARD_NAMES, KIND_NAMES, STORAGE_NAMES
    from inventory.stock import services as stock
    from inventory.validation import refuse_nul

    names = {"KIND_NAMES": KIND_NAMES, "HAZARD_NAMES": HAZARD_NAMES, "ROLE_NAMES": ROLE_NAMES,
             "STORAGE_NAMES": STORAGE_NAMES, "TRACKING_NAMES": TRACKING_NAMES,
             "ACTION_NAMES": ACTION_NAMES, "ENTITY_NAMES": ENTITY_NAMES,
             "FIELD_NAMES": FIELD_NAMES, "STATUS_NAMES": stock.STATUS_NAMES,
             "TRANSFER_STATUS_NAMES": stock.TRANSFER_STATUS_NAMES,
             "SOURCE_NAMES": stock.SOURCE_NAMES, "RECIPIENT_NAMES": stock.RECIPIENT_NAMES,
             "CONDITION_NAMES": stock.CONDITION_NAMES, "REASON_NAMES": stock.REASON_NAMES,
             "MOVEMENT_NAMES": stock.MOVEMENT_NAMES, "READINESS_NAMES": READINESS_NAMES,
             "TEST_RESULT_NAMES": stock.TEST_RESULT_NAMES}

    @app.context_processor
    def _template_helpers():
        return {"can": lambda permission, site=None: can(current_user, permission, site),
                "can_somewhere": lambda permission: can_somewhere(current_user, permission),
                "current_locale": lambda: str(get_locale()),
                **{name: _RenderedNames(table) for name, table in names.items()}}

    app.add_template_filter(audit_value)
    app.add_template_filter(stock.format_label, "label")
    app.add_template_filter(stock.mask_id_number, "mask_id")

    @app.before_request
    def _refuse_nul_in_pages():
        # The API refuses it too, once the caller is authenticated (api/core.py).
        if not request.path.startswith("/api/"):
            refuse_nul()

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        # Pages that scan may use the camera and compile the QR decoder's WebAssembly; no page
        # runs inline script.
        camera = g.get("camera", False)
        scripts = "'self' 'wasm-unsafe-eval'" if camera else "'self'"
        headers.setdefault("Content-Security-Policy",
                           f"default-src 'self'; script-src {scripts}; style-src 'self'; "
                           "img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy",
                           f"camera=({'self' if camera else ''}), microphone=(), geolocation=()")
        if app.config["HSTS"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not request.path.startswith("/static/"):
            # Pages hold stock and personal data; shared phones must not keep them in a cache.
            headers.setdefault("Cache-Control", "no-store")
        return response
