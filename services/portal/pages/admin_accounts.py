"""Admin accounts: the organising committee creates the back office's accounts (a role,
and for the delegation roles the delegation — or, where the fair has host organisations,
the host organisation admin's organisation)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from .. import desk_labels, labels
from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import (
    COMMITTEE, FINANCE, GATE, HOST_ADMIN, OPERATIONS, SECRETARIAT, SUB_DELEGATION, FormErrors, admin_required, api,
    form_text,
)
from .admin import scope_delegations

bp = Blueprint("admin_accounts", __name__, url_prefix="/admin/admins")
menu_item("admin_accounts.new", _l("Admin accounts"), (COMMITTEE,), order=900,
          description=_l("Create accounts for the delegations' and the desks' staff."))

DELEGATION_ROLES = (SECRETARIAT, SUB_DELEGATION, HOST_ADMIN)  # bound to one delegation / host organisation


def roles() -> list[str]:
    """The roles the committee may create; a host organisation admin only where the fair's
    organisations are host organisations."""
    offered = [COMMITTEE, SECRETARIAT, SUB_DELEGATION, FINANCE, OPERATIONS, GATE]
    if desk_labels.has_host_organisations():
        offered.append(HOST_ADMIN)
    return offered


def _page(errors: FormErrors, values: dict[str, str], status: int = 200) -> Any:
    delegations = scope_delegations()
    page = render_template("admin/accounts/new.html", errors=errors, values=values, delegations=delegations,
                           roles=[(r, labels.label(labels.ADMIN_ROLES, r)) for r in roles()],
                           delegation_roles="、".join(labels.label(labels.ADMIN_ROLES, r) for r in DELEGATION_ROLES
                                                     if r in roles()))
    return (page, status) if status != 200 else page


@bp.get("")
@admin_required(COMMITTEE)
def new() -> Any:
    return _page(FormErrors(), {"username": "", "role": "", "delegation_id": ""})


@bp.post("")
@admin_required(COMMITTEE)
def create() -> Any:
    values = {"username": form_text("username", 64), "role": form_text("role", 40),
              "delegation_id": form_text("delegation_id", 64)}
    password = form_text("password", 128)
    errors = FormErrors()
    if not values["username"]:
        errors.add("username", _("This field is required."))
    if len(password) < 10:
        errors.add("password", _("The password needs at least 10 characters."))
    if values["role"] not in roles():
        errors.add("role", _("Choose a role."))
    elif values["role"] in DELEGATION_ROLES and not values["delegation_id"]:
        errors.add("delegation_id", _("Choose the organisation this admin works for."))
    if not errors:
        try:
            api().send("POST", "review", "/admins", json={
                "username": values["username"], "password": password, "role": values["role"],
                "delegation_id": values["delegation_id"] if values["role"] in DELEGATION_ROLES else None})
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            errors.add_problem(problem, known={"username", "password", "role", "delegation_id"})
        else:
            flash(_("The account %(username)s was created.", username=values["username"]), "success")
            return redirect(url_for("admin_accounts.new"))
    return _page(errors, values, status=400)
