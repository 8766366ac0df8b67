"""Real infrastructure for integration and e2e tests: PostgreSQL databases and a
RabbitMQ vhost created for one test session, and a local SMTP server."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable

import psycopg2
from aiosmtpd.controller import Controller

SERVICES = ("registration", "review", "credentials", "billing", "notifications")


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll until `condition()` is truthy; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except AssertionError as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}" +
                         (f" (last: {last_error})" if last_error else ""))


def pg_admin_url() -> str:
    return os.environ.get("TEST_PG_URL", "postgresql://accr:accr@127.0.0.1:5432/postgres")


def _with_db(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


class PgDatabases:
    """One fresh PostgreSQL database per service, dropped at the end."""

    def __init__(self, tag: str):
        self.tag = tag
        self.names = {s: f"accr_{tag}_{s}" for s in SERVICES}

    def _admin(self):
        conn = psycopg2.connect(pg_admin_url())
        conn.autocommit = True
        return conn

    def create(self) -> dict[str, str]:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                for name in self.names.values():
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.urls()

    def urls(self) -> dict[str, str]:
        base = pg_admin_url().replace("postgresql://", "postgresql+psycopg2://", 1)
        return {s: _with_db(base, n) for s, n in self.names.items()}

    def drop(self) -> None:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                for name in self.names.values():
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()


def rabbitmqctl(*args: str) -> bool:
    exe = shutil.which("rabbitmqctl") or ("/usr/sbin/rabbitmqctl" if os.path.exists("/usr/sbin/rabbitmqctl") else None)
    if exe is None:
        return False
    return subprocess.run([exe, *args], capture_output=True, timeout=60).returncode == 0


class Vhost:
    """A RabbitMQ vhost of our own (when rabbitmqctl is usable), so tests never see another
    run's messages; the default vhost otherwise."""

    def __init__(self, tag: str):
        self.name = f"accr-test-{tag}"
        self.created = False

    def create(self) -> str:
        base = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")
        if rabbitmqctl("add_vhost", self.name) and rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*"):
            self.created = True
            parts = urllib.parse.urlsplit(base)
            return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(self.name, safe="")))
        return base

    def delete(self) -> None:
        if self.created:
            rabbitmqctl("delete_vhost", self.name)


class Mailbox:
    """A local SMTP server that keeps what it receives."""

    def __init__(self):
        self.messages: list[dict] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append({"to": list(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                                  "body": body.get_content() if (body := msg.get_body(("plain",))) else ""})
        return "250 OK"

    def start(self) -> int:
        self.controller.start()
        return self.port

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if address in m["to"]]


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_tag() -> str:
    return uuid.uuid4().hex[:8]
