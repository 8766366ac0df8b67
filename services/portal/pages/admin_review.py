"""The review desk (审核): the queue of units in the admin's part of the delegation tree
with filters, search and pages; a unit's full file (information, qualification document,
addresses, personnel with masked ID numbers and photos, the history of submissions and
comments); approve, return with a comment (templates for the common reasons), reject;
two-level review (a sub-delegation approves first, the delegation secretariat confirms);
reassign and delete where allowed; the same decisions for a batch of units.

Review decides who may see and do what: every page asks review's scoped endpoints."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from .. import desk_labels, labels
from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import FIRST_LEVEL, REVIEWERS, FormErrors, admin_required, api, arg_text, current_user, form_list, \
    form_text
from .admin import scope_delegations

bp = Blueprint("admin_review", __name__, url_prefix="/admin/review")
menu_item("admin_review.queue", _l("Review"), REVIEWERS, order=100,
          description=_l("Units waiting for your decision, their files, and decisions for many at once."))

EDITABLE_CATEGORIES = ("enterprise", "government", "public_institution", "social_organisation", "other")
STATUSES = ("pending", "first_approved", "approved", "returned", "rejected", "all")
PER_PAGE = 20
BATCH_ACTIONS = ("approve", "return", "reject")


def _date_arg(name: str) -> str:
    value = arg_text(name, 10)
    try:
        return dt.date.fromisoformat(value).isoformat() if value else ""
    except ValueError:
        return ""


def queue_filters() -> dict[str, Any]:
    status = arg_text("status", 20)
    page = arg_text("page", 6)
    return {"status": status if status in STATUSES else "pending", "q": arg_text("q", 100),
            "delegation_id": arg_text("delegation_id", 64), "category": arg_text("category", 40)
            if arg_text("category", 40) in labels.CATEGORIES else "",
            "submitted_from": _date_arg("submitted_from"), "submitted_to": _date_arg("submitted_to"),
            "page": int(page) if page.isdigit() and 0 < int(page) < 100000 else 1}


@bp.get("")
@admin_required(*REVIEWERS)
def queue() -> Any:
    filters = queue_filters()
    params = {k: v for k, v in filters.items() if v}
    errors = FormErrors()
    try:
        page = api().get("review", "/queue", params={**params, "per_page": PER_PAGE})
    except ApiProblem as problem:
        if problem.status in (401, 403):
            raise
        errors.add(None, FormErrors.message_of(problem))
        page = {"items": [], "total": 0, "page": 1, "per_page": PER_PAGE}
    delegations = scope_delegations()
    names = {d["id"]: d["name"] for d in delegations}
    shown = {k: v for k, v in filters.items() if v and k != "page"}
    return render_template("admin/review/queue.html", page=page, filters=filters, shown=shown, errors=errors,
                           delegations=delegations, names=names,
                           pages=max(1, math.ceil(int(page.get("total") or 0) / PER_PAGE)),
                           templates=labels.RETURN_TEMPLATES, can_confirm=_is_secretariat())


def _is_secretariat() -> bool:
    user = current_user()
    return user is not None and user.role not in FIRST_LEVEL


# --- a unit's file ----------------------------------------------------------------------------
@bp.get("/units/<unit_id>")
@admin_required(*REVIEWERS)
def unit(unit_id: str) -> Any:
    return _file_page(unit_id[:64], FormErrors())


def _file_page(unit_id: str, errors: FormErrors, values: dict[str, str] | None = None) -> Any:
    file = api().get("review", f"/units/{unit_id}/file")
    delegations = scope_delegations()
    quota = None
    if file["review"].get("uscc"):
        try:  # the unit's VIP and staff quota, for label decisions
            quota = api().get("review", f"/quotas/{file['review']['uscc']}")
        except ApiProblem as problem:
            if problem.status != 404:
                raise
    page = render_template("admin/review/unit.html", file=file, review=file["review"], unit=file["unit"],
                           info=file["unit"].get("info") or {}, errors=errors, values=values or {},
                           delegations=delegations, names={d["id"]: d["name"] for d in delegations},
                           templates=labels.RETURN_TEMPLATES, can_confirm=_is_secretariat(),
                           may_move=_may_move(file["review"]), quota=quota,
                           categories=[(k, labels.CATEGORIES[k]) for k in EDITABLE_CATEGORIES])
    return (page, 400) if errors else page


def _may_move(review: dict[str, Any]) -> bool:
    """A sub-delegation corrects or deletes only units attached directly to it (review says so
    too; the page does not offer what would be refused)."""
    user = current_user()
    return user is not None and (user.role not in FIRST_LEVEL or review.get("delegation_id") == user.delegation_id)


@bp.get("/units/<unit_id>/document")
@admin_required(*REVIEWERS)
def document(unit_id: str) -> Response:
    answer = api().call("GET", "review", f"/units/{unit_id[:64]}/document")
    kind = answer.headers.get("Content-Type", "image/png").split(";")[0]
    return Response(answer.content, mimetype=kind if kind in ("image/png", "image/jpeg", "application/pdf")
                    else "application/octet-stream", headers={"Cache-Control": "private, no-store"})


@bp.get("/units/<unit_id>/personnel/<person_id>/photo.jpg")
@admin_required(*REVIEWERS)
def photo(unit_id: str, person_id: str) -> Response:
    answer = api().call("GET", "review", f"/units/{unit_id[:64]}/personnel/{person_id[:64]}/photo")
    return Response(answer.content, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


# --- decisions ---------------------------------------------------------------------------------
def comment_from_form() -> str:
    """The comment typed, or else the chosen template's words (it works without JavaScript)."""
    text = form_text("comment", 2000)
    template = form_text("template", 40)
    if not text and template in labels.RETURN_TEMPLATES:
        return str(labels.RETURN_TEMPLATES[template])
    return text


