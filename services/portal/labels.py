"""The words for the APIs' enumerations (categories, states, areas …) in the user's
language. Option lists for forms come from here too, in the APIs' order."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l

from shared.fair import FairProfile

from .profile import fair_text, profile


class ProfileLabels(Mapping[str, Any]):
    """The words for one of the profile's vocabularies: its codes in its order, each with the
    profile's own label ({"zh", "en"}, in the page's language) where it has one, else the
    portal's translation. A code the profile does not list (another fair's, or an old
    record's) still has its word from `fallback`; listing (`items()`) gives the profile's."""

    def __init__(self, listed: Callable[[FairProfile], list[tuple[str, Any]]], fallback: dict[str, Any]):
        self._listed, self.fallback = listed, fallback

    def _profile_labels(self) -> dict[str, Any]:
        return dict(self._listed(profile()))

    def __getitem__(self, key: str) -> Any:
        own = self._profile_labels()
        if key in own and own[key] is not None:
            return fair_text(own[key])
        return self.fallback[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self._profile_labels() or key in self.fallback)

    def __iter__(self) -> Iterator[str]:
        return iter(self._profile_labels())

    def __len__(self) -> int:
        return len(self._profile_labels())


def _labelled(key: str) -> Callable[[FairProfile], list[tuple[str, Any]]]:
    return lambda p: [(item["id"], item.get("label")) for item in p.data[key]]


def _codes(codes: Callable[[FairProfile], Any]) -> Callable[[FairProfile], list[tuple[str, Any]]]:
    return lambda p: [(code, None) for code in codes(p)]


def _documents(p: FairProfile) -> list[tuple[str, Any]]:
    return [(category, rule.get("label")) for category, rule in p.documents.items()]


REGIONS = ProfileLabels(_labelled("regions"), {
    "mainland": _l("Mainland China"), "hk_macao_taiwan": _l("Hong Kong, Macao, Taiwan"),
    "overseas": _l("Other countries and regions")})
CATEGORIES = ProfileLabels(_codes(lambda p: p.all_categories()), {
    "enterprise": _l("Enterprise"), "government": _l("Government body"),
    "public_institution": _l("Public institution"), "social_organisation": _l("Social organisation"),
    "other": _l("Other"), "individual": _l("Individual")})
DOCUMENT_KINDS = ProfileLabels(_documents, {
    "enterprise": _l("Business licence"), "social_organisation": _l("Social organisation legal-person certificate"),
    "public_institution": _l("Public institution legal-person certificate"),
    "other": _l("Registration certificate")})
VISITOR_KINDS = ProfileLabels(_labelled("visitor_kinds"), {
    "unit": _l("Unit visitor"), "individual": _l("Non-unit visitor"),
    "exhibitor_onsite": _l("Online and on-site exhibitor"), "exhibitor_online": _l("Online-only exhibitor"),
    "attendee_invited": _l("Invited attendee"), "attendee_open": _l("Attendee without invitation"),
    "host_organisation": _l("Host organisation (its staff and guests)")})
# what each visitor kind means, on the sign-up page (from the CIFTIS guide's explanations)
VISITOR_KIND_HINTS = {
    "unit": _l("A company, institution or organisation; its people are added after sign-up."),
    "individual": _l("Individual visitors (non-unit) register themselves, then give the unit they work for "
                     "under Unit information."),
    "exhibitor_onsite": _l("Online and on-site: a stand at the venue and people at the fair; may apply for badges."),
    "exhibitor_online": _l("Only on the digital platform (website, app), no stand and nobody at the venue: "
                           "cannot apply for badges."),
    "attendee_invited": _l("A company that received an invitation code."),
    "attendee_open": _l("A company that wants to attend but has no invitation code."),
    "host_organisation": _l("A host organisation registering its own staff and guests, with one of its codes."),
}
COMPANY_TYPES = {"domestic": _l("Domestic enterprise"),
                 "hk_macao_taiwan_invested": _l("Hong Kong, Macao or Taiwan invested enterprise"),
                 "foreign_invested": _l("Foreign-invested enterprise")}
IDENTIFIER_TYPES = {  # what an account registers and logs in with
    "uscc": _l("Unified social credit code (mainland unit)"),
    "registration_no": _l("Registration number (Hong Kong, Macao, Taiwan or overseas unit)"),
    "resident_id": _l("Resident ID card (individual)"), "hk_macao_permit": _l("HK/Macao travel permit (individual)"),
    "taiwan_permit": _l("Taiwan travel permit (individual)"), "passport": _l("Passport (individual)"),
}

REGION_TYPES = ProfileLabels(_labelled("region_types"), {
    "mainland": _l("Mainland China"), "hk_macao": _l("Hong Kong / Macao"), "taiwan": _l("Taiwan"),
    "foreign": _l("Other countries and regions"), "overseas_chinese": _l("Chinese citizens living abroad")})
ID_TYPES = {"resident_id": _l("Resident ID card"), "hk_macao_permit": _l("HK/Macao travel permit"),
            "taiwan_permit": _l("Taiwan travel permit"), "passport": _l("Passport")}

class _IdTypeOfRegion(Mapping[str, str]):
    """A region type's ID document: the first the profile accepts for it."""

    def __getitem__(self, key: str) -> str:
        return profile().region_types[key][0]

    def __iter__(self) -> Iterator[str]:
        return iter(profile().region_types)

    def __len__(self) -> int:
        return len(profile().region_types)


