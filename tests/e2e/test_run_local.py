"""`scripts/run-local`, run again and again as a newcomer does: whatever ends it, no piece
outlives it; a stop is quick; the data folder and its broker vhost go together, so a start
on a deleted data folder is not fed what an earlier run left in the broker; `--reset`
starts from empty; a second run on the same data is refused.

Each run uses a temporary ACCR_DATA_DIR, a free gateway port (--port) and a free SMTP port
(SMTP_PORT); the local RabbitMQ with rabbitmqctl gives each data folder its vhost."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Producer

from deploy.vhost import DEFAULT_AMQP_URI, MARKER, vhost_for, with_vhost
from tests.infra import free_port, rabbitmqctl, wait_for
from tests.journey import Portal, random_phone, random_uscc

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120

pytestmark = pytest.mark.skipif(bool(os.environ.get("AMQP_URI")),
                                reason="run-local gives each data folder a vhost only on the local default broker")


@pytest.fixture(scope="module")
def local_broker():
    if not rabbitmqctl("list_vhosts"):
        pytest.skip("rabbitmqctl is not usable here: run-local would fall back to the default vhost")


def _stat(pid: int) -> tuple[str, int, int, str] | None:
    """(state, parent, process group, start time) of a live process; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    state, ppid, pgrp, started = fields[0], int(fields[1]), int(fields[2]), fields[19]
    return None if state in ("Z", "X") else (state, ppid, pgrp, started)


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


class RunLocal:
    """scripts/run-local in a subprocess, on its own data folder and ports."""

    def __init__(self, data: Path):
        self.data = data
        self.port, self.smtp_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None
        self.log = data.parent / f"run-local-{self.port}.out"
        self.pieces: dict[int, str] = {}  # pid -> its start time, of every piece and its children

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def vhost(self) -> str:
        return vhost_for(self.data)

    @property
    def amqp(self) -> str:
        return with_vhost(DEFAULT_AMQP_URI, self.vhost)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def launch(self, *args: str, **extra_env: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "AMQP_URI"}
        env.update(ACCR_DATA_DIR=str(self.data), SMTP_PORT=str(self.smtp_port), **extra_env)
        with open(self.log, "w") as out:
            return subprocess.Popen([str(ROOT / "scripts" / "run-local"), "--port", str(self.port), *args], cwd=ROOT,
                                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, *args: str) -> float:
        """Start and wait for 'ready'; returns the seconds it took."""
        started = time.monotonic()
        self.proc = self.launch(*args)
        wait_for(lambda: "[accr] ready in" in self.output() or self.proc.poll() is not None,
                 timeout=START_TIMEOUT, interval=0.2, message="run-local to be ready")
        assert self.proc.poll() is None, f"run-local exited:\n{self.output()}"
        self.pieces = self._pieces()
        assert len(self.pieces) >= 5, self.pieces  # gateway (+ its worker), mailbox, the five workers' process, police
        return time.monotonic() - started

    def _pieces(self) -> dict[int, str]:
        assert self.proc is not None
        stats = {pid: s for pid in _all_pids() if (s := _stat(pid))}
        groups = {pid for pid, s in stats.items() if s[1] == self.proc.pid}  # each piece leads its group
        return {pid: s[3] for pid, s in stats.items() if s[2] in groups}

    def survivors(self) -> list[int]:
        return [pid for pid, started in self.pieces.items() if (s := _stat(pid)) and s[3] == started]

    def stop(self, sig: int = signal.SIGINT) -> float:
        """Signal run-local and wait until it and every piece are gone; returns the seconds."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(30)
        wait_for(lambda: not self.survivors(), timeout=15, message="every piece to end")
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pid in self.survivors():  # only if the test failed: never leave a piece behind
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture
def runs(tmp_path, local_broker):
    made: list[RunLocal] = []

    def make(name: str = "data") -> RunLocal:
        made.append(RunLocal(tmp_path / name))
        return made[-1]

    yield make
    for run in made:
        run.kill()
    for vhost in {run.vhost for run in made}:
        rabbitmqctl("delete_vhost", vhost)
    for run in made:  # shown when a test fails
        print(f"--- run-local output (port {run.port})\n{run.output()[-5000:]}")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def leave_stale_sms_requests(amqp: str, count: int) -> None:
    """What an earlier run left in the broker: RPC requests whose callers are long gone,
    without an expiry, as nameko's standalone proxy sent them."""
    with Connection(amqp) as conn:
        producer = Producer(conn.channel())
        rpc = Exchange("nameko-rpc", type="topic", durable=True)
        for i in range(count):
            producer.publish({"args": [], "kwargs": {"phone": "13700000000", "code": f"{i % 1000000:06d}",
                                                     "purpose": "signup", "language": "zh"}},
                             exchange=rpc, routing_key="notifications.send_sms_code", serializer="json",
                             reply_to="long-gone", correlation_id=f"stale-{i}", delivery_mode=2)
        channel = conn.channel()
        wait_for(lambda: channel.queue_declare(queue="rpc-notifications", passive=True).message_count >= count,
                 timeout=10, message="the backlog in the broker")


