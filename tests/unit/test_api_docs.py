"""The portal's API documentation pages (services/portal/pages/api_docs.py) on a tiny Flask
app of their own: a page per service that loads the vendored Redoc and the service's
OpenAPI document from this origin only, under a policy that allows Redoc's styles by
nonce; the vendored bundle is the one pinned; the examples are well formed."""
from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from flask import Flask

from services.portal.pages import api_docs
from shared.config import SERVICES


@pytest.fixture
def client():
    app = Flask("docs-test")
    app.register_blueprint(api_docs.create_docs_blueprint())
    return app.test_client()


def test_the_index_links_every_service_and_the_event_contract(client):
    page = client.get("/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for service in SERVICES:
        assert f'href="/docs/{service}"' in html and f'href="/api/{service}/openapi.json"' in html
    assert 'href="/api/events/asyncapi.json"' in html and 'href="/api/events/asyncapi.yaml"' in html


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_page_renders_its_openapi_document_with_redoc_from_this_origin(client, service):
    page = client.get(f"/docs/{service}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-spec-url="/api/{service}/openapi.json"' in html
    assert f'data-examples-url="/docs/{service}/examples.json"' in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == [f"/docs/assets/redoc.standalone.js?v={api_docs.REDOC_VERSION}", "/docs/assets/api_docs.js"]
    assert f'integrity="{api_docs.REDOC_SRI}"' in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing from outside
    assert "<script>" not in html and "style=" not in html  # nothing inline


def test_each_page_has_its_own_nonce_and_a_policy_that_allows_only_that(client):
    first, second = client.get("/docs/billing"), client.get("/docs/billing")
    nonces = []
    for page in (first, second):
        policy = page.headers["Content-Security-Policy"]
        [nonce] = re.findall(r"'nonce-([^']+)'", policy)
        assert f'data-nonce="{nonce}"' in page.get_data(as_text=True)
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        for digest in api_docs.REDOC_STYLE_HASHES:
            assert f"'{digest}'" in policy
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 20
    assert first.headers["X-Content-Type-Options"] == "nosniff" and first.headers["X-Frame-Options"] == "DENY"


def test_unknown_services_and_assets_are_not_found(client):
    assert client.get("/docs/payroll").status_code == 404
    assert client.get("/docs/payroll/examples.json").status_code == 404
    for name in ("../pages/api_docs.py", "redoc.standalone.js.LICENSE.txt", "portal.css"):
        assert client.get(f"/docs/assets/{name}").status_code == 404


def test_the_assets_are_served(client):
    bundle = client.get(f"/docs/assets/redoc.standalone.js?v={api_docs.REDOC_VERSION}")
    assert bundle.status_code == 200 and bundle.mimetype in ("text/javascript", "application/javascript")
    assert client.get("/docs/assets/api_docs.js").status_code == 200
    assert client.get("/docs/assets/api_docs.css").mimetype == "text/css"
    bundle.close()


def test_the_vendored_redoc_is_the_pinned_release():
    data = api_docs.ASSETS["redoc.standalone.js"].read_bytes()
    sri = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    assert sri == api_docs.REDOC_SRI, f"the vendored file changed: REDOC_SRI = {sri!r} (scripts/vendor-redoc)"
    licence = api_docs.ASSETS["redoc.standalone.js"].parent / "LICENSE"
    assert "MIT License" in licence.read_text(encoding="utf-8")
    # no fetch from a CDN the page could not refuse: its one outside address is the attribution logo
    outside = set(re.findall(rb"https://cdn\.[a-z.]+/[^\"']+", data))
    assert outside == {b"https://cdn.redoc.ly/redoc/logo-mini.svg"}


def test_the_examples_name_a_call_and_its_answer(client):
    for service in SERVICES:
        served = client.get(f"/docs/{service}/examples.json").get_json()
        assert served == api_docs.examples()[service]
        assert served["intro"]
        for call in served["calls"]:
            assert call["method"] in ("get", "post", "put", "patch", "delete")
            assert call["path"].startswith("/") and call["summary"]
            assert re.fullmatch(r"[1-5][0-9][0-9]", call["status"]) and "response" in call
            assert set(re.findall(r"\{(\w+)\}", call["path"])) == set(call.get("params", {}))
    assert json.loads(api_docs.EXAMPLES_PATH.read_text(encoding="utf-8")).keys() == set(SERVICES)
