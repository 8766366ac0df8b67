"""Fees: choose people awaiting payment into an order, pay by QR (the QR drawn as an
image), B2B or bank transfer with a voucher; the order's status updates without a
reload; invoices (request, title rules, PDF) and refunds.

Every request that creates something carries an idempotency key rendered into the
form, so pressing the button twice never creates two orders or two payments."""
from __future__ import annotations

import io
from typing import Any

import qrcode
from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from .. import labels
from ..client import ApiProblem
from ..web import (
    CONTACT, FormErrors, api, arg_text, form_list, form_text, idempotency_key_from_form, login_required,
    new_idempotency_key, portal, upload,
)

bp = Blueprint("orders", __name__)
VOUCHER_LIMIT = 5 * 1024 * 1024
ONLINE_METHODS = ("alipay", "wechat", "unionpay", "b2b")


def _people_by_id() -> dict[str, dict[str, Any]]:
    page = api().get("registration", "/units/me/personnel", params={"per_page": 200})
    return {p["id"]: p for p in page["items"]}


def _payment_token() -> URLSafeSerializer:
    return URLSafeSerializer(portal().settings.secret_key, salt="payment-qr")


# --- the orders page: who awaits payment, and the orders so far ------------------------------
@bp.get("/orders")
@login_required(CONTACT)
def index() -> str:
    return _orders_page(FormErrors())


def _orders_page(errors: FormErrors, status: int = 200) -> Any:
    people = _people_by_id()
    payables = api().get("billing", "/payables")
    awaiting = [{**item, "person": people.get(item["person_id"], {})} for item in payables
                if item["status"] == "awaiting_payment"]
    orders = sorted(api().get("billing", "/orders"), key=lambda o: o.get("created_at") or "", reverse=True)
    return render_template("orders/index.html", awaiting=awaiting, orders=orders, errors=errors,
                           key=new_idempotency_key(), people=people), status


@bp.post("/orders")
@login_required(CONTACT)
def create() -> Any:
    errors = FormErrors()
    try:
        order = api().send("POST", "billing", "/orders", json={"person_ids": form_list("person_ids", 200)},
                           idempotency_key=idempotency_key_from_form())
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add_problem(problem, known={"person_ids"})
        return _orders_page(errors, 400)
    flash(_("Order %(no)s was created. Choose how to pay.", no=order["order_no"]), "success")
    return redirect(url_for("orders.detail", order_no=order["order_no"]))


# --- one order ----------------------------------------------------------------------------------
def _order(order_no: str) -> dict[str, Any]:
    return api().get("billing", f"/orders/{order_no}")


def _transfers(order_no: str) -> list[dict[str, Any]]:
    try:
        return api().get("billing", f"/orders/{order_no}/transfers")
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        return []


def _invoice_of(order_no: str) -> dict[str, Any] | None:
    invoices = [i for i in api().get("billing", "/invoices") if i.get("order_no") == order_no]
    return invoices[-1] if invoices else None


@bp.get("/orders/<order_no>")
@login_required(CONTACT)
def detail(order_no: str) -> Any:
    return _detail_page(order_no, FormErrors())


def _detail_page(order_no: str, errors: FormErrors, status: int = 200, values: dict[str, Any] | None = None) -> Any:
    order, people = _order(order_no), _people_by_id()
    paid = order["status"] == "paid"
    invoice = _invoice_of(order_no) if paid else None
    if values is None and paid and invoice is None:  # the invoice form starts with the unit's name
        values = {"kind": "ordinary", "title": api().get("registration", "/units/me").get("name", "")}
    return render_template("orders/detail.html", order=order, people=[people.get(i, {"id": i}) for i in order["person_ids"]],
                           transfers=_transfers(order_no) if order["status"] == "unpaid" else [], invoice=invoice,
                           errors=errors, key=new_idempotency_key(), values=values or {}), status


@bp.get("/orders/<order_no>/status.json")
@login_required(CONTACT)
def status_json(order_no: str) -> Response:
    order = _order(order_no)
    return jsonify({"status": order["status"], "text": labels.label(labels.ORDER_STATUS, order["status"]),
                    "paid_at": order.get("paid_at")})


@bp.post("/orders/<order_no>/pay")
@login_required(CONTACT)
def pay(order_no: str) -> Any:
    method = form_text("method", 12)
    if method == "transfer":
        return redirect(url_for("orders.transfer", order_no=order_no))
    errors = FormErrors()
    if method not in ONLINE_METHODS:
        errors.add("method", _("Choose a payment method."))
        return _detail_page(order_no, errors, 400)
    try:
        started = api().send("POST", "billing", f"/orders/{order_no}/payments", json={"method": method},
                             idempotency_key=idempotency_key_from_form())
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors.add_problem(problem, known={"method"})
        return _detail_page(order_no, errors, 400)
    token = _payment_token().dumps({"o": order_no, "t": started["provider_txn_id"], "c": started["pay_content"],
                                    "m": method, "a": started["amount_fen"]})
    return redirect(url_for("orders.qr_page", order_no=order_no, t=token))


