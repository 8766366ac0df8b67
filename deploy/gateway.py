"""The one-process portal gateway: every service's app mounted at /api/<service>, and the
web portal for units at / (it calls the APIs in this same process), and the published event
contract at /api/events/ (as nginx serves it in the distributed shape)."""
from __future__ import annotations

import importlib

from flask import Flask, jsonify, send_file
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from deploy.asyncapi import JSON_PATH, YAML_PATH
from shared.config import SERVICES


def create_events_app() -> Flask:
    """GET /asyncapi.json and /asyncapi.yaml: the AsyncAPI document, as generated and
    committed under docs/events/ (mounted at /api/events)."""
    app = Flask("accr.events")

    @app.get("/asyncapi.json")
    def asyncapi_json():
        return send_file(JSON_PATH, mimetype="application/json", max_age=60)

    @app.get("/asyncapi.yaml")
    def asyncapi_yaml():
        return send_file(YAML_PATH, mimetype="application/yaml", max_age=60)

    @app.errorhandler(404)
    def not_found(_err):
        return jsonify({"code": "not_found", "message": "no such route", "field": None}), 404

    return app


def _api_not_found() -> Flask:
    """/api/<anything else>: the APIs' JSON 404, not a portal page."""
    app = Flask("accr.gateway")

    @app.errorhandler(404)
    def not_found(_err):
        return jsonify({"code": "not_found", "message": "no such route", "field": None}), 404

    @app.get("/")
    def index():
        return jsonify({"services": {s: f"/api/{s}/openapi.json" for s in SERVICES},
                        "events": "/api/events/asyncapi.json"})

    return app


def create_gateway(start_relay: bool = True):
    mounts = {f"/api/{s}": importlib.import_module(f"services.{s}.app").create_app(start_relay=start_relay)
              for s in SERVICES}
    mounts["/api/events"] = create_events_app()
    api_index = _api_not_found()
    # --- the portal at / (issue #12): it calls the APIs in this process, not over HTTP ---
    from services.portal.app import create_app as create_portal
    portal = create_portal(api_wsgi=DispatcherMiddleware(api_index, mounts))
    portal.wsgi_app = DispatcherMiddleware(portal.wsgi_app, {**mounts, "/api": api_index})  # type: ignore[method-assign]
    return portal