ID_TYPE_OF_REGION = _IdTypeOfRegion()
ID_PATTERNS = {  # client-side hints only; the API decides
    "resident_id": r"[0-9]{17}[0-9Xx]", "hk_macao_permit": r"[HMhm][0-9]{8}([0-9]{2})?",
    "taiwan_permit": r"[0-9]{8}([0-9]{2})?", "passport": r"[A-Za-z0-9]{5,20}",
}
GENDERS = {"male": _l("Male"), "female": _l("Female")}
ADMIN_ROLES = {"organising_committee": _l("Organising committee"), "delegation_secretariat": _l("Delegation secretariat"),
               "sub_delegation_admin": _l("Sub-delegation admin"), "finance": _l("Finance officer"),
               "operations": _l("Operations"), "gate_staff": _l("Gate staff"),
               "host_organisation_admin": _l("Host organisation admin")}
# the back office: review's words
REVIEW_STATUS = {"pending": _l("Pending review"), "first_approved": _l("First-level approved"),
                 "approved": _l("Approved"), "returned": _l("Returned for changes"), "rejected": _l("Not approved"),
                 "deleted": _l("Deleted")}
REVIEW_STATUS_TONE = {"pending": "wait", "first_approved": "info", "approved": "good", "returned": "wait",
                      "rejected": "bad", "deleted": "bad"}
REVIEW_PERSON_STATUS = {"submitted": _l("Submitted"), "awaiting_confirmation": _l("Awaiting confirmation"),
                        "confirmed": _l("Confirmed"), "pending_lock": _l("Reuse awaiting lock"),
                        "locked": _l("Reuse locked"), "cancelled": _l("Cancelled"), "deleted": _l("Deleted"),
                        "first_approved": _l("First-level approved"), "rejected": _l("Not approved")}
REVIEW_PERSON_TONE = {"submitted": "neutral", "awaiting_confirmation": "wait", "confirmed": "good",
                      "first_approved": "info", "rejected": "bad",
                      "pending_lock": "wait", "locked": "good", "cancelled": "neutral", "deleted": "bad"}
PAYERS = {"unit": _l("Unit pays"), "delegation": _l("Delegation pays"), "free": _l("Free")}
HISTORY_ACTIONS = {"unit.submit": _l("Submitted by the unit"), "unit.auto_approve": _l("Approved automatically"),
                   "unit.first_approve": _l("First-level approval"), "unit.approve": _l("Approved"),
                   "unit.return": _l("Returned for changes"), "unit.reject": _l("Not approved"),
                   "unit.reassign": _l("Moved to another delegation"), "unit.edit": _l("Corrected"),
                   "unit.delete": _l("Deleted")}
AUDIT_ACTIONS = {
    "unit.first_approve": _l("First-level approval"), "unit.approve": _l("Approved"),
    "unit.return": _l("Returned for changes"), "unit.reject": _l("Not approved"),
    "unit.reassign": _l("Moved to another delegation"), "unit.edit": _l("Corrected"), "unit.delete": _l("Deleted"),
    "person.confirm_delegation_pays": _l("Delegation pays confirmed"),
    "person.cancel_delegation_pays": _l("Delegation payment cancelled"), "person.label": _l("Label granted"),
    "person.upgrade": _l("Label upgraded"), "person.lock_reuse": _l("Reuse locked"), "quota.set": _l("Quota set"),
    "invitation_codes.issue": _l("Invitation codes generated"), "delegation.create": _l("Delegation created"),
    "delegation.update": _l("Delegation changed"), "delegation.centralised_payment": _l("Centralised payment set"),
    "admin.create": _l("Admin created"), "admin.activate": _l("Admin reactivated"),
    "admin.deactivate": _l("Admin deactivated"), "admin.password": _l("Password changed"),
    "admin.contact": _l("Contact details changed"), "settings.update": _l("Edition settings changed"),
    "edition.personal_data_purge": _l("Personal data erased"),
    "person.first_approve": _l("Person approved (first level)"), "person.approve": _l("Person approved"),
    "person.reject": _l("Person not approved"),
    "host_organisation.update": _l("Host organisation details changed"),
    "host_organisation.licence": _l("Host organisation licence uploaded"),
    "host_organisation.submit": _l("Host organisation submitted for review"),
    "host_organisation.approve": _l("Host organisation approved"),
    "host_organisation.return": _l("Host organisation returned for changes"),
}
AUDIT_TARGETS = {"unit": _l("Unit"), "person": _l("Person"), "quota": _l("Quota"), "delegation": _l("Delegation"),
                 "admin": _l("Admin"), "edition": _l("Edition")}
