"""The counterpart of bench.deadline_peak: pretix, the open-source ticket shop, on the same
machine, driven the same way — N orders by C concurrent clients through its REST API, each
created (one position) and then marked paid. NOT part of the product: pretix lives in its own
virtualenv outside the repository (bench/pretix/README.md).

    .venv/bin/python -m bench.pretix_peak --orders 600 --concurrency 32

It is deployed as pretix's documentation deploys it: `gunicorn pretix.wsgi` (sync workers,
2 of them here as our billing instance has 2), PostgreSQL on this machine, no Redis, Celery
tasks run eagerly in the request (pretix's default without a broker). A fresh database per
run is cloned from a migrated template (the first run migrates, about 2 minutes). Twenty
orders warm it up before the measured ones. One JSON line: orders/s, p50/p99 of creating
and of marking paid, pretix's CPU-seconds per order, the load generator's CPU, the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import requests

from bench.deadline_peak import _own_cpu, machine, percentile
from deploy.stack import _group_pids
from tests.infra import free_port, pg_admin_url

PRETIX_VERSION = "2026.8.0"
PINS = [f"pretix=={PRETIX_VERSION}", "gunicorn==27.0.1", "psycopg2-binary==2.9.13"]
HOME = Path(os.environ.get("PRETIX_HOME") or Path.home() / ".cache" / "accr-pretix")
TEMPLATE_DB, RUN_DB = "pretix_bench_template", "pretix_bench"
WORKERS = 2
WARM_UP = 20
OBJECTS = Path(__file__).resolve().parent / "pretix" / "objects.py"


def venv_python() -> Path:
    return HOME / "venv" / "bin" / "python"


def ensure_venv(say) -> None:
    if venv_python().exists():
        return
    say(f"installing pretix {PRETIX_VERSION} into {HOME / 'venv'} (its own virtualenv)")
    subprocess.run([sys.executable, "-m", "venv", str(HOME / "venv")], check=True)
    subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", *PINS], check=True)


def write_config(database: str, port: int) -> Path:
    data = HOME / "data"
    data.mkdir(parents=True, exist_ok=True)
    pg = urllib.parse.urlsplit(pg_admin_url())  # the databases' owner, as for our own
    path = HOME / f"pretix-{database}.cfg"
    path.write_text(f"""[pretix]
instance_name=pretix counterpart
url=http://127.0.0.1:{port}
currency=CNY
datadir={data}
trust_x_forwarded_for=off

[database]
backend=postgresql
name={database}
user={pg.username}
password={pg.password or ""}
host={pg.hostname}
port={pg.port or 5432}

[mail]
from=bench@example.invalid
host=127.0.0.1
port=1

