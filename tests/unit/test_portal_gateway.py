"""The portal is served at / by both gateways, with /api/... unchanged."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from deploy.stack import SERVICES, Stack, render_compose_nginx


@pytest.fixture
def fresh_runtimes(tmp_path, monkeypatch):
    """Each service's runtime is built once per process: build them here against a scratch
    folder, and forget them afterwards so that later tests build their own."""
    monkeypatch.setenv("ACCR_DATA_DIR", str(tmp_path))
    modules = [importlib.import_module(f"services.{s}.bootstrap") for s in SERVICES]
    for module in modules:
        module.bootstrap.cache_clear()
    yield
    for module in modules:
        module.bootstrap().db.engine.dispose()
        module.bootstrap.cache_clear()


def test_the_one_process_gateway_serves_the_portal_at_the_root(fresh_runtimes):
    from deploy.gateway import create_gateway
    client = create_gateway(start_relay=False).test_client()
    home = client.get("/")
    assert home.status_code == 200 and "专业观众注册报名" in home.get_data(as_text=True)
    assert client.get("/static/portal.css").status_code == 200
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    assert client.get("/api/").json["services"]["registration"] == "/api/registration/openapi.json"
    assert client.get("/api/registration/openapi.json").json["info"]["title"] == "registration service"


def test_nginx_sends_the_root_to_the_portal_and_keeps_the_api_routes(tmp_path):
    stack = Stack(workdir=tmp_path, env={}, api_base_port=40000)
    conf = Path(stack.render_nginx()).read_text()
    assert f"upstream portal {{ server 127.0.0.1:{stack.portal_upstream_port};" in conf
    assert "location / {  # the web portal" in conf and "proxy_pass http://portal;" in conf
    assert "location /api/ {" in conf and "proxy_pass http://$api_service$api_path$is_args$args;" in conf
    assert "upstream portal { server portal:8000;" in render_compose_nginx()


def test_the_distributed_stack_starts_the_portal_behind_nginx(tmp_path):
    stack = Stack(workdir=tmp_path, env={}, api_base_port=40000, gateway_port=8123)
    phases = stack.health_urls()
    assert f"http://127.0.0.1:{stack.portal_upstream_port}/health" in phases[0]
    assert "http://127.0.0.1:8123/health" in phases[-1]
    assert stack.portal_upstream_port not in {stack.api_port(s) for s in ("registration", "notifications")}
