"""Billing HTTP API: payables, orders, payments, provider callbacks and the sandbox payer."""
from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from shared.errors import DomainError, NotFound
from shared.http import caller_unit_id, principal, require
from shared.idempotency import require_key, run_idempotent

from .bootstrap import bootstrap
from .domain import exports, invoices, orders, reconciliation as reconciling, refunds, reversal_requests, transfers
from .models import IdempotencyKey
from .providers import SandboxPaymentProvider, check_method
from .schemas import (
    CentralisedStatementSchema, CreateOrderSchema, FinanceInvoiceSchema, InvoiceInSchema, InvoiceQuerySchema,
    InvoiceSchema, ManualMatchSchema, OrderSchema, OrderWaitSchema, PayableItemSchema, PayableQuerySchema, PaymentStartedSchema,
    ReasonSchema, ReconciliationSchema, RefundInSchema, RefundQuerySchema, RefundSchema, ReversalDecisionSchema,
    ReversalRequestInSchema, ReversalRequestQuerySchema, ReversalRequestSchema, ReversalSchema, SandboxPaySchema,
    StartPaymentSchema, StatementLineQuerySchema, StatementLineSchema, StatementResultSchema, TransferDetailSchema,
    TransferInSchema, TransferQuerySchema, TransferSchema,
)

bp = Blueprint("billing", __name__, description="Orders, payments, invoices, refunds")
# The sandboxes' own routes (what a phone or an outside party would do): registered only with
# ACCR_SANDBOX=1, never in production.
sandbox_bp = Blueprint("billing-sandbox", __name__, description="Sandbox providers (ACCR_SANDBOX=1 only)")
UNIT = "unit_contact"
FINANCE = ("finance", "organising_committee")
FINANCE_OFFICER = "finance"  # the voucher (a bank document with a person's account) is for finance's eyes only
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def replayable(body: Any, status: int) -> Response:
    """The stored (already serialised) response of an idempotent request, sent as is."""
    response = jsonify(body)
    response.status_code = status
    return response


def visible_unit() -> str | None:
    """Whose rows the caller sees: a unit its own, finance everyone's (None)."""
    return caller_unit_id() if principal().role == UNIT else None


@bp.route("/payables", methods=["GET"])
@require(UNIT)
@bp.response(200, PayableItemSchema(many=True))
def list_payables():
    with bootstrap().uow() as (s, _):
        return orders.payables(s, caller_unit_id())


@bp.route("/orders", methods=["POST"])
@require(UNIT)
@bp.arguments(CreateOrderSchema)
@bp.response(201, OrderSchema)
def create_order(data):
    deps = bootstrap()
    key = require_key(request.headers.get("Idempotency-Key"))
    unit_id = caller_unit_id()
    with deps.uow() as (s, emit):
        def action():
            order = orders.create_order(s, emit, unit_id, data["person_ids"], deps.order_ttl)
            return 201, OrderSchema().dump(orders.order_view(s, order, list(dict.fromkeys(data["person_ids"]))))
        status, body = run_idempotent(s, IdempotencyKey, key, f"{unit_id}:create_order", data, action)
    return replayable(body, status)


@bp.route("/orders/<order_no>", methods=["GET"])
@require(UNIT)
@bp.arguments(OrderWaitSchema, location="query")
@bp.response(200, OrderSchema)
def get_order(args, order_no):
    """With `while_status` and `wait`, answered once the order's status is no longer
    `while_status`, or after `wait` seconds: the payment page is told of the payment at once."""
    deps = bootstrap()
    unit_id = caller_unit_id()
    if args.get("while_status") and args["wait"] > 0:
        def changed() -> bool:
            with deps.uow() as (s, _):
                return orders.order_status(s, order_no, unit_id) != args["while_status"]
        deps.order_waiters.wait(order_no, changed, args["wait"])
    with deps.uow() as (s, _):
        return orders.order_view(s, orders.get_order(s, order_no, unit_id))