def _act(unit_id: str, path: str, body: dict[str, Any] | None, done: str, field: str | None = None) -> Any:
    errors = FormErrors()
    try:
        answer = api().send("POST", "review", f"/units/{unit_id}{path}", json=body or {})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add_problem(problem, known={"comment", "reason", "delegation_id", "confirm"},
                           aliases={"reason": field or "reason"})
        if field and not errors.fields:
            errors.fields[field] = errors.general.pop() if errors.general else ""
        return _file_page(unit_id, errors, {"comment": form_text("comment", 2000)})
    if (answer or {}).get("status") == "first_approved":
        done = _("Approved at the first level; waiting for confirmation by: %(who)s.",
                 who=desk_labels.level_reviewer("second_level"))
    flash(done, "success")
    back = request.args.get("back") or ""
    return redirect(back if _safe_back() else url_for("admin_review.unit", unit_id=unit_id))


def _safe_back() -> bool:
    back = request.args.get("back", "")
    return back.startswith("/admin/review") and "//" not in back


@bp.post("/units/<unit_id>/approve")
@admin_required(*REVIEWERS)
def approve(unit_id: str) -> Any:
    return _act(unit_id[:64], "/approve", None, _("The unit was approved."))


@bp.post("/units/<unit_id>/return")
@admin_required(*REVIEWERS)
def return_unit(unit_id: str) -> Any:
    comment = comment_from_form()
    if not comment:
        return _file_page(unit_id[:64], _one("comment", _("Say what the unit must change.")))
    return _act(unit_id[:64], "/return", {"comment": comment}, _("The unit was returned with your comment."),
                field="comment")


@bp.post("/units/<unit_id>/reject")
@admin_required(*REVIEWERS)
def reject(unit_id: str) -> Any:
    reason = form_text("reason", 2000)
    if not reason:
        return _file_page(unit_id[:64], _one("reason", _("Give the reason for the rejection.")))
    if not request.form.get("confirm"):
        return _file_page(unit_id[:64], _one("confirm", _("Tick the box to confirm: the unit loses its "
                                                          "eligibility.")))
    return _act(unit_id[:64], "/reject", {"reason": reason, "confirm": True}, _("The unit was not approved."),
                field="reason")


