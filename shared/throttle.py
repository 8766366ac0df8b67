"""Login throttling for every password check (units, colleagues, returning units, admins).

Failures are counted per (account, client address), per account and per address over a
sliding window. An account that fails from one address is closed to that address only,
so an attacker cannot shut the real owner out by failing on purpose; many addresses
failing on one account slow it down for everyone, but the owner can still log in with an
SMS code; one address trying many accounts is stopped. Each refusal is a 429 with
Retry-After. Failures are written in their own transaction (the request itself fails).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import DateTime, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import utcnow
from .errors import TooManyRequests, Unauthorized
from .outbox import Emit


class LoginFailureMixin:
    """Columns of a service's `login_failures` table."""
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(160), index=True)  # e.g. "unit:<USCC>", "admin:<username>"
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


@dataclass(frozen=True)
class LoginPolicy:
    window: dt.timedelta = dt.timedelta(minutes=15)
    per_pair: int = 5  # one account from one address
    per_account: int = 20  # one account from all addresses
    per_client: int = 30  # one address, all accounts

    def refusal(self, session: Session, model: type[Any], account: str, client: str,
                now: dt.datetime | None = None) -> TooManyRequests | None:
        """The 429 to answer before the password is even checked, or None."""
        now = now or utcnow()
        since = now - self.window

        def oldest(*conditions: object) -> tuple[int, dt.datetime | None]:
            count, first = session.execute(select(func.count(), func.min(model.at))
                                           .where(model.at > since, *conditions)).one()  # type: ignore[arg-type]
            return count, first

        for conditions, limit, code, message in (
            ((model.account == account, model.client == client), self.per_pair, "login_throttled",
             "too many failed logins from here; try again later or log in with an SMS code"),
            ((model.account == account,), self.per_account, "login_throttled",
             "too many failed logins on this account; log in with an SMS code or reset the password"),
            ((model.client == client,), self.per_client, "client_throttled",
             "too many failed logins from this address; try again later"),
        ):
            count, first = oldest(*conditions)
            if count >= limit and first is not None:
                wait = int((first + self.window - now).total_seconds()) + 1
                return TooManyRequests(code, message, None, retry_after=max(wait, 1))
        return None

    def failed(self, session: Session, model: type[Any], account: str, client: str,
               now: dt.datetime | None = None) -> None:
        now = now or utcnow()
        session.add(model(account=account, client=client, at=now))
        session.execute(delete(model).where(model.at < now - 2 * self.window))  # keep the table small

    def succeeded(self, session: Session, model: type[Any], account: str, client: str) -> None:
        session.execute(delete(model).where(model.account == account, model.client == client))


DEFAULT_POLICY = LoginPolicy()


UnitOfWork = Callable[[], AbstractContextManager[tuple[Session, Emit]]]
T = TypeVar("T")


def guarded_login(uow: UnitOfWork, model: type[Any], account: str, client: str | None,
                  attempt: Callable[[Session], T], policy: LoginPolicy = DEFAULT_POLICY) -> T:
    """Run `attempt` (a password check that raises Unauthorized when wrong) under the policy:
    refused with 429 while throttled, the failure recorded when it fails."""
    client = client or "unknown"
    with uow() as (s, _):
        refusal = policy.refusal(s, model, account, client)
    if refusal is not None:
        raise refusal
    try:
        with uow() as (s, _):
            result = attempt(s)
            policy.succeeded(s, model, account, client)
            return result
    except Unauthorized:
        with uow() as (s, _):
            policy.failed(s, model, account, client)
        raise
