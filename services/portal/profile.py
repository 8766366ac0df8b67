"""The fair the portal serves (`FAIR`, the same profile as the services'), as the pages need
it: the profile itself, its {"zh", "en"} texts in the page's language, and the questions the
unit pages ask of it (which fields a visitor kind fills in, which badges it may ask for)."""
from __future__ import annotations

from typing import Any

from shared.fair import FairProfile, fair


def profile() -> FairProfile:
    """The active profile. One indirection, so tests can swap the fair in one place."""
    return fair()


def page_language() -> str:
    from .web import language  # the page's locale (Flask-Babel), zh outside a request
    try:
        return language()
    except RuntimeError:
        return "zh"


def fair_text(text: Any, lang: str | None = None) -> str:
    """A profile text ({"zh", "en"}) in the page's language; anything else as it is."""
    if isinstance(text, dict):
        chosen = text.get(lang or page_language()) or text.get("zh") or next(iter(text.values()), "")
        return str(chosen)
    return "" if text is None else str(text)


def fair_name(short: bool = False) -> str:
    return fair_text(profile().data["short_name" if short else "name"])


def visitor_kinds() -> list[dict[str, Any]]:
    return list(profile().data["visitor_kinds"])


def visitor_kind(kind: str | None) -> dict[str, Any] | None:
    return profile().visitor_kind(kind or "")


def default_visitor_kind() -> str:
    return str(profile().data["visitor_kinds"][0]["id"])


def unit_asks(field: str, kind: str | None) -> bool:
    """Whether the unit information page shows `field` to a unit of visitor kind `kind`: the
    kind lists it in `required_info`, or the profile's `unit_fields` ask for it (the fields
    that go with another — a website with the introduction, the Fortune 500 name with the
    yes/no — follow theirs)."""
    p = profile()
    asked = p.data["unit_fields"]
    if field in ("company_type",) and asked["company_types"]:
        return True
    if field in ("introduction", "website") and asked["introduction"]:
        return True
    if field in ("fortune500", "fortune500_name") and asked["fortune500"]:
        return True
    if field == "fortune500_name":
        return unit_asks("fortune500", kind)
    if field == "website":
        return unit_asks("introduction", kind)
    return field in p.required_info(kind or "")


def unit_requires(field: str, kind: str | None) -> bool:
    return field in profile().required_info(kind or "")


def badges_allowed(kind: str | None) -> bool:
    """False for an online-only registration (the kind's `badges` is false): no badge at all."""
    found = visitor_kind(kind)
    return True if found is None else bool(found["badges"])


def template_globals() -> dict[str, Any]:
    p = profile()
    return {"fair": p, "fair_text": fair_text, "fair_name": fair_name(), "fair_short": fair_name(short=True),
            "unit_asks": unit_asks, "unit_requires": unit_requires}
