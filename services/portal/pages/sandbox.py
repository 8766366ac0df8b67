"""Sandbox stand-ins for the user's phone (ACCR_SANDBOX=1 only): the SMS inbox and the
payment app that "scans" a QR code and pays. They call the providers' sandbox routes,
exactly as the phone and the payment app would reach the providers."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from ..client import ApiProblem
from ..web import FormErrors, api, arg_text, form_text, portal

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


@bp.before_request
def only_in_sandbox() -> None:
    if not portal().settings.sandbox:
        abort(404)


@bp.get("/phone")
def phone() -> str:
    number = arg_text("phone", 20)
    messages: list[dict[str, Any]] = []
    if number:
        messages = list(reversed(api().get("notifications", "/sandbox/sms", params={"phone": number})))
    return render_template("sandbox/phone.html", phone=number, messages=messages)


@bp.route("/pay/<txn_id>", methods=["GET", "POST"])
def pay(txn_id: str) -> Any:
    order_no, errors, paid = arg_text("order", 40), FormErrors(), False
    if request.method == "POST":
        body = {"notify_times": 1, "payer_name": form_text("payer_name", 200) or None}
        try:
            api().send("POST", "billing", f"/sandbox/payments/{txn_id[:64]}/pay", json=body)
            paid = True
        except ApiProblem as problem:
            errors.add_problem(problem, known={"payer_name"})
    return render_template("sandbox/pay.html", txn_id=txn_id[:64], order_no=order_no, errors=errors, paid=paid,
                           method=arg_text("method", 12), amount=arg_text("amount", 12)), (400 if errors else 200)
