"""Accounts: sign-up with an SMS code, login (password, SMS, colleague), forgotten
password, returning units, colleagues asking to join, logout.

Forms that need an SMS code have a "send code" button inside the form: without
JavaScript it posts the whole form (values kept, nothing else happens); with JavaScript
the same button asks /sms-code and counts down without a reload."""
from __future__ import annotations

import time
from typing import Any

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import labels
from ..client import ApiProblem
from ..messages import BY_CODE
from ..profile import default_visitor_kind, fair_name, profile, visitor_kind
from ..web import (
    FormErrors, api, arg_text, current_user, form_text, language, portal, safe_next, sign_in, sign_out,
)

bp = Blueprint("account", __name__)
SMS_PURPOSES = ("signup", "login", "reset_password", "returning", "join", "change_phone")
SEND_CODE = "send_code"  # the value of the form's "send code" button


# --- SMS codes ----------------------------------------------------------------------------
def resend_wait(purpose: str) -> int:
    """Seconds before another code may be asked for (what the API told us last time)."""
    until = session.get("sms_wait", {}).get(purpose, 0)
    return max(0, int(until - time.time())) if isinstance(until, (int, float)) else 0


def send_code(phone: str, purpose: str, errors: FormErrors) -> bool:
    try:
        answer = api().send("POST", "registration", "/sms-codes", json={"phone": phone, "purpose": purpose})
    except ApiProblem as problem:
        errors.add_problem(problem, known={"phone"})
        if problem.code == "sms_too_soon":
            _remember_wait(purpose, 60)
        return False
    _remember_wait(purpose, int((answer or {}).get("resend_after", 60)))
    return True


def _remember_wait(purpose: str, seconds: int) -> None:
    waits = dict(session.get("sms_wait") or {})
    waits[purpose] = time.time() + max(0, min(seconds, 600))
    session["sms_wait"] = waits


@bp.post("/sms-code")
def sms_code() -> Response:
    """For the page's script: send a code, answer JSON (the CSRF token rides in a header)."""
    purpose = form_text("purpose", 20)
    phone = form_text("phone", 20)
    errors = FormErrors()
    if purpose not in SMS_PURPOSES:
        return jsonify({"ok": False, "message": _("Unknown purpose.")}), 400  # type: ignore[return-value]
    if not phone:
        return jsonify({"ok": False, "message": _("Enter your mobile number first.")}), 400  # type: ignore[return-value]
    if send_code(phone, purpose, errors):
        return jsonify({"ok": True, "wait": resend_wait(purpose), "message": _("The code was sent.")})
    message = errors.fields.get("phone") or (errors.general[0] if errors.general else _("Please try again."))
    return jsonify({"ok": False, "wait": resend_wait(purpose), "message": message}), 400  # type: ignore[return-value]


def code_step(phone: str, purpose: str, errors: FormErrors) -> bool:
    """Handle the form's "send code" button. True when it was pressed."""
    if request.form.get("action") != SEND_CODE:
        return False
    if not phone:
        errors.add("phone", _("Enter your mobile number first."))
    elif send_code(phone, purpose, errors):
        flash(_("A verification code was sent to %(phone)s.", phone=_mask(phone)), "success")
    return True


def _mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def _check_password_pair(errors: FormErrors, password: str, confirm: str, name: str = "password") -> None:
    if password != confirm:
        errors.add(f"{name}_confirm", _("The two passwords are not the same."))


# --- sign-up --------------------------------------------------------------------------------
SIGNUP_FIELDS = ("region", "category", "delegation_id", "recommendation_code", "name", "uscc", "email", "phone",
                 "sms_code", "password", "password_confirm", "consent", "referral_code", "invitation_token",
                 "visitor_kind", "identifier_type", "host_invitation_code")
UNIT_IDENTIFIER_TYPES = ("uscc", "registration_no")
PERSON_IDENTIFIER_TYPES = ("resident_id", "hk_macao_permit", "taiwan_permit", "passport")
IDENTIFIER_TYPES = UNIT_IDENTIFIER_TYPES + PERSON_IDENTIFIER_TYPES


