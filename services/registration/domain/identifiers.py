"""What identifies an account at sign-up and login (注册标识): a mainland unit's USCC, the
registration number of a Hong Kong, Macao, Taiwan or overseas unit (they have no USCC), or
— for an individual visitor (个人, 非单位观众) — the person's own ID document: a mainland
resident ID, an HK/Macao or Taiwan travel permit (回乡证, 台胞证), a passport.

An individual's document number is personal data: it is never stored or sent as it is.
The account's key (the `uscc` column, the login, what review sees) is then a pseudonym,
"P" and 17 characters of a keyed hash of the number; the unit page shows it masked."""
from __future__ import annotations

import re
from typing import Any

from shared.errors import DomainError
from shared.fair import FairProfile, fair
from shared.masking import mask_id_number
from shared.validators import REGISTRATION_NO_PATTERN, is_valid_resident_id, is_valid_uscc

UNIT_IDENTIFIER_TYPES = ("uscc", "registration_no")
PERSONAL_ID_TYPES = ("resident_id", "hk_macao_permit", "taiwan_permit", "passport")
IDENTIFIER_TYPES = UNIT_IDENTIFIER_TYPES + PERSONAL_ID_TYPES
INDIVIDUAL_CATEGORY = "individual"

# (a unit or a person, region) -> the identifiers it may register with; which a visitor kind
# is, the fair's profile says (a kind marked `individual` registers people)
ALLOWED = {
    ("unit", "mainland"): ("uscc",),
    ("unit", "hk_macao_taiwan"): ("registration_no",),
    ("unit", "overseas"): ("registration_no",),
    ("individual", "mainland"): ("resident_id",),
    ("individual", "hk_macao_taiwan"): ("hk_macao_permit", "taiwan_permit"),
    ("individual", "overseas"): ("passport",),
}

ID_NUMBER_PATTERNS = {
    "hk_macao_permit": re.compile(r"[HM][0-9]{8}([0-9]{2})?"),  # 港澳居民来往内地通行证
    "taiwan_permit": re.compile(r"[0-9]{8}([0-9]{2})?"),  # 台湾居民来往大陆通行证
    "passport": re.compile(r"[A-Z0-9]{5,20}"),
}
# A company or business registration number (HK BR, Macao 商業登記, Taiwan 統一編號, a foreign
# register's number): letters, digits and inner hyphens, 4 to 17 characters.
REGISTRATION_NO = re.compile(REGISTRATION_NO_PATTERN)
# Names in Latin script (foreigners, 境外): letters, with spaces, hyphens, apostrophes and dots.
LATIN_NAME = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+([ .'-]+[A-Za-zÀ-ÖØ-öø-ÿ]+)*\.?")


def is_valid_id_number(id_type: str, number: str) -> bool:
    if id_type == "resident_id":
        return is_valid_resident_id(number)
    pattern = ID_NUMBER_PATTERNS.get(id_type)
    return pattern is not None and pattern.fullmatch(number) is not None


def check_latin_name(name: str, field: str = "name") -> None:
    if not LATIN_NAME.fullmatch(name.strip()):
        raise DomainError("name_not_latin", "a name from outside China is written in Latin letters, as in the passport",
                          field)


def individual_key(lookup_hash: Any, number: str) -> str:
    """The pseudonymous account key of an individual visitor (never the number itself)."""
    return "P" + lookup_hash("individual:" + number)[:17].upper()


def check_identifier(visitor_kind: str, region: str, identifier_type: str, identifier: str,
                     profile: FairProfile | None = None) -> None:
    profile = profile or fair()
    if visitor_kind not in profile.visitor_kinds:
        raise DomainError("invalid_visitor_kind", f"visitor_kind must be one of {', '.join(profile.visitor_kinds)}",
                          "visitor_kind")
    allowed = ALLOWED.get(("individual" if profile.is_individual(visitor_kind) else "unit", region), ())
    if identifier_type not in allowed:
        raise DomainError("invalid_identifier_type",
                          f"this kind of visitor registers with {' or '.join(allowed) or 'nothing'}",
                          "identifier_type")
    if identifier_type == "uscc":
        if not is_valid_uscc(identifier):
            raise DomainError("invalid_uscc", "USCC check character does not match (GB 32100-2015)", "uscc")
    elif identifier_type == "registration_no":
        if not REGISTRATION_NO.fullmatch(identifier):
            raise DomainError("invalid_registration_no",
                              "a registration number has 4 to 17 letters, digits or hyphens", "identifier")
    elif not is_valid_id_number(identifier_type, identifier):
        raise DomainError("invalid_id_number", f"not a valid {identifier_type.replace('_', ' ')} number",
                          "identifier")


def resolve_identity(data: dict[str, Any], lookup_hash: Any, profile: FairProfile | None = None) -> dict[str, Any]:
    """The sign-up with its identifier checked and its account key in `uscc`: the USCC or
    registration number as given, an individual's pseudonym. Deterministic, so calling it
    again on its own answer gives the same answer."""
    data = dict(data)
    identifier_type = data.get("identifier_type") or "uscc"
    identifier = (data.get("identifier") or data.get("uscc") or "").strip().upper()
    profile = profile or fair()
    visitor_kind, region = data.get("visitor_kind") or profile.default_visitor_kind(), data.get("region") or "mainland"
    check_identifier(visitor_kind, region, identifier_type, identifier, profile)
    if identifier_type in PERSONAL_ID_TYPES:
        data["category"] = INDIVIDUAL_CATEGORY
        if region != "mainland":
            check_latin_name(data.get("name") or "")
        data["uscc"] = individual_key(lookup_hash, identifier)
        data["identifier_masked"] = mask_id_number(identifier) or ""
    else:
        data["uscc"] = identifier
        data["identifier_masked"] = None
    data["identifier_type"], data["identifier"] = identifier_type, identifier
    return data


def login_keys(lookup_hash: Any, given: str) -> list[str]:
    """The account keys a login name may stand for: a USCC or registration number as
    typed, or an individual's document number (its pseudonym)."""
    given = (given or "").strip().upper()
    if not given or len(given) > 40:
        return []
    return [given, individual_key(lookup_hash, given)]


def throttle_account(lookup_hash: Any, given: str) -> str:
    """The login-throttling key: a USCC as it is, anything else (it may be a passport) hashed."""
    given = (given or "").strip().upper()
    return f"unit:{given}" if is_valid_uscc(given) else f"unit:h:{lookup_hash('login:' + given)[:32]}"
