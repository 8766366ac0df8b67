"""The portal's Flask app factory (served by gunicorn: `services.portal.app:create_app()`).

Server-rendered pages for units, in Chinese by default and English by switch. No
database: pages call the services' APIs with the user's token, which lives only in the
signed, HttpOnly session cookie."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import Babel, gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import labels, profile
from .bootstrap import Portal, build, default_portal
from .client import ApiProblem, ApiUnavailable
from .messages import problem_text
from .pages import BLUEPRINTS
from .pages.api_docs import create_docs_blueprint
from .web import current_user, language, sign_out

HERE = Path(__file__).resolve().parent
LANGUAGES = ("zh", "en")
LANG_COOKIE = "portal_lang"
SESSION_HOURS = 8  # the unit token's own lifetime
log = logging.getLogger(__name__)


def create_app(portal: Portal | None = None, api_wsgi: Any = None) -> Flask:
    """`api_wsgi`: the services' WSGI app when they run in this process (the one-process
    gateway); otherwise the portal calls them over HTTP."""
    if portal is None:
        portal = build(api_wsgi=api_wsgi) if api_wsgi is not None else default_portal()
    app = Flask("accr.portal", root_path=str(HERE), static_folder="static", template_folder="templates")
    configure(app, portal)
    if portal.settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=portal.settings.proxy_hops,  # type: ignore[method-assign]
                                x_proto=portal.settings.proxy_hops)
    Babel(app, locale_selector=select_locale, default_translation_directories=str(HERE / "translations"))
    CSRFProtect(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(create_docs_blueprint())  # /docs/<service>: the APIs for integrators
    register_error_pages(app)
    register_template_helpers(app)
    app.after_request(secure_headers)

    @app.get("/healthz")
    @app.get("/readyz")
    @app.get("/health")
    def health() -> Response:
        """Liveness and readiness alike: the portal keeps no state and holds no connection;
        an API it calls that is away is shown to the person as such, page by page."""
        return jsonify({"service": "portal", "status": "ok"})

    return app


def configure(app: Flask, portal: Portal) -> None:
    settings = portal.settings
    app.extensions["portal"] = portal
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="accr_portal",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        # the cookie is written when the session changes, not on every answer: an image still
        # loading when the user signs out must not bring the signed-in cookie back (and the
        # token inside expires with the login anyway, so sliding the cookie gains nothing)
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,  # a 5 MB voucher and the form around it
        MAX_FORM_MEMORY_SIZE=512 * 1024,
        MAX_FORM_PARTS=400,
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
        WTF_CSRF_SSL_STRICT=settings.cookie_secure,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.autoescape = True


def select_locale() -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else "zh"  # Chinese unless the user switched


def secure_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                                "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
                                "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_user() is not None and not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "private, no-store"  # personal pages stay off shared caches
    response.vary.add("Cookie")
    return response


# --- error pages: a problem is a page in the user's language, never a bare 500 ------------
def register_error_pages(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def api_problem(problem: ApiProblem) -> Any:
        user = current_user()
        if problem.status == 401 and user is not None:
            sign_out()
            flash(_("Your session has expired. Please log in again."), "info")
            return redirect(url_for("admin.login" if user.is_admin else "account.login", next=request.path))
        status = problem.status if 400 <= problem.status < 500 else 400
        return render_template("error.html", title=_("That did not work"), message=problem_text(problem),
                               status=status), status

    @app.errorhandler(ApiUnavailable)
    def api_unavailable(exc: ApiUnavailable) -> Any:
        log.warning("API unavailable on %s: %s", request.path, exc)
        return render_template("error.html", title=_("Service temporarily unavailable"),
                               message=_("Part of the system is not answering. Please try again in a moment."),
                               status=503), 503

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return render_template("error.html", title=_("The form has expired"),
                               message=_("For your security the form could not be accepted. Go back, reload "
                                         "the page and send it again."), status=400), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        titles = {404: _("Page not found"), 405: _("Not allowed here"), 413: _("The file is too large"),
                  400: _("The request could not be understood"), 403: _("Not for your role")}
        messages = {404: _("The page you asked for does not exist."),
                    403: _("Your account cannot open this page. Use the menu for the pages of your role."),
                    413: _("Files must be smaller than 8 MB; photos smaller than 1 MB.")}
        return render_template("error.html", title=titles.get(status, _("Something went wrong")),
                               message=messages.get(status, ""), status=status), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unexpected portal error on %s", request.path)  # never the form data
        return render_template("error.html", title=_("Something went wrong"),
                               message=_("Please try again. If it keeps happening, contact your delegation."),
                               status=500), 500


# --- template helpers --------------------------------------------------------------------
def money(fen: Any) -> str:
    try:
        value = int(fen)
    except (TypeError, ValueError):
        return "—"
    return f"¥{value // 100:,}.{value % 100:02d}"


def local_time(value: Any, with_time: bool = True) -> str:
    """API times are UTC; units read Beijing time."""
    if not value:
        return "—"
    try:
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    beijing = moment.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return beijing.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def short_date(value: Any) -> str:
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    pattern = g.setdefault("_short_date", _("%(month)d/%(day)d"))  # translated once per request
    return str(pattern) % {"month": day.month, "day": day.day}


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, local_time=local_time, short_date=short_date,
                                 fair_text=profile.fair_text)

    @app.context_processor
    def globals_for_templates() -> dict[str, Any]:
        portal: Portal = app.extensions["portal"]
        return {"user": current_user(), "lang": language(), "L": labels, "label": labels.label,
                "settings": portal.settings, "sandbox": portal.settings.sandbox, **profile.template_globals()}
