"""Personnel: the list with search, filters and status badges; add and edit with the
fields of each region type; the photo (rules explained, preview, 3:4 crop in the
browser); save vs submit, batch submit, delete, cancel, entry-date changes.

Colleagues (members) see and edit only the records they created, and never submit."""
from __future__ import annotations

import datetime as dt
from typing import Any

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import labels
from ..client import ApiProblem
from ..messages import problem_text
from ..profile import badges_allowed, profile
from ..web import (
    CONTACT, MEMBER, FormErrors, api, arg_text, current_user, form_list, form_text, login_required, portal,
    upload,
)

bp = Blueprint("personnel", __name__, url_prefix="/personnel")
PERSON_FIELDS = frozenset(("name", "gender", "region_type", "id_type", "id_number", "nationality", "mobile", "email",
                           "position", "entry_dates", "exhibition_area", "pickup_method", "requested_label", "photo",
                           "privacy_consent"))
EDITABLE_DATES = ("submitted", "awaiting_confirmation", "awaiting_payment")
CANCELLABLE = ("submitted", "pending_lock", "awaiting_confirmation", "awaiting_payment", "awaiting_check",
               "check_passed", "check_failed", "in_production")


def _fair_days() -> list[dt.date]:
    return portal().settings.fair_day_list


def _quota() -> list[dict[str, Any]]:
    """The unit's VIP and staff quotas (given, applied, remaining); none if the API is unsure."""
    try:
        answer = api().get("registration", "/units/me/quota")
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        return []
    return [q for q in (answer or {}).get("labels", []) if isinstance(q, dict)]


def unit_visitor_kind() -> str | None:
    """The unit's visitor kind (it never changes after sign-up: kept in the session once read).
    A colleague cannot read the unit: None, and the API decides what their record may ask for."""
    user = current_user()
    data = session.get("user")
    if user is None or not isinstance(data, dict):
        return None
    if data.get("visitor_kind"):
        return str(data["visitor_kind"])
    if not user.is_contact:
        return None
    kind = str(api().get("registration", "/units/me").get("visitor_kind") or "")
    if kind:
        session["user"] = {**data, "visitor_kind": kind[:20]}
    return kind or None


def allowed_badges(kind: str | None) -> tuple[str, ...]:
    """The badge types a unit of this kind may ask for (any kind's, when the kind is unknown)."""
    p = profile()
    if kind is not None and p.visitor_kind(kind) is not None:
        return p.badges_for(kind)
    kinds = [k for k, v in p.visitor_kinds.items() if v["badges"]]
    return tuple(b for b in p.badge_ids() if any(b in p.badges_for(k) for k in kinds))


def default_badge(kind: str | None) -> str:
    badges = allowed_badges(kind)
    return badges[0] if badges else ""


def label_options(quota: list[dict[str, Any]], current: str | None = None,
                  kind: str | None = None) -> list[tuple[str, str]]:
    """Badge types the person may ask for (the profile's, for the unit's visitor kind): those
    outside any quota always; a quota badge (CIIE's VIP and staff) while the quota has room
    (or the record already asks for it), with what is left."""
    p = profile()
    left = {q.get("label"): int(q.get("remaining") or 0) for q in quota}
    options = []
    allowed = allowed_badges(kind)
    # those outside any quota in the profile's order, then the quota badges, the highest first
    ordered = [b for b in allowed if not p.badge_types[b]["quota"]] + \
        sorted((b for b in allowed if p.badge_types[b]["quota"]), key=lambda b: -p.badge_rank(b))
    for key in ordered:
        if not p.badge_types[key]["quota"]:
            options.append((key, str(labels.LABELS[key])))
        elif left.get(key, 0) > 0 or key == current:
            options.append((key, _("%(label)s (%(n)d left)", label=labels.LABELS[key], n=left.get(key, 0))))
    return options


def badge_context() -> dict[str, Any]:
    """What the personnel pages show about badges: an online-only unit applies for none."""
    kind = unit_visitor_kind()
    return {"visitor_kind": kind, "online_only": not badges_allowed(kind)}


# --- the list -------------------------------------------------------------------------------
def list_filters() -> dict[str, Any]:
    """The query the API takes, from the page's query string; anything odd is dropped."""
    filters: dict[str, Any] = {}
    for name, limit in (("name", 100), ("id_number", 40)):
        if arg_text(name, limit):
            filters[name] = arg_text(name, limit)
    if arg_text("region_type") in labels.REGION_TYPES:
        filters["region_type"] = arg_text("region_type")
    if arg_text("status") in labels.PERSON_STATUS:
        filters["status"] = arg_text("status")
    if arg_text("entry_date") in {d.isoformat() for d in _fair_days()}:
        filters["entry_date"] = arg_text("entry_date")
    if arg_text("reuse") in ("yes", "no"):
        filters["reuse"] = "true" if arg_text("reuse") == "yes" else "false"
    page = arg_text("page", 6)
    filters["page"] = int(page) if page.isdigit() and 0 < int(page) < 10000 else 1
    filters["per_page"] = 20
    return filters


