"""Billing's dependencies, built once per process from configuration: the payment
provider (the sandbox here), its refunds, the e-invoicing platform, the invoice number
prefix, the payment deadlines per method and how long an order may stay unpaid. The fee is
not billing's: review's edition setting arrives on the events that create payables."""
from __future__ import annotations

import base64
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Protocol

from shared.changes import ChangeWaiters
from shared.config import Readiness, Settings
from shared.crypto import load_key
from shared.service import ServiceDeps
from shared.times import parse_moment

from . import models
from .domain.orders import ORDER_CHANGES
from .providers import ProviderPayment, SandboxEInvoicing, SandboxPaymentProvider, SandboxPaymentRefunds

SERVICE = "billing"


class PaymentProvider(Protocol):
    @property
    def name(self) -> str:
        """The provider's name in callback URLs and payment rows."""
        ...

    def create_payment(self, order_no: str, amount_fen: int, method: str, notify_url: str,
                       request_key: str) -> ProviderPayment:
        """Open a payment; the provider notifies `notify_url` once the payer has paid. Asked
        again with the same `request_key`, it answers the same payment."""
        ...

    def verify(self, params: dict[str, Any]) -> bool:
        """Whether a notification's signature is the provider's."""
        ...


class RefundProvider(Protocol):
    def refund(self, refund_id: str, original_txn_id: str, method: str, amount_fen: int,
               payee: dict[str, Any] | None, notify_url: str) -> str:
        """Send a refund; the provider's refund id (the outcome arrives at `notify_url`)."""
        ...


class EInvoicing(Protocol):
    def issue(self, invoice_no: str, kind: str, title: str, tax_no: str | None, amount_fen: int,
              order_no: str) -> bytes:
        """File an invoice; its PDF, or ProviderRefused."""
        ...


@dataclass
class BillingDeps(ServiceDeps):
    payment_provider: PaymentProvider
    refund_provider: RefundProvider
    einvoicing: EInvoicing
    invoice_prefix: str
    payment_deadlines: dict[str, dt.datetime]  # "transfer" and/or "online", naive UTC
    order_ttl: dt.timedelta
    order_waiters: ChangeWaiters  # requests waiting for an order to be paid (a server thread each)

    @property
    def payment_notify_url(self) -> str:
        return f"{self.settings.public_base_url}/api/billing/callbacks/{self.payment_provider.name}"

    @property
    def refund_notify_url(self) -> str:
        return f"{self.settings.public_base_url}/api/billing/callbacks/sandbox/refunds"


def callback_secret(settings: Settings) -> str:
    """The key the sandbox provider signs its callbacks with: configured, or one generated for
    this data folder (never a constant anyone could read in the source)."""
    configured = settings.get("PAYMENT_SANDBOX_SECRET")
    if configured:
        return configured
    return base64.urlsafe_b64encode(load_key(None, settings.data_dir / "keys" / "payment-sandbox.key")).decode()


def payment_deadlines(settings: Settings) -> dict[str, dt.datetime]:
    """TRANSFER_DEADLINE and ONLINE_PAYMENT_DEADLINE (ISO 8601) as naive UTC: an offset such
    as +08:00 is converted, a moment without one is UTC."""
    return {kind: parse_moment(value) for kind, value in (
        ("transfer", settings.get("TRANSFER_DEADLINE")), ("online", settings.get("ONLINE_PAYMENT_DEADLINE"))) if value}


def _listed(value: str | None) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}


@functools.cache
def bootstrap() -> BillingDeps:
    parts = ServiceDeps.infrastructure(SERVICE, models)
    settings = parts["settings"]
    get = settings.get
    ready = Readiness(settings)
    ready.no_sandbox("payment provider (QR, B2B and refunds)")
    ready.no_sandbox("e-invoicing platform")
    ready.token_keys(issuer=False)
    ready.verify()
    payments = SandboxPaymentProvider(parts["db"], callback_secret(settings), settings.public_base_url,
                                      callback_delay=float(get("PAYMENT_SANDBOX_CALLBACK_DELAY", "0.2")))
    return BillingDeps(
        **parts, payment_provider=payments,
        refund_provider=SandboxPaymentRefunds(payments, _listed(get("REFUND_SANDBOX_FAIL_ACCOUNTS"))),
        einvoicing=SandboxEInvoicing(failing_titles=_listed(get("EINVOICE_SANDBOX_FAIL_TITLES"))),
        invoice_prefix=get("INVOICE_PREFIX", settings.edition[-2:] + "44"),
        payment_deadlines=payment_deadlines(settings),
        order_ttl=dt.timedelta(minutes=int(get("ORDER_TTL_MINUTES", "120"))),
        # below the API's threads per process (32): the rest keep serving while these wait
        order_waiters=ChangeWaiters(parts["db"], ORDER_CHANGES, max_waiters=int(get("ORDER_WAITERS_PER_PROCESS", "24"))))
