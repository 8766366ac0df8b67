"""Words of the finance, operations and gate desks (lazy: translated when a page renders).
Templates reach them as `D` (the unit portal's words stay `L`)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

TRANSFER_QUEUE = {"submitted": _l("To decide"), "confirmed": _l("Confirmed"), "rejected": _l("Rejected")}
TRANSFER_TONE = {"submitted": "wait", "confirmed": "good", "rejected": "bad"}
REMITTER_TYPES = {"unit": _l("A unit"), "individual": _l("An individual")}
LINE_STATUS = {"matched": _l("Matched"), "ambiguous": _l("Several candidates"), "unmatched": _l("No match")}
LINE_TONE = {"matched": "good", "ambiguous": "wait", "unmatched": "bad"}
RECONCILIATION_KINDS = {
    "paid_without_payment": _l("Paid order without a confirmed payment"),
    "payment_on_unpaid_order": _l("Confirmed payment on an order that is not paid"),
    "payment_amount_differs": _l("Payment amount differs from the order"),
    "refunded_more_than_paid": _l("Refunded more than was paid"),
    "invoice_on_unpaid_order": _l("Invoice on an order that is not paid"),
    "invoice_amount_differs": _l("Invoice amount differs from what was paid less refunds"),
    "money_received_order_closed": _l("Money received for a closed order"),
    "money_received_amount_mismatch": _l("Money received with the wrong amount"),
}
EXPORTS = {"orders": _l("Orders"), "payments": _l("Payments"), "refunds": _l("Refunds"), "invoices": _l("Invoices")}
DISTRIBUTION = {"produced": _l("Produced, waiting for an address"), "dispatched": _l("Sent by courier"),
                "ready_for_pickup": _l("Waiting at the pick-up desk"), "delivered": _l("Delivered"),
                "collected": _l("Collected")}
COLLECTORS = {"holder": _l("The holder"), "proxy": _l("A colleague on the holder's behalf")}
GATE_VERDICTS = {
    "valid": _l("Valid"), "already_inside": _l("Already inside"), "not_this_day": _l("Not valid today"),
    "revoked": _l("Revoked"), "superseded": _l("Replaced by a new card"), "not_issued": _l("Never issued"),
    "wrong_edition": _l("Wrong edition"), "unknown": _l("Unknown card"),
}
GATE_ADVICE = {
    "valid": _l("Compare the face with the photo, then let the holder through."),
    "already_inside": _l("This card is already inside and has not gone out. Do not admit; call a supervisor."),
    "not_this_day": _l("The card is not valid on this day. Do not admit."),
    "revoked": _l("The credential was revoked. Do not admit; keep the card if you can."),
    "superseded": _l("An old card: a new one was issued. Do not admit."),
    "not_issued": _l("This card was never issued. Do not admit."),
    "wrong_edition": _l("A badge of another edition of the fair. Do not admit."),
    "unknown": _l("Not a valid badge: unreadable, forged or someone else's. Do not admit."),
}
DIRECTIONS = {"in": _l("Entering"), "out": _l("Leaving")}
# the units' requests the desks decide: invoice reversals (退票申请) and new badges (补证)
REVERSAL_QUEUE = {"requested": _l("Waiting"), "approved": _l("Approved"), "rejected": _l("Declined")}
REISSUE_QUEUE = {"requested": _l("Waiting"), "reissued": _l("Reissued"), "rejected": _l("Declined")}
REQUEST_TONE = {"requested": "wait", "approved": "good", "reissued": "good", "rejected": "bad"}
REISSUE_REASONS = {"lost": _l("Lost"), "damaged": _l("Damaged")}
