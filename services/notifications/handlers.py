"""Notifications' event handlers: which event becomes which message (event name → handler).
The worker declares one entrypoint per row; `check_entrypoints` keeps them in step."""
from __future__ import annotations

from collections.abc import Mapping

from shared.revocation import on_tokens_revoked
from shared.inbox import Handler

from .bootstrap import NotificationsDeps
from .domain import DEADLINE_NAMES, beijing_time, notify, on_retention_expired, on_unit_deleted, order_variables, yuan

HANDLERS: Mapping[str, Handler[NotificationsDeps]] = {
    "UnitApproved": notify("unit_approved", lambda p: {}),
    "UnitReturned": notify("unit_returned", lambda p: {"comment": p["comment"]}),
    "UnitRejected": notify("unit_rejected", lambda p: {"reason": p["reason"]}),
    "OrderCreated": notify("payment_due", lambda p: {**order_variables(p), "deadline": beijing_time(p["expires_at"])}),
    "PaymentConfirmed": notify("payment_confirmed", order_variables),
    "CredentialDispatched": notify("credential_dispatched", lambda p: {
        "credential_no": p["credential_no"], "method": p["method"], "tracking_no": p["tracking_no"] or ""}),
    "TransferRejected": notify("transfer_rejected", lambda p: {"order_no": p["order_no"], "reason": p["reason"]}),
    "InvoiceIssued": notify("invoice_issued", lambda p: {"invoice_no": p["invoice_no"], "kind": p["kind"],
                                                         "amount": yuan(p["amount_fen"])}),
    "InvoiceReversed": notify("invoice_reversed", lambda p: {"invoice_no": p["invoice_no"], "reason": p["reason"],
                                                             "notice_72h": p.get("notice_72h", False)}),
    "RefundCompleted": notify("refund_completed", lambda p: {"order_no": p["order_no"],
                                                             "amount": yuan(p["amount_fen"]),
                                                             "people": len(p["person_ids"])}),
    "BackgroundCheckPassed": notify("check_result", lambda p: {"passed": True}, about_person=True),
    "BackgroundCheckFailed": notify("check_result", lambda p: {"passed": False}, about_person=True),
    "ReminderDue": notify("deadline_reminder", lambda p: {
        "kind": p["kind"], "people": p["people"], "deadline": beijing_time(p["deadline"]),
        **DEADLINE_NAMES[p["kind"]]}, optional=True),
    "TokensRevoked": on_tokens_revoked,
    "AdminTokensRevoked": on_tokens_revoked,
    "UnitDeleted": on_unit_deleted,
    "RetentionExpired": on_retention_expired,
}
