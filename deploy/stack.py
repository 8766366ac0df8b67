"""Start the whole suite as processes on one machine.

Two shapes, one tool:
- `local`: the README's zero-configuration run: SQLite files, one gunicorn process
  serving every API behind the one-process gateway, the five services' nameko workers in one
  process (memory: a second interpreter per service would cost ~70 MiB each), the
  police reference client and a local SMTP mailbox.
- `distributed`: the production topology as processes: a gunicorn per service API
  (billing may run several), a nameko worker per service (billing may run several),
  a PostgreSQL database per service, nginx in front, the police client.

    python -m deploy.stack local            # what scripts/run-local runs
    python -m deploy.stack local --reset    # the same, from empty data and an empty vhost

Every piece dies with the process that started it, however that ends (deploy/tether.py),
and `stop` signals all pieces at once: a next start finds nothing of the last. One stack
runs per data folder at a time (a lock in the folder), and in `local` mode the broker goes
with the data folder (deploy/vhost.py).
"""
from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import IO

import requests

from deploy import vhost
from shared.fair import fair

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("registration", "review", "credentials", "billing", "notifications")
# Paths without query strings: a search by ID number or phone must not reach the logs.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
WORKER_CLASSES = {s: f"services.{s}.worker:{s.title()}Worker" for s in SERVICES}
TETHER = ROOT / "deploy" / "tether.py"
# Idle connections from the gateway stay open longer than the gateway keeps them (nginx: 60 s):
# the gateway closes them first. With gunicorn's 2 s, it sometimes closed one just as nginx sent
# a request on it, and a POST came back 502.
KEEP_ALIVE_SECONDS = 75
# Billing's payment pages wait for their order to be paid (a thread each, ORDER_WAITERS_PER_PROCESS)
API_THREADS = {"billing": 32}
STOP_GRACE_SECONDS = 2.0  # then whatever still runs is killed: a stop is over in about 3 s
LOG_TAIL_LINES = 20


class StackError(RuntimeError):
    """The stack cannot start; `pieces` names the pieces at fault (their logs tell why)."""

    def __init__(self, message: str, pieces: tuple[str, ...] = ()):
        super().__init__(message)
        self.pieces = pieces


def find_nginx() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


