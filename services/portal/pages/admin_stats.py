"""Statistics (统计): each delegation and sub-delegation of the admin's part of the tree
against its target, a bar chart of units registered against the target and a line of
units registered per day (drawn on the server as SVG, with the figures in tables), the
weekly report, and XLSX exports of the units and personnel in scope."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, render_template
from flask_babel import lazy_gettext as _l

from .. import charts
from ..admin_menu import menu_item
from ..web import REVIEWERS, admin_required, api, arg_text, current_user

bp = Blueprint("admin_stats", __name__, url_prefix="/admin/statistics")
menu_item("admin_stats.index", _l("Statistics"), REVIEWERS, order=400,
          description=_l("Progress against targets, registrations per day, the weekly report and exports."))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {"weekly.csv": ("/reports/weekly.csv", "text/csv"), "weekly.xlsx": ("/reports/weekly.xlsx", XLSX),
             "units.xlsx": ("/exports/units.xlsx", XLSX), "personnel.xlsx": ("/exports/personnel.xlsx", XLSX)}


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(arg_text(name, 10))
    except ValueError:
        return None


@bp.get("")
@admin_required(*REVIEWERS)
def index() -> Any:
    user = current_user()
    assert user is not None
    root = arg_text("delegation_id", 64) or None
    params = {"delegation_id": root} if root else {}
    rows = api().get("review", "/statistics", params=params)
    viewed = root or user.delegation_id or None
    summary = next((r for r in rows if r["delegation_id"] == viewed), None) if viewed else None
    parts = [r for r in rows if (r.get("parent_id") == viewed) or (viewed is None and not r.get("parent_id"))]
    if summary is None and viewed is None:  # the whole fair: the delegations' sums
        summary = {"name": None, "target": sum(r["target"] for r in parts), "units": sum(r["units"] for r in parts),
                   "approved_units": sum(r["approved_units"] for r in parts), "people": sum(r["people"] for r in parts)}
        summary["completion"] = summary["approved_units"] / summary["target"] if summary["target"] else None
    if not parts and summary is not None and summary.get("delegation_id"):
        parts = [summary]  # a sub-delegation without sub-delegations: its own bar
    last = _day("to") or (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()
    first = _day("from") or last - dt.timedelta(days=29)
    if first > last:
        first, last = last, first
    first = max(first, last - dt.timedelta(days=365))
    days = api().get("review", "/statistics/daily", params={**params, "from": first.isoformat(),
                                                             "to": last.isoformat()})
    return render_template("admin/stats/index.html", rows=rows, parts=parts, summary=summary, viewed=viewed,
                           root=root, bars=charts.bar_chart(parts), line=charts.line_chart(days), days=days,
                           first=first, last=last, by_id={r["delegation_id"]: r for r in rows},
                           has_children={r["parent_id"] for r in rows if r.get("parent_id")})


@bp.get("/<name>")
@admin_required(*REVIEWERS)
def download(name: str) -> Response:
    if name not in DOWNLOADS:
        abort(404)
    path, mimetype = DOWNLOADS[name]
    root = arg_text("delegation_id", 64)
    answer = api().call("GET", "review", path, params={"delegation_id": root} if root else None)
    stem, ext = name.rsplit(".", 1)
    tag = "".join(c for c in root if (c.isascii() and c.isalnum()) or c == "-")[:40] or "all"  # a safe name
    filename = f"{stem}-{tag}-{dt.date.today().isoformat()}.{ext}"
    return Response(answer.content, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "private, no-store"})
