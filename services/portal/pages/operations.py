"""The operations desk (运营): production batches and their sheets, police checks that were
never answered, dispatch and tracking, and the on-site pick-up desk — look a person up by
name, unit or badge number, compare them with the photo, and hand the badge over to them
or to a colleague collecting on their behalf (代领; the rules are credentials', see
services/credentials/domain/pickup.py)."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from .. import desk_labels
from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import COMMITTEE, OPERATIONS, FormErrors, admin_required, api, arg_text, form_text

bp = Blueprint("admin_operations", __name__, url_prefix="/admin/operations")
DESK = (OPERATIONS, COMMITTEE)
DIGITS = "0123456789"

menu_item("admin_operations.pickup", _l("Pick-up desk"), DESK, order=400,
          description=_l("Find a person's badge and hand it over, also to a colleague on their behalf."))
menu_item("admin_operations.dispatch", _l("Dispatch"), DESK, order=410,
          description=_l("Badges on their way: courier tracking and the pick-up desk."))
menu_item("admin_operations.batches", _l("Production batches"), DESK, order=420,
          description=_l("Batches produced and their print sheets."))
menu_item("admin_operations.checks", _l("Overdue checks"), DESK, order=430,
          description=_l("Police checks never answered after every re-send."))
menu_item("admin_operations.reissue_requests", _l("Reissue requests"), DESK, order=435,
          description=_l("Lost or damaged badges: reissue them (the old card is void) or refuse with a note."))
menu_item("admin_operations.scans", _l("Gate scans"), DESK, order=440,
          description=_l("Every scan at the gates: where, when, which way and the verdict."))


def badge_no(value: str) -> str:
    if not value or len(value) > 32 or any(c not in DIGITS for c in value):
        abort(404)
    return value


def request_key(value: str) -> str:
    """A request id from the URL, as it may go into an API path."""
    if not value or len(value) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        abort(404)
    return value


# --- production and checks ------------------------------------------------------------------
@bp.get("/batches")
@admin_required(*DESK)
def batches() -> str:
    return render_template("operations/batches.html", rows=api().get("credentials", "/operations/batches"))


@bp.get("/batches/<batch_id>/sheet.pdf")
@admin_required(*DESK)
def batch_sheet(batch_id: str) -> Response:
    if not batch_id.isalnum() or len(batch_id) > 32:
        abort(404)
    answer = api().call("GET", "credentials", f"/operations/batches/{batch_id}/sheet.pdf")
    return Response(answer.content, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=batch-{batch_id}.pdf",
                             "Cache-Control": "private, no-store"})


@bp.get("/checks")
@admin_required(*DESK)
def checks() -> str:
    return render_template("operations/checks.html", rows=api().get("credentials", "/operations/overdue-checks"))


# --- lost or damaged badges (补证) ----------------------------------------------------------------
HOLDER_LOOKUPS = 50  # the holder's name and photo are looked up per card, for this many requests


@bp.get("/reissue-requests")
@admin_required(*DESK)
def reissue_requests() -> Any:
    return _reissue_requests_page(FormErrors())


def _reissue_requests_page(errors: FormErrors, notes: dict[str, str] | None = None, status: int = 200) -> Any:
    shown = arg_text("status", 12)
    shown = shown if shown in desk_labels.REISSUE_QUEUE else "requested"
    rows = api().get("credentials", "/operations/reissue-requests", params={"status": shown})
    page = render_template("operations/reissue_requests.html", rows=rows, shown=shown, errors=errors,
                           notes=notes or {}, holders=_holders_of(rows))
    return page, status


def _holders_of(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each card's holder (name, unit, photo to compare): the request names only the card."""
    holders: dict[str, dict[str, Any]] = {}
    for credential_no in dict.fromkeys(r["credential_no"] for r in rows[:HOLDER_LOOKUPS]):
        try:
            holders[credential_no] = api().get("credentials", f"/operations/pickup/{badge_no(credential_no)}")
        except ApiProblem:
            continue  # shown without the holder rather than not at all
    return holders


@bp.post("/reissue-requests/<request_id>/reissue")
@admin_required(*DESK)
def reissue_requested(request_id: str) -> Any:
    request_id = request_key(request_id)
    try:
        done = api().send("POST", "credentials", f"/operations/reissue-requests/{request_id}/reissue")
    except ApiProblem as problem:
        errors = FormErrors()
        errors.add(None, FormErrors.message_of(problem))
        return _reissue_requests_page(errors, status=403 if problem.status == 403 else 400)
    flash(_("Badge %(no)s reissued: the old card no longer admits.", no=done["credential_no"]), "success")
    return redirect(url_for("admin_operations.reissue_requests"))