def sign_up_and_log_in(url: str) -> tuple[str, float]:
    """A new unit's sign-up (SMS code included) and first login; the USCC and the seconds."""
    started = time.monotonic()
    portal, uscc = Portal(url), random_uscc()
    portal.sign_up(uscc, "Run Local Co", f"{uscc.lower()}@example.cn", random_phone())
    portal.login(uscc)
    return uscc, time.monotonic() - started


def test_a_killed_run_leaves_no_piece_and_a_deleted_data_folder_starts_clean(runs):
    run = runs()
    run.start()
    assert f"broker: vhost {run.vhost}" in run.output()
    assert (run.data / MARKER).read_text().strip() == run.vhost

    os.kill(run.proc.pid, signal.SIGKILL)  # no clean-up of its own: as the out-of-memory killer does
    run.proc.wait(10)
    wait_for(lambda: not run.survivors(), timeout=10, message="every piece to die with run-local")
    assert port_free(run.port) and port_free(run.smtp_port)

    # the newcomer's way to start again: delete var/, while the broker still holds a backlog
    leave_stale_sms_requests(run.amqp, 3000)
    shutil.rmtree(run.data)
    run.start()
    assert "emptied for these new data" in run.output()
    _, seconds = sign_up_and_log_in(run.url)
    assert seconds < 9, f"sign-up took {seconds:.1f}s"  # behind the backlog: a 503 after the 10 s RPC timeout
    with Connection(run.amqp) as conn:
        assert conn.channel().queue_declare(queue="rpc-notifications", passive=True).message_count == 0
    assert run.stop() < 5


def test_start_stop_and_start_again_on_the_same_data_then_reset(runs):
    run = runs()
    first_start = run.start()
    uscc, _ = sign_up_and_log_in(run.url)

    second = runs()  # on the same data folder, other ports: refused at once
    second.proc = second.launch()
    assert second.proc.wait(60) == 1
    assert "another run is going on" in second.output(), second.output()
    assert run.proc.poll() is None

    stopped_in = run.stop()
    assert stopped_in < 5, f"the stop took {stopped_in:.1f}s"
    assert "[accr] stopped in" in run.output()
    assert port_free(run.port) and port_free(run.smtp_port)

    again = run.start()
    Portal(run.url).login(uscc)  # the same data, the same vhost
    assert f"broker: vhost {run.vhost}\n" in run.output()
    assert run.stop() < 5

    run.start("--reset")
    assert "reset: emptying" in run.output()
    portal = Portal(run.url)
    portal.call("POST", "registration/auth/login", 401, json={"uscc": uscc, "password": "Passw0rd!"})
    portal.sign_up(uscc, "Run Local Co", f"{uscc.lower()}@example.cn", random_phone())  # the USCC is free again
    assert run.stop() < 5
    print(f"run-local: first start {first_start:.1f}s, second {again:.1f}s, stop {stopped_in:.1f}s")


def test_a_step_that_fails_is_named_with_the_end_of_its_log(runs):
    run = runs()  # billing's database cannot be reached: the migration step fails
    run.proc = run.launch(BILLING_DATABASE_URL="postgresql+psycopg2://nobody:x@127.0.0.1:9/none")
    assert run.proc.wait(START_TIMEOUT) == 1
    out = run.output()
    assert "[accr] failed: migrate failed" in out, out
    assert f"[accr] last lines of {run.data / 'run' / 'logs' / 'migrate'}.log:" in out
    assert "127.0.0.1" in out.split("[accr] last lines of")[1] and "OperationalError" in out
    assert "starting gateway" not in out