@bp.route("/orders/<order_no>/payments", methods=["POST"])
@require(UNIT)
@bp.arguments(StartPaymentSchema)
@bp.response(201, PaymentStartedSchema)
def start_payment(data, order_no):
    deps = bootstrap()
    key = require_key(request.headers.get("Idempotency-Key"))
    unit_id = caller_unit_id()
    check_method(data["method"])
    orders.check_payment_deadline(data["method"], deps.payment_deadlines)  # a late retry is refused, not replayed
    status, body = orders.start_payment(deps, unit_id, order_no, data["method"], key)
    return replayable(PaymentStartedSchema().dump(body) if status == 201 else body, status)


@bp.route("/callbacks/<provider_name>", methods=["POST"])
def payment_callback(provider_name):
    """The provider's signed asynchronous notification. Answers `success` once handled
    (confirmed or duplicate) so that the provider stops re-notifying."""
    params = request.form.to_dict() or (request.get_json(silent=True) or {})
    params = {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}
    orders.receive_payment_callback(bootstrap(), provider_name, params)
    return "success", 200, {"Content-Type": "text/plain"}


@sandbox_bp.route("/sandbox/payments/<txn_id>/pay", methods=["POST"])
@sandbox_bp.arguments(SandboxPaySchema)
def sandbox_pay(data, txn_id):
    """Sandbox only: the payer scans the QR code and pays."""
    sandbox = bootstrap().payment_provider
    if not isinstance(sandbox, SandboxPaymentProvider):
        raise NotFound("sandbox payment provider")
    params = sandbox.pay(txn_id, data["notify_times"], data["payer_name"])
    return {"txn_id": txn_id, "trade_status": params["trade_status"]}, 202


@bp.route("/orders", methods=["GET"])
@require(UNIT)
@bp.response(200, OrderSchema(many=True))
def list_orders():
    with bootstrap().uow() as (s, _):
        return orders.unit_orders(s, caller_unit_id())


@bp.route("/orders/<order_no>/cancel", methods=["POST"])
@require(UNIT)
@bp.response(200, OrderSchema)
def cancel_order(order_no):
    """Cancel an unpaid order: its people can be selected into a new one."""
    with bootstrap().uow() as (s, emit):
        return orders.order_view(s, orders.cancel_by_unit(s, emit, caller_unit_id(), order_no))


@bp.route("/orders/<order_no>/transfer", methods=["POST"])
@require(UNIT)
@bp.response(201, TransferSchema)
def submit_transfer(order_no):
    """Bank transfer: multipart form with remitter_type, remitter_name, remitter_account,
    amount_fen, phone and the voucher image (field `voucher`). Finance confirms it."""
    deps = bootstrap()
    key = require_key(request.headers.get("Idempotency-Key"))
    unit_id = caller_unit_id()
    data = TransferInSchema().load(request.form.to_dict())
    orders.check_payment_deadline("transfer", deps.payment_deadlines)
    upload = request.files.get("voucher")
    voucher = upload.stream.read(transfers.MAX_VOUCHER_BYTES + 1) if upload else b""
    fingerprint = {**data, "voucher_sha256": hashlib.sha256(voucher).hexdigest()}
    with deps.uow() as (s, _):
        def action():
            return 201, TransferSchema().dump(transfers.submit_for_unit(s, unit_id, order_no, data, voucher))
        status, body = run_idempotent(s, IdempotencyKey, key, f"{unit_id}:transfer:{order_no}", fingerprint, action)
    return replayable(body, status)


@bp.route("/orders/<order_no>/transfers", methods=["GET"])
@require(UNIT)
@bp.response(200, TransferSchema(many=True))
def list_order_transfers(order_no):
    """The unit's own bank-transfer submissions for an order, with finance's decision."""
    with bootstrap().uow() as (s, _):
        return transfers.transfers_of_order(s, caller_unit_id(), order_no)


@bp.route("/finance/transfers", methods=["GET"])
@require(*FINANCE)
@bp.arguments(TransferQuerySchema, location="query")
@bp.response(200, TransferSchema(many=True))
def list_transfers(args):
    with bootstrap().uow() as (s, _):
        return transfers.transfers_in_status(s, args["status"])


