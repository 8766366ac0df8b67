"""Waiting for a row to change, without polling: a request may ask to be answered only once
something it watches has changed (an order paid), and is woken when it does.

The transaction that changes the row calls `notify(session, channel, key)`. On PostgreSQL that
is `pg_notify`, delivered at commit to every process listening on the channel (every API
process of every instance: the callback that pays an order may reach another instance than
the request waiting for it); on SQLite (one machine) the waiters of this process are woken
after the commit. A `ChangeWaiters` per process and channel listens on one dedicated
connection and wakes the requests waiting for a key.

A waiting request holds a server thread, so waiters are bounded per process: past the bound a
request is answered at once, as without waiting. A missed notification (a listener
reconnecting) costs a waiter at most `RECHECK_SECONDS`: it looks again on its own.

`ChannelListener` is the ear underneath, also for what a process remembers and must forget
when the database changes (shared.revocation's cache of revoked tokens).
"""
from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from .db import Database

log = logging.getLogger(__name__)
RECHECK_SECONDS = 2.0
LISTEN_RECONNECT_SECONDS = 1.0
LOCAL_KEYS = "changes_local_keys"

_local_listeners: dict[str, list["ChannelListener"]] = {}  # SQLite: this process's, by channel


def notify(session: Session, channel: str, key: str) -> None:
    """Tell the waiters of `key` on `channel` once `session`'s transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :key)"), {"channel": channel, "key": key})
        return
    pending = session.info.setdefault(LOCAL_KEYS, [])
    if not pending:
        event.listen(session, "after_commit", _wake_local, once=True)
    pending.append((channel, key))


def _wake_local(session: Session) -> None:
    for channel, key in session.info.pop(LOCAL_KEYS, []):
        for listener in _local_listeners.get(channel, ()):
            listener.on_key(key)


class ChannelListener:
    """This process's ear on `channel`: `on_key(key)` for every notification, `on_gap()` when
    notifications may have been missed (before listening, after the connection broke).
    PostgreSQL: one dedicated connection in a daemon thread, started on first use in each
    process (a forked worker starts its own); SQLite: the commits of this process only."""

    def __init__(self, db: Database, channel: str, on_key: Callable[[str], None], on_gap: Callable[[], None]):
        if not channel.isidentifier():
            raise ValueError(f"channel {channel!r} must be an identifier")
        self.db, self.channel, self.on_key, self.on_gap = db, channel, on_key, on_gap
        self.connected = False  # listening now: what is heard from here on is all there is
        self._lock = threading.Lock()
        self._pid: int | None = None

    def ensure_started(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            self._pid = pid
        self.connected = False
        if not self.db.is_postgres:
            _local_listeners.setdefault(self.channel, []).append(self)
            return
        threading.Thread(target=self._listen_forever, name=f"listen-{self.channel}", daemon=True).start()

    def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                self._listen()
            except Exception as exc:  # the database restarting: what depends on us falls back meanwhile
                failures = 1 if self.connected else failures + 1  # it had listened: a new outage
                # said once per outage, not once a second while it lasts
                log.log(logging.WARNING if failures == 1 else logging.DEBUG,
                        "listening on %s failed: %s", self.channel, exc)
            self.connected = False
            self.on_gap()
            time.sleep(LISTEN_RECONNECT_SECONDS)

    def _listen(self) -> None:
        pooled = self.db.engine.raw_connection()
        connection: Any = pooled.driver_connection
        pooled.detach()  # this connection listens for the process's life; it is not the pool's
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {self.channel}")
            self.connected = True
            self.on_gap()  # whatever changed while nobody listened
            while True:
                select.select([connection], [], [], 30.0)
                connection.poll()  # also notices a dead connection (raises)
                while connection.notifies:
                    self.on_key(connection.notifies.pop(0).payload)
        finally:
            pooled.close()


class ChangeWaiters:
    """The requests of this process waiting on `channel`, keyed by what they watch."""

    def __init__(self, db: Database, channel: str, max_waiters: int = 24):
        self.max_waiters = max_waiters
        self._lock = threading.Lock()
        self._waiting: dict[str, set[threading.Event]] = {}
        self._count = 0
        self.listener = ChannelListener(db, channel, self.wake, self._wake_all)

    def wait(self, key: str, changed: Callable[[], bool], timeout: float) -> bool:
        """Return once `changed()` is true (True), or after `timeout` seconds (False). Past the
        bound of waiters, `changed()` is asked once and its answer returned."""
        woken = threading.Event()
        with self._lock:
            admitted = self._count < self.max_waiters
            if admitted:
                self._count += 1
                self._waiting.setdefault(key, set()).add(woken)
        if not admitted:
            return changed()
        try:
            self.listener.ensure_started()
            deadline = time.monotonic() + timeout
            while True:
                if changed():  # registered first: a change committed from now on wakes us
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                woken.wait(min(remaining, RECHECK_SECONDS))
                woken.clear()
        finally:
            with self._lock:
                self._count -= 1
                keyed = self._waiting.get(key)
                if keyed is not None:
                    keyed.discard(woken)
                    if not keyed:
                        del self._waiting[key]

    def wake(self, key: str) -> None:
        with self._lock:
            for woken in self._waiting.get(key, ()):
                woken.set()

    def waiting(self) -> int:
        with self._lock:
            return self._count

    def _wake_all(self) -> None:
        with self._lock:
            for keyed in self._waiting.values():
                for woken in keyed:
                    woken.set()
