"""Billing HTTP API: payables, orders, payments, provider callbacks and the sandbox payer."""
from __future__ import annotations

import datetime as dt
import hashlib

from flask import Response, g, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import select

from shared.auth import require
from shared.errors import ApiError, NotFound
from shared.http import current_runtime
from shared.idempotency import require_key, run_idempotent
from shared.db import utcnow

from . import domain
from .models import IdempotencyKey, Invoice, Order, Refund, TransferSubmission
from .providers import SandboxPaymentProvider, check_method
from .schemas import (
    CentralisedStatementSchema, CreateOrderSchema, InvoiceInSchema, InvoiceSchema, OrderSchema, PayableItemSchema, PaymentStartedSchema,
    ReasonSchema, ReconciliationSchema, RefundInSchema, RefundQuerySchema, RefundSchema, ReversalSchema,
    SandboxPaySchema, StartPaymentSchema, StatementResultSchema, TransferInSchema, TransferQuerySchema,
    TransferSchema,
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
    domain.check_payment_deadline(data["method"], rt.extras["deadlines"])
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
    params = provider().pay(txn_id, data["notify_times"], data["payer_name"])
    return {"txn_id": txn_id, "trade_status": params["trade_status"]}, 202


FINANCE = ("finance", "organising_committee")


def _order_no_of(session, order_id: str) -> str:
    return session.get(Order, order_id).order_no


@bp.route("/orders", methods=["GET"])
@require(UNIT)
@bp.response(200, OrderSchema(many=True))
def list_orders():
    with current_runtime().db.transaction() as s:
        orders = s.scalars(select(Order).where(Order.unit_id == g.principal.unit_id).order_by(Order.created_at))
        return [_order_view(s, o) for o in orders]


@bp.route("/orders/<order_no>/cancel", methods=["POST"])
@require(UNIT)
@bp.response(200, OrderSchema)
def cancel_order(order_no):
    """Cancel an unpaid order: its people can be selected into a new one."""
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        order = domain.get_order(s, order_no, g.principal.unit_id, lock=True)
        return _order_view(s, domain.cancel_order(s, rt.outbox.emitter(s), order, "cancelled by the unit"))


@bp.route("/orders/<order_no>/transfer", methods=["POST"])
@require(UNIT)
@bp.response(201, TransferSchema)
def submit_transfer(order_no):
    """Bank transfer: multipart form with remitter_type, remitter_name, remitter_account,
    amount_fen, phone and the voucher image (field `voucher`). Finance confirms it."""
    rt = current_runtime()
    key = require_key(request.headers.get("Idempotency-Key"))
    data = TransferInSchema().load(request.form.to_dict())
    domain.check_payment_deadline("transfer", rt.extras["deadlines"])
    upload = request.files.get("voucher")
    voucher = upload.stream.read(5 * 1024 * 1024 + 1) if upload else b""
    fingerprint = {**data, "voucher_sha256": hashlib.sha256(voucher).hexdigest()}
    with rt.db.transaction() as s:
        def action():
            order = domain.get_order(s, order_no, g.principal.unit_id, lock=True)
            transfer = domain.submit_transfer(s, order, data, voucher)
            transfer.order_no = order.order_no
            s.flush()
            return 201, TransferSchema().dump(transfer)
        status, body = run_idempotent(s, IdempotencyKey, key, f"{g.principal.unit_id}:transfer:{order_no}",
                                      fingerprint, action)
    return replayable(body, status)


@bp.route("/orders/<order_no>/transfers", methods=["GET"])
@require(UNIT)
@bp.response(200, TransferSchema(many=True))
def list_order_transfers(order_no):
    """The unit's own bank-transfer submissions for an order, with finance's decision."""
    with current_runtime().db.transaction() as s:
        order = domain.get_order(s, order_no, g.principal.unit_id)
        rows = list(s.scalars(select(TransferSubmission).where(TransferSubmission.order_id == order.id)
                              .order_by(TransferSubmission.submitted_at)))
        for t in rows:
            t.order_no = order.order_no
        return rows


@bp.route("/finance/transfers", methods=["GET"])
@require(*FINANCE)
@bp.arguments(TransferQuerySchema, location="query")
@bp.response(200, TransferSchema(many=True))
def list_transfers(args):
    with current_runtime().db.transaction() as s:
        rows = list(s.scalars(select(TransferSubmission).where(TransferSubmission.status == args["status"])
                              .order_by(TransferSubmission.submitted_at)))
        for t in rows:
            t.order_no = _order_no_of(s, t.order_id)
        return rows


def _decide_transfer(transfer_id: str, confirm: bool, reason: str | None):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        transfer = s.get(TransferSubmission, transfer_id, with_for_update=True)
        if transfer is None:
            raise NotFound("transfer", "transfer_id")
        domain.decide_transfer(s, rt.outbox.emitter(s), transfer, confirm, reason, g.principal.subject)
        transfer.order_no = _order_no_of(s, transfer.order_id)
        return transfer


@bp.route("/finance/transfers/<transfer_id>/confirm", methods=["POST"])
@require(*FINANCE)
@bp.response(200, TransferSchema)
def confirm_transfer(transfer_id):
    return _decide_transfer(transfer_id, True, None)


@bp.route("/finance/transfers/<transfer_id>/reject", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ReasonSchema)
@bp.response(200, TransferSchema)
def reject_transfer(data, transfer_id):
    return _decide_transfer(transfer_id, False, data["reason"])


@bp.route("/finance/statements", methods=["POST"])
@require(*FINANCE)
@bp.response(200, StatementResultSchema)
def import_statement():
    """Multipart field `file`: a bank statement CSV (bank_reference, value_date, amount,
    remitter_name[, remitter_account]). Unique matches confirm their transfer."""
    upload = request.files.get("file")
    if upload is None:
        raise ApiError("file_required", "send the statement as multipart field 'file'", "file")
    rows = domain.parse_statement_csv(upload.stream.read(10 * 1024 * 1024))
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        return domain.import_statement(s, rt.outbox.emitter(s), rows)


@bp.route("/orders/<order_no>/invoice", methods=["POST"])
@require(UNIT)
@bp.arguments(InvoiceInSchema)
@bp.response(201, InvoiceSchema)
def issue_invoice(data, order_no):
    """数电普票 (ordinary) or 数电专票 (special, needs the tax number); one per order."""
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        order = domain.get_order(s, order_no, g.principal.unit_id, lock=True)
        invoice = domain.issue_invoice(s, rt.outbox.emitter(s), order, data, rt.extras["einvoicing"],
                                       rt.extras["invoice_prefix"])
        invoice.order_no = order.order_no
        return invoice


@bp.route("/invoices", methods=["GET"])
@require(UNIT)
@bp.response(200, InvoiceSchema(many=True))
def list_invoices():
    with current_runtime().db.transaction() as s:
        rows = list(s.scalars(select(Invoice).where(Invoice.unit_id == g.principal.unit_id).order_by(Invoice.issued_at)))
        for i in rows:
            i.order_no = _order_no_of(s, i.order_id)
        return rows


@bp.route("/invoices/<invoice_no>/pdf", methods=["GET"])
@require(UNIT, *FINANCE)
def invoice_pdf(invoice_no):
    with current_runtime().db.transaction() as s:
        invoice = s.scalar(select(Invoice).where(Invoice.invoice_no == invoice_no))
        if invoice is None or (g.principal.role == UNIT and invoice.unit_id != g.principal.unit_id):
            raise NotFound("invoice", "invoice_no")
        return Response(invoice.pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f"attachment; filename={invoice_no}.pdf"})