def _payment(order_no: str) -> dict[str, Any]:
    try:
        payment = _payment_token().loads(arg_text("t", 2000))
    except BadSignature:
        abort(404)
    if not isinstance(payment, dict) or payment.get("o") != order_no:
        abort(404)
    return payment


@bp.get("/orders/<order_no>/qr")
@login_required(CONTACT)
def qr_page(order_no: str) -> str:
    payment, order = _payment(order_no), _order(order_no)
    return render_template("orders/qr.html", order=order, payment=payment, token=arg_text("t", 2000))


@bp.get("/orders/<order_no>/qr.png")
@login_required(CONTACT)
def qr_image(order_no: str) -> Response:
    """The provider's payment content as a QR code, drawn here (no third-party service)."""
    payment = _payment(order_no)
    image = qrcode.make(str(payment["c"])[:1000], box_size=8, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(out.getvalue(), mimetype="image/png", headers={"Cache-Control": "private, no-store"})


@bp.post("/orders/<order_no>/cancel")
@login_required(CONTACT)
def cancel(order_no: str) -> BaseResponse:
    try:
        api().send("POST", "billing", f"/orders/{order_no}/cancel")
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        flash(FormErrors.message_of(problem), "error")
        return redirect(url_for("orders.detail", order_no=order_no))
    flash(_("The order was cancelled. Its people can be selected again."), "success")
    return redirect(url_for("orders.index"))


# --- bank transfer ------------------------------------------------------------------------------
TRANSFER_FIELDS = ("remitter_type", "remitter_name", "remitter_account", "amount", "phone", "voucher")


def _amount_fen(text: str) -> int | None:
    try:
        yuan, _dot, fen = text.replace(",", "").replace("¥", "").strip().partition(".")
        if not yuan.isdigit() or (fen and (not fen.isdigit() or len(fen) > 2)):
            return None
        return int(yuan) * 100 + int((fen + "00")[:2])
    except ValueError:
        return None


@bp.route("/orders/<order_no>/transfer", methods=["GET", "POST"])
@login_required(CONTACT)
def transfer(order_no: str) -> Any:
    order, errors = _order(order_no), FormErrors()
    values: dict[str, Any] = {"remitter_type": "unit", "amount": f"{order['amount_fen'] / 100:.2f}"}
    if request.method == "POST" and request.form.get("remitter_name") is not None:
        values = {name: form_text(name, 200) for name in TRANSFER_FIELDS if name != "voucher"}
        amount = _amount_fen(values["amount"])
        if amount is None or amount <= 0:
            errors.add("amount", _("Enter the amount in yuan, e.g. 200.00."))
        voucher = upload("voucher", VOUCHER_LIMIT)
        if voucher is None:
            errors.add("voucher", _("Attach the remittance voucher."))
        if not errors:
            try:
                api().send("POST", "billing", f"/orders/{order_no}/transfer", idempotency_key=idempotency_key_from_form(),
                           data={**{k: values[k] for k in ("remitter_type", "remitter_name", "remitter_account", "phone")},
                                 "amount_fen": str(amount)}, files={"voucher": voucher})
            except ApiProblem as problem:
                if problem.status == 401:
                    raise
                errors.add_problem(problem, known=set(TRANSFER_FIELDS), aliases={"amount_fen": "amount"})
            else:
                flash(_("Your transfer details were sent. The finance desk will confirm them."), "success")
                return redirect(url_for("orders.detail", order_no=order_no))
    return render_template("orders/transfer.html", order=order, values=values, errors=errors,
                           payee=portal().settings.transfer_payee, key=new_idempotency_key(),
                           transfers=_transfers(order_no)), (400 if errors else 200)


# --- invoices -----------------------------------------------------------------------------------
@bp.post("/orders/<order_no>/invoice")
@login_required(CONTACT)
def request_invoice(order_no: str) -> Any:
    values = {"kind": form_text("kind", 10) or "ordinary", "title": form_text("title", 200),
              "tax_no": form_text("tax_no", 20).upper() or None}
    try:
        invoice = api().send("POST", "billing", f"/orders/{order_no}/invoice", json=values) or {}
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        errors = FormErrors()
        errors.add_problem(problem, known={"kind", "title", "tax_no"})
        return _detail_page(order_no, errors, 400, values)
    if invoice.get("status") == "issuing":  # the tax platform did not answer at once: billing files it again
        flash(_("The invoice number is taken and the invoice is being issued. Its PDF will be here shortly."),
              "info")
    else:
        flash(_("The invoice was issued. You can download it now."), "success")
    return redirect(url_for("orders.invoices"))


@bp.get("/orders/previous")
@login_required(CONTACT)
def previous_orders() -> str:
    """往届订单查询: the badge-fee orders of earlier editions."""
    rows = api().get("registration", "/units/me/previous-orders")
    return render_template("orders/previous.html", rows=rows)


@bp.get("/invoices")
@login_required(CONTACT)
def invoices() -> str:
    rows = sorted(api().get("billing", "/invoices"), key=lambda i: i.get("issued_at") or "", reverse=True)
    requests = api().get("billing", "/invoice-reversal-requests")
    pending = {r["invoice_no"] for r in requests if r.get("status") == "requested"}
    return render_template("orders/invoices.html", rows=rows, requests=requests, pending=pending)


@bp.route("/invoices/<invoice_no>/reverse", methods=["GET", "POST"])
@login_required(CONTACT)
def invoice_reversal(invoice_no: str) -> Any:
    """退票申请: the reason, the red-letter confirmation form, whether it was deducted or booked."""
    from ..app import local_time  # the app's filter (the app imports this module)
    invoice = next((i for i in api().get("billing", "/invoices") if i.get("invoice_no") == invoice_no), None)
    if invoice is None or invoice.get("status") != "issued":
        flash(_("Only an issued invoice can be reversed."), "error")
        return redirect(url_for("orders.invoices"))
    errors, values = FormErrors(), {"red_letter_applied": "no", "booked": "no"}
    if request.method == "POST":
        values = {"reason": form_text("reason", 500), "remarks": form_text("remarks", 500),
                  "red_letter_applied": form_text("red_letter_applied", 3), "booked": form_text("booked", 3)}
        if not values["reason"]:
            errors.add("reason", _("Give the reason for the reversal."))
        for name in ("red_letter_applied", "booked"):
            if values[name] not in ("yes", "no"):
                errors.add(name, _("Choose yes or no."))
        if not errors:
            try:
                answer = api().send("POST", "billing", f"/invoices/{invoice_no}/reversal-requests", json={
                    "reason": values["reason"], "remarks": values["remarks"] or None,
                    "red_letter_applied": values["red_letter_applied"] == "yes", "booked": values["booked"] == "yes"})
            except ApiProblem as problem:
                errors.add_problem(problem, known={"reason", "remarks", "red_letter_applied", "booked"})
            else:
                flash(_("Your reversal request was sent to the finance desk."), "success")
                if answer.get("notice_72h"):
                    flash(_("You applied for no red-letter confirmation form and the invoice was deducted or booked: "
                            "confirm the reversal in the tax system by %(time)s (Beijing time), within 72 hours.",
                            time=local_time(answer.get("confirm_by"))), "error")
                return redirect(url_for("orders.invoices"))
    return render_template("orders/invoice_reversal.html", invoice=invoice, values=values, errors=errors), \
        (400 if errors else 200)


@bp.get("/invoices/<invoice_no>.pdf")
@login_required(CONTACT)
def invoice_pdf(invoice_no: str) -> Response:
    answer = api().call("GET", "billing", f"/invoices/{invoice_no}/pdf")
    return Response(answer.content, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename={_safe_name(invoice_no)}.pdf",
        "Cache-Control": "private, no-store"})