@dataclass
class Proc:
    name: str
    args: list[str]
    popen: subprocess.Popen | None = None
    # What the kernel sends the piece when the stack's process ends without stopping it:
    # supervisors (gunicorn, nginx) get SIGTERM and take their own workers down with them;
    # single processes (nameko, whose graceful stop can hang on an unanswered RPC) SIGKILL.
    death_signal: signal.Signals = signal.SIGKILL

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    mode: str = "distributed"
    gateway_port: int = 8080
    api_base_port: int = 18100
    billing_api_instances: int = 1
    billing_worker_instances: int = 1
    gunicorn_workers: int = 2
    # Each service's (and the police client's, "police") own broker URI; processes without
    # one (and the local shape's one-process gateway) use AMQP_URI.
    amqp_uris: dict[str, str] = field(default_factory=dict)
    portal_port: int | None = None  # the portal's own gunicorn (distributed); default after the APIs' ports
    # Whose nameko workers run (distributed): all, or fewer for a benchmark of one service, whose
    # events for the others then wait in their queues.
    worker_services: tuple[str, ...] = SERVICES
    procs: dict[str, Proc] = field(default_factory=dict)
    say: Callable[[str], None] = field(default=lambda message: None, repr=False)  # progress, for a person
    broker_note: str = ""
    _lock: IO[str] | None = field(default=None, repr=False)

    @property
    def python(self) -> str:
        return sys.executable

    @property
    def bin(self) -> Path:
        return Path(self.python).parent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def data_dir(self) -> Path:
        return Path(self.env.get("ACCR_DATA_DIR") or os.environ.get("ACCR_DATA_DIR") or ROOT / "var")

    @property
    def smtp_port(self) -> int:
        return int(self.env.get("SMTP_PORT") or os.environ.get("SMTP_PORT") or 2525)

    def log_of(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def addresses(self) -> list[tuple[str, str]]:
        """What a person opens, for the ready message (a portal piece adds its own here)."""
        return [("portal", f"{self.url}/   (the web site for units, Chinese by default)"),
                ("API", f"{self.url}/api/<service>/   (OpenAPI at /api/<service>/openapi.json)")]

    def full_env(self, role: str | None = None) -> dict[str, str]:
        """The environment of a process; `role` (a service, or "police") picks its broker user."""
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
               "PUBLIC_BASE_URL": self.env.get("PUBLIC_BASE_URL", self.url)}
        env.setdefault("AMQP_URI", vhost.DEFAULT_AMQP_URI)
        if role in self.amqp_uris:
            env["POLICE_AMQP_URI" if role == "police" else "AMQP_URI"] = self.amqp_uris[role]
        return env

    # --- processes ---------------------------------------------------------------------
    def _popen(self, name: str, args: list[str], death_signal: signal.Signals,
               role: str | None = None, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        """A process of its own session (so that a stop reaches its children too, and Ctrl-C in
        the terminal reaches only the stack), tied to this process's life, logging to its file.
        The kernel ties it to the calling thread: start pieces from the thread that runs the stack."""
        log = self.log_of(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        tethered = [self.python, "-I", "-S", str(TETHER), death_signal.name, str(os.getpid()), "--", *args]
        with open(log, "ab") as out:
            return subprocess.Popen(tethered, cwd=ROOT, env={**self.full_env(role), **(extra_env or {})}, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def spawn(self, name: str, args: list[str], death_signal: signal.Signals = signal.SIGKILL, note: str = "",
              role: str | None = None, extra_env: dict[str, str] | None = None) -> Proc:
        self.say(f"starting {name}" + (f" {note}" if note else ""))
        proc = Proc(name, args, self._popen(name, args, death_signal, role, extra_env), death_signal)
        self.procs[name] = proc
        return proc

    def launch_step(self, name: str, args: list[str], role: str | None = None) -> subprocess.Popen:
        return self._popen(name, args, signal.SIGKILL, role)

    def finish_step(self, name: str, popen: subprocess.Popen, timeout: float = 300) -> None:
        try:
            code = popen.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(popen.pid, signal.SIGKILL)
            raise StackError(f"{name} did not finish within {timeout:.0f}s", (name,)) from None
        if code != 0:
            raise StackError(f"{name} failed (exit status {code})", (name,))

    def run_once(self, args: list[str], name: str = "setup", role: str | None = None) -> None:
        self.finish_step(name, self.launch_step(name, args, role))

    def gunicorn(self, name: str, app: str, port: int, workers: int, role: str | None = None,
                 extra_env: dict[str, str] | None = None, threads: int = 8) -> None:
        self.spawn(name, [str(self.bin / "gunicorn"), "-k", "gthread", "-w", str(workers), "--threads", str(threads),
                          "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5", "--timeout", "60",
                          "--keep-alive", str(KEEP_ALIVE_SECONDS),
                          "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT, app],
                   death_signal=signal.SIGTERM, note=f"on port {port}", role=role, extra_env=extra_env)

    def start_worker(self, service: str, index: int = 0) -> None:
        name = f"{service}-worker" + (f"-{index}" if index else "")
        self.spawn(name, [str(self.bin / "nameko"), "run", WORKER_CLASSES[service],
                          "--broker", self.full_env(service)["AMQP_URI"]], role=service,
                   extra_env={"WORKER_HEARTBEAT_FILE": str(self.heartbeat_of(name))})

    def start_workers_together(self) -> None:
        """The one-machine run: the five services' nameko workers in one process (one
        interpreter and its libraries instead of five: about 300 MiB less). Each keeps its
        own queues, database and heartbeat; production runs them apart (distributed)."""
        self.spawn("workers", [str(self.bin / "nameko"), "run", *(WORKER_CLASSES[s] for s in SERVICES),
                               "--broker", self.full_env()["AMQP_URI"]], note="(the five services' workers)")

    def heartbeat_of(self, name: str) -> Path:
        """Where a worker process of this stack beats (shared.heartbeat)."""
        return self.workdir / "run" / f"{name}.heartbeat"

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = STOP_GRACE_SECONDS) -> None:
        proc = self.procs.get(name)
        if proc is not None:
            self._stop([proc], sig, timeout)
            del self.procs[name]

    def kill_worker(self, service: str) -> None:
        """SIGKILL, as a crash: no graceful shutdown, unacknowledged messages go back."""
        self.stop_process(f"{service}-worker", signal.SIGKILL)

    def api_port(self, service: str, index: int = 0) -> int:
        return self.api_base_port + SERVICES.index(service) * 10 + index

    # --- the web portal (issue #12) -------------------------------------------------------
    @property
    def portal_upstream_port(self) -> int:
        return self.portal_port or self.api_base_port + len(SERVICES) * 10

    def start_portal(self) -> None:
        """The portal behind nginx: it calls the APIs through the gateway, except registration,
        which it calls directly so that the user's address (from nginx, one trusted hop)
        reaches registration's per-client SMS limit instead of the portal's own address."""
        self.gunicorn("portal", "services.portal.app:create_app()", self.portal_upstream_port, self.gunicorn_workers,
                      extra_env={"PORTAL_API_URL": self.url, "PORTAL_PROXY_HOPS": "1",
                                 "PORTAL_REGISTRATION_URL": f"http://127.0.0.1:{self.api_port('registration')}"})

    def render_nginx(self) -> Path:
        conf_dir = self.workdir / "nginx"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (conf_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        template = Template((ROOT / "deploy/nginx/gateway.conf.template").read_text())
        billing = " ".join(f"server 127.0.0.1:{self.api_port('billing', i)} max_fails=3 fail_timeout=5s;"
                           for i in range(self.billing_api_instances))
        text = template.safe_substitute(
            user_directive="user root;" if os.geteuid() == 0 else "", pid_file=conf_dir / "nginx.pid",
            log_dir=self.workdir / "logs", temp_dir=conf_dir / "tmp", listen=f"127.0.0.1:{self.gateway_port}",
            billing_servers=billing, portal=f"127.0.0.1:{self.portal_upstream_port}",
            events_docs_dir=ROOT / "docs/events", **rate_limits(self.full_env()),
            **{s: f"127.0.0.1:{self.api_port(s)}" for s in SERVICES if s != "billing"})
        path = conf_dir / "nginx.conf"
        path.write_text(text)
        return path

    def start(self, timeout: float = 60, reset: bool = False) -> None:
        """Prepare the data and the broker, start every piece and wait until all serve;
        `reset` first empties the data folder (and, in local mode, its vhost)."""
        started = time.monotonic()
        self._take_lock()
        if reset:
            self.say(f"reset: emptying {self.data_dir}")
            reset_data(self.data_dir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._check_ports()
        self.say(f"data: {self.data_dir}")
        self.say("migrating the databases")
        migrate = self.launch_step("migrate", [self.python, "-m", "deploy.migrate"])
        try:
            self._prepare_broker()
        except BaseException:
            _signal_group(migrate.pid, signal.SIGKILL)
            raise
        # AMQP_URI is the administrator's here: it provisions the whole topology first
        topology = self.launch_step("topology", [
            self.python, "-c", "from shared.broker import Broker; from shared.config import env; "
                               "Broker(env('AMQP_URI')).declare_topology()"])
        self.finish_step("migrate", migrate)
        self.finish_step("topology", topology)
        self.say("seeding review's delegations")
        self.run_once([self.python, "-m", "deploy.seed"], "seed", role="review")  # its events are review's
        if self.mode == "local":
            self.gunicorn("gateway", "deploy.gateway:create_gateway()", self.gateway_port, 1)
            self.env["SMTP_PORT"] = str(self.smtp_port)
            self.spawn("mailbox", [self.python, "-m", "deploy.mailbox", "--port", self.env["SMTP_PORT"],
                                   "--dir", str(self.workdir / "mail")], note=f"(SMTP) on port {self.smtp_port}")
        else:
            for service in SERVICES:
                count = self.billing_api_instances if service == "billing" else 1
                for i in range(count):
                    name = f"{service}-api" + (f"-{i}" if i else "")
                    self.gunicorn(name, f"services.{service}.app:create_app()", self.api_port(service, i),
                                  self.gunicorn_workers, role=service, threads=API_THREADS.get(service, 8))
            self.start_portal()
            nginx = find_nginx()
            if nginx is None:
                raise StackError("nginx is not installed")
            self.spawn("nginx", [nginx, "-c", str(self.render_nginx()), "-g", "daemon off;"],
                       death_signal=signal.SIGTERM)
        if self.mode == "local":
            self.start_workers_together()
        else:
            for service in self.worker_services:
                for i in range(self.billing_worker_instances if service == "billing" else 1):
                    self.start_worker(service, i)
        self.spawn("police", [self.python, "-m", "police.reference_client"], role="police")
        self.say("waiting until every API answers and every worker consumes")
        self.wait_healthy(timeout)
        self.say(f"ready in {time.monotonic() - started:.1f}s")

    def _take_lock(self) -> None:
        """One stack per data folder: a second would share its databases and its queues."""
        if self._lock is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.data_dir / "run.lock", "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise StackError(f"another run is going on {self.data_dir} (process {holder}); stop it first, "
                             "or give this one another ACCR_DATA_DIR") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the flock
            self._lock = None

    def ports(self) -> dict[int, str]:
        """The ports the pieces will listen on, and whose they are."""
        ports = {self.gateway_port: "nginx" if self.mode == "distributed" else "gateway"}
        if self.mode == "local":
            ports[self.smtp_port] = "mailbox"
        else:
            for service in SERVICES:
                for i in range(self.billing_api_instances if service == "billing" else 1):
                    ports[self.api_port(service, i)] = f"{service}-api" + (f"-{i}" if i else "")
        return ports

    def _check_ports(self) -> None:
        for port, piece in self.ports().items():
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    raise StackError(f"port {port} (for the {piece}) is taken by another program; free it, or "
                                     "choose others (--port for the gateway, SMTP_PORT for the mailbox)") from None

    def _prepare_broker(self) -> None:
        """In local mode without AMQP_URI, the data folder's own vhost (deploy/vhost.py);
        a broker given by AMQP_URI is used as given."""
        given = self.env.get("AMQP_URI") or os.environ.get("AMQP_URI")
        if self.mode != "local" or given:
            uri = given or vhost.DEFAULT_AMQP_URI
            vhost.probe(uri)  # a clear error now rather than pieces failing one by one
            self.broker_note = f"{_hide_password(uri)} (as given)"
        else:
            local = vhost.prepare(self.data_dir)
            self.env["AMQP_URI"] = local.uri
            self.broker_note = local.note
        self.say(f"broker: {self.broker_note}")

    def health_urls(self) -> list[dict[str, str]]:
        """Every API process's own /health (each billing instance too), then the gateway's,
        each with the piece that answers it: asking the gateway before its upstreams listen
        would make nginx mark them down."""
        phases = []
        if self.mode == "distributed":
            phases.append({f"http://127.0.0.1:{self.api_port(s, i)}/health": f"{s}-api" + (f"-{i}" if i else "")
                           for s in SERVICES for i in range(self.billing_api_instances if s == "billing" else 1)}
                          | {f"http://127.0.0.1:{self.portal_upstream_port}/health": "portal"})
        gateway = "nginx" if self.mode == "distributed" else "gateway"
        phases.append({f"{self.url}/api/{s}/health": gateway for s in SERVICES} | {f"{self.url}/health": gateway})
        return phases

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for phase in self.health_urls():
            self._wait_urls(phase, deadline, timeout)
        self._wait_workers(deadline)
        if self.mode == "local" or "registration" in self.worker_services:
            self._wait_delegations(deadline)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.popen is not None and proc.popen.poll() is not None:
                raise StackError(f"{name} exited with status {proc.popen.returncode}", (name,))

    def _wait_workers(self, deadline: float) -> None:
        """Every nameko worker consumes (its first handler queue has a consumer): a request
        sent to a worker still starting would wait in its queue past the caller's timeout."""
        from kombu import Connection
        from shared.topology import SUBSCRIPTIONS, handler_queue_name
        queues = {s: handler_queue_name(s, SUBSCRIPTIONS[s][0])
                  for s in (SERVICES if self.mode == "local" else self.worker_services)}
        with Connection(self.full_env()["AMQP_URI"]) as conn:
            channel = conn.default_channel
            while queues and time.monotonic() < deadline:
                self.check_alive()
                for service, queue in list(queues.items()):
                    try:
                        if channel.queue_declare(queue=queue, passive=True).consumer_count > 0:
                            del queues[service]
                    except Exception:
                        channel = conn.channel()  # a passive declare of a missing queue closes the channel
                if queues:
                    time.sleep(0.2)
        if queues:
            raise StackError(f"workers not consuming: {sorted(queues)}", tuple(f"{s}-worker" for s in sorted(queues)))

    def _wait_urls(self, pending: dict[str, str], deadline: float, timeout: float) -> None:
        pending = dict(pending)
        while pending and time.monotonic() < deadline:
            self.check_alive()
            for url in list(pending):
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        del pending[url]
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        if pending:
            raise StackError(f"not healthy after {timeout:.0f}s: {sorted(pending)}", tuple(sorted(set(pending.values()))))

    def _wait_delegations(self, deadline: float) -> None:
        while time.monotonic() < deadline:  # registration has learnt review's delegations
            self.check_alive()
            try:
                if requests.get(f"{self.url}/api/registration/delegations", timeout=2).json():
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        raise StackError("registration never received the delegation list", ("review-worker", "registration-worker"))

    def stop(self) -> None:
        """Every piece at once: SIGTERM, a short grace, then SIGKILL for whatever still runs."""
        self._stop(list(self.procs.values()), signal.SIGTERM, STOP_GRACE_SECONDS)
        self.procs.clear()
        self._release_lock()

    @staticmethod
    def _stop(procs: list[Proc], sig: int, grace: float) -> None:
        started = [p for p in procs if p.popen is not None]
        for proc in started:
            if proc.running():
                _signal_group(proc.popen.pid, sig)  # type: ignore[union-attr]
        deadline = time.monotonic() + grace
        for proc in started:
            try:
                proc.popen.wait(max(0.0, deadline - time.monotonic()))  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                pass
        for proc in started:  # the pieces that did not stop in time, and children their leader left behind
            _signal_group(proc.popen.pid, signal.SIGKILL)  # type: ignore[union-attr]
        for proc in started:
            try:
                proc.popen.wait(5)  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                pass

    def tail(self, name: str, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_of(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each piece has used so far, its process group included,
        from the kernel's own counters: a benchmark takes the difference over its run."""
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for name, proc in self.procs.items():
            if proc.popen is None or proc.popen.poll() is not None:
                continue
            total = 0
            for pid in _group_pids(proc.popen.pid):
                try:
                    text = Path(f"/proc/{pid}/stat").read_text()
                except OSError:
                    continue
                fields = text[text.rindex(")") + 2:].split()
                total += sum(int(f) for f in fields[11:15])  # utime, stime, and of reaped children
            used[name] = total / tick
        return used

    def rss_bytes(self) -> int:
        """Resident memory of every process of the stack (process groups included)."""
        return sum(self.rss_by_piece().values())

    def rss_by_piece(self) -> dict[str, int]:
        """Resident memory of each piece (its process group: the tether, the piece and its
        children, such as gunicorn's workers)."""
        used: dict[str, int] = {}
        for name, proc in self.procs.items():
            if proc.popen is None or proc.popen.poll() is not None:
                continue
            used[name] = 0
            for pid in _group_pids(proc.popen.pid):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            used[name] += int(line.split()[1]) * 1024
                except OSError:
                    pass
        return used


def rate_limits(environ: dict[str, str]) -> dict[str, str]:
    """nginx's per-address limits on password and code endpoints (GATEWAY_LOGIN_RATE etc. to
    change them; the tests, which log in hundreds of times from one address, raise them)."""
    return {"login_rate": environ.get("GATEWAY_LOGIN_RATE", "20r/m"),
            "login_burst": environ.get("GATEWAY_LOGIN_BURST", "10"),
            "code_rate": environ.get("GATEWAY_CODE_RATE", "10r/m"),
            "code_burst": environ.get("GATEWAY_CODE_BURST", "5")}


COMPOSE_EVENTS_DOCS_DIR = "/usr/share/accr/events"  # docker-compose mounts docs/events/ here


def render_compose_nginx() -> str:
    """deploy/nginx/gateway.conf: the same gateway for docker-compose's service names."""
    template = Template((ROOT / "deploy/nginx/gateway.conf.template").read_text())
    return template.safe_substitute(
        user_directive="", pid_file="/tmp/nginx.pid", log_dir="/var/log/nginx", temp_dir="/tmp/nginx",
        listen="8080", billing_servers="server billing-api:8000;", portal="portal:8000",
        events_docs_dir=COMPOSE_EVENTS_DOCS_DIR, **rate_limits({}),
        **{s: f"{s}-api:8000" for s in SERVICES if s != "billing"})


def reset_data(data: Path) -> None:
    """Empty a data folder of what the suite keeps there (SQLite files, keys, the run's logs
    and mail, the broker marker), and nothing else: ACCR_DATA_DIR may point anywhere."""
    for service in SERVICES:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (data / f"{service}.db{suffix}").unlink(missing_ok=True)
    for sub in ("run", "keys", "jwt"):
        shutil.rmtree(data / sub, ignore_errors=True)
    (data / vhost.MARKER).unlink(missing_ok=True)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _hide_password(uri: str) -> str:
    import urllib.parse
    parts = urllib.parse.urlsplit(uri)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urllib.parse.urlunsplit(parts)


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the accreditation suite on this machine")
    parser.add_argument("mode", choices=("local", "distributed"), nargs="?", default="local")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8080")))
    parser.add_argument("--reset", action="store_true",
                        help="start from empty: delete the data folder's databases, keys, logs and mail, "
                             "and the messages in its broker vhost")
    args = parser.parse_args(argv)
    data = Path(os.environ.get("ACCR_DATA_DIR") or ROOT / "var")

    def say(message: str) -> None:
        print(f"[accr] {message}", flush=True)

    # the zero-config run uses the sandbox providers: their pages (the sandbox phone and payer) are on
    env = {"ACCR_DATA_DIR": str(data), "ACCR_SANDBOX": os.environ.get("ACCR_SANDBOX", "1")}
    stack = Stack(workdir=data / "run", env=env, mode=args.mode, gateway_port=args.port, say=say)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # stopped, or the terminal closed: stop the pieces too
        signal.signal(sig, lambda *_: sys.exit(0))
    try:
        profile = fair()
        say(f"serving {profile.name('en')} ({profile.key}, edition {profile.edition(os.environ.get('FAIR_EDITION')).id})")
        stack.start(reset=args.reset)
        for label, address in stack.addresses():
            print(f"  {label:<6} {address}")
        print(f"  {'mail':<6} {stack.workdir / 'mail'}/\n  {'logs':<6} {stack.workdir / 'logs'}/\n"
              "  Ctrl-C stops everything; scripts/run-local --reset starts again from empty", flush=True)
        while True:
            stack.check_alive()
            time.sleep(1)
    except StackError as exc:
        say(f"failed: {exc}")
        for name in exc.pieces:
            say(f"last lines of {stack.log_of(name)}:")
            print(_indent(stack.tail(name)), flush=True)
        return 1
    except vhost.BrokerUnreachable as exc:
        say(f"failed: {exc}; start RabbitMQ (scripts/run-local does when run as root) or set AMQP_URI")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stopping, running = time.monotonic(), bool(stack.procs)
        stack.stop()
        if running:
            say(f"stopped in {time.monotonic() - stopping:.1f}s")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
