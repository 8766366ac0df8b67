"""Credentials' dependencies, built once per process from configuration: the key that
signs QR references, how long the police have to answer a check before it is sent
again (and how often, before operations are told), the fair's time zone (which day it is
at the gate) and the clock."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from shared.config import Readiness
from shared.db import utcnow
from shared.service import ServiceDeps

from . import models

SERVICE = "credentials"


class RegistrationRpc(Protocol):
    """Registration's RPC answers credentials relies on: personal data travels point to
    point, never on events."""

    def person_dossier(self, person_id: str) -> dict[str, Any] | None:
        """Name, identity document, unit and card details of a person, or None."""
        ...

    def person_photo(self, person_id: str) -> str | None:
        """The photo for the card face (base64 JPEG), or None."""
        ...

    def default_address(self, unit_id: str) -> dict[str, Any] | None:
        """Where the courier takes the unit's credentials, or None."""
        ...


class Rpc(Protocol):
    """The RPC proxies a worker hands to handlers (`ctx.rpc`) and sweeps."""

    @property
    def registration(self) -> RegistrationRpc: ...


@dataclass
class CredentialsDeps(ServiceDeps):
    qr_secret: bytes
    check_timeout: dt.timedelta
    check_max_sends: int
    fair_timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    clock: Callable[[], dt.datetime] = utcnow  # naive UTC, like every stored time

    @property
    def fair_name(self) -> str:
        """The edition as printed on the cards ("CIIE-2026" → "CIIE 2026")."""
        return self.settings.edition.replace("-", " ")


@functools.cache
def bootstrap() -> CredentialsDeps:
    parts = ServiceDeps.infrastructure(SERVICE, models)
    settings = parts["settings"]
    ready = Readiness(settings)
    qr_secret = ready.key("QR_KEY", settings.data_dir / "keys" / "credentials-qr.key")
    ready.token_keys(issuer=False)
    ready.verify()
    return CredentialsDeps(
        **parts, qr_secret=qr_secret,
        check_timeout=dt.timedelta(seconds=float(settings.get("CHECK_TIMEOUT_SECONDS", "3600"))),
        check_max_sends=int(settings.get("CHECK_MAX_SENDS", "3")),
        fair_timezone=ZoneInfo(settings.get("FAIR_TIMEZONE", "Asia/Shanghai")))