# 退回修改: the reasons reviewers give most, offered as a start for the comment
RETURN_TEMPLATES = {
    "document_unclear": _l("The qualification document image is unclear or incomplete. Upload a clear photo "
                           "of the whole document."),
    "name_mismatch": _l("The unit name does not match the qualification document. Correct the name or the "
                        "document."),
    "info_incomplete": _l("The unit information is incomplete. Fill in the missing fields."),
    "document_expired": _l("The qualification document has expired. Upload the current one."),
    "wrong_category": _l("The unit category does not fit the document. Choose the right category."),
}
LABELS = ProfileLabels(_labelled("badge_types"), {  # badge types (标签)
    "visitor": _l("Professional visitor"), "staff": _l("Staff"), "vip": _l("VIP"), "exhibitor": _l("Exhibitor"),
    "delegate": _l("Conference delegate"), "buyer": _l("Buyer"), "guest": _l("Guest"),
    "host_staff": _l("Host staff")})
PICKUP = {"courier": _l("Courier to the unit"), "onsite": _l("Pick up on site")}

EXHIBITION_AREAS = ProfileLabels(_codes(lambda p: p.data["exhibition_areas"]), {
    "food_agriculture": _l("Food and agricultural products"), "automobile": _l("Automobile"),
    "technical_equipment": _l("Technical equipment"), "consumer_goods": _l("Consumer goods"),
    "medical_healthcare": _l("Medical devices and healthcare"), "trade_in_services": _l("Trade in services"),
    "innovation_incubation": _l("Innovation incubation"),
    # CIFTIS 展区
    "telecom_it": _l("Telecommunications, computer and information services"), "finance": _l("Financial services"),
    "culture_tourism": _l("Culture and tourism services"), "education": _l("Education services"),
    "sports": _l("Sports services"), "supply_chain_business": _l("Supply chain and business services"),
    "engineering_construction": _l("Engineering consulting and construction services"),
    "health": _l("Health services"), "environment": _l("Environmental services"),
})
PROCUREMENT_CATEGORIES = {
    "dairy": _l("Dairy"), "meat": _l("Meat"), "seafood": _l("Seafood"), "fruit_vegetables": _l("Fruit and vegetables"),
    "wine_spirits": _l("Wine and spirits"), "grain_oil": _l("Grain and oil"), "snacks": _l("Snacks"),
    "vehicles": _l("Vehicles"), "new_energy": _l("New energy"), "parts": _l("Parts"),
    "smart_mobility": _l("Smart mobility"), "industrial_automation": _l("Industrial automation"),
    "integrated_circuits": _l("Integrated circuits"), "energy_equipment": _l("Energy equipment"),
    "machine_tools": _l("Machine tools"), "digital_technology": _l("Digital technology"),
    "cosmetics": _l("Cosmetics"), "apparel": _l("Apparel"), "home_goods": _l("Home goods"),
    "jewellery": _l("Jewellery"), "sports_goods": _l("Sports goods"), "maternal_infant": _l("Mother and baby"),
    "medical_devices": _l("Medical devices"), "pharmaceuticals": _l("Pharmaceuticals"),
    "elderly_care": _l("Elderly care"), "health_products": _l("Health products"), "finance": _l("Finance"),
    "logistics": _l("Logistics"), "consulting": _l("Consulting"), "tourism": _l("Tourism"),
    "culture_education": _l("Culture and education"), "startups": _l("Start-ups"),
    "research_results": _l("Research results"),
    # CIFTIS: the categories of its exhibition areas
    "software": _l("Software"), "cloud_computing": _l("Cloud computing"), "data_services": _l("Data services"),
    "communications": _l("Communications"), "banking": _l("Banking"), "insurance": _l("Insurance"),
    "securities": _l("Securities"), "fintech": _l("Financial technology"), "travel": _l("Travel"),
    "film_tv": _l("Film and television"), "publishing": _l("Publishing"), "creative_design": _l("Creative design"),
    "higher_education": _l("Higher education"), "vocational_training": _l("Vocational training"),
    "edtech": _l("Education technology"), "sports_events": _l("Sports events"), "fitness": _l("Fitness"),
    "sports_industry": _l("Sports industry"), "legal": _l("Legal services"), "accounting": _l("Accounting"),
    "advertising": _l("Advertising"), "engineering_consulting": _l("Engineering consulting"),
    "construction": _l("Construction"), "urban_planning": _l("Urban planning"),
    "medical_services": _l("Medical services"), "health_management": _l("Health management"),
    "energy_saving": _l("Energy saving"), "environmental_services": _l("Environmental services"),
    "carbon_services": _l("Carbon services"),
}
PURPOSES = {
    "procure": _l("Procure goods or services"), "learn": _l("Observe and learn"),
    "attract_investment": _l("Attract investment"), "find_partners": _l("Find new partners or business"),
    "learn_foreign_suppliers": _l("Learn about foreign suppliers and markets"),
    "side_events": _l("Organise or join side events"),
    "government_requirement": _l("Fulfil a government or institutional requirement"),
    "keep_relationships": _l("Keep existing customers and partners"), "other": _l("Other"),
}
IMPORT_MODES = {"general_trade": _l("General trade"), "processing_trade": _l("Processing trade"),
                "cross_border_ecommerce": _l("Cross-border e-commerce"), "bonded": _l("Bonded"), "other": _l("Other")}

