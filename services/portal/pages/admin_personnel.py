"""The personnel desk (人员确认): who the delegation pays for (确认代付 / 取消代付) in
batches with the remaining centralised budget in view, VIP and staff labels and upgrades
within the unit's quota, the locking of badge-reuse requests (锁定提交), and the search for
any person of the admin's part of the tree by name or masked ID number."""
from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from .. import desk_labels, labels
from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import REVIEWERS, FormErrors, admin_required, api, arg_text, current_user, form_list, form_text, portal
from .admin import scope_delegations

bp = Blueprint("admin_personnel", __name__, url_prefix="/admin/personnel")
menu_item("admin_personnel.index", _l("Personnel"), REVIEWERS, order=200,
          description=_l("Confirm who the delegation pays for, labels, upgrades and reuse locks; find anyone."))

TABS = ("awaiting_confirmation", "pending_lock", "confirmed", "locked", "all")
# people reviewed on two levels (CIFTIS): the first level approves, the second confirms
REVIEW_TABS = ("awaiting_confirmation", "first_approved", "confirmed", "rejected", "all")
PER_PAGE = 50
ACTIONS = ("delegation_pays", "unit_pays", "vip", "staff", "visitor", "lock")
REVIEW_ACTIONS = ("approve", "reject")


def tabs() -> tuple[str, ...]:
    return REVIEW_TABS if desk_labels.person_review() else TABS


def actions() -> tuple[str, ...]:
    return REVIEW_ACTIONS if desk_labels.person_review() else ACTIONS


def budgets() -> list[dict[str, Any]]:
    """The centralised-payment budgets (统付) the admin works with: their own delegation's
    (found up the tree), or every delegation's that pays centrally for the committee."""
    user = current_user()
    rows = [d for d in api().get("review", "/delegations") if isinstance(d, dict)]
    by_id = {d["id"]: d for d in rows}
    if user is not None and user.delegation_id:
        top = by_id.get(user.delegation_id)
        seen: set[str] = set()
        while top is not None and top.get("parent_id") and top["id"] not in seen:
            seen.add(top["id"])
            top = by_id.get(top["parent_id"])
        chosen = [top] if top is not None else []
    else:
        chosen = [d for d in rows if not d.get("parent_id") and d.get("centralised_payment")]
    fee = portal().edition_fee()
    shown = []
    for d in chosen:
        limit, spent = int(d.get("centralised_limit_fen") or 0), int(d.get("centralised_spent_fen") or 0)
        left = max(0, limit - spent)
        shown.append({"id": d["id"], "name": d["name"], "enabled": bool(d.get("centralised_payment")),
                      "limit_fen": limit, "spent_fen": spent, "left_fen": left,
                      "people_left": left // fee if fee else None})
    return shown


def _filters() -> dict[str, Any]:
    status, page = arg_text("status", 30), arg_text("page", 6)
    label = arg_text("requested_label", 10)
    return {"status": status if status in tabs() else "awaiting_confirmation",
            "delegation_id": arg_text("delegation_id", 64), "unit_id": arg_text("unit_id", 64),
            "requested_label": label if label in labels.LABELS else "",
            "page": int(page) if page.isdigit() and 0 < int(page) < 100000 else 1}


@bp.get("")
@admin_required(*REVIEWERS)
def index() -> Any:
    filters, errors = _filters(), FormErrors()
    query = arg_text("q", 40)
    found: list[dict[str, Any]] | None = None
    page: dict[str, Any] = {"items": [], "total": 0}
    try:
        if query:
            found = api().get("review", "/personnel/search",
                              params={"q": query, **({"delegation_id": filters["delegation_id"]}
                                                     if filters["delegation_id"] else {})})
        else:
            page = api().get("review", "/personnel", params={
                **{k: v for k, v in filters.items() if v}, "per_page": PER_PAGE, "details": "true"})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add(None, FormErrors.message_of(problem))
    delegations = scope_delegations()
    shown = {k: v for k, v in filters.items() if v and k != "page"}
    return render_template("admin/personnel/index.html", page=page, found=found, query=query, filters=filters,
                           shown=shown, errors=errors, delegations=delegations,
                           names={d["id"]: d["name"] for d in delegations},
                           budgets=[] if desk_labels.person_review() else budgets(),
                           fee_fen=portal().edition_fee(), tabs=tabs(), person_review=desk_labels.person_review(),
                           pages=max(1, math.ceil(int(page.get("total") or 0) / PER_PAGE)))


@bp.post("/batch")
@admin_required(*REVIEWERS)
def batch() -> Any:
    """One decision for the ticked people; all or none (review refuses the whole batch if
    one of them cannot be decided, e.g. when the budget would be exceeded)."""
    action = form_text("action", 20)
    person_ids = form_list("person_ids", limit=500)
    back = _back()
    if action not in actions():
        flash(_("Choose what to do with the selected people."), "error")
        return redirect(back)
    if not person_ids:
        flash(_("Select at least one person."), "error")
        return redirect(back)
    reason = form_text("reason", 500)
    if action == "reject" and not reason:
        flash(_("Give the reason the units will read."), "error")
        return redirect(back)
    try:
        if action == "approve":
            done = api().send("POST", "review", "/personnel/approve", json={"person_ids": person_ids})
        elif action == "reject":
            done = api().send("POST", "review", "/personnel/reject", json={"person_ids": person_ids, "reason": reason})
        elif action in ("delegation_pays", "unit_pays"):
            done = api().send("POST", "review", "/personnel/confirm",
                              json={"person_ids": person_ids, "delegation_pays": action == "delegation_pays"})
        elif action == "lock":
            done = api().send("POST", "review", "/personnel/lock", json={"person_ids": person_ids})
        else:
            done = api().send("POST", "review", "/personnel/label", json={"person_ids": person_ids, "label": action})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        flash(_("Nothing was changed: %(reason)s", reason=FormErrors.message_of(problem)), "error")
        return redirect(back)
    messages = {"delegation_pays": _("The delegation pays for %(n)d people."),
                "unit_pays": _("%(n)d people pay through their units."),
                "lock": _("%(n)d reuse requests were locked."),
                "vip": _("%(n)d people were labelled VIP."), "staff": _("%(n)d people were labelled staff."),
                "visitor": _("%(n)d people were labelled professional visitors."),
                "approve": _("%(n)d people were approved."), "reject": _("%(n)d people were not approved.")}
    count = len(done) if isinstance(done, list) else (len(person_ids) if action in REVIEW_ACTIONS else 0)
    flash(messages[action] % {"n": count}, "success")
    return redirect(back)


@bp.post("/<person_id>/upgrade")
@admin_required(*REVIEWERS)
def upgrade(person_id: str) -> Any:
    label = form_text("label", 10)
    if label not in ("staff", "vip"):
        flash(_("Choose the new label."), "error")
        return redirect(_back())
    try:
        api().send("POST", "review", f"/personnel/{person_id[:64]}/upgrade", json={"label": label})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        flash(_("The upgrade was refused: %(reason)s", reason=FormErrors.message_of(problem)), "error")
    else:
        flash(_("The person now has the %(label)s label.", label=labels.label(labels.LABELS, label)), "success")
    return redirect(_back())


def _back() -> str:
    kept: dict[str, Any] = {k: v[:64] for k, v in request.args.items()
                            if k in ("status", "delegation_id", "unit_id", "requested_label", "page", "q")}
    return url_for("admin_personnel.index", **kept)
