"""The back office's frame: admin sign-in and sign-out, the home page with the desks of the
admin's role, and the admin's own account (password, phone, email).

Admins sign in with review's admin accounts; the token lives in the same signed, HttpOnly
session cookie as a unit's. Desks live in their own blueprints under /admin/… and register
their menu entries with `admin_menu.menu_item`."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from .. import desk_labels
from ..admin_menu import menu_for, menu_item
from ..client import ApiProblem
from ..web import (
    ADMIN_ROLES, COMMITTEE, FIRST_LEVEL, HOST_ADMIN, REVIEWERS, FormErrors, admin_required, api, current_user, form_text, replace_token, safe_next, sign_in,
    sign_out,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")

menu_item("admin.home", _l("Desks"), ADMIN_ROLES, order=0)
menu_item("admin.account", _l("My account"), ADMIN_ROLES, order=1000,
          description=_l("Change your password, phone and email."))


def profile() -> dict[str, Any]:
    return api().get("review", "/admin/me")


def scope_delegations() -> list[dict[str, Any]]:
    """The (sub-)delegations of the signed-in admin's part of the tree, each with its
    `depth` below the admin's root, in tree order (for filters and reassignment). Review
    decides what an admin may see; this only shapes the choices offered."""
    user = current_user()
    rows = [d for d in api().get("review", "/delegations") if isinstance(d, dict)]
    children: dict[str | None, list[dict[str, Any]]] = {}
    for d in rows:
        children.setdefault(d.get("parent_id"), []).append(d)
    by_id = {d["id"]: d for d in rows}
    roots = [by_id[user.delegation_id]] if user and user.delegation_id in by_id else \
        ([] if user and user.delegation_id else children.get(None, []))
    ordered: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        if len(ordered) > 2000 or any(o["id"] == node["id"] for o in ordered):
            return
        ordered.append({**node, "depth": depth})
        for child in children.get(node["id"], []):
            walk(child, depth + 1)
    for root in roots:
        walk(root, 0)
    return ordered


# --- sign-in ------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    user = current_user()
    if request.method == "GET" and user is not None and user.is_admin:
        return redirect(url_for("admin.home"))
    errors, values = FormErrors(), {"username": ""}
    if request.method == "POST":
        values = {"username": form_text("username", 64)}
        password = form_text("password", 128)
        if not values["username"]:
            errors.add("username", _("This field is required."))
        if not password:
            errors.add("password", _("This field is required."))
        if not errors:
            try:
                token = api().send("POST", "review", "/admin/login",
                                   json={"username": values["username"], "password": password})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"username", "password"})
                if problem.status == 401 and errors.general:
                    errors.fields.setdefault("password", errors.general.pop())
            else:
                sign_in(token["token"], token["role"], "", values["username"], token.get("delegation_id"))
                # a host organisation admin starts on its organisation's page (承办机构信息)
                landing = url_for("admin_host.organisation") if token["role"] == HOST_ADMIN else url_for("admin.home")
                return redirect(safe_next(request.args.get("next"), landing))
    return render_template("admin/login.html", values=values, errors=errors), (400 if errors else 200)


@bp.post("/logout")
def logout() -> BaseResponse:
    sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("admin.login"))


# --- home ---------------------------------------------------------------------------------
@bp.get("")
@admin_required()
def home() -> str:
    user = current_user()
    assert user is not None
    desks = [item for item in menu_for(user.role) if item.endpoint not in ("admin.home",)]
    return render_template("admin/home.html", me=profile(), desks=desks, waiting=waiting_work(user.role))


def waiting_work(role: str) -> list[dict[str, Any]]:
    """What waits for a reviewer: units to decide (and first-level approvals to confirm, for
    a secretariat) and people to confirm — each a link to the list."""
    if role not in REVIEWERS:
        return []
    counts: list[tuple[str, str, str, dict[str, Any]]] = [("pending", _("Units waiting for review"), "admin_review.queue", {"status": "pending"}),
              ("people", _("People waiting for confirmation"), "admin_personnel.index", {})]
    if role not in FIRST_LEVEL:
        counts.insert(1, ("first_approved", _("First-level approvals to confirm"), "admin_review.queue",
                          {"status": "first_approved"}))
    if role == COMMITTEE and desk_labels.has_host_organisations():
        counts.insert(0, ("hosts", _("Host organisations waiting for review"), "admin_host.queue", {"status": "pending"}))
    shown = []
    for key, text, endpoint, args in counts:
        try:
            if key == "hosts":
                total = api().get("review", "/host-organisations", params={"status": "pending", "per_page": 1})["total"]
            elif key == "people":
                total = api().get("review", "/personnel", params={"per_page": 1})["total"]
            else:
                total = api().get("review", "/queue", params={"status": key, "per_page": 1})["total"]
        except (ApiProblem, KeyError, TypeError):
            continue
        shown.append({"key": key, "text": text, "total": total, "href": url_for(endpoint, **args)})
    return shown


# --- my account ---------------------------------------------------------------------------
@bp.get("/account")
@admin_required()
def account() -> str:
    return _account_page(FormErrors(), FormErrors())


def _account_page(contact_errors: FormErrors, password_errors: FormErrors, values: dict[str, str] | None = None
                  ) -> Any:
    page = render_template("admin/account.html", me=profile(), contact_errors=contact_errors,
                           password_errors=password_errors, values=values or {})
    return (page, 400) if contact_errors or password_errors else page


@bp.post("/account/contact")
@admin_required()
def account_contact() -> Any:
    errors = FormErrors()
    values = {"phone": form_text("phone", 20), "email": form_text("email", 254)}
    body: dict[str, Any] = {"current_password": form_text("contact_password", 128)}
    body.update({k: v for k, v in values.items() if v})
    if not body["current_password"]:
        errors.add("contact_password", _("Enter your current password to confirm the change."))
    elif len(body) == 1:
        errors.add("phone", _("Enter a new phone or a new email."))
    if not errors:
        try:
            api().send("PATCH", "review", "/admin/me", json=body)
        except ApiProblem as problem:
            # a wrong password is the form's answer, never a reason to end the session
            errors.add_problem(problem, known={"phone", "email", "contact_password"},
                               aliases={"current_password": "contact_password"})
        else:
            flash(_("Your contact details have been saved."), "success")
            return redirect(url_for("admin.account"))
    return _account_page(errors, FormErrors(), values)


@bp.post("/account/password")
@admin_required()
def account_password() -> Any:
    errors = FormErrors()
    current, new, confirm = (form_text("current_password", 128), form_text("new_password", 128),
                             form_text("new_password_confirm", 128))
    if not current:
        errors.add("current_password", _("This field is required."))
    if len(new) < 10:
        errors.add("new_password", _("The new password needs at least 10 characters and must differ from the "
                                     "current one."))
    elif new != confirm:
        errors.add("new_password_confirm", _("The two passwords are not the same."))
    if not errors:
        try:
            token = api().send("POST", "review", "/admin/password",
                               json={"current_password": current, "new_password": new})
        except ApiProblem as problem:
            errors.add_problem(problem, known={"current_password", "new_password"})
            if problem.status == 401:
                errors.general.clear()
                errors.fields["current_password"] = _("The current password is not right.")
        else:
            replace_token(token["token"])  # this session goes on; the admin's other sessions end
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for("admin.account"))
    return _account_page(FormErrors(), errors)


@bp.app_context_processor
def admin_helpers() -> dict[str, Any]:
    user = current_user()
    return {"admin_menu": menu_for(user.role) if user is not None and user.is_admin else [],
            "in_back_office": request.path.startswith("/admin")}
