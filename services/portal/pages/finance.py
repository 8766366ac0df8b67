"""The finance desk (财务): bank transfers with their voucher, confirmed or rejected with a
reason; bank statements imported, with the lines the import could not match matched by
hand; refunds approved or rejected by someone other than who asked (four eyes); invoices
and their reversal (退票); the reconciliation report; centralised-payment (统付) statements
per delegation; XLSX exports.

The organising committee sees the same pages (the APIs let it), except the voucher image,
which the billing API serves to finance officers only."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from .. import desk_labels
from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import (
    COMMITTEE, FINANCE, FormErrors, admin_required, api, arg_text, current_user, form_list, form_text,
    idempotency_key_from_form, new_idempotency_key, upload,
)

bp = Blueprint("admin_finance", __name__, url_prefix="/admin/finance")
DESK = (FINANCE, COMMITTEE)
STATEMENT_LIMIT = 10 * 1024 * 1024
SAFE_ID = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"

menu_item("admin_finance.transfers", _l("Transfers"), DESK, order=300,
          description=_l("Bank transfers with their vouchers: confirm or reject."))
menu_item("admin_finance.statements", _l("Bank statements"), DESK, order=310,
          description=_l("Import a statement; match the lines it could not match."))
menu_item("admin_finance.refunds", _l("Refunds"), DESK, order=320,
          description=_l("Approve or reject refunds; a second person approves."))
menu_item("admin_finance.invoices", _l("Invoices"), DESK, order=330,
          description=_l("Every unit's invoices, and their reversal."))
menu_item("admin_finance.reversal_requests", _l("Invoice reversal requests"), DESK, order=335,
          description=_l("Units ask for an invoice to be reversed: reverse it or refuse with a note."))
menu_item("admin_finance.reconciliation", _l("Reconciliation"), DESK, order=340,
          description=_l("Orders, payments, refunds and invoices that disagree."))
menu_item("admin_finance.centralised", _l("Centralised payment"), DESK, order=350,
          description=_l("What each delegation owes for the people it pays for."))
menu_item("admin_finance.exports", _l("Exports"), DESK, order=360,
          description=_l("Orders, payments, refunds and invoices as Excel workbooks."))


def safe(value: str) -> str:
    """An id from the URL, as it may go into an API path."""
    if not value or len(value) > 64 or any(c not in SAFE_ID for c in value):
        abort(404)
    return value


def is_finance_officer() -> bool:
    user = current_user()
    return user is not None and user.role == FINANCE


@bp.app_context_processor
def desk_words() -> dict[str, Any]:
    return {"D": desk_labels}


# --- transfers -----------------------------------------------------------------------------
@bp.get("/transfers")
@admin_required(*DESK)
def transfers() -> str:
    status = arg_text("status", 12)
    status = status if status in desk_labels.TRANSFER_QUEUE else "submitted"
    rows = api().get("billing", "/finance/transfers", params={"status": status})
    if status != "submitted":
        rows.reverse()  # history newest first; the queue oldest first
    return render_template("finance/transfers.html", rows=rows, status=status)


@bp.get("/transfers/<transfer_id>")
@admin_required(*DESK)
def transfer(transfer_id: str) -> str:
    return _transfer_page(safe(transfer_id), FormErrors())


def _transfer_page(transfer_id: str, errors: FormErrors, reason: str = "") -> Any:
    detail = api().get("billing", f"/finance/transfers/{transfer_id}")
    page = render_template("finance/transfer.html", t=detail, errors=errors, reason=reason,
                           can_see_voucher=is_finance_officer())
    return (page, 400) if errors else page


@bp.get("/transfers/<transfer_id>/voucher")
@admin_required(FINANCE)
def voucher(transfer_id: str) -> Response:
    answer = api().call("GET", "billing", f"/finance/transfers/{safe(transfer_id)}/voucher")
    mimetype = "image/png" if answer.content.startswith(b"\x89PNG") else "image/jpeg"
    return Response(answer.content, mimetype=mimetype, headers={"Cache-Control": "private, no-store",
                                                                "Content-Disposition": "inline"})


@bp.post("/transfers/<transfer_id>/confirm")
@admin_required(*DESK)
def confirm_transfer(transfer_id: str) -> Any:
    transfer_id = safe(transfer_id)
    try:
        done = api().send("POST", "billing", f"/finance/transfers/{transfer_id}/confirm")
    except ApiProblem as problem:
        errors = FormErrors()
        errors.add(None, FormErrors.message_of(problem))
        return _transfer_page(transfer_id, errors)
    flash(_("Transfer for order %(no)s confirmed: the order is paid.", no=done["order_no"]), "success")
    return redirect(url_for("admin_finance.transfers"))


@bp.post("/transfers/<transfer_id>/reject")
@admin_required(*DESK)
def reject_transfer(transfer_id: str) -> Any:
    transfer_id = safe(transfer_id)
    errors, reason = FormErrors(), form_text("reason", 1000)
    if not reason:
        errors.add("reason", _("Say why the transfer is rejected: the unit reads it."))
    else:
        try:
            done = api().send("POST", "billing", f"/finance/transfers/{transfer_id}/reject", json={"reason": reason})
        except ApiProblem as problem:
            errors.add_problem(problem, known={"reason"})
        else:
            flash(_("Transfer for order %(no)s rejected; the unit is told why.", no=done["order_no"]), "success")
            return redirect(url_for("admin_finance.transfers"))
    return _transfer_page(transfer_id, errors, reason)


# --- bank statements -------------------------------------------------------------------------
@bp.get("/statements")
@admin_required(*DESK)
def statements() -> str:
    return _statements_page(FormErrors())


def _statements_page(errors: FormErrors, result: dict[str, int] | None = None, status: int = 200) -> Any:
    shown = arg_text("status", 12)
    shown = shown if shown in desk_labels.LINE_STATUS else "ambiguous"
    lines = api().get("billing", "/finance/statements/lines", params={"status": shown})
    return render_template("finance/statements.html", lines=lines, shown=shown, errors=errors,
                           result=result), status


@bp.post("/statements")
@admin_required(*DESK)
def import_statement() -> Any:
    errors = FormErrors()
    file = upload("file", STATEMENT_LIMIT)
    if file is None:
        errors.add("file", _("Choose the bank statement (CSV) to import."))
        return _statements_page(errors, status=400)
    try:
        result = api().send("POST", "billing", "/finance/statements", files={"file": file})
    except ApiProblem as problem:
        errors.add_problem(problem, known={"file"})
        return _statements_page(errors, status=400)
    return _statements_page(errors, result)


@bp.post("/statements/lines/<line_id>/match")
@admin_required(*DESK)
def match_line(line_id: str) -> Any:
    line_id, transfer_id = safe(line_id), form_text("transfer_id", 32)
    errors = FormErrors()
    if not transfer_id:
        errors.add(f"transfer_id-{line_id}", _("Choose the transfer this line pays."))
        return _statements_page(errors, status=400)
    try:
        api().send("POST", "billing", f"/finance/statements/lines/{line_id}/match",
                   json={"transfer_id": transfer_id})
    except ApiProblem as problem:
        errors.add(f"transfer_id-{line_id}", FormErrors.message_of(problem))
        return _statements_page(errors, status=400)
    flash(_("Line matched: the transfer is confirmed and its order paid."), "success")
    return redirect(url_for("admin_finance.statements", status=arg_text("status", 12) or "ambiguous"))


# --- refunds ------------------------------------------------------------------------------------
@bp.get("/refunds")
@admin_required(*DESK)
def refunds() -> str:
    return _refunds_page(FormErrors())


def _refunds_page(errors: FormErrors, status: int = 200) -> Any:
    shown = arg_text("status", 12)
    shown = shown if shown in ("requested", "approved", "processing", "completed", "failed", "rejected", "all") \
        else "requested"
    rows = api().get("billing", "/refunds", params={} if shown == "all" else {"status": shown})
    rows.reverse()
    refundable = api().get("billing", "/finance/payables", params={"status": "refundable"}) \
        if shown == "requested" else []
    me = api().get("review", "/admin/me")["id"]  # refunds record who asked by the admin's id
    return render_template("finance/refunds.html", rows=rows, shown=shown, errors=errors, refundable=refundable,
                           me=me, key=new_idempotency_key()), status


@bp.post("/refunds")
@admin_required(*DESK)
def request_refunds() -> Any:
    """Finance asks for the refunds a unit cannot ask for itself (its delegation deleted it)."""
    errors = FormErrors()
    people = form_list("person_ids", 500)
    if not people:
        errors.add("person_ids", _("Choose at least one refundable person."))
        return _refunds_page(errors, 400)
    try:
        api().send("POST", "billing", "/finance/refunds", idempotency_key=idempotency_key_from_form(),
                   json={"person_ids": people, "route": "original"})
    except ApiProblem as problem:
        errors.add_problem(problem, known={"person_ids"})
        return _refunds_page(errors, 400)
    flash(_("Refund requested. Another finance officer approves it."), "success")
    return redirect(url_for("admin_finance.refunds"))


@bp.post("/refunds/<refund_id>/approve")
@admin_required(*DESK)
def approve_refund(refund_id: str) -> Any:
    refund_id = safe(refund_id)
    try:
        api().send("POST", "billing", f"/finance/refunds/{refund_id}/approve")
    except ApiProblem as problem:
        errors = FormErrors()
        errors.add(None, FormErrors.message_of(problem))
        return _refunds_page(errors, 403 if problem.status == 403 else 400)
    flash(_("Refund approved: the money goes back by its route."), "success")
    return redirect(url_for("admin_finance.refunds"))


@bp.post("/refunds/<refund_id>/reject")
@admin_required(*DESK)
def reject_refund(refund_id: str) -> Any:
    refund_id, reason = safe(refund_id), form_text("reason", 1000)
    errors = FormErrors()
    if not reason:
        errors.add(f"reason-{refund_id}", _("Say why the refund is rejected."))
        return _refunds_page(errors, 400)
    try:
        api().send("POST", "billing", f"/finance/refunds/{refund_id}/reject", json={"reason": reason})
    except ApiProblem as problem:
        errors.add(f"reason-{refund_id}", FormErrors.message_of(problem))
        return _refunds_page(errors, 400)
    flash(_("Refund rejected; the people are refundable again."), "success")
    return redirect(url_for("admin_finance.refunds"))


# --- invoices -----------------------------------------------------------------------------------
@bp.get("/invoices")
@admin_required(*DESK)
def invoices() -> str:
    status, query = arg_text("status", 10), arg_text("q", 40)
    params = {k: v for k, v in (("status", status if status in ("issued", "reversed") else ""), ("q", query)) if v}
    rows = api().get("billing", "/finance/invoices", params=params)
    return render_template("finance/invoices.html", rows=rows, status=params.get("status", ""), query=query)


@bp.get("/invoices/<invoice_no>/pdf")
@admin_required(*DESK)
def invoice_pdf(invoice_no: str) -> Response:
    invoice_no = safe(invoice_no)
    answer = api().call("GET", "billing", f"/invoices/{invoice_no}/pdf")
    return Response(answer.content, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=invoice-{invoice_no}.pdf",
                             "Cache-Control": "private, no-store"})


@bp.route("/invoices/<invoice_no>/reverse", methods=["GET", "POST"])
@admin_required(*DESK)
def reverse_invoice(invoice_no: str) -> Any:
    invoice_no = safe(invoice_no)
    [invoice] = api().get("billing", "/finance/invoices", params={"q": invoice_no})[:1] or [None]
    if invoice is None or invoice["invoice_no"] != invoice_no:
        abort(404)
    errors = FormErrors()
    values = {"reason": "", "red_letter_applied": "", "booked": "", "remarks": ""}
    if request.method == "POST":
        values = {"reason": form_text("reason", 500), "red_letter_applied": form_text("red_letter_applied", 3),
                  "booked": form_text("booked", 3), "remarks": form_text("remarks", 500)}
        if not values["reason"]:
            errors.add("reason", _("Give the reason for the reversal."))
        if values["red_letter_applied"] not in ("yes", "no"):
            errors.add("red_letter_applied", _("Say whether a red-letter confirmation form was applied for."))
        if not errors:
            try:
                api().send("POST", "billing", f"/finance/invoices/{invoice_no}/reverse", json={
                    "reason": values["reason"], "red_letter_applied": values["red_letter_applied"] == "yes",
                    "booked": values["booked"] == "yes", "remarks": values["remarks"] or None})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"reason", "remarks"})
            else:
                flash(_("Invoice %(no)s reversed; the unit is told.", no=invoice_no), "success")
                return redirect(url_for("admin_finance.invoices", q=invoice_no))
    page = render_template("finance/reverse.html", invoice=invoice, values=values, errors=errors)
    return (page, 400) if errors else page


# --- the units' reversal requests (退票申请) ----------------------------------------------------
INVOICE_LOOKUPS = 20  # requests whose invoice is not among the newest 500 are looked up one by one, this many


@bp.get("/reversal-requests")
@admin_required(*DESK)
def reversal_requests() -> Any:
    return _reversal_requests_page(FormErrors())


def _reversal_requests_page(errors: FormErrors, notes: dict[str, str] | None = None, status: int = 200) -> Any:
    shown = arg_text("status", 12)
    shown = shown if shown in desk_labels.REVERSAL_QUEUE else "requested"
    rows = api().get("billing", "/finance/invoice-reversal-requests", params={"status": shown})
    page = render_template("finance/reversal_requests.html", rows=rows, shown=shown, errors=errors,
                           notes=notes or {}, invoices=_invoices_of(rows))
    return page, status


def _invoices_of(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The invoices the requests are about (title, amount, unit), by number: the request
    itself names only the number."""
    if not rows:
        return {}
    found = {i["invoice_no"]: i for i in api().get("billing", "/finance/invoices")}
    missing = [r["invoice_no"] for r in rows if r["invoice_no"] and r["invoice_no"] not in found]
    for invoice_no in dict.fromkeys(missing[:INVOICE_LOOKUPS]):
        found.update({i["invoice_no"]: i for i in api().get("billing", "/finance/invoices", params={"q": invoice_no})
                      if i["invoice_no"] == invoice_no})
    return found


