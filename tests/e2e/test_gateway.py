"""The gateway in front of everything: security headers on every answer, bounded request
bodies, and per-address rate limits on password and code endpoints (a strict gateway
rendered from the same template over the running APIs)."""
from __future__ import annotations

import http.client

import requests

from deploy.stack import Stack, find_nginx
from tests.infra import free_port, wait_for


def test_every_answer_carries_the_security_headers(stack):
    for path in ("/api/registration/delegations", "/api/nope", "/"):
        r = requests.get(stack.url + path, timeout=10)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert "nginx/" not in r.headers.get("Server", "")
    assert requests.get(stack.url + "/api/nope", timeout=10).json()["code"] == "not_found"


def test_an_oversized_body_is_refused_at_the_gateway(stack):
    """Refused on its declared length, before nine megabytes cross the wire."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.gateway_port, timeout=10)
    conn.putrequest("POST", "/api/registration/units/me/document")
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(9 * 1024 * 1024))
    conn.endheaders(b"x" * 1024)
    assert conn.getresponse().status == 413
    conn.close()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def test_logins_and_codes_are_rate_limited_per_address(stack, tmp_path):
    strict = Stack(workdir=tmp_path, env={**stack.env, "GATEWAY_LOGIN_RATE": "2r/m", "GATEWAY_LOGIN_BURST": "1",
                                           "GATEWAY_CODE_RATE": "2r/m", "GATEWAY_CODE_BURST": "1"},
                   mode="distributed", gateway_port=free_port(), api_base_port=stack.api_base_port)
    strict.spawn("strict-nginx", [find_nginx() or "nginx", "-c", str(strict.render_nginx()), "-g", "daemon off;"])
    try:
        wait_for(lambda: answers(strict.url + "/api/registration/delegations"), message="the strict gateway")
        logins = [requests.post(strict.url + "/api/registration/auth/login", timeout=10,
                                json={"uscc": "91350100M000100Y43", "password": "Wrong-pass1"}).status_code
                  for _ in range(4)]
        assert logins[0] == 401 and logins[-1] == 429
        codes = [requests.post(strict.url + "/api/registration/sms-codes", timeout=10,
                               json={"phone": "13800000000", "purpose": "nonsense"}).status_code for _ in range(4)]
        assert codes[0] == 400 and codes[-1] == 429
        assert requests.get(strict.url + "/api/registration/delegations", timeout=10).status_code == 200  # others flow
    finally:
        strict.stop()
