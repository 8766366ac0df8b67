"""Login throttling: per account and address, per account, per address; Retry-After; the
owner is not shut out by someone failing on purpose from elsewhere."""
from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Session

from shared.errors import Unauthorized
from shared.throttle import LoginFailureMixin, LoginPolicy, guarded_login

NOW = dt.datetime(2026, 10, 14, 9, 0)
POLICY = LoginPolicy(window=dt.timedelta(minutes=15), per_pair=3, per_account=5, per_client=6)


class Base(DeclarativeBase):
    pass


class Failure(LoginFailureMixin, Base):
    pass


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def fail(session, account, client, n, at=NOW):
    for _ in range(n):
        POLICY.failed(session, Failure, account, client, at)
    session.flush()


def test_an_address_that_keeps_failing_on_an_account_is_held_back_with_retry_after(session):
    fail(session, "unit:A", "198.51.100.7", 2)
    assert POLICY.refusal(session, Failure, "unit:A", "198.51.100.7", NOW) is None
    fail(session, "unit:A", "198.51.100.7", 1, NOW + dt.timedelta(minutes=5))
    refusal = POLICY.refusal(session, Failure, "unit:A", "198.51.100.7", NOW + dt.timedelta(minutes=6))
    assert refusal.code == "login_throttled" and refusal.retry_after == 9 * 60 + 1  # the oldest leaves the window
    assert POLICY.refusal(session, Failure, "unit:A", "198.51.100.7", NOW + dt.timedelta(minutes=16)) is None


def test_the_owner_elsewhere_is_not_shut_out_by_one_attackers_failures(session):
    fail(session, "unit:A", "203.0.113.66", 3)
    assert POLICY.refusal(session, Failure, "unit:A", "203.0.113.66", NOW) is not None
    assert POLICY.refusal(session, Failure, "unit:A", "192.0.2.10", NOW) is None


def test_many_addresses_on_one_account_slow_it_down_and_point_to_sms_login(session):
    for i in range(5):
        fail(session, "unit:A", f"203.0.113.{i}", 1)
    refusal = POLICY.refusal(session, Failure, "unit:A", "192.0.2.10", NOW)
    assert refusal.code == "login_throttled" and "SMS" in refusal.message


def test_one_address_trying_many_accounts_is_stopped(session):
    for i in range(6):
        fail(session, f"unit:{i}", "203.0.113.9", 1)
    assert POLICY.refusal(session, Failure, "unit:new", "203.0.113.9", NOW).code == "client_throttled"


def test_guarded_login_records_failures_apart_and_clears_them_on_success(session):
    @contextlib.contextmanager
    def uow():
        yield session, None
        session.flush()

    def wrong(_):
        raise Unauthorized("wrong USCC or password")

    for _ in range(3):
        with pytest.raises(Unauthorized):
            guarded_login(uow, Failure, "unit:A", "198.51.100.7", wrong, POLICY)
    with pytest.raises(Exception) as throttled:
        guarded_login(uow, Failure, "unit:A", "198.51.100.7", lambda s: "token", POLICY)
    assert throttled.value.code == "login_throttled"
    assert guarded_login(uow, Failure, "unit:A", "192.0.2.10", lambda s: "token", POLICY) == "token"
    assert session.query(Failure).filter_by(client="192.0.2.10").count() == 0
