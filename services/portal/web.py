"""Request-scoped helpers every page uses: the signed-in user (kept in the signed,
HttpOnly session cookie), the API client bound to their token and language, login
guards, form input and form errors."""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar, cast
from urllib.parse import urlsplit

import requests
from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale, gettext as _

from .bootstrap import Portal
from .client import ApiProblem
from .messages import problem_text

CONTACT = "unit_contact"
MEMBER = "unit_member"
# the back office's roles (review issues their tokens); each desk names the roles it serves
COMMITTEE = "organising_committee"
SECRETARIAT = "delegation_secretariat"
SUB_DELEGATION = "sub_delegation_admin"
FINANCE = "finance"
OPERATIONS = "operations"
GATE = "gate_staff"
HOST_ADMIN = "host_organisation_admin"  # CIFTIS 承办机构管理员: one host organisation (a top-level delegation)
ADMIN_ROLES = (COMMITTEE, SECRETARIAT, SUB_DELEGATION, FINANCE, OPERATIONS, GATE, HOST_ADMIN)
REVIEWERS = (COMMITTEE, SECRETARIAT, SUB_DELEGATION, HOST_ADMIN)  # the delegation tree's desks
FIRST_LEVEL = (SUB_DELEGATION, HOST_ADMIN)  # approve first; someone above them confirms
SECRETARIATS = (COMMITTEE, SECRETARIAT)  # quotas and the like: delegations, not sub-delegations
MAX_FIELD_CHARS = 2000  # no form field of the portal needs more; longer input is cut

F = TypeVar("F", bound=Callable[..., Any])


def portal() -> Portal:
    return cast(Portal, current_app.extensions["portal"])


# --- the signed-in user -----------------------------------------------------------------
@dataclass(frozen=True)
class User:
    token: str
    role: str
    unit_id: str
    name: str
    delegation_id: str = ""  # an admin's part of the delegation tree ("" for the whole fair)

    @property
    def is_contact(self) -> bool:
        return self.role == CONTACT

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


def current_user() -> User | None:
    data = session.get("user")
    if not isinstance(data, dict) or not data.get("token"):
        return None
    return User(str(data["token"]), str(data.get("role", "")), str(data.get("unit_id", "")),
                str(data.get("name", "")), str(data.get("delegation_id") or ""))


def sign_in(token: str, role: str, unit_id: str, name: str, delegation_id: str | None = None) -> None:
    """A fresh session: nothing from before the login survives (no session fixation)."""
    language = session.get("lang")
    session.clear()
    session.permanent = True
    session["user"] = {"token": token, "role": role, "unit_id": unit_id, "name": name[:80]}
    if delegation_id:
        session["user"]["delegation_id"] = delegation_id[:64]
    if language:
        session["lang"] = language


def replace_token(token: str) -> None:
    """The same user goes on with a new token (after changing their password)."""
    data = session.get("user")
    if isinstance(data, dict):
        session["user"] = {**data, "token": token}


def sign_out() -> None:
    session.pop("user", None)


def login_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users (of one of `roles`, when given) see the page."""
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                flash(_("Please log in first."), "info")
                return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
            if user.is_admin:  # the unit's pages are not the back office's
                return redirect(url_for("admin.home"))
            if roles and user.role not in roles:
                flash(_("Only the unit contact can open that page."), "error")
                return redirect(url_for("unit.home" if user.is_contact else "personnel.index"))
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorator


def admin_required(*roles: str) -> Callable[[F], F]:
    """Back-office pages: signed-out visitors go to the admin sign-in; a signed-in user of
    another role (a unit, or an admin of another desk) gets the 403 page. No roles given:
    any admin."""
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                flash(_("Please sign in first."), "info")
                return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
            if not user.is_admin or (roles and user.role not in roles):
                abort(403)
            return view(*args, **kwargs)
        wrapper.admin_roles = roles or ADMIN_ROLES  # type: ignore[attr-defined]  # read by the menu's checks
        return cast(F, wrapper)
    return decorator


def language() -> str:
    return str(get_locale() or "zh")


def client_ip() -> str | None:
    return request.remote_addr  # ProxyFix has applied the trusted X-Forwarded-For hops


# --- the API, as this user ----------------------------------------------------------------
class UserApi:
    """The API client with this request's token, language and client address."""

    def __init__(self, token: str | None):
        self.token = token

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> requests.Response:
        return portal().api.request(method, service, path, token=self.token, language=language(),
                                    client_ip=client_ip(), **kwargs)

    def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.call("GET", service, path, **kwargs).json()

    def send(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, service, path, **kwargs)
        return response.json() if response.content and response.status_code != 204 else None


def api() -> UserApi:
    user = current_user()
    return UserApi(user.token if user else None)


def new_idempotency_key() -> str:
    """Rendered into a form as a hidden field: a double submit repeats the same request."""
    return uuid.uuid4().hex


def idempotency_key_from_form() -> str:
    key = form_text("idempotency_key", 64)
    return key if len(key) >= 16 and key.isalnum() else new_idempotency_key()


# --- form input ------------------------------------------------------------------------
def form_text(name: str, limit: int = 200) -> str:
    return (request.form.get(name) or "").strip()[:min(limit, MAX_FIELD_CHARS)]


def form_list(name: str, limit: int = 100, item_limit: int = 64) -> list[str]:
    return [v.strip()[:item_limit] for v in request.form.getlist(name)[:limit] if v.strip()]


def arg_text(name: str, limit: int = 100) -> str:
    return (request.args.get(name) or "").strip()[:limit]


def upload(name: str, limit: int) -> tuple[str, bytes, str] | None:
    """The uploaded file, read up to `limit` + 1 bytes (the API answers what is too big)."""
    file = request.files.get(name)
    if file is None or not file.filename:
        return None
    content = file.stream.read(limit + 1)
    return (file.filename[-100:], content, file.mimetype or "application/octet-stream")


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


# --- form errors -------------------------------------------------------------------------
@dataclass
class FormErrors:
    """Messages by form field, and those that belong to no field on the page."""
    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str | None, message: str) -> None:
        if name and name not in self.fields:
            self.fields[name] = message
        elif not name:
            self.general.append(message)

    def add_problem(self, problem: ApiProblem, known: set[str] | frozenset[str] | tuple[str, ...] = (),
                    aliases: dict[str, str] | None = None) -> None:
        """Show the API's message, in the user's language, next to the field it names."""
        name = problem.field
        if name and aliases:
            name = aliases.get(name, aliases.get(name.split(".")[0], name))
        if name and name not in known:
            name = name.split(".")[0] if name.split(".")[0] in known else None
        self.add(name, problem_text(problem))

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    @staticmethod
    def message_of(problem: ApiProblem) -> str:
        return problem_text(problem)
