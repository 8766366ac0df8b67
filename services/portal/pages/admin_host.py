"""Host organisations (承办机构, CIFTIS): the host organisation admin fills in its
organisation's information, uploads the business licence and submits it; the organising
committee approves it or returns it with a comment; once approved the host admin issues its
invitation codes. Only where the fair profile's organisations are host organisations.

Review decides who may see and do what; these pages only ask its endpoints."""
from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from shared.fair import fair

from .. import desk_labels
from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import COMMITTEE, HOST_ADMIN, FormErrors, admin_required, api, arg_text, form_text, upload

bp = Blueprint("admin_host", __name__, url_prefix="/admin")
menu_item("admin_host.organisation", _l("Host organisation"), (HOST_ADMIN,), order=50,
          description=_l("Your organisation's information and business licence, its review, and its "
                         "invitation codes once approved."))
menu_item("admin_host.queue", _l("Host organisations"), (COMMITTEE,), order=150,
          description=_l("Host organisations waiting for review: their information and licence; approve or "
                         "return."), when=desk_labels.has_host_organisations)

INFO_FIELDS = ("name", "name_en", "field", "industry", "uscc", "address", "postcode", "phone", "website")
LIMITS = {"name": 200, "name_en": 200, "field": 100, "industry": 100, "uscc": 18, "address": 300, "postcode": 10,
          "phone": 30, "website": 200}
EDITABLE = ("awaiting_info", "returned")
QUEUE = ("pending", "returned", "approved", "awaiting_info")
PER_PAGE = 50
IMAGE_TYPES = ("image/png", "image/jpeg")


def licence_rule() -> dict[str, Any]:
    """The profile's rule for the licence image (formats, size, the text shown)."""
    return fair().data.get("host_licence") or {"formats": ["JPEG", "PNG"], "max_bytes": 300 * 1024, "rule": None}


def _only_with_host_organisations() -> None:
    if not desk_labels.has_host_organisations():
        abort(404)


def _image(path: str) -> Response:
    answer = api().call("GET", "review", path)
    if answer.status_code >= 400:
        abort(404)
    kind = answer.headers.get("Content-Type", "image/png").split(";")[0]
    return Response(answer.content, mimetype=kind if kind in IMAGE_TYPES else "application/octet-stream",
                    headers={"Cache-Control": "private, no-store"})


@bp.app_context_processor
def desk_words() -> dict[str, Any]:
    return {"D": desk_labels, "org_word": desk_labels.organisation_word, "fair_text": desk_labels.profile_text}


# --- the host organisation admin's own organisation ------------------------------------------------
@bp.get("/host-organisation")
@admin_required(HOST_ADMIN)
def organisation() -> Any:
    return _organisation_page(FormErrors())


def _organisation_page(errors: FormErrors, values: dict[str, str] | None = None, status: int = 200) -> Any:
    host = api().get("review", "/host-organisation")
    info = {**(host.get("info") or {}), **(values or {})}
    codes: list[dict[str, Any]] | None = None
    if host.get("status") == "approved" and host.get("codes_allowed", True):
        try:
            codes = api().get("review", f"/delegations/{host['id']}/invitation-codes")
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            codes = None
    rule = licence_rule()
    page = render_template("admin/host/organisation.html", host=host, info=info, errors=errors,
                           editable=host.get("status") in EDITABLE, codes=codes,
                           rule_text=desk_labels.profile_text(rule.get("rule")),
                           accept=",".join("image/" + f.lower() for f in rule["formats"]))
    return (page, status) if status != 200 else page


def _info_from_form() -> dict[str, str]:
    return {name: form_text(name, LIMITS[name]) for name in INFO_FIELDS}


def _add_problem(errors: FormErrors, problem: ApiProblem, known: tuple[str, ...]) -> None:
    """The API's message next to its field; every missing field marked when submitting."""
    field = (problem.field or "").removeprefix("info.")
    if problem.code == "invalid_uscc":
        errors.add("uscc", _("Give the 18-character unified social credit code, or n/a."))
        return
    if problem.code == "host_info_incomplete" and "missing: " in problem.message:
        for name in problem.message.split("missing: ", 1)[1].split(","):
            if name.strip() in known:
                errors.add(name.strip(), FormErrors.message_of(problem))
        if errors:
            return
    errors.add_problem(ApiProblem(problem.status, problem.code, problem.message, field or None), known=set(known))


@bp.post("/host-organisation")
@admin_required(HOST_ADMIN)
def save_organisation() -> Any:
    values = _info_from_form()
    errors = FormErrors()
    try:
        api().send("PUT", "review", "/host-organisation", json=values)
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        _add_problem(errors, problem, INFO_FIELDS)
        return _organisation_page(errors, values, status=400)
    flash(_("The information was saved. Upload the licence and submit it for review."), "success")
    return redirect(url_for("admin_host.organisation"))


