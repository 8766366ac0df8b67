"""The portal's typed settings and its API client, built once per process from the
environment. The portal has no database: everything it shows comes from the services'
APIs, called with the signed-in user's token."""
from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from shared.config import data_dir, env
from shared.crypto import load_key
from shared.fair import fair

from .client import ApiClient, ApiProblem, ApiUnavailable

SERVICES = ("registration", "review", "credentials", "billing", "notifications")


def _flag(name: str, default: bool) -> bool:
    value = env(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _date_range(value: str) -> tuple[dt.date, dt.date]:
    start, end = value.split("..")
    return dt.date.fromisoformat(start), dt.date.fromisoformat(end)


def _deadline(name: str) -> dt.datetime | None:
    value = env(name)
    return dt.datetime.fromisoformat(value).replace(tzinfo=None) if value else None


@dataclass(frozen=True)
class PortalSettings:
    """What the portal needs to know; every value has a zero-setup default."""
    api_url: str  # the gateway: {api_url}/api/<service>/...
    service_urls: dict[str, str]  # direct service URLs that bypass the gateway (optional)
    secret_key: bytes
    cookie_secure: bool
    proxy_hops: int  # reverse proxies in front of the portal (nginx: 1); 0 trusts no X-Forwarded-For
    sandbox: bool  # ACCR_SANDBOX=1: the sandbox phone and payer pages exist
    edition: str
    fair_days: tuple[dt.date, dt.date]
    deadlines: dict[str, dt.datetime] = field(default_factory=dict)
    api_timeout: float = 15.0
    transfer_payee: dict[str, str] = field(default_factory=dict)

    @property
    def fair_day_list(self) -> list[dt.date]:
        first, last = self.fair_days
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def load_portal_settings() -> PortalSettings:
    public_url = env("PUBLIC_BASE_URL", "http://127.0.0.1:8080") or ""
    service_urls = {s: url.rstrip("/") for s in SERVICES if (url := env(f"PORTAL_{s.upper()}_URL"))}
    secret = env("PORTAL_SECRET_KEY")
    edition = env("FAIR_EDITION") or fair().edition().id
    return PortalSettings(
        api_url=(env("PORTAL_API_URL", "http://127.0.0.1:8080") or "").rstrip("/"),
        service_urls=service_urls,
        # a generated secret under the data folder for the zero-config run, like the JWT keys
        secret_key=secret.encode() if secret else load_key(None, data_dir() / "keys" / "portal-secret.key"),
        cookie_secure=_flag("PORTAL_COOKIE_SECURE", public_url.startswith("https://")),
        proxy_hops=int(env("PORTAL_PROXY_HOPS", "0") or 0),
        sandbox=_flag("ACCR_SANDBOX", False),
        edition=edition,
        fair_days=_date_range(env("FAIR_DAYS") or fair().edition(edition).days_text),
        deadlines={k: d for k, name in (("registration", "REGISTRATION_DEADLINE"),
                                        ("transfer", "TRANSFER_DEADLINE"),
                                        ("online_payment", "ONLINE_PAYMENT_DEADLINE"))
                   if (d := _deadline(name))},
        api_timeout=float(env("PORTAL_API_TIMEOUT", "15") or 15),
        transfer_payee={
            "name": env("PORTAL_TRANSFER_PAYEE_NAME", "中国国际进口博览局（示例）") or "",
            "account": env("PORTAL_TRANSFER_PAYEE_ACCOUNT", "1001 2345 6789 0000 001") or "",
            "bank": env("PORTAL_TRANSFER_PAYEE_BANK", "中国工商银行上海分行（示例）") or "",
        },
    )


@dataclass
class Portal:
    """The process-wide dependencies: settings and one pooled API client."""
    settings: PortalSettings
    api: ApiClient
    _edition: dict[str, Any] = field(default_factory=dict)
    _edition_lock: threading.Lock = field(default_factory=threading.Lock)

    def edition_fee(self) -> int | None:
        """The fee review charges this edition (its setting is the one source), asked at most
        once a minute; None when review cannot say (not remembered: the next page asks again)."""
        with self._edition_lock:
            if time.monotonic() - self._edition.get("at", -EDITION_TTL) < EDITION_TTL:
                return self._edition.get("fee_fen")
        try:
            fee = self.api.request("GET", "review", "/edition").json().get("fee_fen")
        except (ApiProblem, ApiUnavailable, ValueError, AttributeError):
            return None
        fee = fee if isinstance(fee, int) and not isinstance(fee, bool) else None
        with self._edition_lock:
            self._edition.update(at=time.monotonic(), fee_fen=fee)
        return fee


EDITION_TTL = 60.0  # seconds a page reuses review's answer about the edition


def build(settings: PortalSettings | None = None, api_wsgi: Any = None) -> Portal:
    """`api_wsgi`: the services' WSGI app in this process (the one-process gateway), called
    directly instead of over HTTP."""
    settings = settings or load_portal_settings()
    return Portal(settings, ApiClient(settings.api_url, settings.service_urls, settings.api_timeout,
                                      wsgi_app=api_wsgi))


@functools.lru_cache(maxsize=None)
def default_portal() -> Portal:
    return build()