@bp.post("/reversal-requests/<request_id>/approve")
@admin_required(*DESK)
def approve_reversal_request(request_id: str) -> Any:
    request_id = safe(request_id)
    try:
        done = api().send("POST", "billing", f"/finance/invoice-reversal-requests/{request_id}/approve")
    except ApiProblem as problem:
        errors = FormErrors()
        errors.add(None, FormErrors.message_of(problem))
        return _reversal_requests_page(errors, status=403 if problem.status == 403 else 400)
    flash(_("Invoice %(no)s reversed as the unit asked; the unit is told.", no=done["invoice_no"]), "success")
    return redirect(url_for("admin_finance.reversal_requests"))


@bp.post("/reversal-requests/<request_id>/reject")
@admin_required(*DESK)
def reject_reversal_request(request_id: str) -> Any:
    request_id, note = safe(request_id), form_text("note", 500)
    errors, field = FormErrors(), f"note-{request_id}"
    if not note:
        errors.add(field, _("Say why the reversal is refused: the unit reads it."))
        return _reversal_requests_page(errors, {request_id: note}, 400)
    try:
        done = api().send("POST", "billing", f"/finance/invoice-reversal-requests/{request_id}/reject",
                          json={"note": note})
    except ApiProblem as problem:
        errors.add(field, FormErrors.message_of(problem))
        return _reversal_requests_page(errors, {request_id: note}, 400)
    flash(_("Reversal of invoice %(no)s refused; the unit is told why.", no=done["invoice_no"]), "success")
    return redirect(url_for("admin_finance.reversal_requests"))


# --- reports --------------------------------------------------------------------------------------
@bp.get("/reconciliation")
@admin_required(*DESK)
def reconciliation() -> str:
    report = api().get("billing", "/finance/reconciliation")
    return render_template("finance/reconciliation.html", report=report)


@bp.get("/centralised")
@admin_required(*DESK)
def centralised() -> str:
    rows = api().get("billing", "/finance/centralised")
    names = {d["id"]: d["name"] for d in api().get("registration", "/delegations")}
    total = {"people": sum(r["people"] for r in rows), "amount_fen": sum(r["amount_fen"] for r in rows)}
    return render_template("finance/centralised.html", rows=rows, names=names, total=total)


@bp.get("/exports")
@admin_required(*DESK)
def exports() -> str:
    return render_template("finance/exports.html")


@bp.get("/exports/<kind>.xlsx")
@admin_required(*DESK)
def export(kind: str) -> BaseResponse:
    if kind not in desk_labels.EXPORTS:
        abort(404)
    answer = api().call("GET", "billing", f"/finance/exports/{kind}.xlsx")
    return Response(answer.content,
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={kind}.xlsx",
                             "Cache-Control": "private, no-store"})
