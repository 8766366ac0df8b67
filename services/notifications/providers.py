"""Channels: email over real SMTP, SMS through a provider adapter with a sandbox."""
from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

from shared.db import Database, utcnow
from shared.masking import mask_phone

from .models import SandboxSms

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The provider did not take the message; a later attempt may succeed."""


class UndeliverableMessage(DeliveryError):
    """The message itself can never be sent as it is (a malformed address): no retry."""


def header_safe(value: str) -> str:
    """A header value on one line: user text (a unit name in a subject) may hold line breaks
    or control characters that would end the header or start another one."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


class SmtpSender:
    def __init__(self, host: str, port: int, sender: str, user: str | None = None,
                 password: str | None = None, starttls: bool = False, use_ssl: bool = False, timeout: float = 10):
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.use_ssl, self.timeout = user, password, starttls, use_ssl, timeout

    def send(self, to: str, subject: str, body: str) -> str:
        msg = EmailMessage()
        try:
            msg["From"], msg["To"], msg["Subject"] = self.sender, to, header_safe(subject)
        except ValueError as exc:  # a malformed address: no retry will help
            raise UndeliverableMessage(f"smtp: invalid header ({exc})") from exc
        msg["Message-ID"] = make_msgid(domain="accreditation.local")
        msg.set_content(body)
        try:
            cls = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
            with cls(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}") from exc
        return msg["Message-ID"]


class SandboxSmsProvider:
    """Behaves like an SMS gateway: accepts a message and returns its id, or fails for the
    numbers configured to fail (to exercise retries and the dead letter). With the sandbox
    asked for (ACCR_SANDBOX=1) what a phone receives is kept for the sandbox inbox route;
    otherwise it goes only to this process's log, the number masked."""

    def __init__(self, db: Database, failing_numbers: set[str] | None = None, keep_inbox: bool = True):
        self.db, self.failing_numbers, self.keep_inbox = db, failing_numbers or set(), keep_inbox

    def send(self, phone: str, text: str) -> str:
        if phone in self.failing_numbers:
            raise DeliveryError("sms gateway: temporarily unavailable")
        provider_id = "SMS" + uuid.uuid4().hex[:20].upper()
        if not self.keep_inbox:
            log.info("sandbox SMS %s to %s (not delivered; no sandbox inbox): %s", provider_id, mask_phone(phone), text)
            return provider_id
        with self.db.transaction() as s:
            s.add(SandboxSms(id=provider_id, phone=phone, text=text, received_at=utcnow()))
        return provider_id
