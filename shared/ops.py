"""The operations routes every service API has: its dead letters, listed and replayed
(`/ops/dead-letters`). Operations and the organising committee only."""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate

from . import deadletters
from .http import require
from .schemas import Int, Strict

OPERATORS = ("operations", "organising_committee")
MAX_IDS = 500


class DeadLetterQuerySchema(Strict):
    status = fields.String(load_default="dead", validate=validate.OneOf(["dead", "replayed", "any"]))
    event_type = fields.String(load_default=None, validate=validate.Length(max=64))
    queue = fields.String(load_default=None, validate=validate.Length(max=255))
    page = Int(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = Int(load_default=50, validate=validate.Range(min=1, max=200))


class DeadLetterSchema(Strict):
    id = fields.String()
    queue = fields.String()
    event_id = fields.String()
    event_type = fields.String(allow_none=True)
    reason = fields.String()
    attempts = Int()
    replayable = fields.Boolean()
    status = fields.String()
    times_dead = Int()
    replays = Int()
    first_dead_at = fields.DateTime()
    last_dead_at = fields.DateTime()
    replayed_at = fields.DateTime(allow_none=True)


class DeadLetterPageSchema(Strict):
    items = fields.List(fields.Nested(DeadLetterSchema))
    total = Int()
    page = Int()
    per_page = Int()


class ReplayInSchema(Strict):
    """One or more ids, a filter (event type and/or queue), or all: `all` must be said."""
    ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                      validate=validate.Length(max=MAX_IDS))
    event_type = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    queue = fields.String(load_default=None, validate=validate.Length(min=1, max=255))
    all = fields.Boolean(load_default=False)


class SkippedSchema(Strict):
    id = fields.String()
    reason = fields.String()  # not_found | already_replayed | refused_message | broker_unavailable


class ReplayResultSchema(Strict):
    replayed = fields.List(fields.String())
    skipped = fields.List(fields.Nested(SkippedSchema))


def ops_blueprint() -> Blueprint:
    bp = Blueprint("ops", __name__, url_prefix="/ops", description="Operations: dead letters")

    @bp.route("/dead-letters", methods=["GET"])
    @require(*OPERATORS)
    @bp.arguments(DeadLetterQuerySchema, location="query")
    @bp.response(200, DeadLetterPageSchema)
    def list_dead_letters(query: dict[str, Any]) -> dict[str, Any]:
        deps = current_app.extensions["deps"]
        which = deadletters.Filter(event_type=query["event_type"], queue=query["queue"],
                                   status=None if query["status"] == "any" else query["status"])
        with deps.uow() as (session, _):
            return deadletters.listing(session, deps.dead_letter_model, which, query["page"], query["per_page"])

    @bp.route("/dead-letters/replay", methods=["POST"])
    @require(*OPERATORS)
    @bp.arguments(ReplayInSchema)
    @bp.response(200, ReplayResultSchema)
    def replay_dead_letters(body: dict[str, Any]) -> deadletters.ReplayResult:
        deps = current_app.extensions["deps"]
        which = deadletters.Filter(ids=body["ids"], event_type=body["event_type"], queue=body["queue"])
        return deadletters.replay(deps, which, everything=body["all"])

    return bp