def _kind_of(value: str | None) -> str:
    """The visitor kind asked for, when the profile has it; the profile's first otherwise."""
    return value if value and visitor_kind(value) is not None else default_visitor_kind()


def _invitation(kind: str) -> str:
    """none, optional or required: the host organisation's invitation code at sign-up. A fair
    whose units join a delegation (CIIE) uses its recommendation code instead: no field."""
    found = visitor_kind(kind)
    if found is None or profile().data["organisation"]["kind"] == "delegation":
        return "none"
    return str(found["invitation"])


def _identifier_types() -> tuple[str, ...]:
    """A person's own ID document only where the fair registers individuals."""
    p = profile()
    return IDENTIFIER_TYPES if any(p.is_individual(k) for k in p.visitor_kinds) else UNIT_IDENTIFIER_TYPES


def _delegations() -> list[dict[str, Any]]:
    try:
        return [d for d in api().get("registration", "/delegations") if isinstance(d, dict)]
    except ApiProblem:
        return []


def _signup_defaults() -> dict[str, Any]:
    """Prefill: a referral link, a one-click invitation, or a verified previous account."""
    values: dict[str, Any] = {"region": "mainland", "category": "enterprise", "visitor_kind": default_visitor_kind(),
                              "identifier_type": "uscc"}
    asked = arg_text("kind", 20)
    if asked and visitor_kind(asked) is not None:
        values["visitor_kind"] = asked
        if profile().is_individual(asked):
            values["identifier_type"] = "resident_id"
    ref, invitation = arg_text("ref", 16), arg_text("invitation", 64)
    if ref:
        values["referral_code"] = ref
    if invitation:
        try:
            preview = api().get("registration", f"/invitations/{invitation}")
        except ApiProblem as problem:
            if problem.status != 404:
                raise
            flash(_("This invitation link is not valid. You can still register below."), "error")
        else:
            values.update(_from_previous(preview), invitation_token=invitation)
    returning = session.get("returning")
    if isinstance(returning, dict) and returning.get("preview"):
        values.update(_from_previous(returning["preview"]))
    return values


def _from_previous(preview: dict[str, Any]) -> dict[str, Any]:
    return {k: preview.get(k) for k in ("uscc", "name", "category", "region", "delegation_id") if preview.get(k)}


def _signup_body(form: dict[str, str]) -> dict[str, Any]:
    identifier_type = form["identifier_type"] if form["identifier_type"] in _identifier_types() else "uscc"
    kind = _kind_of(form["visitor_kind"])
    individual = profile().is_individual(kind)
    body: dict[str, Any] = {
        "password": form["password"], "name": form["name"],
        "category": "individual" if individual else form["category"],
        "region": form["region"] or "mainland", "visitor_kind": kind,
        "phone": form["phone"],
        "email": form["email"], "sms_code": form["sms_code"], "language": language(),
        "privacy_consent": bool(form["consent"]),
        "delegation_id": form["delegation_id"] or None,
        "recommendation_code": form["recommendation_code"].upper() or None,
        "referral_code": form["referral_code"] or None, "invitation_token": form["invitation_token"] or None,
    }
    if profile().data["organisation"]["kind"] != "delegation":  # the invitation code names the host instead
        body.update(delegation_id=None, recommendation_code=None)
    if _invitation(kind) != "none" and form["host_invitation_code"]:
        body["host_invitation_code"] = form["host_invitation_code"].upper()
    if identifier_type == "uscc":  # a mainland unit
        body["uscc"] = form["uscc"]
    else:  # a registration number (HK/Macao/Taiwan, overseas unit) or an individual's document
        body.update(identifier_type=identifier_type, identifier=form["uscc"])
    returning = session.get("returning")
    if isinstance(returning, dict) and returning.get("token") and \
            returning.get("preview", {}).get("uscc") == form["uscc"].upper():
        body["returning_token"] = returning["token"]
    return body


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    errors = FormErrors()
    if request.method == "GET":
        return _register_page(_signup_defaults(), errors)
    form = {name: form_text(name, 200) for name in SIGNUP_FIELDS}
    form["password"], form["password_confirm"] = form_text("password", 64), form_text("password_confirm", 64)
    if code_step(form["phone"], "signup", errors):
        return _register_page(form, errors)
    _check_password_pair(errors, form["password"], form["password_confirm"])
    if not request.form.get("consent"):
        errors.add("consent", _("Please read and accept the privacy policy."))
    if _invitation(_kind_of(form["visitor_kind"])) == "required" and not form["host_invitation_code"]:
        errors.add("host_invitation_code", str(BY_CODE["invitation_code_required"]))
    if not errors:
        try:
            created = api().send("POST", "registration", "/units", json=_signup_body(form))
            _log_in_after_sign_up(form["uscc"], form["password"])
        except ApiProblem as problem:
            errors.add_problem(problem, known=set(SIGNUP_FIELDS),
                               aliases={"returning_token": "uscc", "identifier": "uscc"})
        else:
            session.pop("returning", None)
            flash(_("Your unit is registered. Its unit code for colleagues is %(code)s.",
                    code=created.get("unit_code", "")), "success")
            return redirect(url_for("unit.home"))
    return _register_page(form, errors), 400


