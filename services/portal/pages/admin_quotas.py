"""Quotas and invitation codes: a delegation edits the VIP and staff quotas of its units
(额度), downloads the XLSX template and imports it with a line-by-line result (all lines
or none); a host organisation generates, lists and exports its single-use invitation
codes."""
from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import REVIEWERS, SECRETARIATS, FormErrors, admin_required, api, arg_text, form_text, upload
from .admin import scope_delegations

bp = Blueprint("admin_quotas", __name__, url_prefix="/admin")
menu_item("admin_quotas.quotas", _l("Quotas"), SECRETARIATS, order=300,
          description=_l("VIP and staff quotas per unit: edit one, or import the XLSX template."))
menu_item("admin_quotas.codes", _l("Invitation codes"), REVIEWERS, order=310,
          description=_l("Generate, list and export single-use invitation codes."))

PER_PAGE = 50
QUOTA_FILE_LIMIT = 5 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page_arg() -> int:
    page = arg_text("page", 6)
    return int(page) if page.isdigit() and 0 < int(page) < 100000 else 1


def _download(service_path: str, filename: str, params: dict[str, Any] | None = None) -> Response:
    answer = api().call("GET", "review", service_path, params=params)
    return Response(answer.content, mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "private, no-store"})


# --- quotas --------------------------------------------------------------------------------
@bp.get("/quotas")
@admin_required(*SECRETARIATS)
def quotas() -> Any:
    return _quotas_page(FormErrors(), {"uscc": arg_text("edit", 18).upper(), "vip": arg_text("vip", 6),
                                       "staff": arg_text("staff", 6)})


def _quotas_page(errors: FormErrors, values: dict[str, str], result: dict[str, Any] | None = None,
                 status: int = 200) -> Any:
    search = arg_text("uscc", 18).upper()
    page = api().get("review", "/quotas", params={"page": _page_arg(), "per_page": PER_PAGE,
                                                  **({"uscc": search} if search else {})})
    delegations = scope_delegations()
    return render_template("admin/quotas/index.html", page=page, search=search, errors=errors, values=values,
                           result=result, names={d["id"]: d["name"] for d in delegations},
                           pages=max(1, math.ceil(int(page.get("total") or 0) / PER_PAGE)),
                           current_page=_page_arg()), status


@bp.post("/quotas")
@admin_required(*SECRETARIATS)
def save_quota() -> Any:
    values = {"uscc": form_text("uscc", 18).upper(), "vip": form_text("vip", 6), "staff": form_text("staff", 6)}
    errors = FormErrors()
    if len(values["uscc"]) != 18:
        errors.add("uscc", _("A unified social credit code has 18 characters."))
    numbers: dict[str, int] = {}
    for name in ("vip", "staff"):
        if not values[name].isdigit() or int(values[name]) > 10000:
            errors.add(name, _("Enter a whole number from 0 to 10,000."))
        else:
            numbers[name] = int(values[name])
    if not errors:
        try:
            api().send("PUT", "review", f"/quotas/{values['uscc']}", json=numbers)
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            errors.add_problem(problem, known={"uscc", "vip", "staff"})
        else:
            flash(_("The quota of %(uscc)s was saved.", uscc=values["uscc"]), "success")
            return redirect(url_for("admin_quotas.quotas", uscc=values["uscc"]))
    return _quotas_page(errors, values, status=400)


@bp.get("/quotas/template.xlsx")
@admin_required(*SECRETARIATS)
def quota_template() -> Response:
    return _download("/quotas/template.xlsx", "quota-template.xlsx")


@bp.post("/quotas/import")
@admin_required(*SECRETARIATS)
def import_quotas() -> Any:
    errors = FormErrors()
    file = upload("file", QUOTA_FILE_LIMIT)
    if file is None:
        errors.add("file", _("Choose the filled-in template (XLSX or CSV)."))
        return _quotas_page(errors, {}, status=400)
    if len(file[1]) > QUOTA_FILE_LIMIT:
        errors.add("file", _("The file is larger than 5 MB."))
        return _quotas_page(errors, {}, status=400)
    try:
        result = api().send("POST", "review", "/quotas/import/lines", files={"file": file})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add_problem(problem, known={"file"})
        return _quotas_page(errors, {}, status=400)
    if result and result.get("imported"):
        flash(_("%(n)d lines were imported.", n=result["imported"]), "success")
    else:
        flash(_("Nothing was imported: correct the lines marked below and import the file again."), "error")
    for line in (result or {}).get("lines", []):
        if not line.get("ok"):
            line["text"] = line_text(line)
    return _quotas_page(errors, {}, result=result, status=200 if result and result.get("imported") else 400)


def line_text(line: dict[str, Any]) -> str:
    """Why a line of the import was refused, in the admin's language."""
    code = line.get("code") or "bad_row"
    if code == "duplicate_uscc" and isinstance(line.get("duplicate_of"), int):
        return _("The same unified social credit code is already on row %(row)d.", row=line["duplicate_of"])
    texts = {"bad_number": _("VIP and staff must be whole numbers."),
             "invalid_quota": _("Enter a whole number from 0 to 10,000."),
             "not_found": _("This unit belongs to another delegation."),
             "quota_below_use": _("More labels are already in use than this quota allows.")}
    if code in texts:
        return texts[code]
    return FormErrors.message_of(ApiProblem(400, code, line.get("message") or "", line.get("field")))


# --- invitation codes ----------------------------------------------------------------------
@bp.get("/codes")
@admin_required(*REVIEWERS)
def codes() -> Any:
    delegations = scope_delegations()
    chosen = arg_text("delegation_id", 64) or (delegations[0]["id"] if delegations else "")
    used = arg_text("used", 5)
    listed: list[dict[str, Any]] = []
    refusal = ""
    if chosen:
        try:
            listed = api().get("review", f"/delegations/{chosen}/invitation-codes",
                               params={"used": used} if used in ("true", "false") else None)
        except ApiProblem as problem:
            if problem.status in (401, 404):
                raise
            refusal = FormErrors.message_of(problem)  # a host organisation not approved yet
    return render_template("admin/quotas/codes.html", delegations=delegations, chosen=chosen, used=used,
                           codes=listed, refusal=refusal)


@bp.post("/codes")
@admin_required(*REVIEWERS)
def issue_codes() -> Any:
    delegation_id, count = form_text("delegation_id", 64), form_text("count", 5)
    if not count.isdigit() or not 1 <= int(count) <= 1000:
        flash(_("Generate between 1 and 1,000 codes at a time."), "error")
        return redirect(url_for("admin_quotas.codes", delegation_id=delegation_id))
    try:
        issued = api().send("POST", "review", f"/delegations/{delegation_id}/invitation-codes",
                            json={"count": int(count)}) or []
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        flash(FormErrors.message_of(problem), "error")
        return redirect(url_for("admin_quotas.codes"))
    flash(_("%(n)d new codes were generated.", n=len(issued)), "success")
    return redirect(url_for("admin_quotas.codes", delegation_id=delegation_id, used="false"))


@bp.get("/codes/<delegation_id>.xlsx")
@admin_required(*REVIEWERS)
def export_codes(delegation_id: str) -> Response:
    used = arg_text("used", 5)
    return _download(f"/delegations/{delegation_id[:64]}/invitation-codes.xlsx",
                     f"invitation-codes-{delegation_id[:64]}.xlsx",
                     {"used": used} if used in ("true", "false") else None)
