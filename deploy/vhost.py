"""The broker goes with the data folder: `scripts/run-local` runs on a RabbitMQ vhost of
the data folder's own, named after its path, so that events and RPC requests left by a run
on other data never reach these databases. A data folder that has never been run (new,
deleted, or emptied by `--reset`) gets its vhost recreated empty. Only the local default
broker is treated so; a broker given by AMQP_URI is used as given.

Creating a vhost needs RabbitMQ's management API or rabbitmqctl (root on the broker's
machine); without either the run falls back to the broker's default vhost and says so.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from amqp.exceptions import AccessRefused, NotAllowed
from kombu import Connection

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672//"
MARKER = "broker-vhost"  # in the data folder: the vhost these data were run against


class BrokerUnreachable(RuntimeError):
    pass


class AdminFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class LocalBroker:
    uri: str
    vhost: str | None  # None: the broker's default vhost (no way to create one)
    note: str          # what was done, in words


def vhost_for(data_dir: Path) -> str:
    """`accr-<folder name>-<hash of its full path>`: readable in `rabbitmqctl list_vhosts`,
    distinct per folder."""
    path = data_dir.resolve()
    label = re.sub(r"[^a-z0-9]+", "-", path.name.lower()).strip("-")[:24] or "data"
    return f"accr-{label}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def with_vhost(uri: str, vhost: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def probe(uri: str) -> str:
    """"ok" when the vhost of `uri` can be used, "missing" when it does not exist, "refused"
    when it exists without permissions for the user; BrokerUnreachable when nothing answers."""
    try:
        with Connection(uri, connect_timeout=3) as conn:
            conn.connect()
        return "ok"
    except OSError as exc:
        raise BrokerUnreachable(f"RabbitMQ does not answer at {_where(uri)} ({exc})") from None
    except (NotAllowed, AccessRefused) as exc:  # the broker answered and said no
        return "missing" if "not found" in str(exc) else "refused"


class BrokerAdmin(Protocol):
    name: str

    def create(self, vhost: str, user: str) -> None: ...
    def delete(self, vhost: str) -> None: ...


class ManagementApi:
    """RabbitMQ's HTTP management API (the management plugin), on the broker's host."""
    name = "the management API"

    def __init__(self, amqp_uri: str, port: int = 15672):
        parts = urllib.parse.urlsplit(amqp_uri)
        self.base = f"http://{parts.hostname or '127.0.0.1'}:{port}/api"
        self.auth = (urllib.parse.unquote(parts.username or "guest"), urllib.parse.unquote(parts.password or "guest"))

    def available(self) -> bool:
        try:
            return requests.get(f"{self.base}/overview", auth=self.auth, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def _call(self, method: str, path: str, **kwargs) -> None:
        response = requests.request(method, f"{self.base}/{path}", auth=self.auth, timeout=10, **kwargs)
        if response.status_code >= 400 and not (method == "DELETE" and response.status_code == 404):
            raise AdminFailed(f"{method} {path}: {response.status_code} {response.text[:200]}")

    def create(self, vhost: str, user: str) -> None:
        v, u = urllib.parse.quote(vhost, safe=""), urllib.parse.quote(user, safe="")
        self._call("PUT", f"vhosts/{v}")
        self._call("PUT", f"permissions/{v}/{u}", json={"configure": ".*", "write": ".*", "read": ".*"})

    def delete(self, vhost: str) -> None:
        self._call("DELETE", f"vhosts/{urllib.parse.quote(vhost, safe='')}")


class Rabbitmqctl:
    """rabbitmqctl on this machine (it needs the broker's Erlang cookie: root, usually)."""
    name = "rabbitmqctl"

    def __init__(self, executable: str):
        self.executable = executable

    @classmethod
    def find(cls) -> Rabbitmqctl | None:
        exe = shutil.which("rabbitmqctl") or next(
            (p for p in ("/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl") if os.path.exists(p)), None)
        return cls(exe) if exe else None

    def _run(self, *args: str, ok: tuple[int, ...] = (0,)) -> None:
        try:
            done = subprocess.run([self.executable, *args], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AdminFailed(f"rabbitmqctl {args[0]}: {exc}") from None
        if done.returncode not in ok:
            reason = (done.stderr or done.stdout).strip().splitlines()
            raise AdminFailed(f"rabbitmqctl {args[0]}: {reason[-1] if reason else done.returncode}")

    def create(self, vhost: str, user: str) -> None:
        self._run("add_vhost", vhost)
        self._run("set_permissions", "-p", vhost, user, ".*", ".*", ".*")

    def delete(self, vhost: str) -> None:
        self._run("delete_vhost", vhost, ok=(0, 65))  # 65: there was none


def admins(base_uri: str) -> list[BrokerAdmin]:
    """The ways to create a vhost that might work here, quickest first."""
    found: list[BrokerAdmin] = []
    api = ManagementApi(base_uri)
    if api.available():
        found.append(api)
    host = urllib.parse.urlsplit(base_uri).hostname
    ctl = Rabbitmqctl.find()
    if ctl is not None and host in ("127.0.0.1", "localhost", "::1"):
        found.append(ctl)
    return found


def prepare(data_dir: Path, base_uri: str = DEFAULT_AMQP_URI) -> LocalBroker:
    """The broker URI for a run on `data_dir`: its own vhost, created (and emptied when the
    data folder has never been run) where that is possible, else the default vhost."""
    vhost = vhost_for(data_dir)
    uri = with_vhost(base_uri, vhost)
    marker = data_dir / MARKER
    fresh = not marker.exists() or marker.read_text().strip() != vhost
    state = probe(uri)
    if state == "ok" and not fresh:
        return LocalBroker(uri, vhost, f"vhost {vhost}")
    user = urllib.parse.unquote(urllib.parse.urlsplit(base_uri).username or "guest")
    reasons = []
    for admin in admins(base_uri):
        try:
            if fresh and state != "missing":  # messages of data that are gone: drop them with the vhost
                admin.delete(vhost)
            admin.create(vhost, user)
        except AdminFailed as exc:
            reasons.append(str(exc))
            continue
        data_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(vhost + "\n")
        done = "emptied for these new data" if fresh and state != "missing" else "created"
        return LocalBroker(uri, vhost, f"vhost {vhost} ({done} with {admin.name})")
    why = "; ".join(reasons) or "neither the management API nor rabbitmqctl is available"
    return LocalBroker(base_uri, None, f"the default vhost, as a vhost of its own cannot be created ({why}): "
                                       "messages left there by an earlier run may reach these data")


def _where(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    return f"{parts.hostname}:{parts.port or 5672}"
