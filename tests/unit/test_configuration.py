"""Closed doors by configuration: the sandboxes' own routes exist only when asked for, and a
production start refuses sandbox providers, generated secrets and missing keys, naming them."""
from __future__ import annotations

import base64
import importlib
import os

import pytest

from shared import auth
from shared.config import NotReadyForProduction

SANDBOX_ROUTES = {  # service -> (method, path) a stranger would use
    "notifications": ("GET", "/sandbox/sms?phone=13800138000"),
    "billing": ("POST", "/sandbox/payments/T123/pay"),
    "review": ("PUT", "/sandbox/registry/91350100M000100Y43"),
}


@pytest.fixture
def fresh_services(tmp_path, monkeypatch):
    """Each service's bootstrap built anew from the environment this test sets."""
    monkeypatch.setenv("ACCR_DATA_DIR", str(tmp_path))
    for name in ("ACCR_SANDBOX", "ACCR_ENV", "JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE", "AMQP_URI",
                 "PUBLIC_BASE_URL", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    for service in ("registration", "review", "credentials", "billing", "notifications"):
        monkeypatch.delenv(f"{service.upper()}_DATABASE_URL", raising=False)
    modules = {s: importlib.import_module(f"services.{s}.bootstrap")
               for s in ("registration", "review", "credentials", "billing", "notifications")}
    for m in modules.values():
        m.bootstrap.cache_clear()
    auth._read.cache_clear()
    yield modules
    for m in modules.values():
        m.bootstrap.cache_clear()
    auth._read.cache_clear()


def client(service: str):
    return importlib.import_module(f"services.{service}.app").create_app(start_relay=False).test_client()


@pytest.mark.parametrize("service", sorted(SANDBOX_ROUTES))
def test_sandbox_routes_do_not_exist_unless_asked_for(fresh_services, monkeypatch, service):
    method, path = SANDBOX_ROUTES[service]
    r = client(service).open(path, method=method, json={"name": "Evil Co"})
    assert r.status_code == 404 and r.json["code"] == "not_found"
    assert not any(str(rule).startswith("/sandbox/") for rule in client(service).application.url_map.iter_rules())


@pytest.mark.parametrize("service", sorted(SANDBOX_ROUTES))
def test_sandbox_routes_exist_with_accr_sandbox(fresh_services, monkeypatch, service):
    monkeypatch.setenv("ACCR_SANDBOX", "1")
    assert any(str(rule).startswith("/sandbox/") for rule in client(service).application.url_map.iter_rules())


def test_without_the_sandbox_inbox_an_sms_goes_only_to_the_log(fresh_services, caplog):
    import logging
    deps = fresh_services["notifications"].bootstrap()
    from deploy.migrate import upgrade
    upgrade("notifications", deps.settings.database_url)
    with caplog.at_level(logging.INFO):
        deps.sms.send("13800138000", "code 123456")
    assert "138****8000" in caplog.text and "13800138000" not in caplog.text
    from services.notifications.models import SandboxSms
    with deps.uow() as (s, _):
        assert s.query(SandboxSms).count() == 0


@pytest.mark.parametrize("service", ["registration", "review", "credentials", "billing", "notifications"])
def test_production_refuses_the_zero_setup_defaults_and_names_them(fresh_services, monkeypatch, service):
    monkeypatch.setenv("ACCR_ENV", "production")
    monkeypatch.setenv("ACCR_SANDBOX", "1")
    with pytest.raises(NotReadyForProduction) as refused:
        fresh_services[service].bootstrap()
    message = str(refused.value)
    for named in ("DATABASE_URL", "AMQP_URI", "JWT_PUBLIC_KEY_FILE", "PUBLIC_BASE_URL", "ACCR_SANDBOX"):
        assert named in message, (named, message)
    expected = {"registration": ["REGISTRATION_DATA_KEY"],
                "review": [],
                "credentials": ["CREDENTIALS_QR_KEY"],
                "billing": ["payment provider", "e-invoicing"],
                "notifications": ["SMTP_HOST", "SMS gateway"]}[service]
    for named in expected:
        assert named in message, (named, message)


def test_production_starts_registration_when_everything_is_provided(fresh_services, monkeypatch, tmp_path):
    keys = tmp_path / "jwt"
    auth.generate_keypair(keys / "private.pem", keys / "public.pem")
    monkeypatch.setenv("ACCR_ENV", "production")
    monkeypatch.setenv("REGISTRATION_DATABASE_URL", "postgresql+psycopg2://registration:secret@db/registration")
    monkeypatch.setenv("AMQP_URI", "amqp://registration:secret@rabbitmq:5672/accr")
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(keys / "public.pem"))
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(keys / "private.pem"))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://visitors.example.cn")
    monkeypatch.setenv("REGISTRATION_DATA_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    deps = fresh_services["registration"].bootstrap()
    assert deps.settings.production and not deps.settings.sandbox
    client("registration")  # its API, which signs tokens, starts with the private key


def test_in_production_the_token_issuing_api_needs_the_private_key_and_its_worker_does_not(
        fresh_services, monkeypatch, tmp_path):
    keys = tmp_path / "jwt"
    auth.generate_keypair(keys / "private.pem", keys / "public.pem")
    monkeypatch.setenv("ACCR_ENV", "production")
    monkeypatch.setenv("REVIEW_DATABASE_URL", "postgresql+psycopg2://review:secret@db/review")
    monkeypatch.setenv("AMQP_URI", "amqp://accr-review:secret@rabbitmq:5672/accr")
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(keys / "public.pem"))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://visitors.example.cn")
    assert fresh_services["review"].bootstrap().settings.production  # what the worker and the seed build
    with pytest.raises(NotReadyForProduction, match="JWT_PRIVATE_KEY_FILE \\(this API signs tokens\\)"):
        client("review")


def test_a_service_that_issues_no_tokens_may_not_hold_the_private_key(fresh_services, monkeypatch, tmp_path):
    monkeypatch.setenv("ACCR_ENV", "production")
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(tmp_path / "private.pem"))
    with pytest.raises(NotReadyForProduction, match="only the APIs that issue tokens hold the private key"):
        fresh_services["credentials"].bootstrap()