@bp.route("/finance/transfers/<transfer_id>", methods=["GET"])
@require(*FINANCE)
@bp.response(200, TransferDetailSchema)
def transfer_detail(transfer_id):
    """One transfer with its order's amount and status, to compare before deciding."""
    with bootstrap().uow() as (s, _):
        return transfers.transfer_detail(s, transfer_id)


@bp.route("/finance/transfers/<transfer_id>/voucher", methods=["GET"])
@require(FINANCE_OFFICER)
def transfer_voucher(transfer_id):
    """The remittance voucher image as the unit uploaded it (metadata stripped), for finance
    officers only; never cached."""
    with bootstrap().uow() as (s, _):
        content, mimetype = transfers.voucher_of(s, transfer_id)
    return Response(content, mimetype=mimetype, headers={
        "Cache-Control": "private, no-store", "Content-Disposition": f"inline; filename=voucher-{transfer_id}"})


@bp.route("/finance/transfers/<transfer_id>/confirm", methods=["POST"])
@require(*FINANCE)
@bp.response(200, TransferSchema)
def confirm_transfer(transfer_id):
    with bootstrap().uow() as (s, emit):
        return transfers.decide(s, emit, transfer_id, True, None, principal().subject)


@bp.route("/finance/transfers/<transfer_id>/reject", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ReasonSchema)
@bp.response(200, TransferSchema)
def reject_transfer(data, transfer_id):
    with bootstrap().uow() as (s, emit):
        return transfers.decide(s, emit, transfer_id, False, data["reason"], principal().subject)


@bp.route("/finance/statements", methods=["POST"])
@require(*FINANCE)
@bp.response(200, StatementResultSchema)
def import_statement():
    """Multipart field `file`: a bank statement CSV (bank_reference, value_date, amount,
    remitter_name[, remitter_account]). Unique matches confirm their transfer."""
    upload = request.files.get("file")
    if upload is None:
        raise DomainError("file_required", "send the statement as multipart field 'file'", "file")
    rows = transfers.parse_statement_csv(upload.stream.read(10 * 1024 * 1024))
    with bootstrap().uow() as (s, emit):
        return transfers.import_statement(s, emit, rows)


@bp.route("/finance/statements/lines", methods=["GET"])
@require(*FINANCE)
@bp.arguments(StatementLineQuerySchema, location="query")
@bp.response(200, StatementLineSchema(many=True))
def statement_lines(args):
    """Imported statement lines, newest first; those not matched with the submitted
    transfers of the same amount they could pay."""
    with bootstrap().uow() as (s, _):
        return transfers.statement_lines(s, args["status"])


@bp.route("/finance/statements/lines/<line_id>/match", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ManualMatchSchema)
@bp.response(200, StatementLineSchema)
def match_statement_line(data, line_id):
    """Match an ambiguous (or unmatched) line to one transfer by hand: the transfer is confirmed."""
    with bootstrap().uow() as (s, emit):
        return transfers.match_by_hand(s, emit, line_id, data["transfer_id"], principal().subject)


@bp.route("/orders/<order_no>/invoice", methods=["POST"])
@require(UNIT)
@bp.arguments(InvoiceInSchema)
@bp.response(201, InvoiceSchema)
def issue_invoice(data, order_no):
    """数电普票 (ordinary) or 数电专票 (special, needs the tax number); one per order."""
    return invoices.issue_for_unit(bootstrap(), caller_unit_id(), order_no, data)


@bp.route("/invoices", methods=["GET"])
@require(UNIT)
@bp.response(200, InvoiceSchema(many=True))
def list_invoices():
    with bootstrap().uow() as (s, _):
        return invoices.unit_invoices(s, caller_unit_id())


@bp.route("/invoices/<invoice_no>/pdf", methods=["GET"])
@require(UNIT, *FINANCE)
def invoice_pdf(invoice_no):
    with bootstrap().uow() as (s, _):
        pdf = invoices.invoice_pdf(s, invoice_no, visible_unit())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename={invoice_no}.pdf"})


