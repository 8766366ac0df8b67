"""Registration's Flask app factory (served by gunicorn: `services.registration.app:create_app()`)."""
from __future__ import annotations

from flask import Flask

from shared.http import create_service_app

from .api import bp
from .bootstrap import bootstrap


def create_app(start_relay: bool = True) -> Flask:
    return create_service_app(bootstrap(), [bp], start_relay=start_relay, issues_tokens=True)
