"""Review's Flask app factory (served by gunicorn: `services.review.app:create_app()`)."""
from __future__ import annotations

from flask import Flask

from shared.http import create_service_app

from .api import bp, sandbox_bp
from .bootstrap import bootstrap


def create_app(start_relay: bool = True) -> Flask:
    deps = bootstrap()
    blueprints = [bp, sandbox_bp] if deps.settings.sandbox else [bp]
    return create_service_app(deps, blueprints, start_relay=start_relay, issues_tokens=True)