def _log_in_after_sign_up(uscc: str, password: str) -> None:
    token = api().send("POST", "registration", "/auth/login", json={"uscc": uscc, "password": password})
    _sign_in_contact(token)


def edition_label(edition_id: str) -> str:
    """An edition by the fair's short name and its number: 第8届进博会 / CIIE, edition 8."""
    return _("%(fair)s, edition %(number)s", fair=fair_name(short=True), number=profile().edition(edition_id).number)


def edition_choices() -> list[tuple[str, str]]:
    """The editions a unit may log in to: the active one first, then the fair's previous
    ones, which are closed (read-only)."""
    active = portal().settings.edition
    return [(active, edition_label(active))] + [
        (e.id, _("%(edition)s (closed: read only)", edition=edition_label(e.id)))
        for e in profile().previous_editions(active)]


def chosen_edition() -> str | None:
    """The previous edition the login form asks for; None for the active one."""
    wanted = form_text("edition", 32)
    return wanted if wanted in [key for key, _label in edition_choices()[1:]] else None


def _remember_edition(token: dict[str, Any]) -> None:
    """A closed edition's session: every page says so (base.html), and the services refuse
    its changes anyway."""
    if token.get("read_only"):
        session["user"] = {**session["user"], "edition": str(token.get("edition", ""))[:32], "read_only": True}


def _sign_in_contact(token: dict[str, Any]) -> None:
    sign_in(token["token"], "unit_contact", token["unit_id"], "")
    _remember_edition(token)
    try:  # the unit's name in the header
        unit = api().get("registration", "/units/me")
    except ApiProblem:
        return
    session["user"] = {**session["user"], "name": str(unit.get("name", ""))[:80]}


def _register_page(values: dict[str, Any], errors: FormErrors) -> str:
    delegations = _delegations()
    parents = [d for d in delegations if not d.get("parent_id")]
    children = {p["id"]: [d for d in delegations if d.get("parent_id") == p["id"]] for p in parents}
    p = profile()
    domestic = p.categories("mainland")
    categories = [(c, labels.label(labels.CATEGORIES, c) + (" " + _("(outside the mainland)") if c not in domestic
                                                            else "")) for c in p.all_categories()]
    kinds = [{"id": k["id"], "text": labels.label(labels.VISITOR_KINDS, k["id"]),
              "hint": labels.label(labels.VISITOR_KIND_HINTS, k["id"]) if k["id"] in labels.VISITOR_KIND_HINTS
              else "", "invitation": _invitation(k["id"])} for k in p.data["visitor_kinds"]]
    return render_template("account/register.html", values=values, errors=errors, parents=parents,
                           children=children, wait=resend_wait("signup"), kinds=kinds, categories=categories,
                           identifier_types=_identifier_types(), individuals="resident_id" in _identifier_types(),
                           identifier_options=[(t, labels.IDENTIFIER_TYPES[t]) for t in _identifier_types()],
                           delegations=p.data["organisation"]["kind"] == "delegation",
                           invitation_kinds=[k["id"] for k in kinds if k["invitation"] != "none"],
                           required_invitation_kinds=[k["id"] for k in kinds if k["invitation"] == "required"],
                           returning=session.get("returning", {}).get("preview"))