UNIT_FIELDS = {
    "name_en": _l("Unit name (English)"), "registered_address": _l("Registered address"),
    "registered_capital_10k_cny": _l("Registered capital (10,000 CNY)"), "nature": _l("Nature of the unit"),
    "industry": _l("Industry"), "turnover_last_year_10k_usd": _l("Last year's turnover (10,000 USD)"),
    "import_last_year_10k_usd": _l("Last year's imports (10,000 USD)"),
    "import_three_years_10k_usd": _l("Imports of the last three years (10,000 USD)"),
    "import_modes": _l("Import modes"), "contact_name": _l("Contact person"),
    "contact_mobile": _l("Contact mobile"), "purposes": _l("Purposes of attending"),
    "procurement_intentions": _l("Procurement intentions"), "document": _l("Qualification document"),
    # CIFTIS
    "contact_position": _l("Contact's position"), "contact_email": _l("Contact email"),
    "company_type": _l("Company type"), "fortune500": _l("Fortune Global 500 company"),
    "fortune500_name": _l("Name in the Fortune Global 500 list"), "introduction": _l("Company introduction"),
    "website": _l("Website"), "exhibition_content": _l("Exhibition content"),
    "exhibition_needs": _l("Exhibition needs"),
}

UNIT_STATUS = {"draft": _l("Not submitted"), "submitted": _l("Under review"), "approved": _l("Approved"),
               "returned": _l("Returned for changes"), "rejected": _l("Not approved"), "deleted": _l("Deleted")}
PERSON_STATUS = {
    "saved": _l("Saved"), "submitted": _l("Submitted"), "pending_lock": _l("Pending lock"),
    "awaiting_confirmation": _l("Awaiting confirmation"), "awaiting_payment": _l("Awaiting payment"),
    "awaiting_check": _l("Under check"), "check_passed": _l("Check passed"), "check_failed": _l("Check failed"),
    "in_production": _l("In production"), "dispatched": _l("Dispatched"), "delivered": _l("Delivered"),
    "cancelled": _l("Cancelled"), "rejected": _l("Not approved"),
}
# colours of the status badges: neutral, info, waiting, good, bad
PERSON_STATUS_TONE = {
    "saved": "neutral", "submitted": "info", "pending_lock": "wait", "awaiting_confirmation": "wait",
    "awaiting_payment": "wait", "awaiting_check": "info", "check_passed": "good", "check_failed": "bad",
    "in_production": "info", "dispatched": "good", "delivered": "good", "cancelled": "neutral", "rejected": "bad",
}
UNIT_STATUS_TONE = {"draft": "neutral", "submitted": "info", "approved": "good", "returned": "wait",
                    "rejected": "bad", "deleted": "bad"}
ORDER_STATUS = {"unpaid": _l("Unpaid"), "paid": _l("Paid"), "cancelled": _l("Cancelled"), "expired": _l("Expired")}
ORDER_STATUS_TONE = {"unpaid": "wait", "paid": "good", "cancelled": "neutral", "expired": "neutral"}
INVOICE_KINDS = {"ordinary": _l("Digital ordinary invoice"), "special": _l("Digital special VAT invoice")}
INVOICE_STATUS = {"issuing": _l("Being issued"), "issued": _l("Issued"), "reversed": _l("Reversed"),
                  "refused": _l("Refused by the tax platform")}
