"""The API documentation against the services' real OpenAPI documents: every example of
the calls a portal gateway makes names an operation that exists and satisfies its request
and response schemas; and a headless browser renders a page (Redoc, the examples, the curl
samples) under the page's own content security policy without violating it."""
from __future__ import annotations

import re
import shutil
import subprocess
import threading

import pytest
from flask import Flask, jsonify
from PIL import Image
from werkzeug.serving import make_server

from services.portal.pages import api_docs
from tests.infra import SERVICES, free_port
from tests.schemas import errors, validator


@pytest.fixture(scope="module")
def openapi(apps) -> dict[str, dict]:
    return {s: apps[s].get("/openapi.json").get_json() for s in SERVICES}


def _calls():
    return [(service, call) for service, doc in api_docs.examples().items() for call in doc["calls"]]


@pytest.mark.parametrize(("service", "call"), _calls(), ids=lambda v: v if isinstance(v, str) else
                         f"{v['method']} {v['path']}")
def test_each_example_is_a_real_call_with_a_valid_request_and_answer(openapi, service, call):
    document = openapi[service]
    operation = document["paths"].get(call["path"], {}).get(call["method"])
    assert operation is not None, f"{service} has no {call['method'].upper()} {call['path']}"
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if "request" in call:
        assert body is not None, "the example sends a body the operation does not take"
        assert errors(validator(body["schema"], document, openapi=True), call["request"]) == []
    else:
        assert body is None or not body.get("required"), "the operation needs a body the example lacks"
    response = operation["responses"].get(call["status"])
    assert response is not None, f"{call['status']} is not one of {sorted(operation['responses'])}"
    schema = response["content"]["application/json"]["schema"]
    assert errors(validator(schema, document, openapi=True), call["response"]) == []


def test_the_error_body_is_documented_as_answered(openapi, apps):
    """Every service documents its errors as {"code", "message", "field"}, the body it sends."""
    for service, document in openapi.items():
        schema = document["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]["schema"]
        answer = apps[service].get("/no-such-route")
        assert answer.status_code == 404
        assert errors(validator(schema, document, openapi=True), answer.get_json()) == [], service
        assert set(answer.get_json()) == {"code", "message", "field"}


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.fixture(scope="module")
def docs_site(openapi):
    """The docs blueprint and the services' OpenAPI documents on one origin, as behind the gateway."""
    app = Flask("docs-site")
    app.register_blueprint(api_docs.create_docs_blueprint())

    @app.get("/api/<service>/openapi.json")
    def document(service: str):
        return jsonify(openapi[service])

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.mark.parametrize(("service", "shown"), [("billing", "V20261105083000000000123"),
                                                ("registration", "91350100M000100Y43")])
def test_a_browser_renders_the_page_within_its_policy(docs_site, tmp_path, service, shown):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium on this machine")
    result = subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr",
         "--v=0", f"--user-data-dir={tmp_path}", "--virtual-time-budget=20000", "--dump-dom",
         f"{docs_site}/docs/{service}"], capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert "Calls a portal gateway makes" in dom, result.stderr[-3000:]
    assert shown in dom  # an example merged into the rendered document
    assert ">curl<" in dom  # the curl sample tab
    assert 'class="docs-error"' not in dom
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    violations = [line for line in console if "Content Security Policy" in line]
    # the only thing refused is Redoc's attribution logo on its CDN: nothing leaves this origin
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in line for line in violations), "\n".join(violations)
    assert not re.search(r"Uncaught|TypeError|ReferenceError", "\n".join(console)), "\n".join(console)
    # and styled: Redoc's dark code panel is painted on the right
    shot = tmp_path / "page.png"
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={tmp_path}", "--virtual-time-budget=20000", "--window-size=1400,1000",
                    f"--screenshot={shot}", f"{docs_site}/docs/{service}"], capture_output=True, timeout=120)
    with Image.open(shot) as image:
        panel = image.convert("RGB").getpixel((1250, 500))
        menu = image.convert("RGB").getpixel((100, 500))
    assert isinstance(panel, tuple) and sum(panel) < 200, f"the right panel is not dark: {panel}"
    assert isinstance(menu, tuple) and sum(menu) > 600, f"the menu is not light: {menu}"
