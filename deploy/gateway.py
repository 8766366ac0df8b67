"""The one-process portal gateway: every service's app mounted at /api/<service>."""
from __future__ import annotations

import importlib

from flask import Flask, jsonify
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from shared.config import SERVICES


def create_gateway(start_relay: bool = True):
    root = Flask("accr.gateway")

    @root.get("/")
    def index():
        return jsonify({"services": {s: f"/api/{s}/openapi.json" for s in SERVICES}})

    @root.errorhandler(404)
    def not_found(_err):
        return jsonify({"code": "not_found", "message": "no such route", "field": None}), 404

    mounts = {f"/api/{s}": importlib.import_module(f"services.{s}.app").create_app(start_relay=start_relay)
              for s in SERVICES}
    root.wsgi_app = DispatcherMiddleware(root.wsgi_app, mounts)  # type: ignore[method-assign]
    return root
