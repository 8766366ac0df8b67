"""Billing HTTP API: payables, orders, payments, provider callbacks and the sandbox payer."""
from __future__ import annotations

import datetime as dt

from flask import g, jsonify, request
from flask_smorest import Blueprint

from shared.auth import require
from shared.errors import ApiError
from shared.http import current_runtime
from shared.idempotency import require_key, run_idempotent
from shared.db import utcnow

from . import domain
from .models import IdempotencyKey
from .providers import SandboxPaymentProvider, check_method
from .schemas import (
    CreateOrderSchema, OrderSchema, PayableItemSchema, PaymentStartedSchema, SandboxPaySchema,
    StartPaymentSchema,
)

bp = Blueprint("billing", __name__, description="Orders, payments, invoices, refunds")
UNIT = "unit_contact"


def provider() -> SandboxPaymentProvider:
    rt = current_runtime()
    return rt.extras["payment_provider"]


def replayable(body: dict, status: int):
    """The stored (already serialised) response of an idempotent request, sent as is."""
    response = jsonify(body)
    response.status_code = status
    return response


def _order_view(session, order) -> dict:
    return {"order_no": order.order_no, "unit_id": order.unit_id, "amount_fen": order.amount_fen,
            "status": order.status, "person_ids": domain.order_person_ids(session, order),
            "created_at": order.created_at, "expires_at": order.expires_at, "paid_at": order.paid_at}


@bp.route("/payables", methods=["GET"])
@require(UNIT)
@bp.response(200, PayableItemSchema(many=True))
def list_payables():
    with current_runtime().db.transaction() as s:
        return domain.payables(s, g.principal.unit_id)


@bp.route("/orders", methods=["POST"])
@require(UNIT)
@bp.arguments(CreateOrderSchema)
@bp.response(201, OrderSchema)
def create_order(data):
    rt = current_runtime()
    key = require_key(request.headers.get("Idempotency-Key"))
    ttl = dt.timedelta(minutes=int(rt.settings.get("ORDER_TTL_MINUTES", "120")))
    with rt.outbox.transaction() as s:
        def action():
            order = domain.create_order(s, rt.outbox.emitter(s), g.principal.unit_id, data["person_ids"], ttl)
            return 201, OrderSchema().dump(_order_view(s, order))
        status, body = run_idempotent(s, IdempotencyKey, key, f"{g.principal.unit_id}:create_order", data, action)
    return replayable(body, status)


@bp.route("/orders/<order_no>", methods=["GET"])
@require(UNIT)
@bp.response(200, OrderSchema)
def get_order(order_no):
    with current_runtime().db.transaction() as s:
        return _order_view(s, domain.get_order(s, order_no, g.principal.unit_id))


@bp.route("/orders/<order_no>/payments", methods=["POST"])
@require(UNIT)
@bp.arguments(StartPaymentSchema)
@bp.response(201, PaymentStartedSchema)
def start_payment(data, order_no):
    rt = current_runtime()
    key = require_key(request.headers.get("Idempotency-Key"))
    check_method(data["method"])
    notify_url = f"{rt.settings.public_base_url}/api/billing/callbacks/{provider().name}"
    with rt.db.transaction() as s:
        def action():
            order = domain.get_order(s, order_no, g.principal.unit_id, lock=True)
            domain.payable_order(order, utcnow())
            started = provider().create_payment(order.order_no, order.amount_fen, data["method"], notify_url)
            payment = domain.record_payment(s, order, data["method"], started.provider, started.txn_id)
            return 201, PaymentStartedSchema().dump({"payment_id": payment.id, "order_no": order.order_no, "method": payment.method,
                         "amount_fen": payment.amount_fen, "provider_txn_id": started.txn_id,
                         "pay_content": started.pay_content})
        status, body = run_idempotent(s, IdempotencyKey, key, f"{g.principal.unit_id}:pay:{order_no}",
                                      data, action)
    return replayable(body, status)


@bp.route("/callbacks/<provider_name>", methods=["POST"])
def payment_callback(provider_name):
    """The provider's signed asynchronous notification. Answers `success` once handled
    (confirmed or duplicate) so that the provider stops re-notifying."""
    rt = current_runtime()
    if provider_name != provider().name:
        raise ApiError("unknown_provider", f"no payment provider {provider_name}", "provider", status=404)
    params = request.form.to_dict() or (request.get_json(silent=True) or {})
    params = {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}
    with rt.outbox.transaction() as s:
        verdict = domain.handle_payment_callback(s, rt.outbox.emitter(s), provider_name, params,
                                                 provider().verify(params))
    if verdict in ("confirmed", "duplicate"):
        return "success", 200, {"Content-Type": "text/plain"}
    status = 400 if verdict == "bad_signature" else 409
    raise ApiError(f"callback_{verdict}", f"notification not accepted: {verdict.replace('_', ' ')}",
                   "sign" if verdict == "bad_signature" else None, status=status)


@bp.route("/sandbox/payments/<txn_id>/pay", methods=["POST"])
@bp.arguments(SandboxPaySchema)
def sandbox_pay(data, txn_id):
    """Sandbox only: the payer scans the QR code and pays."""
    params = provider().pay(txn_id, data["notify_times"])
    return {"txn_id": txn_id, "trade_status": params["trade_status"]}, 202
