"""The unit contact's pages: the 8-step progress (the unit's home), unit information
with the procurement catalogue, the qualification document, delivery addresses,
submission, colleagues, notification preferences and last edition's people."""
from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, Response, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import labels
from ..client import ApiProblem
from ..messages import reuse_refusal_text
from ..profile import profile, unit_asks
from ..web import CONTACT, FormErrors, api, form_list, form_text, login_required, portal, upload

bp = Blueprint("unit", __name__, url_prefix="/unit")


def _progress() -> dict[str, Any]:
    return api().get("registration", "/units/me/progress")


def _unit() -> dict[str, Any]:
    return api().get("registration", "/units/me")


_DELEGATIONS: dict[str, Any] = {"at": 0.0, "names": {}}


def delegation_name(delegation_id: str | None) -> str:
    """The (sub-)delegation's name; the list changes rarely, so it is kept for 5 minutes."""
    if not delegation_id:
        return "—"
    if time.monotonic() - _DELEGATIONS["at"] > 300:
        try:
            rows = api().get("registration", "/delegations")
            _DELEGATIONS.update(at=time.monotonic(), names={d["id"]: d["name"] for d in rows if isinstance(d, dict)})
        except ApiProblem:
            pass
    return str(_DELEGATIONS["names"].get(delegation_id, delegation_id))


# --- home: the progress tracker -------------------------------------------------------------
@bp.get("")
@login_required(CONTACT)
def home() -> str:
    unit, progress = _unit(), _progress()
    return render_template("unit/home.html", unit=unit, progress=progress, steps=progress["steps"],
                           pending=saved_people(progress["steps"]), current=current_step(progress["steps"]))


def saved_people(steps: list[dict[str, Any]]) -> int:
    """Saved, not yet submitted: step 3 counts the submitted among all active records."""
    personnel = next((s for s in steps if s.get("name") == "personnel"), {})
    return max(0, int(personnel.get("total") or 0) - int(personnel.get("count") or 0))


def current_step(steps: list[dict[str, Any]]) -> int:
    """The first step not done yet (9 when everything is done)."""
    return next((int(s["step"]) for s in steps if not s.get("done")), 9)


@bp.get("/progress.json")
@login_required(CONTACT)
def progress_json() -> Response:
    """For the live stepper: the same steps, with their words in the user's language."""
    progress = _progress()
    steps = [{**s, "title": labels.label(labels.STEPS, s.get("name"))} for s in progress["steps"]]
    return jsonify({"status": progress["status"], "status_text": labels.label(labels.UNIT_STATUS, progress["status"]),
                    "current": current_step(progress["steps"]), "steps": steps})


# --- unit information -----------------------------------------------------------------------
TEXT_FIELDS = ("name_en", "registered_address", "nature", "industry", "contact_name", "contact_mobile")
NUMBER_FIELDS = ("registered_capital_10k_cny", "turnover_last_year_10k_usd", "import_last_year_10k_usd",
                 "import_three_years_10k_usd")
# the fields only some fairs ask (CIFTIS): sent only when the profile asks them of the unit's kind
PROFILE_TEXT_FIELDS = {"contact_position": 60, "contact_email": 200, "website": 200, "fortune500_name": 200,
                       "exhibition_content": 1000, "exhibition_needs": 1000}
INFO_FIELDS = frozenset(TEXT_FIELDS + NUMBER_FIELDS + ("import_modes", "purposes", "procurement_intentions",
                                                       "company_type", "introduction", "fortune500")
                        + tuple(PROFILE_TEXT_FIELDS))


def introduction_limits() -> tuple[int, int]:
    limits = profile().data["unit_fields"].get("introduction") or {}
    return int(limits.get("min", 0)), int(limits.get("max", 1000))


