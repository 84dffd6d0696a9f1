"""The pages' language and what every template may use: translations, display names, filters."""

from collections.abc import Mapping

from flask import Flask, has_request_context, request, session
from flask.globals import request_ctx
from flask_babel import get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context

from inventory import navigation
from inventory.audit.models import ACTION_NAMES, ENTITY_NAMES
from inventory.audit.queries import FIELD_NAMES, audit_value
from inventory.auth.access import can, can_somewhere
from inventory.auth.models import ROLE_NAMES
from inventory.catalog.models import TRACKING_NAMES, UNIT_NAMES
from inventory.dispatch.models import KIT_BASIS_NAMES, LEVEL_NAMES, REQUEST_STATUS_NAMES, TYPE_NAMES
from inventory.dispatch.models import STATUS_NAMES as INCIDENT_STATUS_NAMES
from inventory.extensions import babel
from inventory.labels.codes import format_label
from inventory.norms.models import READINESS_NAMES
from inventory.offline.models import (
    CONFLICT_REASON_NAMES,
    CONFLICT_STATUS_NAMES,
    DEVICE_STATUS_NAMES,
    SYNC_KIND_NAMES,
)
from inventory.sites.models import HAZARD_NAMES, KIND_NAMES, STORAGE_NAMES
from inventory.spreadsheets.models import IMPORT_KIND_NAMES, IMPORT_STATUS_NAMES
from inventory.stock.models import (
    CONDITION_NAMES,
    MOVEMENT_NAMES,
    REASON_NAMES,
    RECIPIENT_NAMES,
    SOURCE_NAMES,
    STATUS_NAMES,
    TEST_RESULT_NAMES,
    TRANSFER_STATUS_NAMES,
)
from inventory.stocktakes.models import STATUS_NAMES as STOCKTAKE_STATUS_NAMES

LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}

# The display names every template may look a code up in, e.g. {{ STATUS_NAMES[item.status] }}.
NAMES = {"KIND_NAMES": KIND_NAMES, "HAZARD_NAMES": HAZARD_NAMES, "ROLE_NAMES": ROLE_NAMES,
         "STORAGE_NAMES": STORAGE_NAMES, "TRACKING_NAMES": TRACKING_NAMES,
         "ACTION_NAMES": ACTION_NAMES, "ENTITY_NAMES": ENTITY_NAMES, "FIELD_NAMES": FIELD_NAMES,
         "STATUS_NAMES": STATUS_NAMES, "TRANSFER_STATUS_NAMES": TRANSFER_STATUS_NAMES,
         "SOURCE_NAMES": SOURCE_NAMES, "RECIPIENT_NAMES": RECIPIENT_NAMES,
         "CONDITION_NAMES": CONDITION_NAMES, "REASON_NAMES": REASON_NAMES,
         "MOVEMENT_NAMES": MOVEMENT_NAMES, "READINESS_NAMES": READINESS_NAMES,
         "TEST_RESULT_NAMES": TEST_RESULT_NAMES, "UNIT_NAMES": UNIT_NAMES,
         "STOCKTAKE_STATUS_NAMES": STOCKTAKE_STATUS_NAMES, "INCIDENT_STATUS_NAMES": INCIDENT_STATUS_NAMES,
         "INCIDENT_TYPE_NAMES": TYPE_NAMES, "INCIDENT_LEVEL_NAMES": LEVEL_NAMES,
         "REQUEST_STATUS_NAMES": REQUEST_STATUS_NAMES, "KIT_BASIS_NAMES": KIT_BASIS_NAMES,
         "DEVICE_STATUS_NAMES": DEVICE_STATUS_NAMES, "SYNC_KIND_NAMES": SYNC_KIND_NAMES,
         "CONFLICT_REASON_NAMES": CONFLICT_REASON_NAMES, "CONFLICT_STATUS_NAMES": CONFLICT_STATUS_NAMES,
         "IMPORT_KIND_NAMES": IMPORT_KIND_NAMES, "IMPORT_STATUS_NAMES": IMPORT_STATUS_NAMES}


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


def unit_name(unit: str) -> str:
    """A unit of measure in the page's language (顶 → pcs in English); others as entered."""
    name = UNIT_NAMES.get(unit)
    return str(name) if name is not None else unit


@pass_context
def _unit_filter(context, unit: str) -> str:
    """``{{ m.unit|unit }}``: through the render's table, so a 50-line list translates 顶 once."""
    return context["UNIT_NAMES"].get(unit, unit)


def mask_id_number(number: str) -> str:
    """An ID number as pages show it: the first three and last four characters."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def init_app(app: Flask, translations_directory: str) -> None:
    """Choose each request's language, and give templates their helpers."""
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=translations_directory)
    app.jinja_env.install_gettext_callables(
        lambda string: _request_translations().ugettext(string),
        lambda singular, plural, n: _request_translations().ungettext(singular, plural, n),
        newstyle=True)

    @app.context_processor
    def _template_helpers():
        return {"can": lambda permission, site=None: can(current_user, permission, site),
                "can_somewhere": lambda permission: can_somewhere(current_user, permission),
                "current_locale": lambda: str(get_locale()),
                "nav_menu": lambda: navigation.menu(current_user),
                "nav_tabs": lambda: navigation.tabs(current_user),
                **{name: _RenderedNames(table) for name, table in NAMES.items()}}

    app.add_template_filter(audit_value)
    app.add_template_filter(format_label, "label")
    app.add_template_filter(mask_id_number, "mask_id")
    app.add_template_filter(_unit_filter, "unit")
