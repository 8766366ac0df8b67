"""The nginx gateway, rendered from its template, over a stand-in upstream: it serves the
published AsyncAPI document at /api/events/ (JSON and YAML, with the security headers),
and sends exactly one content security policy per answer — its own, unless the upstream
sent one (the portal's API documentation needs a nonce for its renderer's styles)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import yaml

from deploy.asyncapi import JSON_PATH
from deploy.stack import Stack, find_nginx
from tests.infra import free_port, wait_for

UPSTREAM_POLICY = "default-src 'self'; style-src 'self' 'nonce-abc123'"


class Upstream(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path.endswith("/own-policy"):
            self.send_header("Content-Security-Policy", UPSTREAM_POLICY)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/test installs it when run as root)")
    upstream_port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", upstream_port), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # registration's upstream is api_base_port itself
    stack = Stack(workdir=tmp_path_factory.mktemp("gateway"), env={}, mode="distributed",
                  gateway_port=free_port(), api_base_port=upstream_port)
    stack.spawn("nginx", [find_nginx() or "nginx", "-c", str(stack.render_nginx()), "-g", "daemon off;"])
    try:
        wait_for(lambda: _answers(stack.url + "/api/registration/ping"), timeout=20, message="the gateway")
        yield stack.url
    finally:
        stack.stop()
        server.shutdown()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def policies(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Content-Security-Policy")


def test_the_gateway_serves_the_asyncapi_document(gateway):
    committed = json.loads(JSON_PATH.read_text(encoding="utf-8"))
    as_json = requests.get(gateway + "/api/events/asyncapi.json", timeout=10)
    assert as_json.status_code == 200 and as_json.headers["Content-Type"] == "application/json"
    assert as_json.json() == committed
    as_yaml = requests.get(gateway + "/api/events/asyncapi.yaml", timeout=10)
    assert as_yaml.status_code == 200 and as_yaml.headers["Content-Type"] == "application/yaml"
    assert yaml.safe_load(as_yaml.text) == committed
    for response in (as_json, as_yaml):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert policies(response) == [policies(response)[0]] and "frame-ancestors 'none'" in policies(response)[0]
    for path in ("/api/events/", "/api/events/asyncapi.xml", "/api/events/../events/asyncapi.json.bak"):
        missing = requests.get(gateway + path, timeout=10)
        assert missing.status_code == 404, path


def test_one_content_security_policy_per_answer_the_upstreams_own_if_it_sent_one(gateway):
    plain = requests.get(gateway + "/api/registration/anything", timeout=10)
    assert plain.status_code == 200 and plain.json() == {"path": "/anything"}
    [default] = policies(plain)
    assert default.startswith("default-src 'self'") and "frame-ancestors 'none'" in default
    own = requests.get(gateway + "/api/registration/own-policy", timeout=10)
    assert policies(own) == [UPSTREAM_POLICY]
    assert own.headers["X-Frame-Options"] == "DENY"  # the other headers stay the gateway's
    [refused] = policies(requests.get(gateway + "/nowhere", timeout=10))
    assert refused == default
