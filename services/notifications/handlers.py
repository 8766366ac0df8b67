"""Notifications' event handlers: which event becomes which message (event name → handler).
The worker declares one entrypoint per row; `check_entrypoints` keeps them in step."""
from __future__ import annotations

from collections.abc import Mapping

from shared.revocation import on_tokens_revoked
from shared.inbox import Handler

from .bootstrap import NotificationsDeps
from .domain import (
    DEADLINE_NAMES, beijing_time, labels_of, notify, on_retention_expired, on_unit_deleted, order_variables, unit_pays,
    yuan,
)

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
    "InvoiceReversalRequested": notify("invoice_reversal_requested", lambda p: {
        "invoice_no": p["invoice_no"], "reason": p["reason"], "notice_72h": p["notice_72h"],
        "confirm_by": beijing_time(p["confirm_by"]) if p.get("confirm_by") else ""}),
    "InvoiceReversalRejected": notify("invoice_reversal_rejected", lambda p: {"invoice_no": p["invoice_no"],
                                                                              "note": p["note"]}),
    "RefundCompleted": notify("refund_completed", lambda p: {"order_no": p["order_no"],
                                                             "amount": yuan(p["amount_fen"]),
                                                             "people": len(p["person_ids"])}),
    "BackgroundCheckPassed": notify("check_result", lambda p: {"passed": True}, about_person=True),
    "BackgroundCheckFailed": notify("check_result", lambda p: {"passed": False}, about_person=True),
    "ReminderDue": notify("deadline_reminder", lambda p: {
        "kind": p["kind"], "people": p["people"], "deadline": beijing_time(p["deadline"]),
        **DEADLINE_NAMES[p["kind"]]}, optional=True),
    # 请缴费: a person the unit pays for is now awaiting payment (confirmed, or reuse locked)
    "PersonnelConfirmed": notify("person_payment_due", lambda p: {"amount": yuan(p["fee_fen"]), "reuse": False},
                                 about_person=True, when=unit_pays),
    "ReuseLocked": notify("person_payment_due", lambda p: {"amount": yuan(p["fee_fen"]), "reuse": True},
                          about_person=True, when=unit_pays),
    "PersonnelUpgraded": notify("person_upgraded", labels_of, about_person=True),
    # 补证: the request is acknowledged, the new card announced
    "ReissueRequested": notify("reissue_requested", lambda p: {"credential_no": p["credential_no"],
                                                               "lost": p["reason"] == "lost"}, about_person=True),
    "CredentialReissued": notify("credential_reissued", lambda p: {"credential_no": p["credential_no"],
                                                                   "issue": p["issue"]}, about_person=True),
    "TokensRevoked": on_tokens_revoked,
    "AdminTokensRevoked": on_tokens_revoked,
    "UnitDeleted": on_unit_deleted,
    "RetentionExpired": on_retention_expired,
}
