"""API error codes → messages in the user's language.

The APIs answer {"code", "message", "field"} in English; the portal shows the message for
the code from this catalogue (translated by Flask-Babel), and falls back to the API's own
message for a code it does not know. A few codes carry a useful detail after ": " in the
API's message (a list of missing fields, the required invoice title): it is kept."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.fair import FairProfile

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .profile import profile

if TYPE_CHECKING:
    from .client import ApiProblem

BY_CODE = {
    # accounts and sign-up
    "invalid_uscc": _l("The unified social credit code is not valid: its check character does not match."),
    "invalid_category": _l("Choose a unit category that fits the unit's region."),
    "invalid_registration_no": _l("A registration number has 4 to 17 letters, digits or hyphens."),
    "invalid_identifier_type": _l("This code or document does not fit the kind of visitor and the region chosen."),
    "name_not_latin": _l("Write a name from outside China in Latin letters, as in the passport."),
    "privacy_consent_required": _l("Please read and accept the privacy policy."),
    "same_phone": _l("This is already the unit's mobile."),
    "same_email": _l("This is already the unit's email."),
    "label_over_quota": _l("Your unit has no quota left for this badge type. Choose professional visitor."),
    "person_incomplete": _l("Fill in gender, mobile, nationality (foreigners) and the exhibition area before submitting."),
    "weak_password": _l("The password needs 8 to 64 characters with both letters and digits."),
    "uscc_taken": _l("This unified social credit code is already registered for this fair. Log in instead."),
    "unknown_recommendation_code": _l("No delegation has this recommendation code."),
    "delegation_required": _l("Choose your delegation or sub-delegation."),
    "unknown_delegation": _l("Choose a delegation from the list."),
    "recommendation_code_required": _l("An industry delegation is joined with its recommendation code."),
    "unknown_referral_code": _l("This referral link is not valid."),
    "account_locked": _l("Too many failed logins. Try again in 15 minutes."),
    "login_throttled": _l("Too many failed logins. Try again later, or log in with an SMS code."),
    "client_throttled": _l("Too many failed logins from your network. Try again later."),
    "member_removed": _l("Your unit has removed you from its colleagues."),
    "invitation_expired": _l("This invitation link has expired. Register as a returning unit instead."),
    "busy": _l("The server is busy. Try again in a moment."),
    "sms_too_soon": _l("Wait a minute before asking for another code."),
    "sms_daily_limit": _l("Too many codes for this phone today. Try again tomorrow."),
    "sms_client_limit": _l("Too many codes were requested from your network. Try again later."),
    "sms_code_expired": _l("The code has expired or was used. Ask for a new one."),
    "sms_code_voided": _l("Too many wrong codes. Ask for a new one."),
    "sms_code_wrong": _l("The code is not right."),
    "sms_unavailable": _l("The SMS service is unavailable. Try again shortly."),
    "email_unavailable": _l("The email service is unavailable. Try again shortly."),
    "database_unavailable": _l("The service is busy at the moment. Try again in a few seconds."),
    "phone_mismatch": _l("This phone is not the unit's verified phone."),
    "several_units": _l("Several units use this phone: enter the unified social credit code too."),
    "invalid_returning_token": _l("Verify your previous account again."),
    "uscc_mismatch": _l("The previous account belongs to another unified social credit code."),
    "deadline_passed": _l("The deadline has passed."),
    "edition_closed": _l("This edition is closed: its records can be read, not changed."),
    "unknown_edition": _l("Choose one of the editions in the list."),
    # unit info and documents
    "unit_locked": _l("The unit information is locked while the unit is under review or approved."),
    "unit_not_editable": _l("The unit has already been submitted."),
    "unit_info_incomplete": _l("Some required unit information is missing."),
    "unknown_area": _l("Choose an exhibition area from the list."),
    "duplicate_area": _l("Each exhibition area can be chosen once."),
    "unknown_category": _l("Choose at least one category in each exhibition area you pick."),
    "document_not_needed": _l("Government bodies need no qualification document."),
    "document_required": _l("Upload the qualification document."),
    "document_wrong_type": _l("The document must be a PNG or JPG image."),
    "not_an_image": _l("The file is not a readable image."),
    "image_too_many_pixels": _l("The picture is far too large in pixels. Use a smaller one."),
    "no_personnel_submitted": _l("Submit at least one person together with the unit."),
    "unit_rejected": _l("The unit was not approved."),
    "too_many_addresses": _l("A unit can keep at most 5 delivery addresses."),
    "default_required": _l("Choose another default address instead."),
    # personnel
    "invalid_id_type": _l("This ID document does not fit the person's region type."),
    "invalid_id_number": _l("The ID number is not valid."),
    "entry_dates_required": _l("Choose at least one entry date."),
    "entry_date_outside_fair": _l("Choose entry dates within the fair's days."),
    "photo_required": _l("Upload the person's photo first."),
    "photo_not_jpg": _l("The photo must be a JPG file."),
    # photo_too_large, photo_too_small, photo_wrong_size, photo_file_too_small, photo_wrong_aspect: the
    # numbers are the profile's photo rule (PHOTO_RULE_MESSAGES below)
    "invitation_code_required": _l("Enter the invitation code your host organisation gave you."),
    "invitation_code_not_expected": _l("This kind of registration takes no invitation code: leave it empty."),
    "invitation_codes_unavailable": _l("The invitation code cannot be checked just now. Try again in a moment."),
    "invalid_visitor_kind": _l("Choose one of the kinds of registration offered."),
    "invalid_region_type": _l("Choose one of the region types offered."),
    "badge_type_not_allowed": _l("This badge type is not available to your kind of registration."),
    "online_only_no_badge": _l("An online-only registration cannot apply for badges."),
    "person_already_registered": _l("This ID number is already registered for this fair. A person is "
                                    "registered only once."),
    "person_locked": _l("A submitted record cannot be edited."),
    "person_submitted": _l("A submitted record cannot be deleted; cancel it instead."),
    "already_cancelled": _l("The person is already cancelled."),
    "person_not_submitted": _l("A saved record is deleted, not cancelled."),
    "credential_dispatched": _l("The badge has already been dispatched."),
    "person_not_saved": _l("Only saved records can be submitted."),
    "reuse_not_allowed": _l("This badge cannot be reused."),
    # colleagues
    "unknown_unit_code": _l("No unit has this unit code."),
    "already_joined": _l("This phone has already asked to join the unit."),
    "member_pending": _l("Your unit has not approved your request yet."),
    "member_rejected": _l("Your unit declined your request."),
    "no_members": _l("Choose at least one request."),
    "member_decided": _l("This request has already been decided."),
    "member_not_approved": _l("Only an approved colleague's account can be changed."),
    # billing
    "no_people": _l("Select at least one person."),
    "too_many_people": _l("Too many people for one order."),
    "not_awaiting_payment": _l("Someone you selected is no longer awaiting payment."),
    "order_paid": _l("The order is already paid."),
    "order_closed": _l("The order is closed."),
    "order_expired": _l("The order has expired. Create a new one."),
    "order_not_unpaid": _l("The order is no longer unpaid."),
    "transfer_pending": _l("A bank transfer for this order is awaiting the finance desk."),
    "voucher_required": _l("Attach the remittance voucher."),
    "voucher_too_large": _l("The voucher must be at most 5 MB."),
    "order_not_paid": _l("Only a paid order can be invoiced."),
    "already_invoiced": _l("This order already has an invoice."),
    "title_locked": _l("For B2B and bank-transfer payments the invoice title must be the paying unit."),
    "tax_no_required": _l("A special VAT invoice needs the buyer's tax number."),
    "nothing_to_invoice": _l("Everything on this order was refunded."),
    "einvoice_refused": _l("The e-invoicing platform refused the invoice. Check the title."),
    "payee_required": _l("Give the account the refund goes to."),
    "payee_incomplete": _l("Fill in every detail of the payee account."),
    "invalid_account": _l("An account number has 8 to 32 digits."),
    "invalid_bank_code": _l("The bank code (CNAPS) has 12 digits."),
    "not_refundable": _l("Someone you selected is not refundable."),
    "invoice_not_reversed": _l("The order's invoice must be reversed before a refund."),
    "original_route_only": _l("QR and B2B payments are refunded by the original route."),
    # the finance desk
    "four_eyes": _l("You asked for this refund: another finance officer must approve it."),
    "refund_decided": _l("This refund has already been decided."),
    "transfer_decided": _l("This transfer has already been decided."),
    "amount_mismatch": _l("The amounts do not agree: reject the transfer or choose another."),
    "line_matched": _l("This statement line is already matched."),
    "bad_statement": _l("The statement cannot be read: check its columns and amounts."),
    "unreadable_file": _l("The statement must be a UTF-8 CSV file."),
    "already_reversed": _l("The invoice is already reversed."),
    # the pick-up desk
    "proxy_required": _l("Type the badge number of the person collecting."),
    "proxy_not_found": _l("No badge has this number."),
    "proxy_is_holder": _l("The holder collects their own badge: choose 'the holder'."),
    "proxy_other_unit": _l("Only a colleague of the same unit may collect on the holder's behalf."),
    "proxy_card_invalid": _l("The badge of the person collecting is not valid."),
    "already_collected": _l("This badge has already been collected."),
    "not_at_desk": _l("This badge is not waiting at the pick-up desk."),
    "not_in_distribution": _l("This badge is not on its way to its holder."),
    "query_required": _l("Type a name, a unit or a badge number."),
    "invalid_method": _l("Choose a payment method."),
    "idempotency_key_reused": _l("This form was already sent with other values. Reload the page and try again."),
    "trade_closed": _l("This payment is closed."),
    # generic
    "forbidden": _l("You may not do this."),
    "wrong_password": _l("The current password is not right."),
    "nothing_to_change": _l("Nothing was changed."),
    # the back office
    "not_pending": _l("This unit is not waiting for a decision (someone may have decided it already)."),
    "comment_required": _l("Say what the unit must change."),
    "reason_required": _l("Give the reason for the rejection."),
    "same_delegation": _l("The unit is already in that delegation."),
    "centralised_limit_reached": _l("The delegation's centralised-payment budget is not enough for everyone "
                                    "selected."),
    "no_centralised_payment": _l("The delegation does not pay centrally."),
    "label_decision_needed": _l("Someone selected asked for a VIP or staff label: grant or decline it first."),
    "wrong_state": _l("Someone selected is no longer waiting for this decision."),
    "quota_exhausted": _l("The unit has no quota left for this label."),
    "not_an_upgrade": _l("That label is not an upgrade for this person."),
    "reused_vip": _l("A reused VIP badge cannot be changed."),
    "unit_not_approved": _l("The unit must be approved first."),
    "registration_unavailable": _l("The unit's details cannot be read just now. Try again in a moment."),
    # host organisations (承办机构, CIFTIS)
    "host_organisation_locked": _l("The information cannot be changed while the committee reviews it or after "
                                   "approval."),
    "host_info_incomplete": _l("Fill in this field before submitting."),
    "licence_required": _l("Upload the business licence before submitting."),
    "licence_too_large": _l("The licence image is too large."),
    "licence_wrong_type": _l("The licence must be a JPG or PNG image."),
    "invalid_postcode": _l("This is not a valid postcode."),
    "invalid_phone": _l("Enter a phone number, e.g. 010-88886666 or 13800138000."),
    "invalid_website": _l("Enter a website address, e.g. https://www.example.cn."),
    "licence_not_needed": _l("This fair asks for no business licence."),
    "host_organisation_not_approved": _l("The organising committee has not approved the host organisation yet: "
                                         "invitation codes and review decisions come after its approval."),
    "no_personnel_review": _l("People are confirmed by payer and label at this fair, not approved."),
    "not_found": _l("Not found."),
    "unauthorized": _l("Please log in again."),
}

# The same code with a different meaning depending on the field it names.
BY_CODE_AND_FIELD = {
    ("not_pending", "status"): _l("This host organisation is not waiting for a decision (someone may have decided "
                                  "it already)."),
    ("not_found", "unit_id"): _l("This unit is not in your part of the delegation tree, or was deleted."),
    ("not_found", "uscc"): _l("No unit is registered with this unified social credit code."),
    ("not_found", "person_id"): _l("This person was not found."),
    ("not_found", "photo"): _l("No photo has been uploaded yet."),
    ("not_found", "order_no"): _l("This order was not found."),
    ("not_found", "invitation_token"): _l("This invitation link is not valid."),
    ("not_found", "previous_person_id"): _l("This person of the previous edition was not found."),
    ("not_found", "member_ids"): _l("This request was not found."),
    ("not_found", "person_ids"): _l("Someone you selected cannot be paid for or refunded."),
    ("not_found", "address_id"): _l("This address was not found."),
    ("weak_password", "new_password"): _l("The new password needs at least 10 characters and must differ from the "
                                          "current one."),
    ("already_invoiced", "order_no"): _l("This order already has an invoice."),
}

# Messages the API sends with the generic `unauthorized` code.
BY_MESSAGE = {
    "wrong USCC or password": _l("The unified social credit code or the password is wrong."),
    "this unit was deleted by its delegation": _l("This unit was deleted by its delegation."),
    "no unit uses this phone": _l("No unit uses this phone."),
    "wrong unit code, phone or password": _l("The unit code, phone or password is wrong."),
    "no previous account matches this USCC and password": _l("No previous account matches this code and password."),
    "no previous account matches these details": _l("No previous account matches these details."),
    "token expired": _l("Your session has expired. Please log in again."),
    "wrong username or password": _l("The username or the password is wrong."),
    "the current password is not right": _l("The current password is not right."),
}

# Why a previous edition's badge cannot be reused (registration's reasons, in its words).
REUSE_REFUSALS = {
    "only credentials of the two previous editions can be reused":
        _l("Only badges of the two previous editions can be reused."),
    "only credentials of the previous edition can be reused":  # a profile's reuse_editions 1 (CIFTIS)
        _l("Only badges of the previous edition can be reused."),
    "the previous credential did not pass its check": _l("The previous badge did not pass its check."),
    "a lost or damaged credential cannot be reused": _l("A lost or damaged badge cannot be reused."),
    "the unit name on the card has changed": _l("The unit name on the badge has changed."),
    "the delegation on the card has changed": _l("The delegation on the badge has changed."),
    "the label on the card would change": _l("The label on the badge would change."),
    "the entry dates on the card would change": _l("The entry dates on the badge would change."),
}


def reuse_refusal_text(reason: str | None) -> str:
    if not reason:
        return ""
    found = REUSE_REFUSALS.get(reason)
    return str(found) if found is not None else reason


# marshmallow's messages for `validation_error`, by pattern.
VALIDATION = [
    (re.compile(r"^Missing data for required field"), _l("This field is required.")),
    (re.compile(r"^Field may not be null"), _l("This field is required.")),
    (re.compile(r"^Not a valid email"), _l("Enter a valid email address.")),
    (re.compile(r"^not a valid phone number"), _l("Enter a valid phone number (digits only).")),
    (re.compile(r"^USCC has 18 characters"), _l("A unified social credit code has 18 characters.")),
    (re.compile(r"^a unit code is T and 8 digits"), _l("A unit code is T followed by 8 digits.")),
    (re.compile(r"^an account number is 8 to 32 digits"), _l("An account number has 8 to 32 digits.")),
    (re.compile(r"^select at least one person"), _l("Select at least one person.")),
    (re.compile(r"^Not a valid (number|decimal|integer)"), _l("Enter a number.")),
    (re.compile(r"^Not a valid date"), _l("Enter a valid date.")),
    (re.compile(r"^Not a valid URL"), _l("Enter a web address starting with http:// or https://.")),
    (re.compile(r"^Must be greater than or equal to"), _l("Enter a number that is not negative.")),
    (re.compile(r"^String does not match expected pattern"), _l("The format is not right.")),
    (re.compile(r"^Must be one of"), _l("Choose one of the options.")),
    (re.compile(r"^(Length must be|Shorter than|Longer than)"), _l("The length is not right.")),
    (re.compile(r"^Unknown field"), _l("The form sent an unexpected field.")),
    (re.compile(r"^control characters and line breaks are not allowed"),
     _l("Line breaks and control characters are not allowed here.")),
    (re.compile(r"^must be between"), _l("The number is out of range.")),
]


def problem_text(problem: "ApiProblem") -> str:
    """The message to show for an API problem, in the current language."""
    if problem.code == "validation_error":
        for pattern, text in VALIDATION:
            if pattern.search(problem.message):
                return str(text)
        return problem.message
    if problem.code == "unauthorized" and problem.message in BY_MESSAGE:
        return str(BY_MESSAGE[problem.message])
    field = (problem.field or "").split(".")[0]
    text = BY_CODE_AND_FIELD.get((problem.code, field)) or BY_CODE.get(problem.code)
    if text is None and problem.code in PROFILE_MESSAGES:
        text = PROFILE_MESSAGES[problem.code](profile())
    if text is None:
        return problem.message or _("Something went wrong. Please try again.")
    return str(text) + _detail(problem)


def _size(n_bytes: int) -> str:
    """1048575 → "1MB", 51200 → "50KB": the sizes the rules are written in."""
    if n_bytes >= 1024 * 1024 - 1:
        return f"{round(n_bytes / (1024 * 1024), 1):g}MB"
    return f"{round(n_bytes / 1024):d}KB"


def _photo_too_large(p: FairProfile) -> str:
    return _("The photo must be smaller than %(size)s.", size=_size(int(p.photo["max_bytes"])))


def _photo_file_too_small(p: FairProfile) -> str:
    return _("The photo file must be at least %(size)s.", size=_size(int(p.photo["min_bytes"])))


def _photo_too_small(p: FairProfile) -> str:
    width, height = p.photo["min_size"]
    return _("The photo must be at least %(width)d × %(height)d pixels.", width=width, height=height)


def _photo_wrong_size(p: FairProfile) -> str:
    width, height = p.photo.get("exact_size") or p.photo["min_size"]
    return _("The photo must be exactly %(width)d × %(height)d pixels.", width=width, height=height)


def _photo_wrong_aspect(p: FairProfile) -> str:
    width, height = p.photo["aspect"]
    return _("The photo must be %(width)d:%(height)d (width to height).", width=width, height=height)


def _document_too_large(p: FairProfile) -> str:
    limits = [int(r["max_bytes"]) for r in p.documents.values()]
    if p.data.get("host_licence"):
        limits.append(int(p.data["host_licence"]["max_bytes"]))
    return _("The document must be at most %(size)s.", size=_size(max(limits or [2 * 1024 * 1024])))


def _introduction_limits(p: FairProfile) -> tuple[int, int]:
    limits = p.data["unit_fields"].get("introduction") or {}
    return int(limits.get("min", 0)), int(limits.get("max", 0))


def _introduction_too_short(p: FairProfile) -> str:
    return _("The introduction needs at least %(n)d characters.", n=_introduction_limits(p)[0])


def _introduction_too_long(p: FairProfile) -> str:
    return _("The introduction may have at most %(n)d characters.", n=_introduction_limits(p)[1])


# Codes whose message names the profile's numbers (the photo rule, the document and introduction limits).
PROFILE_MESSAGES: dict[str, Callable[[FairProfile], str]] = {
    "photo_too_large": _photo_too_large, "photo_file_too_small": _photo_file_too_small,
    "photo_too_small": _photo_too_small, "photo_wrong_size": _photo_wrong_size,
    "photo_wrong_aspect": _photo_wrong_aspect, "document_too_large": _document_too_large,
    "introduction_too_short": _introduction_too_short, "introduction_too_long": _introduction_too_long,
}


def _detail(problem: "ApiProblem") -> str:
    """The useful tail of a few messages: the missing fields, the required title."""
    if problem.code == "unit_info_incomplete" and ": " in problem.message:
        from .labels import unit_field_label
        names = [unit_field_label(n.strip()) for n in problem.message.split(": ", 1)[1].split(",")]
        return " " + _("Missing: %(fields)s", fields="、".join(names))
    if problem.code == "reuse_not_allowed":
        return " " + reuse_refusal_text(problem.message)
    if problem.code == "title_locked" and ": " in problem.message:
        return " " + _("Use: %(title)s", title=problem.message.split(": ", 1)[1][:200])
    return ""
