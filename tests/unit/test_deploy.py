"""The deployment descriptions stay consistent with the code."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.stack import SERVICES, WORKER_CLASSES, render_compose_nginx

ROOT = Path(__file__).resolve().parents[2]


def test_compose_nginx_config_is_the_rendered_template():
    assert (ROOT / "deploy/nginx/gateway.conf").read_text() == render_compose_nginx()


def test_every_worker_class_exists():
    import importlib
    for service, target in WORKER_CLASSES.items():
        module, cls = target.split(":")
        assert getattr(importlib.import_module(module), cls).name == service


def test_compose_has_an_api_a_worker_and_a_database_per_service():
    text = (ROOT / "docker-compose.yml").read_text()
    for service in SERVICES:
        for suffix in ("-api:", "-worker:", "-db:"):
            assert f"  {service}{suffix}" in text, service + suffix
    for piece in ("rabbitmq:", "gateway:", "police:"):
        assert f"  {piece}" in text


SECRETS = [f"AMQP_PASSWORD_{r.upper()}" for r in (*SERVICES, "police")] + ["POSTGRES_PASSWORD",
                                                                        "REGISTRATION_DATA_KEY", "CREDENTIALS_QR_KEY",
                                                                        "PORTAL_SECRET_KEY"]


def compose_config(secrets: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env={**env, **secrets})


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_config_is_valid_once_every_secret_is_set():
    result = compose_config({name: f"{name.lower()}-0123456789" for name in SECRETS})
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_has_no_default_credentials():
    """Without the secrets compose refuses to start: no password has a default that works."""
    for missing in SECRETS:
        result = compose_config({name: f"{name.lower()}-0123456789" for name in SECRETS if name != missing})
        assert result.returncode != 0 and missing in result.stderr, missing


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_gives_each_service_and_the_police_a_broker_user_of_its_own():
    import yaml
    result = compose_config({name: f"{name.lower()}-0123456789" for name in SECRETS})
    services = yaml.safe_load(result.stdout)["services"]
    rabbit = services["rabbitmq"]
    assert "management" not in rabbit["image"] and not rabbit.get("ports")
    assert not any("RABBITMQ_DEFAULT" in key for key in (rabbit.get("environment") or {}))
    published = [p for svc in services.values() for p in svc.get("ports") or []]
    assert all(int(p["target"] if isinstance(p, dict) else str(p).split(":")[-1]) == 8080 for p in published)
    for service in SERVICES:
        for container in (f"{service}-api", f"{service}-worker"):
            uri = services[container]["environment"]["AMQP_URI"]
            assert uri.startswith(f"amqp://accr-{service}:amqp_password_{service}-"), (container, uri)
        assert '--broker "$$AMQP_URI"' in services[f"{service}-worker"]["command"]  # its own, from its env
    police = services["police"]["environment"]
    assert police["POLICE_AMQP_URI"].startswith("amqp://police:amqp_password_police-")
    assert police["POLICE_REQUESTER_USER"] == "accr-credentials"
    text = (ROOT / "docker-compose.yml").read_text()
    assert "accr:accr" not in text and "guest" not in text


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_only_the_token_issuers_hold_the_private_key():
    import yaml
    result = compose_config({name: f"{name.lower()}-0123456789" for name in SECRETS})
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    holders = {name for name, s in services.items()
               if "jwt_private" in str(s.get("secrets")) or "JWT_PRIVATE_KEY_FILE" in (s.get("environment") or {})}
    assert holders == {"registration-api", "review-api"}
    assert "private" not in str(services["police"]) and "private" not in str(services["billing-worker"])