@bp.route("/finance/invoices/<invoice_no>/reverse", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ReversalSchema)
@bp.response(200, InvoiceSchema)
def reverse_invoice(data, invoice_no):
    """退票 with reason, red-letter confirmation flag and remarks."""
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        invoice = s.scalar(select(Invoice).where(Invoice.invoice_no == invoice_no).with_for_update())
        if invoice is None:
            raise NotFound("invoice", "invoice_no")
        domain.reverse_invoice(s, rt.outbox.emitter(s), invoice, data["reason"], data["red_letter_applied"],
                               data["remarks"], data["booked"])
        invoice.order_no = _order_no_of(s, invoice.order_id)
        return invoice


@bp.route("/refunds", methods=["POST"])
@require(UNIT)
@bp.arguments(RefundInSchema)
@bp.response(201, RefundSchema(many=True))
def request_refunds(data):
    """Refund people whose check failed or who were cancelled: one or a batch; QR/B2B by
    the original route, transfers by the original route or to another account."""
    rt = current_runtime()
    key = require_key(request.headers.get("Idempotency-Key"))
    with rt.db.transaction() as s:
        def action():
            refunds = domain.request_refunds(s, g.principal.unit_id, data["person_ids"], data["route"], data["payee"])
            s.flush()
            for r in refunds:
                r.order_no = _order_no_of(s, r.order_id)
            return 201, RefundSchema(many=True).dump(refunds)
        status, body = run_idempotent(s, IdempotencyKey, key, f"{g.principal.unit_id}:refund", data, action)
    return replayable(body, status)


