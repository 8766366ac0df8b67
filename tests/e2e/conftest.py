"""E2E fixtures: the distributed topology as separate processes — a gunicorn per service
API, a nameko worker per service, a PostgreSQL database per service, nginx in front,
the police reference client — with a local SMTP server in the test process. Each service
and the police client log in to RabbitMQ as a user of their own, with the production
definitions' permissions (least privilege for real); the test process is the vhost's
administrator."""
from __future__ import annotations

import pytest

from deploy.stack import find_nginx
from tests.stacks import BLOCKED_ID, RETRY_DELAYS_MS, SANDBOX_SECRET, _dump_logs, running_stack

__all__ = ["BLOCKED_ID", "RETRY_DELAYS_MS", "SANDBOX_SECRET", "running_stack"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/test installs it when run as root)")
    with running_stack(tmp_path_factory.mktemp("stack")) as s:
        yield s


@pytest.fixture
def dump_logs_on_failure(stack, request):
    yield
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        _dump_logs(stack.workdir)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
