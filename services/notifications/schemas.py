"""Request and response schemas of the notifications API."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.schemas import Int, Strict

class MessageSchema(Strict):
    """A delivery-log row: recipients masked, never the raw address or number."""
    id = fields.String()
    unit_id = fields.String(allow_none=True)
    channel = fields.String()
    template = fields.String()
    language = fields.String()
    recipient = fields.String(attribute="recipient_masked")
    subject = fields.String(allow_none=True)
    status = fields.String()
    attempts = Int()
    provider_id = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class MessageQuerySchema(Strict):
    unit_id = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(("queued", "sending", "sent", "failed", "dead")))


class SandboxSmsQuerySchema(Strict):
    phone = fields.String(required=True)


class SandboxSmsSchema(Strict):
    id = fields.String()
    phone = fields.String()
    text = fields.String()
    received_at = fields.DateTime()


class PreferencesSchema(Strict):
    reminders = fields.Boolean(required=True)


class PreviewQuerySchema(Strict):
    language = fields.String(load_default="zh", validate=validate.OneOf(("zh", "en")))


class PreviewSchema(Strict):
    subject = fields.String()
    email = fields.String()
    sms = fields.String()
