"""Liveness, readiness and the workers' heartbeat."""
from __future__ import annotations

import importlib
import json
import time

import pytest

from deploy import heartbeat as probe
from shared import heartbeat


@pytest.fixture
def registration_app(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCR_DATA_DIR", str(tmp_path))
    for name in ("ACCR_ENV", "AMQP_URI", "REGISTRATION_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    bootstrap = importlib.import_module("services.registration.bootstrap").bootstrap
    bootstrap.cache_clear()
    app = importlib.import_module("services.registration.app").create_app(start_relay=False)
    yield app
    bootstrap.cache_clear()


def test_readiness_asks_the_database_and_the_broker_liveness_asks_nothing(registration_app, monkeypatch):
    deps = registration_app.extensions["deps"]
    asked: list[str] = []
    monkeypatch.setattr(deps.db, "ping", lambda: asked.append("db") or False)
    monkeypatch.setattr(deps.broker, "ping", lambda: asked.append("broker") or True)
    client = registration_app.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.get_json() == {"service": "registration", "status": "alive"}
    assert asked == []
    for path in ("/readyz", "/health"):
        ready = client.get(path)
        assert ready.status_code == 503, path
        assert ready.get_json() == {"service": "registration", "database": "unreachable", "broker": "ok",
                                    "status": "degraded"}
    assert asked == ["db", "broker"]  # the second probe within two seconds was answered from the first


def test_readiness_is_asked_again_after_its_cache_lapses(registration_app, monkeypatch):
    deps = registration_app.extensions["deps"]
    up = {"db": False}
    monkeypatch.setattr(deps.db, "ping", lambda: up["db"])
    monkeypatch.setattr(deps.broker, "ping", lambda: True)
    client = registration_app.test_client()
    assert client.get("/readyz").status_code == 503
    up["db"] = True
    clock = time.monotonic() + 10
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    assert client.get("/readyz").status_code == 200


def test_a_heartbeat_is_fresh_then_stale_and_the_probe_says_so(tmp_path, monkeypatch, capsys):
    path = tmp_path / "billing.heartbeat"
    monkeypatch.setenv("WORKER_HEARTBEAT_FILE", str(path))
    assert heartbeat.heartbeat_path("billing") == path
    assert probe.main(["billing"]) == 1 and "no heartbeat" in capsys.readouterr().err
    heartbeat.beat(path, "billing")
    assert json.loads(path.read_text())["service"] == "billing"
    assert heartbeat.age(path) < 5
    assert probe.main(["billing"]) == 0
    assert heartbeat.age(path, now=time.time() + 120) > 60
    path.write_text(json.dumps({"service": "billing", "at": time.time() - 120}))
    assert probe.main(["billing", "--max-age", "60"]) == 1 and "120s ago" in capsys.readouterr().err
    path.write_text("{not json")
    assert heartbeat.age(path) is None and probe.main(["billing"]) == 1


def test_without_a_setting_each_service_beats_in_the_temporary_folder(monkeypatch):
    monkeypatch.delenv("WORKER_HEARTBEAT_FILE", raising=False)
    assert heartbeat.heartbeat_path("review").name == "accr-review-worker.heartbeat"


def test_a_database_that_refuses_is_a_503_to_try_again_never_a_500(registration_app):
    from sqlalchemy.exc import OperationalError

    def refused():
        raise OperationalError("SELECT 1", {}, Exception("remaining connection slots are reserved"))
    registration_app.add_url_rule("/refused", "refused", refused)
    answer = registration_app.test_client().get("/refused")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.get_json()["code"] == "database_unavailable"
    assert "SELECT" not in answer.get_data(as_text=True)  # nothing of the statement leaks