def info_changes(errors: FormErrors, kind: str | None = None) -> dict[str, Any]:
    """The draft as the API takes it: text as typed, numbers when given, lists always; the
    profile's own fields (CIFTIS) only when it asks them of this kind of unit."""
    changes: dict[str, Any] = {name: form_text(name, 300) for name in TEXT_FIELDS if form_text(name, 300)}
    for name, limit in PROFILE_TEXT_FIELDS.items():
        if unit_asks(name, kind) and form_text(name, limit):
            changes[name] = form_text(name, limit)
    if unit_asks("company_type", kind) and form_text("company_type", 40) in profile().data["unit_fields"]["company_types"]:
        changes["company_type"] = form_text("company_type", 40)
    if unit_asks("introduction", kind):
        text = (request.form.get("introduction") or "").strip().replace("\r\n", "\n")
        low, high = introduction_limits()
        if text and len(text) > high:
            errors.add("introduction", _("At most %(n)d characters.", n=high))
        elif text:
            changes["introduction"] = text
    if unit_asks("fortune500", kind) and form_text("fortune500", 5) in ("yes", "no"):
        changes["fortune500"] = form_text("fortune500", 5) == "yes"
        if not changes["fortune500"]:
            changes["fortune500_name"] = None
    for name in NUMBER_FIELDS:
        raw = form_text(name, 30).replace(",", "")
        if raw:
            try:
                if Decimal(raw) < 0 or not Decimal(raw).is_finite():
                    raise InvalidOperation
                changes[name] = raw
            except InvalidOperation:
                errors.add(name, _("Enter a number that is not negative."))
    changes["import_modes"] = [m for m in form_list("import_modes", 10) if m in labels.IMPORT_MODES]
    changes["purposes"] = [p for p in form_list("purposes", 20) if p in labels.PURPOSES]
    intentions = []
    for area in profile().data["exhibition_areas"]:
        categories = form_list(f"area_{area}", 50)
        if categories:
            intentions.append({"area": area, "categories": categories})
    changes["procurement_intentions"] = intentions
    return changes


_CATALOGUE: dict[str, Any] = {"at": 0.0, "areas": []}


def _catalogue() -> list[dict[str, Any]]:
    """The procurement catalogue is the same for every unit: kept for 5 minutes."""
    if time.monotonic() - _CATALOGUE["at"] > 300 or not _CATALOGUE["areas"]:
        _CATALOGUE.update(at=time.monotonic(), areas=api().get("registration", "/catalogue/procurement").get("areas", []))
    return list(_CATALOGUE["areas"])


@bp.route("/info", methods=["GET", "POST"])
@login_required(CONTACT)
def info() -> Any:
    errors = FormErrors()
    unit = _unit()
    values = dict(unit.get("info") or {})
    if request.method == "POST":
        changes = info_changes(errors, unit.get("visitor_kind"))
        values = {**values, **changes}
        autosave = request.headers.get("X-Autosave") == "1"
        if not errors:
            try:
                api().send("PATCH", "registration", "/units/me/info", json=changes)
            except ApiProblem as problem:
                errors.add_problem(problem, known=INFO_FIELDS)
        if autosave:  # the page's script saves the draft every few seconds
            return jsonify({"saved": not errors, "errors": errors.fields, "general": errors.general}), \
                (200 if not errors else 400)
        if not errors:
            flash(_("Unit information saved."), "success")
            target = "personnel.index" if request.form.get("action") == "continue" else "unit.info"
            return redirect(url_for(target))
    return render_template("unit/info.html", unit=unit, values=values, errors=errors, catalogue=_catalogue(),
                           chosen=_chosen_categories(values), locked=unit["status"] not in ("draft", "returned"),
                           kind=unit.get("visitor_kind"), introduction=introduction_limits(),
                           company_types=[(c, labels.label(labels.COMPANY_TYPES, c))
                                          for c in profile().data["unit_fields"]["company_types"]]), \
        (400 if errors else 200)


def _chosen_categories(values: dict[str, Any]) -> dict[str, set[str]]:
    chosen: dict[str, set[str]] = {}
    for entry in values.get("procurement_intentions") or []:
        if isinstance(entry, dict) and isinstance(entry.get("categories"), list):
            chosen[str(entry.get("area"))] = {str(c) for c in entry["categories"]}
    return chosen


# --- qualification document ---------------------------------------------------------------
def _document() -> dict[str, Any] | None:
    try:
        return api().get("registration", "/units/me/document")
    except ApiProblem as problem:
        if problem.status == 404:
            return None
        raise


@bp.route("/document", methods=["GET", "POST"])
@login_required(CONTACT)
def document() -> Any:
    errors = FormErrors()
    unit = _unit()
    if request.method == "POST":
        limit = (profile().document_rule(unit["category"]) or {}).get("max_bytes") or 2 * 1024 * 1024
        file = upload("document", int(limit))
        if file is None:
            errors.add("document", _("Choose the image file to upload."))
        else:
            try:
                api().send("PUT", "registration", "/units/me/document", files={"document": file})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"document"})
            else:
                flash(_("The qualification document was uploaded."), "success")
                return redirect(url_for("unit.document"))
    rule = profile().document_rule(unit["category"])
    needed = rule is not None
    return render_template("unit/document.html", unit=unit, errors=errors, needed=needed, rule=rule,
                           doc=_document() if needed else None,
                           locked=unit["status"] not in ("draft", "returned")), (400 if errors else 200)


