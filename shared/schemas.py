"""Schema helpers every service's schemas.py uses."""
from __future__ import annotations

from marshmallow import Schema, fields


class Strict(Schema):
    """Fields keep their declared order in requests' error lists and in the OpenAPI document."""

    class Meta:
        ordered = True


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    """A page of `item_schema` rows: items, total, page, per_page."""
    return type(name, (Strict,), {"items": fields.List(fields.Nested(item_schema)), "total": fields.Integer(),
                                  "page": fields.Integer(), "per_page": fields.Integer()})
