"""Schema helpers every service's schemas.py uses.

Every request is hostile until shown otherwise: `Strict` refuses control characters in
any text it loads (a CR/LF in a company name once reached an email header), and `Int`
bounds every integer to what the databases and the rules can hold.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, pre_load

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1  # PostgreSQL integer; larger inputs are never meaningful here
# C0/C1 controls, DEL, and the Unicode line and paragraph separators (a header or a log line
# must not be split by user input); tabs and newlines are allowed only in multi-line fields.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = re.compile(r"[\t\r\n]")
CONTROL_MESSAGE = "control characters and line breaks are not allowed here"


def text_problem(value: str, multiline: bool = False) -> str | None:
    if _CONTROL.search(value) or (not multiline and _LINE_BREAKS.search(value)):
        return CONTROL_MESSAGE
    return None


def _text_errors(value: Any, multiline: bool) -> Any:
    """The error tree for the strings inside `value` (None when they are all clean)."""
    if isinstance(value, str):
        problem = text_problem(value, multiline)
        return [problem] if problem else None
    if isinstance(value, Mapping):
        found = {k: e for k, v in value.items() if (e := _text_errors(v, multiline)) is not None}
        return found or None
    if isinstance(value, (list, tuple)):
        found_at = {i: e for i, v in enumerate(value) if (e := _text_errors(v, multiline)) is not None}
        return found_at or None
    return None


class Strict(Schema):
    """Fields keep their declared order in requests' error lists and in the OpenAPI document.
    Text loaded through it may hold no control characters; only the fields named in
    `MULTILINE` may hold line breaks (comments, reasons)."""
    MULTILINE: ClassVar[frozenset[str]] = frozenset({"comment", "reason", "remarks", "introduction", "note"})

    class Meta:
        ordered = True

    @pre_load
    def refuse_control_characters(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {key: e for key, value in data.items()
                      if (e := _text_errors(value, key in self.MULTILINE)) is not None}
            if errors:
                raise ValidationError(errors)
        return data


class Int(fields.Integer):
    """An integer within what a database column holds, whatever else the field allows."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number = super()._deserialize(value, attr, data, **kwargs)
        if number is not None and not INT_MIN <= number <= INT_MAX:
            raise ValidationError(f"must be between {INT_MIN} and {INT_MAX}")
        return number


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """A page of `item_schema` rows: items, total, page, per_page."""
    return type(name, (Strict,), {"items": fields.List(fields.Nested(item_schema)), "total": fields.Integer(),
                                  "page": fields.Integer(), "per_page": fields.Integer()})
