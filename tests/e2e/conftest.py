"""E2E fixtures: the distributed topology as separate processes — a gunicorn per service
API, a nameko worker per service, a PostgreSQL database per service, nginx in front,
the police reference client — with a local SMTP server in the test process. Each service
and the police client log in to RabbitMQ as a user of their own, with the production
definitions' permissions (least privilege for real); the test process is the vhost's
administrator."""
from __future__ import annotations

import base64
import os
import warnings
from pathlib import Path

import pytest

from deploy.stack import Stack, find_nginx
from shared import auth
from tests.infra import BrokerUsers, Mailbox, PgDatabases, Vhost, free_port, new_tag

BLOCKED_ID = "440106198001010027"  # the police sandbox fails this person's check
SANDBOX_SECRET = "e2e-sandbox-secret"
RETRY_DELAYS_MS = (300, 1000, 3000)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/test installs it when run as root)")
    tag = new_tag()
    work = tmp_path_factory.mktemp("stack")
    dbs, vhost, mailbox, broker_users = PgDatabases(tag), Vhost(tag), Mailbox(), BrokerUsers(tag)
    urls = dbs.create()
    amqp = vhost.create()
    least_privilege = vhost.created and broker_users.load(vhost.name, RETRY_DELAYS_MS)
    if not least_privilege:
        warnings.warn("rabbitmqctl is not usable here: the e2e stack shares one broker user")
    smtp_port = mailbox.start()
    keys = work / "jwt"
    auth.generate_keypair(keys / "private.pem", keys / "public.pem")
    env = {f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()}
    env.update(AMQP_URI=amqp, JWT_PRIVATE_KEY_FILE=str(keys / "private.pem"),
               JWT_PUBLIC_KEY_FILE=str(keys / "public.pem"),
               RETRY_DELAYS_MS=",".join(map(str, RETRY_DELAYS_MS)),
               SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), PAYMENT_SANDBOX_SECRET=SANDBOX_SECRET,
               PAYMENT_SANDBOX_CALLBACK_DELAY="0.1", POLICE_BLOCKLIST=BLOCKED_ID, POLICE_MIN_DELAY="0.05",
               POLICE_MAX_DELAY="0.2", REVIEW_ADMIN_PASSWORD="Admin-passw0rd", ACCR_DATA_DIR=str(work),
               SMS_MAX_PER_CLIENT_PER_HOUR="100000", ACCR_SANDBOX="1", GATEWAY_LOGIN_RATE="100000r/m",
               GATEWAY_CODE_RATE="100000r/m", GATEWAY_LOGIN_BURST="1000", GATEWAY_CODE_BURST="1000",
               REGISTRATION_DATA_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode())
    if least_privilege:  # each process its own user; consumers know whose events are whose
        env.update(AMQP_USERS=broker_users.amqp_users(), POLICE_REQUESTER_USER=broker_users.names["credentials"])
    s = Stack(workdir=work, env=env, mode="distributed", gateway_port=free_port(),
              api_base_port=20000 + (os.getpid() % 200) * 50,
              amqp_uris=broker_users.uris(amqp) if least_privilege else {})
    try:
        s.start(timeout=90)
    except Exception:
        s.stop()
        _dump_logs(work)
        raise
    s.mailbox = mailbox
    yield s
    s.stop()
    mailbox.stop()
    broker_users.delete()
    vhost.delete()
    dbs.drop()


def _dump_logs(work: Path) -> None:
    for log in sorted((work / "logs").glob("*.log")):
        print(f"--- {log.name}\n{log.read_text()[-3000:]}")


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