@bp.route("/refunds", methods=["GET"])
@require(UNIT, *FINANCE)
@bp.arguments(RefundQuerySchema, location="query")
@bp.response(200, RefundSchema(many=True))
def list_refunds(args):
    with current_runtime().db.transaction() as s:
        query = select(Refund).order_by(Refund.requested_at)
        if g.principal.role == UNIT:
            query = query.where(Refund.unit_id == g.principal.unit_id)
        if args["status"]:
            query = query.where(Refund.status == args["status"])
        rows = list(s.scalars(query))
        for r in rows:
            r.order_no = _order_no_of(s, r.order_id)
        return rows


@bp.route("/finance/refunds/<refund_id>/approve", methods=["POST"])
@require(*FINANCE)
@bp.response(200, RefundSchema)
def approve_refund(refund_id):
    with current_runtime().db.transaction() as s:
        refund = domain.approve_refund(s, domain.get_refund(s, refund_id), g.principal.subject)
        refund.order_no = _order_no_of(s, refund.order_id)
        return refund


@bp.route("/finance/refunds/<refund_id>/reject", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ReasonSchema)
@bp.response(200, RefundSchema)
def reject_refund(data, refund_id):
    with current_runtime().db.transaction() as s:
        refund = domain.reject_refund(s, domain.get_refund(s, refund_id), data["reason"], g.principal.subject)
        refund.order_no = _order_no_of(s, refund.order_id)
        return refund


@bp.route("/callbacks/sandbox/refunds", methods=["POST"])
def refund_callback():
    """The provider's signed refund notification."""
    rt = current_runtime()
    params = {str(k): str(v) for k, v in request.form.to_dict().items()}
    with rt.outbox.transaction() as s:
        verdict = domain.handle_refund_callback(s, rt.outbox.emitter(s), params, provider().verify(params))
    if verdict in ("completed", "failed", "duplicate"):
        return "success", 200, {"Content-Type": "text/plain"}
    raise ApiError(f"callback_{verdict}", f"notification not accepted: {verdict.replace('_', ' ')}",
                   "sign" if verdict == "bad_signature" else None, status=400 if verdict == "bad_signature" else 409)


@bp.route("/finance/reconciliation", methods=["GET"])
@require(*FINANCE, "operations")
@bp.response(200, ReconciliationSchema)
def reconciliation():
    """Orders, payments, refunds and invoices that disagree."""
    with current_runtime().db.transaction() as s:
        return {"issues": domain.reconciliation(s), "checked_at": utcnow()}


@bp.route("/finance/delegations/<delegation_id>/centralised", methods=["GET"])
@require(*FINANCE, "delegation_secretariat")
@bp.response(200, CentralisedStatementSchema)
def centralised_statement(delegation_id):
    """统付: the people a delegation pays for and the amount it owes."""
    if g.principal.role == "delegation_secretariat" and g.principal.delegation_id != delegation_id:
        raise NotFound("delegation", "delegation_id")
    with current_runtime().db.transaction() as s:
        return domain.centralised_statement(s, delegation_id)