# --- login ------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    errors = FormErrors()
    values: dict[str, str | None] = {"uscc": arg_text("uscc", 40)}
    if request.method == "POST":
        values = {"uscc": form_text("uscc", 40).upper(), "edition": chosen_edition()}
        try:
            token = api().send("POST", "registration", "/auth/login",
                               json={"uscc": values["uscc"], "password": form_text("password", 64),
                                     "edition": values["edition"]})
        except ApiProblem as problem:
            errors.add_problem(problem, known={"uscc", "password"})
            if problem.code == "unauthorized":
                errors.fields.setdefault("password", errors.general.pop() if errors.general else "")
        else:
            _sign_in_contact(token)
            return redirect(safe_next(request.args.get("next"), url_for("unit.home")))
    return render_template("account/login.html", tab="password", values=values, errors=errors), \
        (400 if errors else 200)


@bp.route("/login/sms", methods=["GET", "POST"])
def login_sms() -> Any:
    errors, values = FormErrors(), {}
    if request.method == "POST":
        values = {"phone": form_text("phone", 20), "sms_code": form_text("sms_code", 10),
                  "uscc": form_text("uscc", 40).upper()}
        if not code_step(values["phone"], "login", errors):
            try:
                token = api().send("POST", "registration", "/auth/login/sms", json={
                    "phone": values["phone"], "sms_code": values["sms_code"], "uscc": values["uscc"] or None})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"phone", "sms_code", "uscc"})
                if problem.code == "unauthorized" and errors.general:
                    errors.fields.setdefault("phone", errors.general.pop())
            else:
                _sign_in_contact(token)
                return redirect(safe_next(request.args.get("next"), url_for("unit.home")))
    return render_template("account/login.html", tab="sms", values=values, errors=errors,
                           wait=resend_wait("login")), (400 if errors else 200)


@bp.route("/login/colleague", methods=["GET", "POST"])
def login_member() -> Any:
    errors, values = FormErrors(), {}
    if request.method == "POST":
        unit_code = form_text("unit_code", 9).upper()
        values = {"unit_code": unit_code, "phone": form_text("phone", 20), "edition": chosen_edition()}
        try:
            token = api().send("POST", "registration", "/auth/member-login",
                               json={**values, "password": form_text("password", 64)})
        except ApiProblem as problem:
            errors.add_problem(problem, known={"unit_code", "phone", "password"})
            if problem.status in (401, 403) and errors.general:
                errors.fields.setdefault("password" if problem.status == 401 else "unit_code", errors.general.pop())
        else:
            sign_in(token["token"], "unit_member", token["unit_id"], unit_code)
            _remember_edition(token)
            return redirect(url_for("personnel.index"))
    return render_template("account/login.html", tab="member", values=values, errors=errors), \
        (400 if errors else 200)


@bp.post("/logout")
def logout() -> BaseResponse:
    sign_out()
    session.pop("returning", None)
    flash(_("You have logged out."), "info")
    return redirect(url_for("public.home"))


# --- forgotten password --------------------------------------------------------------------
@bp.route("/password-reset", methods=["GET", "POST"])
def password_reset() -> Any:
    errors, values = FormErrors(), {}
    if request.method == "POST":
        values = {"uscc": form_text("uscc", 40).upper(), "phone": form_text("phone", 20),
                  "sms_code": form_text("sms_code", 10)}
        password, confirm = form_text("new_password", 64), form_text("new_password_confirm", 64)
        if not code_step(values["phone"], "reset_password", errors):
            _check_password_pair(errors, password, confirm, "new_password")
            if not errors:
                try:
                    api().send("POST", "registration", "/auth/password-reset",
                               json={**values, "new_password": password})
                except ApiProblem as problem:
                    errors.add_problem(problem, known={"uscc", "phone", "sms_code", "new_password"},
                                       aliases={"password": "new_password"})
                else:
                    flash(_("Your password has been changed. Log in with the new one."), "success")
                    return redirect(url_for("account.login", uscc=values["uscc"]))
    return render_template("account/password_reset.html", values=values, errors=errors,
                           wait=resend_wait("reset_password")), (400 if errors else 200)


