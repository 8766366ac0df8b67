"""The distributed stack for e2e tests, fault tests and benchmarks: every service in its
own processes (a gunicorn per API, a nameko worker per service), a PostgreSQL database per
service, nginx in front, the police reference client, and a local SMTP server in this
process."""
from __future__ import annotations

import base64
import contextlib
import os
import random
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.stack import Stack
from shared import auth
from tests.infra import BrokerUsers, Mailbox, PgDatabases, Vhost, free_port, new_tag

BLOCKED_ID = "440106198001010027"  # the police sandbox fails this person's check
SANDBOX_SECRET = "e2e-sandbox-secret"
RETRY_DELAYS_MS = (300, 1000, 3000)


@dataclass
class TestStack(Stack):
    """The stack with what tests read besides its gateway: the mailbox and the databases."""
    mailbox: Any = None
    database_urls: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def running_stack(work: Path, amqp: str | None = None, **overrides: str) -> Iterator[TestStack]:
    """The distributed stack on fresh databases: on a vhost of its own of the machine's broker
    with each process its own broker user (least privilege for real), or on the broker at
    `amqp` (a test's private node) as its guest. `overrides` change the environment."""
    tag = new_tag()
    dbs, vhost, mailbox, broker_users = PgDatabases(tag), Vhost(tag), Mailbox(), BrokerUsers(tag)
    urls = dbs.create()
    least_privilege = False
    if amqp is None:
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
    env.update(overrides)
    s = TestStack(workdir=work, env=env, mode="distributed", gateway_port=free_port(),
              api_base_port=free_port_block(),
              amqp_uris=broker_users.uris(amqp) if least_privilege else {})
    try:
        try:
            s.start(timeout=90)
        except Exception:
            s.stop()
            _dump_logs(work)
            raise
        s.mailbox, s.database_urls = mailbox, urls
        yield s
    finally:
        s.stop()
        mailbox.stop()
        broker_users.delete()
        vhost.delete()
        dbs.drop()


def free_port_block(size: int = 50) -> int:
    """The first of `size` consecutive free ports (the stack numbers its API ports from it)."""
    for _ in range(200):
        base = random.randrange(20000, 40000, size)
        try:
            sockets = []
            for port in range(base, base + size):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports")




def _dump_logs(work: Path) -> None:
    for log in sorted((work / "logs").glob("*.log")):
        print(f"--- {log.name}\n{log.read_text()[-3000:]}")
