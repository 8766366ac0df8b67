"""Real infrastructure for integration and e2e tests: PostgreSQL databases and a
RabbitMQ vhost created for one test session, and a local SMTP server."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
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


def rabbitmqctl_exe() -> str | None:
    return shutil.which("rabbitmqctl") or ("/usr/sbin/rabbitmqctl" if os.path.exists("/usr/sbin/rabbitmqctl") else None)


def rabbitmqctl(*args: str) -> bool:
    exe = rabbitmqctl_exe()
    if exe is None:
        return False
    return subprocess.run([exe, *args], capture_output=True, timeout=60).returncode == 0


def rabbitmqctl_lines(*args: str) -> list[str]:
    exe = rabbitmqctl_exe()
    if exe is None:
        return []
    result = subprocess.run([exe, "-q", *args], capture_output=True, text=True, timeout=60)
    return result.stdout.splitlines() if result.returncode == 0 else []


class BrokerUsers:
    """One broker user per service and one for the police, named for this run, with
    random passwords and the production definitions' permissions (deploy/rabbitmq.py)
    loaded into a vhost of this run — least privilege for real."""

    def __init__(self, tag: str):
        from deploy.rabbitmq import ROLES
        self.names = {role: f"accr-{tag}-{role}" for role in ROLES}
        self.passwords = {role: secrets.token_urlsafe(18) for role in ROLES}
        self.loaded = False

    def load(self, vhost: str, retry_delays_ms: tuple[int, ...]) -> bool:
        """Import the definitions for `vhost`; False when rabbitmqctl is not usable here."""
        from deploy.rabbitmq import definitions
        document = definitions(vhost, self.names, self.passwords, retry_delays_ms)
        # rabbitmqctl reads the file as the rabbitmq user: a world-readable file of its own
        fd, name = tempfile.mkstemp(prefix="accr-definitions-", suffix=".json")
        try:
            os.write(fd, json.dumps(document).encode())
            os.close(fd)
            os.chmod(name, 0o644)
            if not rabbitmqctl("import_definitions", name):
                return False
        finally:
            os.unlink(name)
        self.loaded = True
        expected, ours = len(document["topic_permissions"]), set(self.names.values())
        wait_for(lambda: sum(line.split("\t")[0] in ours
                             for line in rabbitmqctl_lines("list_topic_permissions", "-p", vhost)) >= expected,
                 timeout=60, interval=0.5, message="the imported definitions")
        return True

    def uri(self, role: str, base_uri: str) -> str:
        """`base_uri` (host and vhost) with this role's user and password."""
        parts = urllib.parse.urlsplit(base_uri)
        host = parts.netloc.rpartition("@")[2]
        credentials = f"{urllib.parse.quote(self.names[role], safe='')}:{urllib.parse.quote(self.passwords[role], safe='')}"
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{credentials}@{host}"))

    def uris(self, base_uri: str) -> dict[str, str]:
        return {role: self.uri(role, base_uri) for role in self.names}

    def amqp_users(self) -> str:
        """The AMQP_USERS setting that names them."""
        return ",".join(f"{role}={name}" for role, name in self.names.items())

    def delete(self) -> None:
        if self.loaded:
            for name in self.names.values():
                rabbitmqctl("delete_user", name)


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


RABBITMQ_LIB = "/usr/lib/rabbitmq/bin"


class PrivateBroker:
    """A RabbitMQ node of a test's own (its own port, data folder and Erlang cookie), which
    the test may stop and start — never the machine's broker that other runs share."""

    def __init__(self, workdir: str | os.PathLike[str]):
        self.dir = os.fspath(workdir)
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"accr-{new_tag()}@localhost"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return os.path.exists(f"{RABBITMQ_LIB}/rabbitmq-server")

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        d = self.dir
        return {**os.environ, "HOME": d, "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": f"{d}/mnesia",
                "RABBITMQ_LOG_BASE": f"{d}/log", "RABBITMQ_LOGS": f"{d}/log/node.log", "RABBITMQ_PID_FILE": f"{d}/pid",
                "RABBITMQ_ENABLED_PLUGINS_FILE": f"{d}/enabled_plugins", "RABBITMQ_CONFIG_FILE": f"{d}/rabbitmq",
                "RABBITMQ_ADVANCED_CONFIG_FILE": f"{d}/advanced.config", "RABBITMQ_CONF_ENV_FILE": f"{d}/env.conf",
                "RABBITMQ_GENERATED_CONFIG_DIR": f"{d}/generated", "RABBITMQ_SCHEMA_DIR": f"{d}/schema"}

    def start(self, timeout: float = 60) -> str:
        os.makedirs(self.dir, exist_ok=True)
        with open(f"{self.dir}/enabled_plugins", "w") as plugins:
            plugins.write("[].\n")  # no management plugin: its port would clash with the machine's
        log = open(f"{self.dir}/server.log", "ab")
        self.proc = subprocess.Popen([f"{RABBITMQ_LIB}/rabbitmq-server"], env=self._env(), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._accepts, timeout=timeout, interval=0.25, message=f"RabbitMQ node {self.node}")
        return self.uri

    def _accepts(self) -> bool:
        from kombu import Connection
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"RabbitMQ node {self.node} exited: see {self.dir}/server.log")
        try:
            with Connection(self.uri, connect_timeout=1) as conn:
                conn.ensure_connection(max_retries=1)
            return True
        except Exception:
            return False

    def stop(self, timeout: float = 60) -> None:
        """As an operator stops it: the node closes every connection and exits."""
        if self.proc is None:
            return
        subprocess.run([f"{RABBITMQ_LIB}/rabbitmqctl", "-n", self.node, "-q", "stop"], env=self._env(),
                       capture_output=True, timeout=timeout)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def ctl(self, *args: str) -> list[str]:
        """rabbitmqctl against this node, its output's lines."""
        done = subprocess.run([f"{RABBITMQ_LIB}/rabbitmqctl", "-n", self.node, "-q", *args], env=self._env(),
                              capture_output=True, text=True, timeout=60)
        return done.stdout.splitlines()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            if self.proc is not None:
                os.killpg(self.proc.pid, 9)