@bp.get("")
@login_required(CONTACT, MEMBER)
def index() -> Any:
    filters = list_filters()
    errors = FormErrors()
    try:
        page = api().get("registration", "/units/me/personnel", params=filters)
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add_problem(problem, known={"name", "id_number"})
        page = {"items": [], "total": 0, "page": 1, "per_page": 20}
    saved_total = api().get("registration", "/units/me/personnel", params={"status": "saved", "per_page": 1})["total"]
    pages = max(1, -(-int(page["total"]) // int(page["per_page"] or 20)))
    shown = {k: v for k, v in request.args.items() if k != "page" and k in ("name", "id_number", "region_type",
                                                                           "status", "entry_date", "reuse")}
    return render_template("personnel/index.html", page=page, pages=pages, filters=filters, shown=shown,
                           errors=errors, saved_total=saved_total, days=_fair_days(), quota=_quota(),
                           **badge_context())


# --- bulk import (批量导入) ------------------------------------------------------------------------
IMPORT_LIMIT = 2 * 1024 * 1024


@bp.get("/import/template.xlsx")
@login_required(CONTACT, MEMBER)
def import_template() -> Response:
    answer = api().call("GET", "registration", "/units/me/personnel/template.xlsx")
    return Response(answer.content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": "attachment; filename=personnel-template.xlsx",
                             "Cache-Control": "private, no-store"})


@bp.route("/import", methods=["GET", "POST"])
@login_required(CONTACT, MEMBER)
def bulk_import() -> Any:
    """Upload the filled-in template; every line is checked like a person added alone, the
    good ones saved; the page lists each line's result."""
    errors, result = FormErrors(), None
    if request.method == "POST":
        file = upload("file", IMPORT_LIMIT)
        if file is None:
            errors.add("file", _("Choose the filled-in template (XLSX)."))
        else:
            try:
                result = api().send("POST", "registration", "/units/me/personnel/import", files={"file": file})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"file"})
            else:  # each refused line's reason in the user's language
                for row in result.get("rows", []):
                    if not row.get("ok"):
                        row["text"] = problem_text(ApiProblem(400, str(row.get("code") or ""),
                                                              str(row.get("message") or ""), row.get("field")))
    return render_template("personnel/import.html", errors=errors, result=result), (400 if errors else 200)