def _safe_name(text: str) -> str:
    return "".join(c for c in text if c.isalnum() or c in "-_")[:60] or "file"


# --- refunds ------------------------------------------------------------------------------------
PAYEE_FIELDS = ("name", "account", "bank", "bank_code")


@bp.route("/refunds", methods=["GET", "POST"])
@login_required(CONTACT)
def refunds() -> Any:
    errors, values = FormErrors(), {"route": "original"}
    if request.method == "POST":
        values = {"route": "other_account" if form_text("route", 20) == "other_account" else "original",
                  **{f"payee_{k}": form_text(f"payee_{k}", 100) for k in PAYEE_FIELDS}}
        body: dict[str, Any] = {"person_ids": form_list("person_ids", 500), "route": values["route"]}
        if values["route"] == "other_account":
            body["payee"] = {k: values[f"payee_{k}"] for k in PAYEE_FIELDS}
        try:
            api().send("POST", "billing", "/refunds", json=body, idempotency_key=idempotency_key_from_form())
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            errors.add_problem(problem, known={"person_ids", "route"} | {f"payee_{k}" for k in PAYEE_FIELDS},
                               aliases={f"payee.{k}": f"payee_{k}" for k in PAYEE_FIELDS} | {"payee": "payee_name"})
        else:
            flash(_("The refund was requested. The finance desk will approve it."), "success")
            return redirect(url_for("orders.refunds"))
    people = _people_by_id()
    payables = api().get("billing", "/payables")
    refundable = [{**p, "person": people.get(p["person_id"], {})} for p in payables if p["status"] == "refundable"]
    rows = sorted(api().get("billing", "/refunds"), key=lambda r: r.get("requested_at") or "", reverse=True)
    return render_template("orders/refunds.html", refundable=refundable, rows=rows, people=people, values=values,
                           errors=errors, key=new_idempotency_key()), (400 if errors else 200)
