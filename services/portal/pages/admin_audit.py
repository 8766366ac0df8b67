"""The audit log (审计日志) for the organising committee: every admin action, searched by
who did it (username), what it was done to (an id, a unit's USCC or name, an admin's
username), what was done, and when (Beijing days)."""
from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from .. import labels
from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import ADMIN_ROLES, COMMITTEE, FormErrors, admin_required, api, arg_text

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")
menu_item("admin_audit.index", _l("Audit log"), (COMMITTEE,), order=900,
          description=_l("Who did what, to what and when: search every admin action."))

PER_PAGE = 50
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(arg_text(name, 10))
    except ValueError:
        return None


def _changes(entry: dict[str, Any]) -> str:
    """Before → after in one short line (the log keeps no personal data)."""
    def short(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str) if value else "—"
        return text if len(text) <= 160 else text[:157] + "…"
    return f"{short(entry.get('before'))} → {short(entry.get('after'))}"


@bp.get("")
@admin_required(COMMITTEE)
def index() -> Any:
    page_arg = arg_text("page", 6)
    role, action = arg_text("role", 40), arg_text("action", 60)
    first, last = _day("from"), _day("to")
    filters: dict[str, Any] = {"actor": arg_text("actor", 64), "target": arg_text("target", 100),
               "role": role if role in ADMIN_ROLES else "",
               "action": action if action in labels.AUDIT_ACTIONS else "",
               "from": first, "to": last,
               "page": int(page_arg) if page_arg.isdigit() and 0 < int(page_arg) < 100000 else 1}
    params: dict[str, Any] = {k: filters[k] for k in ("actor", "target", "role", "action", "page") if filters[k]}
    if first:
        params["since"] = dt.datetime.combine(first, dt.time(), BEIJING).isoformat()
    if last:
        params["until"] = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), BEIJING).isoformat()
    errors = FormErrors()
    page: dict[str, Any] = {"items": [], "total": 0}
    try:
        page = api().get("review", "/audit", params={**params, "per_page": PER_PAGE})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add(None, FormErrors.message_of(problem))
    for entry in page.get("items", []):
        entry["changes"] = _changes(entry)
    shown = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in filters.items() if v and k != "page"}
    return render_template("admin/audit/index.html", page=page, filters=filters, shown=shown, errors=errors,
                           pages=max(1, math.ceil(int(page.get("total") or 0) / PER_PAGE)))