@bp.post("/reissue-requests/<request_id>/reject")
@admin_required(*DESK)
def reject_reissue_request(request_id: str) -> Any:
    request_id, note = request_key(request_id), form_text("note", 200)
    errors, field = FormErrors(), f"note-{request_id}"
    if not note:
        errors.add(field, _("Say why no new badge is made: the unit reads it."))
        return _reissue_requests_page(errors, {request_id: note}, 400)
    try:
        done = api().send("POST", "credentials", f"/operations/reissue-requests/{request_id}/reject",
                          json={"note": note})
    except ApiProblem as problem:
        errors.add(field, FormErrors.message_of(problem))
        return _reissue_requests_page(errors, {request_id: note}, 400)
    flash(_("New badge for %(no)s refused; the unit sees why on its badges page.", no=done["credential_no"]), "success")
    return redirect(url_for("admin_operations.reissue_requests"))


# --- dispatch ------------------------------------------------------------------------------------
@bp.get("/dispatch")
@admin_required(*DESK)
def dispatch() -> str:
    status, query = arg_text("status", 20), arg_text("q", 40)
    params = {k: v for k, v in (("status", status if status in desk_labels.DISTRIBUTION else ""),
                                ("q", query)) if v}
    rows = api().get("credentials", "/operations/dispatch", params=params)
    return render_template("operations/dispatch.html", rows=rows, status=params.get("status", ""), query=query)


@bp.post("/dispatch/<credential_no>/delivered")
@admin_required(*DESK)
def delivered(credential_no: str) -> BaseResponse:
    credential_no = badge_no(credential_no)
    try:
        api().send("POST", "credentials", f"/operations/credentials/{credential_no}/hand-over")
    except ApiProblem as problem:
        flash(FormErrors.message_of(problem), "error")
    else:
        flash(_("Badge %(no)s marked delivered.", no=credential_no), "success")
    return redirect(url_for("admin_operations.dispatch", status="dispatched"))


# --- the pick-up desk ------------------------------------------------------------------------------
@bp.get("/pickup")
@admin_required(*DESK)
def pickup() -> Any:
    query, errors, rows = arg_text("q", 60), FormErrors(), None
    if query:
        try:
            rows = api().get("credentials", "/operations/pickup", params={"q": query})
        except ApiProblem as problem:
            errors.add_problem(problem, known={"q"})
    page = render_template("operations/pickup.html", query=query, rows=rows, errors=errors)
    return (page, 400) if errors else page


@bp.get("/pickup/<credential_no>")
@admin_required(*DESK)
def pickup_card(credential_no: str) -> str:
    return _card_page(badge_no(credential_no), FormErrors(), {"collector": "holder", "proxy_credential_no": ""})


def _card_page(credential_no: str, errors: FormErrors, values: dict[str, str]) -> Any:
    card = api().get("credentials", f"/operations/pickup/{credential_no}")
    page = render_template("operations/card.html", c=card, errors=errors, values=values,
                           back=arg_text("q", 60))
    return (page, 400) if errors else page


@bp.post("/pickup/<credential_no>/hand-over")
@admin_required(*DESK)
def hand_over(credential_no: str) -> Any:
    credential_no = badge_no(credential_no)
    values = {"collector": form_text("collector", 10), "proxy_credential_no": form_text("proxy_credential_no", 32)}
    errors = FormErrors()
    if values["collector"] not in ("holder", "proxy"):
        errors.add("collector", _("Choose who collects the badge."))
    elif values["collector"] == "proxy" and not values["proxy_credential_no"]:
        errors.add("proxy_credential_no", _("Type the badge number of the person collecting."))
    if not errors:
        body: dict[str, Any] = {"collector": values["collector"]}
        if values["collector"] == "proxy":
            body["proxy_credential_no"] = values["proxy_credential_no"]
        try:
            done = api().send("POST", "credentials", f"/operations/pickup/{credential_no}/hand-over", json=body)
        except ApiProblem as problem:
            errors.add_problem(problem, known={"collector", "proxy_credential_no"},
                               aliases={"credential_no": "collector"})
        else:
            if done["collected_by"] == "proxy":
                flash(_("Badge of %(name)s handed over to the colleague with badge %(proxy)s.", name=done["name"],
                        proxy=done["proxy_credential_no"]), "success")
            else:
                flash(_("Badge handed over to %(name)s.", name=done["name"]), "success")
            return redirect(url_for("admin_operations.pickup_card", credential_no=credential_no))
    return _card_page(credential_no, errors, values)


# --- the gates' scan log ------------------------------------------------------------------------
@bp.get("/scans")
@admin_required(*DESK)
def scans() -> str:
    filters = {"gate": arg_text("gate", 40), "verdict": arg_text("verdict", 20),
               "credential_no": arg_text("credential_no", 32)}
    if filters["verdict"] not in desk_labels.GATE_VERDICTS:
        filters["verdict"] = ""
    try:
        page = max(1, min(int(arg_text("page", 6) or 1), 100_000))
    except ValueError:
        page = 1
    params: dict[str, Any] = {k: v for k, v in filters.items() if v}
    log = api().get("credentials", "/gate/scans", params={**params, "page": page, "per_page": 50})
    pages = max(1, (log["total"] + 49) // 50)
    return render_template("operations/scans.html", log=log, filters=filters, page=page, pages=pages)