# --- add and edit ----------------------------------------------------------------------------
def person_body(region_type: str, editing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The API's person fields from the form. When editing, an empty ID number, mobile or
    email means "keep": the API only ever shows them masked."""
    body: dict[str, Any] = {
        "name": form_text("name", 100), "gender": form_text("gender", 10) or None,
        "region_type": region_type, "id_type": labels.ID_TYPE_OF_REGION[region_type],
        "id_number": form_text("id_number", 40).upper(), "nationality": form_text("nationality", 60) or None,
        "mobile": form_text("mobile", 20) or None, "email": form_text("email", 120) or None,
        "position": form_text("position", 100) or None, "entry_dates": form_list("entry_dates", 10, 10),
        "exhibition_area": form_text("exhibition_area", 40) or None,
        "pickup_method": form_text("pickup_method", 10) or "courier",
        "requested_label": form_text("requested_label", 10) or default_badge(unit_visitor_kind()) or None,
        "privacy_consent": True if request.form.get("privacy_consent") else None,  # 勾选承诺信息
    }
    if region_type == "mainland":
        body["nationality"] = None
    if not body["requested_label"]:  # an online-only unit: no badge to ask for
        body.pop("requested_label")
    if editing is not None:
        for keep_if_empty in ("id_number", "mobile", "email"):
            if not body[keep_if_empty]:
                body.pop(keep_if_empty)
        if body.get("id_number") is None:
            body.pop("id_type")
            body.pop("region_type")
    return body


def _region_type() -> str:
    chosen = request.values.get("region_type", "mainland")
    return chosen if chosen in labels.REGION_TYPES else "mainland"


@bp.route("/new", methods=["GET", "POST"])
@login_required(CONTACT, MEMBER)
def new() -> Any:
    region_type, errors = _region_type(), FormErrors()
    kind = unit_visitor_kind()
    values: dict[str, Any] = {"pickup_method": "courier", "requested_label": default_badge(kind), "entry_dates": []}
    if request.method == "POST":
        values = person_body(region_type)
        try:
            person = api().send("POST", "registration", "/units/me/personnel", json=values)
        except ApiProblem as problem:
            errors.add_problem(problem, known=PERSON_FIELDS)
        else:
            flash(_("%(name)s was saved. Now upload the photo.", name=person["name"]), "success")
            return redirect(url_for("personnel.photo", person_id=person["id"]))
    quota = _quota()
    return render_template("personnel/form.html", region_type=region_type, values=values, errors=errors,
                           person=None, days=_fair_days(), quota=quota, **badge_context(),
                           label_options=label_options(quota, values.get("requested_label"), kind)), \
        (400 if errors else 200)


def _person(person_id: str) -> dict[str, Any]:
    return api().get("registration", f"/units/me/personnel/{person_id}")


@bp.route("/<person_id>/edit", methods=["GET", "POST"])
@login_required(CONTACT, MEMBER)
def edit(person_id: str) -> Any:
    person, errors = _person(person_id), FormErrors()
    if person["status"] != "saved":
        flash(_("A submitted record cannot be edited."), "error")
        return redirect(url_for("personnel.detail", person_id=person_id))
    values: dict[str, Any] = {**person, "id_number": "", "mobile": "", "email": ""}
    if request.method == "POST":
        body = person_body(person["region_type"], editing=person)
        values = {**values, **body}
        try:
            api().send("PATCH", "registration", f"/units/me/personnel/{person_id}", json=body)
        except ApiProblem as problem:
            errors.add_problem(problem, known=PERSON_FIELDS)
        else:
            flash(_("The changes were saved."), "success")
            return redirect(url_for("personnel.detail", person_id=person_id))
    quota = _quota()
    return render_template("personnel/form.html", region_type=person["region_type"], values=values,
                           errors=errors, person=person, days=_fair_days(), quota=quota, **badge_context(),
                           label_options=label_options(quota, person.get("requested_label"),
                                                       unit_visitor_kind())), \
        (400 if errors else 200)


# --- one person -------------------------------------------------------------------------------
@bp.get("/<person_id>")
@login_required(CONTACT, MEMBER)
def detail(person_id: str) -> str:
    person = _person(person_id)
    return render_template("personnel/detail.html", person=person, days=_fair_days(), **badge_context(),
                           dates_editable=person["status"] in EDITABLE_DATES and not person.get("order_no"),
                           cancellable=person["status"] in CANCELLABLE)


@bp.route("/<person_id>/photo", methods=["GET", "POST"])
@login_required(CONTACT, MEMBER)
def photo(person_id: str) -> Any:
    person, errors = _person(person_id), FormErrors()
    if request.method == "POST":
        file = upload("photo", int(profile().photo["max_bytes"]))
        if file is None:
            errors.add("photo", _("Choose a photo to upload."))
        else:
            try:
                api().send("PUT", "registration", f"/units/me/personnel/{person_id}/photo", files={"photo": file})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"photo"})
            else:
                flash(_("The photo was uploaded."), "success")
                return redirect(url_for("personnel.detail", person_id=person_id))
    return render_template("personnel/photo.html", person=person, errors=errors), (400 if errors else 200)


@bp.get("/<person_id>/photo.jpg")
@login_required(CONTACT, MEMBER)
def photo_image(person_id: str) -> Response:
    answer = api().call("GET", "registration", f"/units/me/personnel/{person_id}/photo")
    return Response(answer.content, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


def _person_action(person_id: str, action: str, done: str) -> BaseResponse:
    try:
        if action == "delete":
            api().send("DELETE", "registration", f"/units/me/personnel/{person_id}")
        else:
            api().send("POST", "registration", f"/units/me/personnel/{person_id}/{action}")
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        flash(FormErrors.message_of(problem), "error")
        return redirect(url_for("personnel.detail", person_id=person_id))
    flash(done, "success")
    return redirect(url_for("personnel.index") if action == "delete" else
                    url_for("personnel.detail", person_id=person_id))


@bp.post("/<person_id>/submit")
@login_required(CONTACT)
def submit(person_id: str) -> BaseResponse:
    return _person_action(person_id, "submit", _("Submitted. The record is now locked."))


@bp.post("/<person_id>/delete")
@login_required(CONTACT)
def delete(person_id: str) -> BaseResponse:
    return _person_action(person_id, "delete", _("The record was deleted."))


@bp.post("/<person_id>/cancel")
@login_required(CONTACT)
def cancel(person_id: str) -> BaseResponse:
    return _person_action(person_id, "cancel", _("The person was cancelled. A paid fee can now be refunded."))


@bp.post("/<person_id>/dates")
@login_required(CONTACT, MEMBER)
def change_dates(person_id: str) -> BaseResponse:
    """Entry dates may change until the person is in an order."""
    dates = form_list("entry_dates", 10, 10)
    try:
        api().send("PATCH", "registration", f"/units/me/personnel/{person_id}", json={"entry_dates": dates})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        flash(FormErrors.message_of(problem), "error")
    else:
        flash(_("The entry dates were changed."), "success")
    return redirect(url_for("personnel.detail", person_id=person_id))


@bp.post("/submit")
@login_required(CONTACT)
def batch_submit() -> BaseResponse:
    """提交: several saved records at once; each one's problem is reported by name."""
    ids = form_list("person_ids", 200)
    if not ids:
        flash(_("Select at least one saved person."), "error")
        return redirect(url_for("personnel.index"))
    done, failed = 0, []
    for person_id in ids:
        try:
            api().send("POST", "registration", f"/units/me/personnel/{person_id}/submit")
            done += 1
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            failed.append(FormErrors.message_of(problem))
    if done:
        flash(_("%(count)d person(s) submitted.", count=done), "success")
    for message in sorted(set(failed)):
        flash(message, "error")
    return redirect(url_for("personnel.index"))


@bp.app_context_processor
def personnel_helpers() -> dict[str, Any]:
    user = current_user()
    return {"is_member": bool(user and user.role == MEMBER)}