@bp.get("/document/image")
@login_required(CONTACT)
def document_image() -> Response:
    answer = api().call("GET", "registration", "/units/me/document/image")
    return Response(answer.content, mimetype=answer.headers.get("Content-Type", "image/png"),
                    headers={"Cache-Control": "private, no-store"})


# --- delivery addresses ---------------------------------------------------------------------
ADDRESS_FIELDS = ("recipient", "phone", "province", "city", "district", "detail", "postcode")


def _address_body(partial: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in ADDRESS_FIELDS:
        value = form_text(name, 200)
        if value or not partial:
            body[name] = value or (None if name in ("district", "postcode") else "")
    body["is_default"] = bool(request.form.get("is_default"))
    return body


@bp.route("/addresses", methods=["GET", "POST"])
@login_required(CONTACT)
def addresses() -> Any:
    errors, values = FormErrors(), {}
    if request.method == "POST":
        values = _address_body(partial=False)
        try:
            api().send("POST", "registration", "/units/me/addresses", json=values)
        except ApiProblem as problem:
            errors.add_problem(problem, known=set(ADDRESS_FIELDS) | {"is_default"})
        else:
            flash(_("The address was added."), "success")
            return redirect(url_for("unit.addresses"))
    rows = api().get("registration", "/units/me/addresses")
    return render_template("unit/addresses.html", rows=rows, values=values, errors=errors, editing=None), \
        (400 if errors else 200)


@bp.route("/addresses/<address_id>/edit", methods=["GET", "POST"])
@login_required(CONTACT)
def edit_address(address_id: str) -> Any:
    errors = FormErrors()
    rows = api().get("registration", "/units/me/addresses")
    current = next((a for a in rows if a.get("id") == address_id), None)
    if current is None:
        flash(_("This address was not found."), "error")
        return redirect(url_for("unit.addresses"))
    values = {**current, "phone": ""}  # masked by the API: left empty, it stays as it is
    if request.method == "POST":
        values = {**current, **_address_body(partial=True)}
        try:
            api().send("PATCH", "registration", f"/units/me/addresses/{address_id}", json=_address_body(partial=True))
        except ApiProblem as problem:
            errors.add_problem(problem, known=set(ADDRESS_FIELDS) | {"is_default"})
        else:
            flash(_("The address was saved."), "success")
            return redirect(url_for("unit.addresses"))
    return render_template("unit/addresses.html", rows=rows, values=values, errors=errors, editing=current), \
        (400 if errors else 200)


@bp.post("/addresses/<address_id>/default")
@login_required(CONTACT)
def default_address(address_id: str) -> BaseResponse:
    _address_action("PATCH", address_id, {"is_default": True}, _("The default address was changed."))
    return redirect(url_for("unit.addresses"))


@bp.post("/addresses/<address_id>/delete")
@login_required(CONTACT)
def delete_address(address_id: str) -> BaseResponse:
    _address_action("DELETE", address_id, None, _("The address was deleted."))
    return redirect(url_for("unit.addresses"))


def _address_action(method: str, address_id: str, body: dict[str, Any] | None, done: str) -> None:
    try:
        api().send(method, "registration", f"/units/me/addresses/{address_id}", json=body)
    except ApiProblem as problem:
        flash(FormErrors.message_of(problem), "error")
    else:
        flash(done, "success")


# --- submission (确认提交) ---------------------------------------------------------------------
@bp.route("/submit", methods=["GET", "POST"])
@login_required(CONTACT)
def submit() -> Any:
    errors = FormErrors()
    if request.method == "POST":
        person_ids = form_list("person_ids", 500)
        try:
            api().send("POST", "registration", "/units/me/submit", json={"person_ids": person_ids})
        except ApiProblem as problem:
            errors.add_problem(problem, known={"person_ids"})
        else:
            flash(_("Submitted. Your delegation will review the unit; you will get an SMS and an email."),
                  "success")
            return redirect(url_for("unit.home"))
    unit, progress = _unit(), _progress()
    people = api().get("registration", "/units/me/personnel", params={"per_page": 200})
    return render_template("unit/submit.html", unit=unit, steps=progress["steps"], people=people["items"],
                           errors=errors, doc=_document() if profile().document_rule(unit["category"]) else None,
                           facts=info_facts(unit), missing=missing_info(unit)), (400 if errors else 200)


def _filled(value: Any) -> bool:
    return value is not None and value != "" and value != []


def missing_info(unit: dict[str, Any]) -> list[str]:
    """The fields the unit's visitor kind must fill in (the profile's `required_info`) still empty."""
    info = unit.get("info") or {}
    return [f for f in profile().required_info(unit.get("visitor_kind") or "") if not _filled(info.get(f))]


def info_facts(unit: dict[str, Any]) -> list[tuple[str, str]]:
    """The unit information to check before submitting: the kind's required fields, as words."""
    info = unit.get("info") or {}
    tables: dict[str, Any] = {"purposes": labels.PURPOSES, "import_modes": labels.IMPORT_MODES,
                              "company_type": labels.COMPANY_TYPES}
    facts = []
    for name in profile().required_info(unit.get("visitor_kind") or ""):
        value = info.get(name)
        if not _filled(value):
            text = "—"
        elif name == "procurement_intentions" and isinstance(value, list):
            text = "、".join(labels.label(labels.EXHIBITION_AREAS, e.get("area")) for e in value if isinstance(e, dict))
        elif isinstance(value, list):
            text = "、".join(labels.label(tables.get(name, {}), v) for v in value)
        elif isinstance(value, bool):
            text = _("Yes") if value else _("No")
        else:
            text = labels.label(tables[name], value) if name in tables else str(value)
            text = text if len(text) <= 80 else text[:80] + "…"
        facts.append((labels.unit_field_label(name), text))
    return facts


# --- colleagues -------------------------------------------------------------------------------
@bp.route("/colleagues", methods=["GET", "POST"])
@login_required(CONTACT)
def colleagues() -> Any:
    """Join requests to decide, and sub-users (子用户) the contact creates: the initial password
    is shown once, on the page that answers the creation or the reset, and never kept."""
    errors, values, shown_password = FormErrors(), {}, None
    if request.method == "POST" and request.form.get("action") == "create":
        values = {"name": form_text("name", 100), "phone": form_text("phone", 20)}
        body = {**values, **({"password": form_text("password", 64)} if form_text("password", 64) else {})}
        try:
            created = api().send("POST", "registration", "/units/me/members", json=body)
        except ApiProblem as problem:
            errors.add_problem(problem, known={"name", "phone", "password"})
        else:
            shown_password = {"name": created.get("name") or values["name"],
                              "password": created.get("initial_password") or ""}
            values = {}
    elif request.method == "POST":
        decision = "approve" if request.form.get("decision") == "approve" else "reject"
        ids = form_list("member_ids", 500)
        try:
            decided = api().send("POST", "registration", f"/units/me/members/{decision}", json={"member_ids": ids})
        except ApiProblem as problem:
            errors.add_problem(problem, known={"member_ids"})
        else:
            flash(_("%(count)d request(s) approved.", count=len(decided)) if decision == "approve"
                  else _("%(count)d request(s) declined.", count=len(decided)), "success")
            return redirect(url_for("unit.colleagues"))
    return _colleagues_page(errors, values, shown_password)


def _colleagues_page(errors: FormErrors, values: dict[str, Any], shown_password: dict[str, str] | None) -> Any:
    unit, members = _unit(), api().get("registration", "/units/me/members")
    join_link = request.host_url.rstrip("/") + url_for("account.join", code=unit["unit_code"])
    response = make_response(render_template("unit/colleagues.html", unit=unit, members=members, errors=errors,
                                             join_link=join_link, values=values, shown_password=shown_password),
                             400 if errors else 200)
    response.headers["Cache-Control"] = "private, no-store"  # the initial password is on it
    return response


@bp.post("/colleagues/<member_id>/reset-password")
@login_required(CONTACT)
def reset_member_password(member_id: str) -> BaseResponse:
    """重置密码: registration texts a new password to the colleague's own mobile (to nobody else)."""
    return _member_action("POST", f"/units/me/members/{member_id}/reset-password",
                          _("A new password was sent by SMS to the colleague's mobile."))


@bp.post("/colleagues/<member_id>/remove")
@login_required(CONTACT)
def remove_member(member_id: str) -> BaseResponse:
    """A colleague who has left: their records stay, their sessions end."""
    return _member_action("DELETE", f"/units/me/members/{member_id}", _("The colleague was removed."))


def _member_action(method: str, path: str, done: str) -> BaseResponse:
    try:
        api().send(method, "registration", path)
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        flash(FormErrors.message_of(problem), "error")
    else:
        flash(done, "success")
    return redirect(url_for("unit.colleagues"))


# --- notification preferences ------------------------------------------------------------------
@bp.route("/notifications", methods=["GET", "POST"])
@login_required(CONTACT)
def notifications() -> Any:
    if request.method == "POST":
        reminders = request.form.get("reminders") == "on"
        api().send("PUT", "notifications", "/units/me/preferences", json={"reminders": reminders})
        flash(_("Your notification preferences were saved."), "success")
        return redirect(url_for("unit.notifications"))
    preferences = api().get("notifications", "/units/me/preferences")
    return render_template("unit/notifications.html", preferences=preferences, unit=_unit())


# --- the account: contact phone and email ----------------------------------------------------
SEND_EMAIL_CODE = "send_email_code"


def _account_page(errors: FormErrors, values: dict[str, Any]) -> Any:
    from .account import resend_wait
    return render_template("unit/account.html", unit=_unit(), errors=errors, values=values,
                           wait=resend_wait("change_phone")), (400 if errors else 200)


@bp.get("/account")
@login_required(CONTACT)
def account() -> Any:
    return _account_page(FormErrors(), {})


@bp.post("/account/phone")
@login_required(CONTACT)
def account_phone() -> Any:
    """A new contact mobile, with the SMS code sent to the new number."""
    from .account import code_step
    errors = FormErrors()
    values = {"phone": form_text("phone", 20), "sms_code": form_text("sms_code", 10)}
    if code_step(values["phone"], "change_phone", errors):
        return _account_page(errors, values)
    try:
        api().send("PUT", "registration", "/units/me/contact-phone", json=values)
    except ApiProblem as problem:
        errors.add_problem(problem, known={"phone", "sms_code"})
        return _account_page(errors, values)
    flash(_("The contact mobile was changed. Use it for SMS logins from now on."), "success")
    return redirect(url_for("unit.account"))


@bp.post("/account/email")
@login_required(CONTACT)
def account_email() -> Any:
    """A new contact email, with the code sent to the new address."""
    errors = FormErrors()
    values = {"email": form_text("email", 200), "email_code": form_text("email_code", 10)}
    if request.form.get("action") == SEND_EMAIL_CODE:
        if not values["email"]:
            errors.add("email", _("Enter the new email address first."))
        else:
            try:
                api().send("POST", "registration", "/units/me/email-codes", json={"email": values["email"]})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"email"})
            else:
                flash(_("A code was sent to %(email)s.", email=values["email"]), "success")
        return _account_page(errors, values)
    try:
        api().send("PUT", "registration", "/units/me/contact-email", json=values)
    except ApiProblem as problem:
        errors.add_problem(problem, known={"email", "email_code"}, aliases={"sms_code": "email_code"})
        return _account_page(errors, values)
    flash(_("The contact email was changed."), "success")
    return redirect(url_for("unit.account"))