@bp.post("/host-organisation/licence")
@admin_required(HOST_ADMIN)
def upload_licence() -> Any:
    rule = licence_rule()
    errors = FormErrors()
    file = upload("licence", int(rule["max_bytes"]))
    if file is None:
        errors.add("licence", _("Choose the image of the business licence."))
    elif len(file[1]) > int(rule["max_bytes"]):
        errors.add("licence", _("The licence image is too large."))
    if not errors and file is not None:
        try:
            api().send("PUT", "review", "/host-organisation/licence", files={"licence": file})
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            errors.add("licence", FormErrors.message_of(problem))
        else:
            flash(_("The licence was uploaded."), "success")
            return redirect(url_for("admin_host.organisation"))
    return _organisation_page(errors, status=400)


@bp.get("/host-organisation/licence")
@admin_required(HOST_ADMIN)
def own_licence() -> Response:
    return _image("/host-organisation/licence")


@bp.post("/host-organisation/submit")
@admin_required(HOST_ADMIN)
def submit_organisation() -> Any:
    errors = FormErrors()
    try:
        api().send("POST", "review", "/host-organisation/submit", json={})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        if problem.code == "licence_required":
            errors.add("licence", FormErrors.message_of(problem))
        else:
            _add_problem(errors, problem, INFO_FIELDS + ("licence",))
        return _organisation_page(errors, status=400)
    flash(_("Submitted. The organising committee reviews your organisation next."), "success")
    return redirect(url_for("admin_host.organisation"))


# --- the organising committee's review ----------------------------------------------------------
@bp.get("/host-organisations")
@admin_required(COMMITTEE)
def queue() -> Any:
    _only_with_host_organisations()
    status = arg_text("status", 20)
    status = status if status in QUEUE else "pending"
    page_no = arg_text("page", 6)
    current = int(page_no) if page_no.isdigit() and 0 < int(page_no) < 100000 else 1
    errors = FormErrors()
    try:
        page = api().get("review", "/host-organisations",
                         params={"status": status, "page": current, "per_page": PER_PAGE})
    except ApiProblem as problem:
        if problem.status in (401, 403):
            raise
        errors.add(None, FormErrors.message_of(problem))
        page = {"items": [], "total": 0}
    return render_template("admin/host/queue.html", page=page, status=status, errors=errors, current_page=current,
                           pages=max(1, math.ceil(int(page.get("total") or 0) / PER_PAGE)))


@bp.get("/host-organisations/<organisation_id>")
@admin_required(COMMITTEE)
def detail(organisation_id: str) -> Any:
    _only_with_host_organisations()
    return _detail_page(organisation_id[:64], FormErrors())


def _detail_page(organisation_id: str, errors: FormErrors, comment: str = "") -> Any:
    host = api().get("review", f"/host-organisations/{organisation_id}")
    page = render_template("admin/host/detail.html", host=host, info=host.get("info") or {}, errors=errors,
                           comment=comment)
    return (page, 400) if errors else page


@bp.get("/host-organisations/<organisation_id>/licence")
@admin_required(COMMITTEE)
def licence(organisation_id: str) -> Response:
    _only_with_host_organisations()
    return _image(f"/host-organisations/{organisation_id[:64]}/licence")


@bp.post("/host-organisations/<organisation_id>/approve")
@admin_required(COMMITTEE)
def approve(organisation_id: str) -> Any:
    _only_with_host_organisations()
    organisation_id = organisation_id[:64]
    try:
        api().send("POST", "review", f"/host-organisations/{organisation_id}/approve", json={})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors = FormErrors()
        errors.add(None, FormErrors.message_of(problem))
        return _detail_page(organisation_id, errors)
    flash(_("The host organisation was approved. It can now issue invitation codes."), "success")
    return redirect(url_for("admin_host.queue"))


@bp.post("/host-organisations/<organisation_id>/return")
@admin_required(COMMITTEE)
def return_organisation(organisation_id: str) -> Any:
    _only_with_host_organisations()
    organisation_id = organisation_id[:64]
    comment = form_text("comment", 2000)
    errors = FormErrors()
    if not comment:
        errors.add("comment", _("Say what the host organisation must change."))
        return _detail_page(organisation_id, errors)
    try:
        api().send("POST", "review", f"/host-organisations/{organisation_id}/return", json={"comment": comment})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add_problem(problem, known={"comment"})
        return _detail_page(organisation_id, errors, comment)
    flash(_("The host organisation was returned with your comment."), "success")
    return redirect(url_for("admin_host.queue"))