[django]
debug=off
""")
    return path


def pretix(config: Path, *args: str) -> str:
    done = subprocess.run([str(venv_python()), "-m", "pretix", *args], cwd=HOME, capture_output=True, text=True,
                          env={**os.environ, "PRETIX_CONFIG_FILE": str(config)})
    if done.returncode != 0:
        raise RuntimeError(f"pretix {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def admin(sql: str) -> list:
    conn = psycopg2.connect(pg_admin_url())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def prepare(say) -> dict:
    """A migrated template with the organizer, event, product and API token (once), then a
    fresh database cloned from it for this run."""
    ensure_venv(say)
    objects_file = HOME / "objects.json"
    if not admin(f"SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE_DB}'") or not objects_file.exists():
        say("migrating pretix's template database (once, about 2 minutes)")
        admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        admin(f"CREATE DATABASE {TEMPLATE_DB}")
        config = write_config(TEMPLATE_DB, 1)
        pretix(config, "migrate")
        out = pretix(config, "shell", "-c", OBJECTS.read_text())
        line = next(ln for ln in out.splitlines() if ln.startswith("PRETIX_OBJECTS "))
        objects_file.write_text(line.split(" ", 1)[1])
    admin(f"DROP DATABASE IF EXISTS {RUN_DB}")
    admin(f"CREATE DATABASE {RUN_DB} TEMPLATE {TEMPLATE_DB}")
    return json.loads(objects_file.read_text())


def start(port: int) -> subprocess.Popen:
    config = write_config(RUN_DB, port)
    log = open(HOME / "gunicorn.log", "ab")
    return subprocess.Popen([str(HOME / "venv" / "bin" / "gunicorn"), "pretix.wsgi", "--workers", str(WORKERS),
                             "--bind", f"127.0.0.1:{port}", "--max-requests", "1200", "--max-requests-jitter", "50",
                             "--log-level", "warning"], cwd=HOME, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PRETIX_CONFIG_FILE": str(config)}, start_new_session=True)


def group_cpu(pid: int) -> float:
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for member in _group_pids(pid):
        try:
            text = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        total += sum(int(f) for f in fields[11:15])
    return total / tick


def run_pretix(orders: int, concurrency: int, say=lambda message: None) -> dict:
    objects = prepare(say)
    port = free_port()
    server = start(port)
    base = f"http://127.0.0.1:{port}/api/v1/organizers/{objects['organizer']}/events/{objects['event']}/orders/"
    headers = {"Authorization": f"Token {objects['token']}"}
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers.update(headers)
        return local.s

    timings: dict[str, list[float]] = {"create_order": [], "mark_paid": []}
    failures: list[str] = []

    def one(_: int, measured: bool = True) -> None:
        try:
            t0 = time.monotonic()
            r = session().post(base, json={
                "email": f"{uuid.uuid4().hex[:12]}@example.invalid", "locale": "en", "sales_channel": "web",
                "payment_provider": "manual", "send_email": False,
                "positions": [{"item": objects["item"], "attendee_name_parts": {"full_name": "Bench Visitor"}}]})
            t1 = time.monotonic()
            if r.status_code != 201:
                failures.append(f"create {r.status_code}")
                return
            r = session().post(f"{base}{r.json()['code']}/mark_paid/", json={"send_email": False})
            t2 = time.monotonic()
            if r.status_code != 200 or r.json().get("status") != "p":
                failures.append(f"mark_paid {r.status_code}")
                return
            if measured:
                timings["create_order"].append(t1 - t0)
                timings["mark_paid"].append(t2 - t1)
        except requests.RequestException as exc:
            failures.append(type(exc).__name__)

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until pretix answers its API
            try:
                if requests.get(base, headers=headers, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"pretix did not answer on port {port}; see {HOME / 'gunicorn.log'}")
        for i in range(WARM_UP):
            one(i, measured=False)
        failures.clear()
        cpu_before, client_before = group_cpu(server.pid), _own_cpu()
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(orders)))
        elapsed = time.monotonic() - started
        cpu_used, client_used = group_cpu(server.pid) - cpu_before, _own_cpu() - client_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    confirmed = len(timings["mark_paid"])
    return {"confirmed": confirmed, "failures": failures, "elapsed": elapsed, "throughput": confirmed / elapsed,
            "cpu_s_per_order": cpu_used / max(1, confirmed), "client_cpu_s": client_used,
            **{f"{k}_p50": percentile(v, 50) for k, v in timings.items() if v},
            **{f"{k}_p99": percentile(v, 99) for k, v in timings.items() if v}}


def json_line(orders: int, concurrency: int, r: dict) -> str:
    return json.dumps({
        "bench": "pretix_peak", "pretix": PRETIX_VERSION, "gunicorn_workers": WORKERS, "orders": orders,
        "clients": concurrency, "confirmed": r["confirmed"], "failures": len(r["failures"]),
        "elapsed_s": round(r["elapsed"], 2), "orders_per_s": round(r["throughput"], 2),
        **{"{}_ms_{}".format(*k.rsplit("_", 1)): round(v * 1000, 1) for k, v in r.items()
           if k.endswith(("_p50", "_p99"))},
        "cpu_s_per_order": round(r["cpu_s_per_order"], 4), "client_cpu_s": round(r["client_cpu_s"], 2),
        "machine": machine()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    r = run_pretix(args.orders, args.concurrency, say=lambda message: print(f"[pretix] {message}", flush=True))
    print(json_line(args.orders, args.concurrency, r), flush=True)
    print(f"pretix {PRETIX_VERSION}, {WORKERS} gunicorn workers, {args.concurrency} clients: {r['confirmed']} orders "
          f"created and paid in {r['elapsed']:.1f}s = {r['throughput']:.1f} orders/s; create p50 "
          f"{r['create_order_p50'] * 1000:.0f} ms p99 {r['create_order_p99'] * 1000:.0f} ms; mark paid p50 "
          f"{r['mark_paid_p50'] * 1000:.0f} ms p99 {r['mark_paid_p99'] * 1000:.0f} ms; "
          f"{r['cpu_s_per_order']:.4f} CPU-s per order; failures {len(r['failures'])}", flush=True)


if __name__ == "__main__":
    main()