# --- last edition's people (往届人员): register again or reuse the badge ------------------------
@bp.get("/previous")
@login_required(CONTACT)
def previous() -> str:
    rows = api().get("registration", "/units/me/previous-personnel")
    return render_template("unit/previous.html", rows=rows)


@bp.route("/previous/<previous_id>", methods=["GET", "POST"])
@login_required(CONTACT)
def previous_person(previous_id: str) -> Any:
    rows = api().get("registration", "/units/me/previous-personnel")
    prev = next((r for r in rows if r.get("id") == previous_id), None)
    if prev is None:
        flash(_("This person of the previous edition was not found."), "error")
        return redirect(url_for("unit.previous"))
    errors = FormErrors()
    values: dict[str, Any] = {"entry_dates": [], "pickup_method": "courier", "label": prev.get("label")}
    if request.method == "POST":
        action = "reuse" if request.form.get("action") == "reuse" else "carry-over"
        values = {"entry_dates": form_list("entry_dates", 10, 10), "exhibition_area": form_text("exhibition_area", 40) or None,
                  "pickup_method": form_text("pickup_method", 10) or "courier"}
        if action == "reuse":
            values["label"] = form_text("label", 10) or None
        try:
            person = api().send("POST", "registration", f"/units/me/previous-personnel/{previous_id}/{action}",
                                json=values)
        except ApiProblem as problem:
            errors.add_problem(problem, known={"entry_dates", "exhibition_area", "pickup_method", "label"})
        else:
            if action == "reuse":
                flash(_("Badge reuse requested. The delegation will lock it; then pay if a fee is due."), "success")
                return redirect(url_for("personnel.detail", person_id=person["id"]))
            flash(_("%(name)s was carried over. Upload a current photo, then submit.", name=person["name"]),
                  "success")
            return redirect(url_for("personnel.photo", person_id=person["id"]))
    return render_template("unit/previous_person.html", prev=prev, values=values, errors=errors,
                           days=portal().settings.fair_day_list), (400 if errors else 200)


@bp.app_context_processor
def unit_helpers() -> dict[str, Any]:
    return {"delegation_name": delegation_name, "reuse_refusal_text": reuse_refusal_text}
