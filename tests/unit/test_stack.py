"""The process runner's parts, without a broker: pieces tied to their parent, a stop that
reaches every piece at once, the data folder's vhost name, the reset, the management API."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from deploy import vhost
from deploy.stack import SERVICES, Stack, StackError, reset_data
from tests.infra import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] not in "ZX"


def cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def ignores_sigterm(pid: int) -> bool:
    ignored = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigIgn"))
    return bool(int(ignored.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def test_a_tethered_piece_dies_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-I", "-S", {str(ROOT / "deploy/tether.py")!r}, "SIGKILL",
                                  str(os.getpid()), "--", "sleep", "60"], start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        wait_for(lambda: cmdline(child).startswith(b"sleep"), timeout=5,
                 message="the tether to exec its command")
        parent.kill()  # no clean-up of its own
        parent.wait()
        wait_for(lambda: not alive(child), timeout=5, message="the piece to die with its parent")
    finally:
        parent.kill()


def test_a_tether_whose_parent_is_already_gone_does_not_start_the_command(tmp_path):
    marker = tmp_path / "ran"
    done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "deploy/tether.py"), "SIGKILL", "1", "--",
                           "touch", str(marker)], timeout=10)
    assert done.returncode == 1 and not marker.exists()


def test_a_stop_reaches_every_piece_at_once_and_kills_those_that_linger(tmp_path):
    stack = Stack(workdir=tmp_path / "run", env={"ACCR_DATA_DIR": str(tmp_path)}, mode="local")
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    for i in range(4):
        stack.spawn(f"stubborn-{i}", [sys.executable, "-c", stubborn])
    stack.spawn("polite", [sys.executable, "-c", "import time; time.sleep(60)"])
    pids = [p.popen.pid for p in stack.procs.values()]  # type: ignore[union-attr]
    wait_for(lambda: all(ignores_sigterm(pid) for pid in pids[:4]) and b"tether" not in cmdline(pids[4]),
             timeout=10, message="the pieces to start")
    started = time.monotonic()
    stack.stop()
    took = time.monotonic() - started
    assert not any(alive(pid) for pid in pids)
    assert 1.5 < took < 3.5  # one grace for all (not one each), then SIGKILL
    assert stack.procs == {}


def test_a_piece_that_exits_while_the_stack_waits_is_named_with_its_log(tmp_path):
    stack = Stack(workdir=tmp_path / "run", env={"ACCR_DATA_DIR": str(tmp_path)}, mode="local")
    stack.spawn("steady", [sys.executable, "-c", "import time; time.sleep(60)"])
    stack.spawn("fragile", [sys.executable, "-c", "import sys; print('cannot go on: no key'); sys.exit(3)"])
    try:
        with pytest.raises(StackError, match="fragile exited with status 3") as failed:
            wait_for(lambda: stack.check_alive(), timeout=10, message="the fragile piece to exit")
        assert failed.value.pieces == ("fragile",)
        assert stack.tail("fragile").splitlines()[-1] == "cannot go on: no key"
    finally:
        stack.stop()


def test_one_stack_per_data_folder(tmp_path):
    first = Stack(workdir=tmp_path / "run", env={"ACCR_DATA_DIR": str(tmp_path)}, mode="local")
    second = Stack(workdir=tmp_path / "run", env={"ACCR_DATA_DIR": str(tmp_path)}, mode="local")
    first._take_lock()
    try:
        with pytest.raises(StackError, match="another run is going on"):
            second._take_lock()
    finally:
        first.stop()
    second._take_lock()  # free again once the first has stopped
    second.stop()


def test_a_taken_port_is_named_before_anything_starts(tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        stack = Stack(workdir=tmp_path / "run", env={"ACCR_DATA_DIR": str(tmp_path), "SMTP_PORT": str(port)},
                      mode="local", gateway_port=free_port())
        with pytest.raises(StackError, match=f"port {port} \\(for the mailbox\\)"):
            stack._check_ports()


def test_the_vhost_is_named_after_the_data_folder(tmp_path):
    a, b = tmp_path / "var", tmp_path / "other" / "var"
    assert vhost.vhost_for(a) == vhost.vhost_for(tmp_path / "x" / ".." / "var")
    assert vhost.vhost_for(a) != vhost.vhost_for(b)
    assert vhost.vhost_for(a).startswith("accr-var-")
    assert vhost.with_vhost("amqp://u:p@h:5672//", "accr-var-1") == "amqp://u:p@h:5672/accr-var-1"


def test_reset_empties_what_the_suite_keeps_and_nothing_else(tmp_path):
    for service in SERVICES:
        (tmp_path / f"{service}.db").write_text("x")
        (tmp_path / f"{service}.db-wal").write_text("x")
    for sub in ("run/logs", "keys", "jwt"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "f").write_text("x")
    (tmp_path / vhost.MARKER).write_text("accr-x\n")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "photos").mkdir()
    reset_data(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "photos"]


class FakeManagementApi(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, object]] = []

    def _answer(self, status: int) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.calls.append((self.command, self.path, body))
        self.send_response(status)
        self.end_headers()

    def do_GET(self):
        self._answer(200)

    def do_PUT(self):
        self._answer(201)

    def do_DELETE(self):
        self._answer(404)  # there was none: fine

    def log_message(self, *args):
        pass


def test_the_management_api_creates_the_vhost_with_permissions_for_the_user():
    server = HTTPServer(("127.0.0.1", 0), FakeManagementApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = vhost.ManagementApi("amqp://someone:secret@127.0.0.1:5672//", port=server.server_address[1])
        assert api.available()
        api.delete("accr-var-1")
        api.create("accr-var-1", "someone")
    finally:
        server.shutdown()
    assert FakeManagementApi.calls[1:] == [
        ("DELETE", "/api/vhosts/accr-var-1", None), ("PUT", "/api/vhosts/accr-var-1", None),
        ("PUT", "/api/permissions/accr-var-1/someone", {"configure": ".*", "write": ".*", "read": ".*"})]


def test_without_a_way_to_create_a_vhost_the_default_one_is_used_and_said(tmp_path, monkeypatch):
    monkeypatch.setattr(vhost, "probe", lambda uri: "missing")
    monkeypatch.setattr(vhost, "admins", lambda uri: [])
    local = vhost.prepare(tmp_path / "var")
    assert local.uri == vhost.DEFAULT_AMQP_URI and local.vhost is None
    assert "default vhost" in local.note and "earlier run" in local.note


def test_a_known_data_folder_reuses_its_vhost_without_admin_calls(tmp_path, monkeypatch):
    data = tmp_path / "var"
    data.mkdir()
    (data / vhost.MARKER).write_text(vhost.vhost_for(data) + "\n")
    monkeypatch.setattr(vhost, "probe", lambda uri: "ok")
    monkeypatch.setattr(vhost, "admins", lambda uri: pytest.fail("no admin call needed"))
    assert vhost.prepare(data).uri.endswith("/" + vhost.vhost_for(data))


def test_a_new_data_folder_gets_its_vhost_emptied(tmp_path, monkeypatch):
    done: list[str] = []

    class Admin:
        name = "a fake"

        def create(self, name: str, user: str) -> None:
            done.append(f"create {name} for {user}")

        def delete(self, name: str) -> None:
            done.append(f"delete {name}")

    data = tmp_path / "var"
    monkeypatch.setattr(vhost, "probe", lambda uri: "ok")  # left by a run on a folder since deleted
    monkeypatch.setattr(vhost, "admins", lambda uri: [Admin()])
    local = vhost.prepare(data)
    name = vhost.vhost_for(data)
    assert done == [f"delete {name}", f"create {name} for guest"]
    assert (data / vhost.MARKER).read_text().strip() == name and "emptied" in local.note