@bp.post("/units/<unit_id>/reassign")
@admin_required(*REVIEWERS)
def reassign(unit_id: str) -> Any:
    target = form_text("delegation_id", 64)
    if not target:
        return _file_page(unit_id[:64], _one("delegation_id", _("Choose the delegation to move the unit to.")))
    return _act(unit_id[:64], "/reassign", {"delegation_id": target}, _("The unit was moved."), field="delegation_id")


@bp.post("/units/<unit_id>/edit")
@admin_required(*REVIEWERS)
def edit(unit_id: str) -> Any:
    """Correct the unit's name or category (audited; the unit sees the correction)."""
    name, category = form_text("name", 200), form_text("category", 40)
    if category and category not in EDITABLE_CATEGORIES:
        category = ""
    if not name and not category:
        return _file_page(unit_id[:64], _one("name", _("Give the corrected name or category.")))
    try:
        api().send("PATCH", "review", f"/units/{unit_id[:64]}", json={"name": name or None, "category": category or None})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors = FormErrors()
        errors.add_problem(problem, known={"name", "category"})
        return _file_page(unit_id[:64], errors)
    flash(_("The unit information was corrected."), "success")
    return redirect(url_for("admin_review.unit", unit_id=unit_id[:64]))


@bp.post("/units/<unit_id>/delete")
@admin_required(*REVIEWERS)
def delete(unit_id: str) -> Any:
    if not request.form.get("confirm_delete"):
        return _file_page(unit_id[:64], _one("confirm_delete", _("Tick the box to confirm: deleting cannot be "
                                                                 "undone.")))
    try:
        api().send("POST", "review", f"/units/{unit_id[:64]}/delete", json={"confirm": True})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors = FormErrors()
        errors.add("confirm_delete", FormErrors.message_of(problem))
        return _file_page(unit_id[:64], errors)
    flash(_("The unit and its personnel were deleted."), "success")
    return redirect(url_for("admin_review.queue"))


def _one(name: str, message: str) -> FormErrors:
    errors = FormErrors()
    errors.add(name, message)
    return errors


# --- batch -------------------------------------------------------------------------------------
@bp.post("/batch")
@admin_required(*REVIEWERS)
def batch() -> Any:
    """批量审核: the units ticked in the queue, one decision; each unit's outcome is listed."""
    action = form_text("action", 10)
    unit_ids = form_list("unit_ids", limit=200)
    kept: dict[str, Any] = {k: v[:100] for k, v in request.args.items() if k in
                            ("status", "q", "delegation_id", "category", "submitted_from", "submitted_to", "page")}
    back = url_for("admin_review.queue", **kept)
    if action not in BATCH_ACTIONS:
        flash(_("Choose what to do with the selected units."), "error")
        return redirect(back)
    if not unit_ids:
        flash(_("Select at least one unit."), "error")
        return redirect(back)
    comment = comment_from_form()
    if action in ("return", "reject") and not comment:
        flash(_("Write the comment the units will read (or choose a common reason)."), "error")
        return redirect(back)
    if action == "reject" and not request.form.get("confirm"):
        flash(_("Tick the box to confirm: rejected units lose their eligibility."), "error")
        return redirect(back)
    outcomes = api().send("POST", "review", "/units/batch",
                          json={"action": action, "unit_ids": unit_ids, "comment": comment or None}) or []
    names = {u: form_text(f"name_{u}", 200) for u in unit_ids}
    for outcome in outcomes:
        if not outcome.get("ok"):
            outcome["text"] = FormErrors.message_of(ApiProblem(409, outcome.get("code") or "conflict",
                                                               outcome.get("message") or ""))
    done = sum(1 for o in outcomes if o.get("ok"))
    return render_template("admin/review/batch.html", outcomes=outcomes, names=names, action=action, done=done,
                           back=back)
