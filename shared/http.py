"""The Flask app factory every service uses: OpenAPI, JSON errors, /health, the relay thread."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Flask, jsonify
from flask_smorest import Api, Blueprint

from .errors import register_error_handlers
from .runtime import Runtime


def create_service_app(runtime: Runtime, blueprints: Iterable[Blueprint], start_relay: bool = True) -> Flask:
    service = runtime.settings.service
    app = Flask(f"accr.{service}")
    app.config.update(
        API_TITLE=f"{service} service", API_VERSION="1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json", MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}},
    )
    api = Api(app)
    for bp in blueprints:
        api.register_blueprint(bp)
    register_error_handlers(app)  # after Api(): ours replace flask-smorest's error format
    app.extensions["runtime"] = runtime

    @app.get("/health")
    def health():
        report = runtime.health()
        return jsonify(report), 200 if report["status"] == "ok" else 503

    if start_relay:
        try:
            runtime.broker.declare_topology()  # before anything can publish
        except Exception as exc:  # the relay retries; /health reports the broker
            logging.getLogger(__name__).warning("broker not reachable at start: %s", exc)
        runtime.outbox.start_relay_thread()
    logging.getLogger(__name__).info("%s app ready", service)
    return app


def current_runtime() -> Runtime:
    from flask import current_app
    return current_app.extensions["runtime"]
