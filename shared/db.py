"""Per-service database access: an engine and sessions. Services enter transactions through
their `deps.uow()`; `Database.transaction` is for the infrastructure underneath (the outbox
relay, the inbox's duplicate check, health)."""
from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .config import env

T = TypeVar("T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # stored as naive UTC


def new_id() -> str:
    return uuid.uuid4().hex


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets the API and worker share a file
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # Connections kept open per process: as many as its threads use at once at a peak. Past
    # pool_size, a connection is opened for the request and closed after it, and opening one
    # (a new PostgreSQL backend, its authentication) costs more than most requests do.
    engine = create_engine(url, pool_size=int(env("DB_POOL_SIZE", "16")),
                           max_overflow=int(env("DB_MAX_OVERFLOW", "16")))
    ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it has rested a while: one that served a
    request a moment ago is alive, and a ping per checkout is a round trip per transaction at
    the deadline peak. A dead one (the database restarted) is replaced before use; one cut
    during use fails that transaction, and SQLAlchemy then renews the whole pool."""
    @event.listens_for(engine, "checkin")
    def _rested_since(_dbapi_conn, record):
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_conn, record, _proxy):
        rested = record.info.get("checked_in_at")
        if rested is not None and time.monotonic() - rested < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:
            alive = False
        if not alive:
            raise DisconnectionError("the pooled connection is gone")  # the pool connects anew


# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available
_TRANSIENT_PG_CODES = {"40001", "40P01", "55P03"}


def is_transient(exc: BaseException) -> bool:
    """A database error that a fresh attempt of the same transaction may not meet: SQLite's
    "database is locked" (a reader that must write after another process wrote), a
    PostgreSQL deadlock or serialization failure."""
    if not isinstance(exc, DBAPIError):
        return False
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        return True
    return getattr(exc.orig, "pgcode", None) in _TRANSIENT_PG_CODES


def retry_transient(attempt: Callable[[], T], tries: int = 4, first_pause: float = 0.02) -> T:
    """`attempt()` again, after a short random pause, while it fails with a transient database
    error; the transaction it opens must be all it does (it is rolled back each time)."""
    for n in range(tries):
        try:
            return attempt()
        except DBAPIError as exc:
            if n == tries - 1 or not is_transient(exc):
                raise
            time.sleep(first_pause * (2 ** n) * (1 + random.random()))
    raise AssertionError("unreachable")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        # SQLite has one writer per file. Within a process, transactions take turns: a worker's
        # green threads would otherwise wait for SQLite's lock inside a C call that blocks them
        # all, the one holding the lock included (waiting on an RPC reply, say).
        self._turns = threading.RLock() if not self.is_postgres else None

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Held for the length of a transaction (SQLite only)."""
        if self._turns is None:
            yield
            return
        with self._turns:
            yield

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self.sessions()
        try:
            with self.turn(), session.begin():
                yield session
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False