PERSON_FIELDS = {  # a person's fields, to name the one a line of an import got wrong
    "name": _l("Name"), "gender": _l("Gender"), "region_type": _l("Region type"), "id_type": _l("ID type"),
    "id_number": _l("ID number"), "nationality": _l("Nationality"), "mobile": _l("Mobile"), "email": _l("Email"),
    "position": _l("Position"), "entry_dates": _l("Entry dates"), "exhibition_area": _l("Exhibition area most wanted"),
    "pickup_method": _l("How the badge reaches the person"), "requested_label": _l("Badge type"),
    "privacy_consent": _l("Privacy policy"),
}
PREVIOUS_ORDER_STATUS = {"paid": _l("Paid"), "refunded": _l("Refunded"), "partly_refunded": _l("Partly refunded"),
                         "cancelled": _l("Cancelled")}
REVERSAL_STATUS = {"requested": _l("Waiting for finance"), "approved": _l("Reversed"), "rejected": _l("Declined")}
REFUND_STATUS = {"requested": _l("Requested"), "approved": _l("Approved"), "processing": _l("Being refunded"),
                 "completed": _l("Completed"), "failed": _l("Failed"), "rejected": _l("Rejected")}
REFUND_STATUS_TONE = {"requested": "wait", "approved": "info", "processing": "info", "completed": "good",
                      "failed": "bad", "rejected": "bad"}
REFUND_ROUTES = {"original": _l("Back by the original route"), "other_account": _l("To another account")}
PAYABLE_STATUS = {"awaiting_payment": _l("Awaiting payment"), "in_order": _l("In an order"), "paid": _l("Paid"),
                  "refundable": _l("Refundable"), "refunding": _l("Refund requested"),
                  "refunded": _l("Refunded"), "delegation_billed": _l("Paid by the delegation"),
                  "cancelled": _l("Cancelled")}
TRANSFER_STATUS = {"submitted": _l("Awaiting the finance desk"), "confirmed": _l("Confirmed"),
                   "rejected": _l("Rejected")}
CREDENTIAL_STATUS = {"queued": _l("Queued for production"), "produced": _l("Produced"),
                     "dispatched": _l("Dispatched"), "ready_for_pickup": _l("Ready for pickup on site"),
                     "delivered": _l("Delivered"), "collected": _l("Collected"), "reused": _l("Reused"),
                     "revoked": _l("Revoked")}
MEMBER_STATUS = {"pending": _l("Waiting for approval"), "approved": _l("Approved"), "rejected": _l("Declined")}
MEMBER_STATUS_TONE = {"pending": "wait", "approved": "good", "rejected": "bad"}
QR_METHODS = {"alipay": _l("Alipay"), "wechat": _l("WeChat Pay"), "unionpay": _l("UnionPay")}
PAY_METHODS = {**QR_METHODS, "b2b": _l("B2B online banking"), "transfer": _l("Bank transfer")}



class _Steps(Mapping[str, Any]):
    """The eight steps' names; the review step is named after the fair's organisation (a
    delegation at CIIE, a host organisation at CIFTIS)."""

    words = {
        "account": _l("Account"), "unit_info": _l("Unit information"), "personnel": _l("Personnel information"),
        "delegation_review": _l("Delegation review"), "payment": _l("Fee payment"),
        "personnel_check": _l("Personnel check"), "production": _l("Badge production"),
        "distribution": _l("Badge distribution"),
    }

    def __getitem__(self, key: str) -> Any:
        organisation = profile().data["organisation"]
        if key == "delegation_review" and organisation["kind"] != "delegation":
            return _l("%(organisation)s review", organisation=fair_text(organisation["label"]).capitalize())
        return self.words[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def __len__(self) -> int:
        return len(self.words)


STEPS = _Steps()


def label(table: Mapping[str, object], value: object) -> str:
    """The word for `value`, or the value itself when the table does not know it. Words
    are looked up once per request: a list repeats the same few many times."""
    if value is None:
        return ""
    cache: dict[tuple[int, str], str] = g.setdefault("_labels", {}) if has_request_context() else {}
    key = (id(table), str(value))
    if key not in cache:
        found = table.get(str(value))
        cache[key] = str(found) if found is not None else str(value)
    return cache[key]


def unit_field_label(name: str) -> str:
    return label(UNIT_FIELDS, name)