# --- returning units (往届观众) ----------------------------------------------------------------
RETURNING_METHODS = ("password", "sms", "email")


@bp.route("/returning", methods=["GET", "POST"])
def returning() -> Any:
    method = arg_text("method", 10) if arg_text("method", 10) in RETURNING_METHODS else "password"
    errors, values = FormErrors(), {}
    if request.method == "POST":
        method = form_text("method", 10) if form_text("method", 10) in RETURNING_METHODS else "password"
        values = {"uscc": form_text("uscc", 40).upper(), "phone": form_text("phone", 20),
                  "sms_code": form_text("sms_code", 10), "email_code": form_text("email_code", 10)}
        if request.form.get("action") == SEND_CODE:
            _send_returning_code(method, values, errors)
        else:
            verified = _verify_previous(method, values, errors)
            if verified:
                # only what the sign-up form shows: the session lives in a cookie of at most 4 KB
                session["returning"] = {"token": verified["returning_token"],
                                        "preview": _from_previous(verified["previous"])}
                flash(_("Your previous account is verified. Check the details and finish the registration."),
                      "success")
                return redirect(url_for("account.register"))
    return render_template("account/returning.html", method=method, values=values, errors=errors,
                           wait=resend_wait("returning" if method == "sms" else "returning_email")), \
        (400 if errors else 200)


def _send_returning_code(method: str, values: dict[str, str], errors: FormErrors) -> None:
    if method == "sms":
        code_step(values["phone"], "returning", errors)
        return
    if not values["uscc"]:
        errors.add("uscc", _("Enter the unified social credit code first."))
        return
    try:
        answer = api().send("POST", "registration", "/returning/email-codes", json={"uscc": values["uscc"]})
    except ApiProblem as problem:
        errors.add_problem(problem, known={"uscc"})
        return
    _remember_wait("returning_email", int((answer or {}).get("resend_after", 60)))
    flash(_("A code was sent to the email address of your previous account."), "success")


def _verify_previous(method: str, values: dict[str, str], errors: FormErrors) -> dict[str, Any] | None:
    body: dict[str, Any] = {"method": method, "uscc": values["uscc"]}
    if method == "password":
        body["password"] = form_text("password", 64)
    elif method == "sms":
        body.update(phone=values["phone"] or None, sms_code=values["sms_code"])
    else:
        body["email_code"] = values["email_code"]
    try:
        return api().send("POST", "registration", "/returning/verify", json=body)
    except ApiProblem as problem:
        known = {"uscc", "password", "phone", "sms_code", "email_code"}
        errors.add_problem(problem, known=known)
        if problem.status == 401 and errors.general:
            errors.fields.setdefault("uscc", errors.general.pop())
        return None


# --- colleagues asking to join --------------------------------------------------------------
@bp.route("/join", methods=["GET", "POST"])
def join() -> Any:
    errors, values = FormErrors(), {"unit_code": arg_text("code", 9).upper()}
    if request.method == "POST":
        values = {"unit_code": form_text("unit_code", 9).upper(), "name": form_text("name", 60),
                  "phone": form_text("phone", 20), "sms_code": form_text("sms_code", 10)}
        password, confirm = form_text("password", 64), form_text("password_confirm", 64)
        if not code_step(values["phone"], "join", errors):
            _check_password_pair(errors, password, confirm)
            if not errors:
                try:
                    api().send("POST", "registration", "/members/join", json={**values, "password": password})
                except ApiProblem as problem:
                    errors.add_problem(problem, known={"unit_code", "name", "phone", "sms_code", "password"})
                else:
                    return render_template("account/join_sent.html", unit_code=values["unit_code"])
    return render_template("account/join.html", values=values, errors=errors, wait=resend_wait("join")), \
        (400 if errors else 200)


def closed_edition() -> str | None:
    """The label of the closed edition this session reads, or None (the active edition's)."""
    user = session.get("user")
    if not isinstance(user, dict) or not user.get("read_only"):
        return None
    return edition_label(str(user.get("edition", "")))


@bp.app_context_processor
def account_helpers() -> dict[str, Any]:
    return {"SEND_CODE": SEND_CODE, "signed_in": current_user() is not None, "closed_edition": closed_edition,
            "edition_choices": edition_choices}
