"""Start the whole suite as processes on one machine.

Two shapes, one tool:
- `local`: the README's zero-configuration run: SQLite files, one gunicorn process
  serving every API behind the one-process gateway, a nameko worker per service, the
  police reference client and a local SMTP mailbox.
- `distributed`: the production topology as processes: a gunicorn per service API
  (billing may run several), a nameko worker per service (billing may run several),
  a PostgreSQL database per service, nginx in front, the police client.

    python -m deploy.stack local            # what scripts/run-local runs
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import requests

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("registration", "review", "credentials", "billing", "notifications")
# Paths without query strings: a search by ID number or phone must not reach the logs.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
WORKER_CLASSES = {s: f"services.{s}.worker:{s.title()}Worker" for s in SERVICES}


def find_nginx() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


@dataclass
class Proc:
    name: str
    args: list[str]
    popen: subprocess.Popen | None = None


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
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return sys.executable

    @property
    def bin(self) -> Path:
        return Path(self.python).parent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def full_env(self, role: str | None = None) -> dict[str, str]:
        """The environment of a process; `role` (a service, or "police") picks its broker user."""
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
               "PUBLIC_BASE_URL": self.env.get("PUBLIC_BASE_URL", self.url)}
        env.setdefault("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")
        if role in self.amqp_uris:
            env["POLICE_AMQP_URI" if role == "police" else "AMQP_URI"] = self.amqp_uris[role]
        return env

    # --- processes ---------------------------------------------------------------------
    def spawn(self, name: str, args: list[str], role: str | None = None) -> Proc:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{name}.log", "ab")
        proc = Proc(name, args, subprocess.Popen(args, cwd=ROOT, env=self.full_env(role), stdout=out,
                                                 stderr=subprocess.STDOUT, start_new_session=True))
        self.procs[name] = proc
        return proc

    def run_once(self, args: list[str], role: str | None = None) -> None:
        subprocess.run(args, cwd=ROOT, env=self.full_env(role), check=True, stdout=subprocess.DEVNULL)

    def gunicorn(self, name: str, app: str, port: int, workers: int, role: str | None = None) -> None:
        self.spawn(name, [str(self.bin / "gunicorn"), "-k", "gthread", "-w", str(workers), "--threads", "8",
                          "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5", "--timeout", "60",
                          "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT, app], role)

    def start_worker(self, service: str, index: int = 0) -> None:
        name = f"{service}-worker" + (f"-{index}" if index else "")
        self.spawn(name, [str(self.bin / "nameko"), "run", WORKER_CLASSES[service],
                          "--broker", self.full_env(service)["AMQP_URI"]], service)

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.popen is None or proc.popen.poll() is not None:
            return
        try:
            os.killpg(proc.popen.pid, sig)
            proc.popen.wait(timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.popen.wait(5)

    def kill_worker(self, service: str) -> None:
        """SIGKILL, as a crash: no graceful shutdown, unacknowledged messages go back."""
        self.stop_process(f"{service}-worker", signal.SIGKILL)

    def api_port(self, service: str, index: int = 0) -> int:
        return self.api_base_port + SERVICES.index(service) * 10 + index

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
            billing_servers=billing, events_docs_dir=ROOT / "docs/events", **rate_limits(self.full_env()),
            **{s: f"127.0.0.1:{self.api_port(s)}" for s in SERVICES if s != "billing"})
        path = conf_dir / "nginx.conf"
        path.write_text(text)
        return path

    def start(self, timeout: float = 60) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            self.run_once([self.python, "-m", "deploy.migrate", service])
        # AMQP_URI is the administrator's here: it provisions the whole topology first
        self.run_once([self.python, "-c", "from shared.broker import Broker; from shared.config import env; "
                                          "Broker(env('AMQP_URI')).declare_topology()"])
        self.run_once([self.python, "-m", "deploy.seed"], "review")  # its events are review's
        if self.mode == "local":
            self.gunicorn("gateway", "deploy.gateway:create_gateway()", self.gateway_port, 1)
            if "SMTP_PORT" not in self.env:
                self.env["SMTP_PORT"] = "2525"
            self.spawn("mailbox", [self.python, "-m", "deploy.mailbox", "--port", self.env["SMTP_PORT"],
                                   "--dir", str(self.workdir / "mail")])
        else:
            for service in SERVICES:
                count = self.billing_api_instances if service == "billing" else 1
                for i in range(count):
                    name = f"{service}-api" + (f"-{i}" if i else "")
                    self.gunicorn(name, f"services.{service}.app:create_app()", self.api_port(service, i),
                                  self.gunicorn_workers, service)
            nginx = find_nginx()
            if nginx is None:
                raise RuntimeError("nginx is not installed")
            self.spawn("nginx", [nginx, "-c", str(self.render_nginx()), "-g", "daemon off;"])
        for service in SERVICES:
            for i in range(self.billing_worker_instances if service == "billing" else 1):
                self.start_worker(service, i)
        self.spawn("police", [self.python, "-m", "police.reference_client"], "police")
        self.wait_healthy(timeout)

    def health_urls(self) -> list[list[str]]:
        """Every API process's own /health (each billing instance too), then the gateway's:
        asking the gateway before its upstreams listen would make nginx mark them down."""
        phases = []
        if self.mode == "distributed":
            phases.append([f"http://127.0.0.1:{self.api_port(s, i)}/health" for s in SERVICES
                           for i in range(self.billing_api_instances if s == "billing" else 1)])
        phases.append([f"{self.url}/api/{s}/health" for s in SERVICES])
        return phases

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for phase in self.health_urls():
            self._wait_urls(set(phase), deadline, timeout)
        self._wait_workers(deadline)
        self._wait_delegations(deadline)

    def _wait_workers(self, deadline: float) -> None:
        """Every nameko worker consumes (its first handler queue has a consumer): a request
        sent to a worker still starting would wait in its queue past the caller's timeout."""
        from kombu import Connection
        from shared.topology import SUBSCRIPTIONS, handler_queue_name
        queues = {s: handler_queue_name(s, SUBSCRIPTIONS[s][0]) for s in SERVICES}
        with Connection(self.full_env()["AMQP_URI"]) as conn:
            channel = conn.default_channel
            while queues and time.monotonic() < deadline:
                for service, queue in list(queues.items()):
                    try:
                        if channel.queue_declare(queue=queue, passive=True).consumer_count > 0:
                            del queues[service]
                    except Exception:
                        channel = conn.channel()  # a passive declare of a missing queue closes the channel
                if queues:
                    time.sleep(0.2)
        if queues:
            raise RuntimeError(f"workers not consuming: {sorted(queues)}")

    def _wait_urls(self, pending: set[str], deadline: float, timeout: float) -> None:
        while pending and time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.popen and proc.popen.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.popen.returncode}; see {self.workdir}/logs/{name}.log")
            for url in list(pending):
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        pending.discard(url)
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not healthy after {timeout}s: {sorted(pending)}")

    def _wait_delegations(self, deadline: float) -> None:
        while time.monotonic() < deadline:  # registration has learnt review's delegations
            try:
                if requests.get(f"{self.url}/api/registration/delegations", timeout=2).json():
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError("registration never received the delegation list")

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_process(name)

    def rss_bytes(self) -> int:
        """Resident memory of every process of the stack (process groups included)."""
        total = 0
        for proc in self.procs.values():
            if proc.popen is None or proc.popen.poll() is not None:
                continue
            for pid in _group_pids(proc.popen.pid):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
                except OSError:
                    pass
        return total


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
        listen="8080", billing_servers="server billing-api:8000;", events_docs_dir=COMPOSE_EVENTS_DOCS_DIR,
        **rate_limits({}),
        **{s: f"{s}-api:8000" for s in SERVICES if s != "billing"})


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
    args = parser.parse_args(argv)
    data = Path(os.environ.get("ACCR_DATA_DIR", ROOT / "var"))
    stack = Stack(workdir=data / "run", env={"ACCR_DATA_DIR": str(data)}, mode=args.mode,
                  gateway_port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack.start()
        print(f"gateway: {stack.url}  (APIs at {stack.url}/api/<service>/, docs at /api/<service>/openapi.json)")
        print(f"mail: {data / 'run' / 'mail'}   logs: {data / 'run' / 'logs'}   stop with Ctrl-C", flush=True)
        while True:
            for name, proc in stack.procs.items():
                if proc.popen and proc.popen.poll() is not None:
                    print(f"{name} exited ({proc.popen.returncode}); see its log", flush=True)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