@bp.route("/invoices/<invoice_no>/reversal-requests", methods=["POST"])
@require(UNIT)
@bp.arguments(ReversalRequestInSchema)
@bp.response(201, ReversalRequestSchema)
def request_invoice_reversal(data, invoice_no):
    """退票申请: finance reverses the invoice or refuses. Without a red-letter confirmation
    form on an invoice already deducted or booked, the unit confirms in the tax system
    within 72 hours (`notice_72h`, `confirm_by`)."""
    with bootstrap().uow() as (s, emit):
        row = reversal_requests.request_reversal(s, emit, caller_unit_id(), invoice_no, data)
        return reversal_requests.view(s, row)


@bp.route("/invoice-reversal-requests", methods=["GET"])
@require(UNIT)
@bp.response(200, ReversalRequestSchema(many=True))
def my_invoice_reversal_requests():
    with bootstrap().uow() as (s, _):
        return reversal_requests.requests_of(s, unit_id=caller_unit_id())


@bp.route("/finance/invoice-reversal-requests", methods=["GET"])
@require(*FINANCE)
@bp.arguments(ReversalRequestQuerySchema, location="query")
@bp.response(200, ReversalRequestSchema(many=True))
def invoice_reversal_requests(query):
    """Units' reversal requests, newest first (`status=requested`: those waiting for finance)."""
    with bootstrap().uow() as (s, _):
        return reversal_requests.requests_of(s, status=query["status"])


@bp.route("/finance/invoice-reversal-requests/<request_id>/approve", methods=["POST"])
@require(*FINANCE)
@bp.response(200, ReversalRequestSchema)
def approve_invoice_reversal(request_id):
    """Reverse the invoice as the unit asked (InvoiceReversed tells the unit)."""
    with bootstrap().uow() as (s, emit):
        return reversal_requests.view(s, reversal_requests.approve(s, emit, request_id, principal().subject))


@bp.route("/finance/invoice-reversal-requests/<request_id>/reject", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ReversalDecisionSchema)
@bp.response(200, ReversalRequestSchema)
def reject_invoice_reversal(data, request_id):
    with bootstrap().uow() as (s, emit):
        return reversal_requests.view(s, reversal_requests.reject(s, emit, request_id, principal().subject,
                                                                  data["note"]))


@bp.route("/finance/invoices", methods=["GET"])
@require(*FINANCE)
@bp.arguments(InvoiceQuerySchema, location="query")
@bp.response(200, FinanceInvoiceSchema(many=True))
def finance_invoices(args):
    """Every unit's invoices, newest first (500 at most), by status or number/order/title."""
    with bootstrap().uow() as (s, _):
        return invoices.all_invoices(s, args["status"], args["q"])


@bp.route("/finance/invoices/<invoice_no>/reverse", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ReversalSchema)
@bp.response(200, InvoiceSchema)
def reverse_invoice(data, invoice_no):
    """退票 with reason, red-letter confirmation flag and remarks."""
    with bootstrap().uow() as (s, emit):
        return invoices.reverse_by_number(s, emit, invoice_no, data["reason"], data["red_letter_applied"],
                                          data["remarks"], data["booked"])


@bp.route("/refunds", methods=["POST"])
@require(UNIT)
@bp.arguments(RefundInSchema)
@bp.response(201, RefundSchema(many=True))
def request_refunds(data):
    """Refund people whose check failed or who were cancelled: one or a batch; QR/B2B by
    the original route, transfers by the original route or to another account."""
    key = require_key(request.headers.get("Idempotency-Key"))
    unit_id = caller_unit_id()
    with bootstrap().uow() as (s, _):
        def action():
            requested = refunds.request_for_unit(s, unit_id, data["person_ids"], data["route"], data["payee"],
                                                 principal().subject)
            return 201, RefundSchema(many=True).dump(requested)
        status, body = run_idempotent(s, IdempotencyKey, key, f"{unit_id}:refund", data, action)
    return replayable(body, status)


