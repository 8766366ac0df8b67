"""The fair's home page, help, privacy and the language switch."""
from __future__ import annotations

import datetime as dt

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, make_response, redirect, render_template, request, url_for

from ..web import current_user, portal, safe_next

bp = Blueprint("public", __name__)
LANG_COOKIE = "portal_lang"


@bp.get("/")
def home() -> str:
    settings = portal().settings
    return render_template("public/home.html", days=settings.fair_day_list, deadlines=settings.deadlines,
                           fee_fen=portal().edition_fee(), today=dt.date.today())


@bp.get("/help")
def help_page() -> str:
    return render_template("public/help.html")


@bp.get("/privacy")
def privacy() -> str:
    return render_template("public/privacy.html")


@bp.get("/lang/<code>")
def switch_language(code: str) -> BaseResponse:
    """A plain link, so it works without JavaScript; it only sets a preference cookie."""
    user = current_user()
    default = url_for("unit.home" if user and user.is_contact else "public.home")
    response = make_response(redirect(safe_next(request.args.get("next"), default)))
    if code in ("zh", "en"):
        settings = portal().settings
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=settings.cookie_secure)
    return response
