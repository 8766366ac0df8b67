"""Notifications HTTP API: the delivery log for operations and the SMS sandbox's inbox."""
from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from shared.errors import NotFound
from shared.http import caller_unit_id, require

from . import domain
from .bootstrap import bootstrap
from .models import Message, Preference, SandboxSms
from .schemas import (
    MessageQuerySchema, MessageSchema, PreferencesSchema, PreviewQuerySchema, PreviewSchema, SandboxSmsQuerySchema,
    SandboxSmsSchema,
)

bp = Blueprint("notifications", __name__, description="Email and SMS")
# The sandboxes' own routes (what a phone or an outside party would do): registered only with
# ACCR_SANDBOX=1, never in production.
sandbox_bp = Blueprint("notifications-sandbox", __name__, description="Sandbox providers (ACCR_SANDBOX=1 only)")
OPERATIONS = ("operations", "organising_committee")
ADMINS = ("operations", "organising_committee", "delegation_secretariat", "sub_delegation_admin", "finance")


@bp.route("/messages", methods=["GET"])
@require(*OPERATIONS)
@bp.arguments(MessageQuerySchema, location="query")
@bp.response(200, MessageSchema(many=True))
def messages(args):
    with bootstrap().uow() as (s, _):
        return domain.delivery_log(s, args["unit_id"], args["status"])


@bp.route("/messages/<message_id>/resend", methods=["POST"])
@require(*OPERATIONS)
@bp.response(200, MessageSchema)
def resend(message_id):
    deps = bootstrap()
    with deps.uow() as (s, _):
        if domain.resend(s, message_id) is None:
            raise NotFound("message", "message_id")
    domain.deliver(deps, [message_id])
    with deps.uow() as (s, _):
        return s.get(Message, message_id)


@sandbox_bp.route("/sandbox/sms", methods=["GET"])
@sandbox_bp.arguments(SandboxSmsQuerySchema, location="query")
@sandbox_bp.response(200, SandboxSmsSchema(many=True))
def sandbox_sms(args):
    """Sandbox only: the messages the given phone has received."""
    with bootstrap().uow() as (s, _):
        return list(s.scalars(select(SandboxSms).where(SandboxSms.phone == args["phone"])
                              .order_by(SandboxSms.received_at)))


@bp.route("/templates/<template>/preview", methods=["GET"])
@require(*ADMINS)
@bp.arguments(PreviewQuerySchema, location="query")
@bp.response(200, PreviewSchema)
def preview(args, template):
    """A template rendered with sample data, in Chinese or English."""
    try:
        return domain.preview(template, args["language"], bootstrap().settings.public_base_url)
    except KeyError:
        raise NotFound("template", "template") from None


@bp.route("/units/me/preferences", methods=["GET"])
@require("unit_contact")
@bp.response(200, PreferencesSchema)
def get_preferences():
    with bootstrap().uow() as (s, _):
        pref = s.get(Preference, caller_unit_id())
        return {"reminders": pref.reminders if pref else True}


@bp.route("/units/me/preferences", methods=["PUT"])
@require("unit_contact")
@bp.arguments(PreferencesSchema)
@bp.response(200, PreferencesSchema)
def put_preferences(data):
    """Opt out of (or back into) deadline reminders; codes and results always arrive."""
    with bootstrap().uow() as (s, _):
        return domain.set_preferences(s, caller_unit_id(), data["reminders"])
