"""Words of the finance, operations and gate desks (lazy: translated when a page renders).
Templates reach them as `D` (the unit portal's words stay `L`)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from shared.fair import HOST_ORGANISATION, fair

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

# --- the fair's words for the review desks (CIIE 交易团, CIFTIS 承办机构) -----------------------
HOST_STATUS = {"awaiting_info": _l("Information to fill in"), "pending": _l("Waiting for the committee's review"),
               "approved": _l("Approved"), "returned": _l("Returned for changes")}
HOST_STATUS_TONE = {"awaiting_info": "wait", "pending": "info", "approved": "good", "returned": "bad"}
HOST_QUEUE = {"pending": _l("To review"), "returned": _l("Returned"), "approved": _l("Approved"),
              "awaiting_info": _l("Not submitted yet")}
HOST_FIELDS = {"name": _l("Organisation name"), "name_en": _l("Name in English"), "field": _l("Field of services"),
               "industry": _l("Industry"), "uscc": _l("Unified social credit code"), "address": _l("Address"),
               "postcode": _l("Postcode"), "phone": _l("Phone"), "website": _l("Website")}
PERSON_REVIEW_ACTIONS = {"approve": _l("Approve"), "reject": _l("Reject")}


def _language() -> str:
    from .web import language
    return "en" if language().startswith("en") else "zh"


def profile_text(text: dict[str, str] | None) -> str:
    """A {"zh", "en"} text of the fair profile in the reader's language."""
    if not text:
        return ""
    return str(text.get(_language()) or text.get("zh") or "")


def organisation_kind() -> str:
    return str(fair().data["organisation"]["kind"])


def has_host_organisations() -> bool:
    return organisation_kind() == HOST_ORGANISATION


def organisation_word(with_sub: bool = True) -> str:
    """What the desks call the organisations units belong to: the profile's word (承办机构 /
    host organisation), or 交易团/分团 where the profile has sub-organisations."""
    organisation = fair().data["organisation"]
    if organisation.get("sub_label") and with_sub:
        return str(_l("Delegation or sub-delegation"))
    word = profile_text(organisation["label"])
    return word[:1].upper() + word[1:]


def level_reviewer(level: str) -> str:
    """Who reviews on `level` ("first_level" / "second_level"), in the reader's words."""
    from .labels import ADMIN_ROLES
    role = str(fair().review.get(level) or "")
    return str(ADMIN_ROLES.get(role, role))


def person_review() -> bool:
    """People are approved on two levels too (CIFTIS), instead of 确认代付 / 取消代付."""
    return bool(fair().review.get("personnel_review"))
