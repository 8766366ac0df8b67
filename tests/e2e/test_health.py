"""Health and shutdown in the distributed stack: every API live and ready, every worker
beating, and a worker that gets SIGTERM finishing by itself within a few seconds."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import requests

from shared.config import SERVICES
from shared.heartbeat import age
from tests.infra import wait_for


def test_every_api_is_live_and_ready_directly_and_through_the_gateway(stack):
    for service in SERVICES:
        base = f"http://127.0.0.1:{stack.api_port(service)}"
        alive = requests.get(f"{base}/healthz", timeout=5)
        assert alive.status_code == 200 and alive.json()["status"] == "alive", service
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, (service, ready.text)
        assert ready.json() == {"service": service, "database": "ok", "broker": "ok", "status": "ok"}
        assert requests.get(f"{stack.url}/api/{service}/health", timeout=5).status_code == 200, service


def test_every_worker_beats_and_the_probe_reads_it(stack):
    for service in SERVICES:
        path = stack.heartbeat_of(f"{service}-worker")
        wait_for(lambda: (age(path) or 99) < 10, timeout=20, message=f"{service} worker's heartbeat")
        probe = subprocess.run([sys.executable, "-m", "deploy.heartbeat", service], capture_output=True, text=True,
                               env={**os.environ, "WORKER_HEARTBEAT_FILE": str(path)}, timeout=30)
        assert probe.returncode == 0, probe.stderr
        assert f"{service} worker: alive" in probe.stdout


def test_a_worker_stops_by_itself_on_sigterm_and_comes_back(stack):
    name = "notifications-worker"
    popen = stack.procs[name].popen
    path = stack.heartbeat_of(name)
    started = time.monotonic()
    stack.stop_process(name, signal.SIGTERM, timeout=10)
    took = time.monotonic() - started
    assert popen.returncode == 0, f"{name} did not stop by itself (status {popen.returncode})"
    assert took < 8, f"{name} took {took:.1f}s to stop"
    stack.start_worker("notifications")
    new_pid = stack.procs[name].popen.pid
    wait_for(lambda: path.exists() and json.loads(path.read_text())["pid"] != popen.pid and (age(path) or 99) < 10,
             timeout=60, message=f"{name} beating again (pid {new_pid})")
