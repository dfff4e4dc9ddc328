"""Languages: which one a request is served in, and the picker that remembers a supporter's choice.

Order (issue 13): the supporter's choice (the ``lang`` cookie the picker sets, or the language a view
put on ``g.locale`` from a supporter's saved preference), then the browser's Accept-Language, then the
campaign's default (a view sets ``g.campaign_locale``), then English.
"""

from __future__ import annotations

from babel import support
from flask import Blueprint, current_app, g, has_request_context, make_response, redirect, request
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from wtforms.i18n import messages_path

from .extensions import babel
from .routing import safe_next

#: Languages the app ships catalogs for, with their names in their own language (for the picker).
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT_LOCALE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the most a browser keeps (RFC 6265bis)

bp = Blueprint("i18n", __name__, url_prefix="/language")


def supported(code: str | None) -> str | None:
    """The supported language a code names ("es-MX" -> "es"), or None."""
    if not code:
        return None
    code = code.replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def select_locale() -> str:
    if not has_request_context():  # the outbox sender renders email under force_locale()
        return supported(getattr(g, "locale", None)) or DEFAULT_LOCALE
    chosen = supported(getattr(g, "locale", None)) or supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    browser = request.accept_languages.best_match(list(LANGUAGES))
    if browser:
        return browser
    campaign = getattr(g, "campaign_locale", None)
    if callable(campaign):  # use_campaign_locale: looked up only when it decides
        campaign = campaign()
    return supported(campaign) or DEFAULT_LOCALE


def use_campaign_locale(rally) -> None:
    """For a page about one rally: its campaign's default language is the fallback when neither the
    supporter nor the browser names one. Lazy, so the campaign is read only in that rare case."""
    g.campaign_locale = lambda: rally.campaign.default_locale


def select_timezone() -> str | None:
    # Dates are shown in each rally's own zone (dates.local_time), never the viewer's.
    return None


@bp.post("")
def choose():
    """The picker: remember the choice in a cookie and go back where the supporter was."""
    code = supported(request.form.get("lang")) or DEFAULT_LOCALE
    response = make_response(redirect(safe_next(request.form.get("next")) or "/", 303))
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", True))
    return response


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path) + "/translations")
    # WTForms' built-in messages ("Not a valid integer value.") in the request's language, from the
    # catalogs WTForms ships, through Flask-Babel's locale.
    app.config.setdefault("WTF_I18N_ENABLED", True)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel's template gettext finds the catalog anew on every call (context, domain, locale),
    # and a page calls it dozens of times. Each render finds it once instead, in the context processor
    # below, so force_locale() around a render still chooses the language.
    app.jinja_env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)
    app.register_blueprint(bp)

    @app.context_processor
    def _languages():
        return {"LANGUAGES": LANGUAGES, "current_locale": str(get_locale() or DEFAULT_LOCALE),
                "_translations": get_translations()}


def _catalog(context):
    return context.get("_translations") or get_translations()


@pass_context
def _template_gettext(context, string: str) -> str:
    return _catalog(context).ugettext(string)


@pass_context
def _template_ngettext(context, singular: str, plural: str, n: int) -> str:
    return _catalog(context).ungettext(singular, plural, n)


_WTFORMS_CATALOGS: dict[str, support.Translations] = {}


def wtforms_catalog() -> support.Translations:
    """WTForms' own messages ("Not a valid integer value.") in the current language, read once per language."""
    locale = str(get_locale() or DEFAULT_LOCALE)
    if locale not in _WTFORMS_CATALOGS:
        _WTFORMS_CATALOGS[locale] = support.Translations.load(messages_path(), [locale], domain="wtforms")
    return _WTFORMS_CATALOGS[locale]
