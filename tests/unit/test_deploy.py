"""The deployment descriptions stay consistent with the code."""
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


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_config_is_valid():
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
