"""Registration's dependencies, built once per process from configuration: the cipher for
personal data at rest, the RPC-backed senders of codes and emails, the invitation-code
claims, and the edition's days and deadlines."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from shared.config import Readiness
from shared.crypto import FieldCipher
from shared.fair import fair
from shared.nameko_edge import RpcClient
from shared.service import ServiceDeps

from . import models
from .domain.deadlines import deadlines, reminder_days
from .domain.personnel import fair_days
from .domain.verification import SMS_MAX_PER_CLIENT_PER_HOUR
from .providers import (
    Emails, EmailsOverRpc, InvitationCodes, InvitationCodesOverRpc, SmsCodes, SmsCodesOverRpc,
)

SERVICE = "registration"


@dataclass
class RegistrationDeps(ServiceDeps):
    cipher: FieldCipher
    sms_codes: SmsCodes
    emails: Emails
    invitation_codes: InvitationCodes
    fair_days: list[dt.date]
    deadlines: dict[str, dt.datetime]  # "submission", "payment": naive UTC
    reminder_days: list[int]
    sms_per_client_per_hour: int

    @property
    def edition(self) -> str:
        return self.settings.edition


@functools.cache
def bootstrap() -> RegistrationDeps:
    parts = ServiceDeps.infrastructure(SERVICE, models)
    settings = parts["settings"]
    ready = Readiness(settings)
    key = ready.key("DATA_KEY", settings.data_dir / "keys" / f"{SERVICE}.key")
    cipher = FieldCipher(key)
    models.CIPHER.use(cipher)  # phones and emails at rest
    ready.verify()
    rpc = RpcClient(settings.amqp_uri)
    return RegistrationDeps(
        **parts, cipher=cipher, sms_codes=SmsCodesOverRpc(rpc),
        emails=EmailsOverRpc(rpc), invitation_codes=InvitationCodesOverRpc(rpc),
        fair_days=fair_days(settings.get("FAIR_DAYS") or fair().edition(settings.edition).days_text), deadlines=deadlines(settings),
        reminder_days=reminder_days(settings),
        sms_per_client_per_hour=int(settings.get("SMS_MAX_PER_CLIENT_PER_HOUR", str(SMS_MAX_PER_CLIENT_PER_HOUR))))
