"""API documentation people can read: a page per service, rendered in the browser by Redoc
(vendored from the npm registry into static/vendor/redoc/ by scripts/vendor-redoc; nothing
is fetched from outside at run time) from the service's own OpenAPI document, which the
gateway serves at /api/<service>/openapi.json. The calls a portal gateway makes are merged
into it as request and response examples and curl samples (api_examples.json; a test
checks every example against the service's OpenAPI document).

Redoc's stylesheets are injected at run time, so each page carries its own content
security policy that allows them by a per-response nonce (scripts stay 'self' only); the
nginx gateway passes an upstream's own policy through instead of adding its default.

    app.register_blueprint(create_docs_blueprint())   # /docs/ and /docs/<service>
"""
from __future__ import annotations

import json
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, render_template, send_file, url_for

from shared.config import SERVICES

PORTAL = Path(__file__).resolve().parent.parent
STATIC = PORTAL / "static"
EXAMPLES_PATH = PORTAL / "api_examples.json"
REDOC_VERSION = "2.5.4"
# Subresource integrity of the vendored bundle: the browser refuses a file that differs
REDOC_SRI = "sha384-w447zOpYfw/1Tv/5AK9NfHTlQIqE3RVR6KY62jCyy9zNDgO64cMwGGP1Fj0zJVf5"
ASSETS = {
    "redoc.standalone.js": STATIC / "vendor/redoc/redoc.standalone.js",
    "api_docs.js": STATIC / "api_docs/api_docs.js",
    "api_docs.css": STATIC / "api_docs/api_docs.css",
}
EVENTS_DOCUMENT = "/api/events/asyncapi.json"


# The two <style> elements the bundle injects as it loads, before it knows the nonce: its
# scrollbar stylesheet and an empty one (their hashes change only with the vendored file).
REDOC_STYLE_HASHES = ("sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc=",
                      "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")


def page_policy(nonce: str) -> str:
    """The docs pages' content security policy: Redoc's run-time styles by nonce (and the
    two it injects as it loads, by hash); its search runs in a worker it builds from a blob;
    everything else from this origin (its attribution logo on a CDN is refused)."""
    hashes = " ".join(f"'{h}'" for h in REDOC_STYLE_HASHES)
    return (f"default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}' {hashes}; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


@cache
def examples() -> dict[str, Any]:
    return json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))


def create_docs_blueprint(openapi_url: str = "/api/{service}/openapi.json") -> Blueprint:
    """`openapi_url`: where a browser fetches a service's OpenAPI document (the gateway's path)."""
    bp = Blueprint("api_docs", __name__, url_prefix="/docs", template_folder=str(PORTAL / "templates"))

    @bp.before_request
    def new_nonce() -> None:
        g.docs_nonce = secrets.token_urlsafe(18)

    @bp.after_request
    def secure(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = page_policy(g.docs_nonce)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @bp.get("/")
    def index() -> str:
        return render_template("api_docs/index.html", services=SERVICES, events_document=EVENTS_DOCUMENT,
                               intros={s: examples().get(s, {}).get("intro", "") for s in SERVICES})

    @bp.get("/<service>")
    def service_page(service: str) -> str:
        if service not in SERVICES:
            abort(404)
        return render_template("api_docs/service.html", service=service, services=SERVICES,
                               spec_url=openapi_url.format(service=service),
                               examples_url=url_for("api_docs.service_examples", service=service),
                               gateway_prefix=f"/api/{service}", nonce=g.docs_nonce, redoc_sri=REDOC_SRI,
                               redoc_version=REDOC_VERSION)

    @bp.get("/<service>/examples.json")
    def service_examples(service: str) -> Response:
        if service not in SERVICES:
            abort(404)
        return jsonify(examples().get(service, {"intro": "", "calls": []}))

    @bp.get("/assets/<name>")
    def asset(name: str) -> Response:
        path = ASSETS.get(name)
        if path is None:
            abort(404)
        return send_file(path, max_age=3600)

    return bp