@bp.route("/finance/payables", methods=["GET"])
@require(*FINANCE)
@bp.arguments(PayableQuerySchema, location="query")
@bp.response(200, PayableItemSchema(many=True))
def finance_payables(args):
    """Payable items in a status (refundable unless asked otherwise), of one unit or all:
    among them the refundable fees of units their delegation deleted."""
    with bootstrap().uow() as (s, _):
        return refunds.refundable_items(s, args["unit_id"], args["status"])


@bp.route("/finance/refunds", methods=["POST"])
@require(*FINANCE)
@bp.arguments(RefundInSchema)
@bp.response(201, RefundSchema(many=True))
def request_refunds_by_finance(data):
    """Finance asks for refunds a unit cannot ask for itself — a deleted unit has no account
    left — for any refundable people, one refund per order; approved as any other."""
    key = require_key(request.headers.get("Idempotency-Key"))
    caller = principal().subject
    with bootstrap().uow() as (s, _):
        def action():
            requested = refunds.request_by_finance(s, data["person_ids"], data["route"], data["payee"], caller)
            return 201, RefundSchema(many=True).dump(requested)
        status, body = run_idempotent(s, IdempotencyKey, key, f"finance:{caller}:refund", data, action)
    return replayable(body, status)


@bp.route("/refunds", methods=["GET"])
@require(UNIT, *FINANCE)
@bp.arguments(RefundQuerySchema, location="query")
@bp.response(200, RefundSchema(many=True))
def list_refunds(args):
    with bootstrap().uow() as (s, _):
        return refunds.list_refunds(s, visible_unit(), args["status"])


@bp.route("/finance/refunds/<refund_id>/approve", methods=["POST"])
@require(*FINANCE)
@bp.response(200, RefundSchema)
def approve_refund(refund_id):
    with bootstrap().uow() as (s, _):
        refund = refunds.approve_refund(s, refunds.get_refund(s, refund_id), principal().subject)
        return refunds.refund_view(s, refund)


@bp.route("/finance/refunds/<refund_id>/reject", methods=["POST"])
@require(*FINANCE)
@bp.arguments(ReasonSchema)
@bp.response(200, RefundSchema)
def reject_refund(data, refund_id):
    with bootstrap().uow() as (s, _):
        refund = refunds.reject_refund(s, refunds.get_refund(s, refund_id), data["reason"], principal().subject)
        return refunds.refund_view(s, refund)


@bp.route("/callbacks/sandbox/refunds", methods=["POST"])
def refund_callback():
    """The provider's signed refund notification."""
    params = {str(k): str(v) for k, v in request.form.to_dict().items()}
    refunds.receive_callback(bootstrap(), params)
    return "success", 200, {"Content-Type": "text/plain"}


@bp.route("/finance/reconciliation", methods=["GET"])
@require(*FINANCE, "operations")
@bp.response(200, ReconciliationSchema)
def reconciliation():
    """Orders, payments, refunds and invoices that disagree."""
    with bootstrap().uow() as (s, _):
        return reconciling.report(s)


@bp.route("/finance/delegations/<delegation_id>/centralised", methods=["GET"])
@require(*FINANCE, "delegation_secretariat")
@bp.response(200, CentralisedStatementSchema)
def centralised_statement(delegation_id):
    """统付: the people a delegation pays for and the amount it owes."""
    with bootstrap().uow() as (s, _):
        return orders.centralised_statement_for(s, principal(), delegation_id)


@bp.route("/finance/centralised", methods=["GET"])
@require(*FINANCE)
@bp.response(200, CentralisedStatementSchema(many=True))
def centralised_statements():
    """统付 statements of every delegation that owes for the people it pays for."""
    with bootstrap().uow() as (s, _):
        return orders.centralised_statements(s)


@bp.route("/finance/exports/<kind>.xlsx", methods=["GET"])
@require(*FINANCE)
def export(kind):
    """Orders, payments, refunds or invoices as an XLSX workbook (one sheet, a row each)."""
    if kind not in exports.KINDS:
        raise NotFound("export", "kind")
    with bootstrap().uow() as (s, _):
        content = exports.export_xlsx(s, kind)
    return Response(content, mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename={kind}.xlsx", "Cache-Control": "private, no-store"})
