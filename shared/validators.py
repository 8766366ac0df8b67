"""Identity-number validators shared by every service.

`is_valid_uscc` follows GB 32100-2015 (统一社会信用代码) and `is_valid_resident_id`
follows GB 11643-1999 (公民身份号码). Both are strict: no trimming, upper case only;
callers normalise user input before asking.
"""
from __future__ import annotations

import datetime as _dt
import re

# GB 32100-2015 character set: digits and upper-case letters without I, O, Z, S, V.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# First character: the registering authority (登记管理部门代码).
USCC_AUTHORITIES = set("123456789ABNY")

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"
# Province-level codes of GB/T 2260 used in the first two digits.
PROVINCE_CODES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83", "91",
}


def uscc_check_char(first17: str) -> str:
    """The check character (18th) for the first 17 characters of a USCC."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True when `code` is an 18-character USCC whose mod-31 check character matches."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in USCC_CHARSET for c in code):
        return False
    if code[0] not in USCC_AUTHORITIES or not (code[2:8].isascii() and code[2:8].isdigit()):
        return False
    return uscc_check_char(code[:17]) == code[17]


def resident_id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS))
    return RESIDENT_ID_CHECK[total % 11]


def resident_id_birth_date(number: str) -> _dt.date | None:
    """The birth date encoded in positions 7-14, or None when it is not a real date."""
    try:
        return _dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def is_valid_resident_id(number: str, today: _dt.date | None = None) -> bool:
    """True for an 18-character mainland resident ID with a valid check character and a
    real birth date that is neither in the future nor before 1900."""
    if not isinstance(number, str) or len(number) != 18:
        return False
    body, check = number[:17], number[17]
    if not body.isascii() or not body.isdigit() or check not in "0123456789X":
        return False
    if body[:2] not in PROVINCE_CODES:
        return False
    born = resident_id_birth_date(number)
    today = today or _dt.date.today()
    if born is None or born > today or born.year < 1900:
        return False
    return resident_id_check_char(body) == check


# A unit without a USCC (Hong Kong, Macao, Taiwan, overseas) registers with its company or
# business registration number: 4 to 17 letters, digits and inner hyphens (18 characters
# are a USCC's). An individual visitor's account key is "P" and 17 hexadecimal characters.
REGISTRATION_NO_PATTERN = r"[A-Z0-9][A-Z0-9-]{2,15}[A-Z0-9]"
INDIVIDUAL_KEY_PATTERN = r"P[0-9A-F]{17}"


def is_valid_unit_key(code: str) -> bool:
    """True for what a unit logs in with and quotas are keyed by: a valid USCC, a
    registration number, or an individual's pseudonymous key."""
    if not isinstance(code, str):
        return False
    if len(code) == 18:
        return is_valid_uscc(code) or re.fullmatch(INDIVIDUAL_KEY_PATTERN, code) is not None
    return re.fullmatch(REGISTRATION_NO_PATTERN, code) is not None
