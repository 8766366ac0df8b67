"""Channels: email over real SMTP, SMS through a provider adapter with a sandbox."""
from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

from shared.db import Database, utcnow

from .models import SandboxSms


class DeliveryError(Exception):
    pass


class SmtpSender:
    def __init__(self, host: str, port: int, sender: str, user: str | None = None,
                 password: str | None = None, starttls: bool = False, use_ssl: bool = False, timeout: float = 10):
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.use_ssl, self.timeout = user, password, starttls, use_ssl, timeout

    def send(self, to: str, subject: str, body: str) -> str:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
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
    numbers configured to fail (to exercise retries and the dead letter)."""

    def __init__(self, db: Database, failing_numbers: set[str] | None = None):
        self.db, self.failing_numbers = db, failing_numbers or set()

    def send(self, phone: str, text: str) -> str:
        if phone in self.failing_numbers:
            raise DeliveryError("sms gateway: temporarily unavailable")
        provider_id = "SMS" + uuid.uuid4().hex[:20].upper()
        with self.db.transaction() as s:
            s.add(SandboxSms(id=provider_id, phone=phone, text=text, received_at=utcnow()))
        return provider_id
