"""Revoked tokens remembered per process, against real PostgreSQL: the answer is kept while
the process listens, forgotten the moment another process records a revocation (its NOTIFY),
at once when this process records one, and never kept from a read the change overtook."""
from __future__ import annotations

import uuid

from sqlalchemy import text

from services.billing.models import TokenRevocation
from shared.auth import Principal
from shared.db import Database, utcnow
from shared.revocation import REVOCATIONS_CHANNEL, RevocationCache, record_revocation
from tests.infra import wait_for


def principal(subject: str, version: int = 0) -> Principal:
    return Principal(subject, "unit_contact", subject, None, version)


def revoke_elsewhere(url: str, subject: str, min_version: int) -> None:
    """Another process records a revocation: its own connection, its NOTIFY at commit."""
    other = Database(url)
    with other.transaction() as s:
        s.execute(text("INSERT INTO token_revocations (subject_id, min_version, revoked_at) VALUES (:s, :v, :at) "
                       "ON CONFLICT (subject_id) DO UPDATE SET min_version = :v"),
                  {"s": subject, "v": min_version, "at": utcnow()})
        s.execute(text("SELECT pg_notify(:c, :s)"), {"c": REVOCATIONS_CHANNEL, "s": subject})
    other.engine.dispose()


def test_an_answer_is_remembered_and_forgotten_when_another_process_revokes(infra):
    url = infra["urls"]["billing"]
    db = Database(url)
    cache = RevocationCache(db, TokenRevocation)
    subject = uuid.uuid4().hex
    cache.revoked(principal(subject))
    wait_for(lambda: cache.listener.connected, timeout=10, message="the cache to listen")
    assert cache.revoked(principal(subject)) is False  # read, then remembered
    assert subject in cache._known
    revoke_elsewhere(url, subject, 1)
    wait_for(lambda: cache.revoked(principal(subject)) is True, timeout=5, message="the revocation to be heard")
    assert cache.revoked(principal(subject, version=1)) is False  # a newer token still works
    db.engine.dispose()


def test_this_process_forgets_at_once_what_it_revokes(infra):
    db = Database(infra["urls"]["billing"])
    cache = RevocationCache(db, TokenRevocation)
    subject = uuid.uuid4().hex
    cache.revoked(principal(subject))
    wait_for(lambda: cache.listener.connected, timeout=10, message="the cache to listen")
    assert cache.revoked(principal(subject)) is False
    with db.transaction() as s:
        record_revocation(s, TokenRevocation, subject, 3)
    assert cache.revoked(principal(subject, version=2)) is True  # no wait: forgotten at the commit


def test_a_read_overtaken_by_a_change_is_not_kept(infra):
    db = Database(infra["urls"]["billing"])
    cache = RevocationCache(db, TokenRevocation)
    subject = uuid.uuid4().hex
    cache.revoked(principal(subject))
    wait_for(lambda: cache.listener.connected, timeout=10, message="the cache to listen")
    real = cache._versions

    def read_then_change(subjects):  # a revocation heard between the read and the keeping
        versions = real(subjects)
        cache.forget(subject)
        return versions

    cache._versions = read_then_change  # type: ignore[method-assign]
    assert cache.revoked(principal(subject)) is False
    assert subject not in cache._known


def test_without_a_listener_every_request_asks_the_database(infra):
    db = Database(infra["urls"]["billing"])
    cache = RevocationCache(db, TokenRevocation)
    cache.listener.ensure_started = lambda: None  # type: ignore[method-assign]  # never listens
    subject = uuid.uuid4().hex
    assert cache.revoked(principal(subject)) is False and not cache._known
    revoke_elsewhere(infra["urls"]["billing"], subject, 1)
    assert cache.revoked(principal(subject)) is True
