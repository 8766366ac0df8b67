"""RabbitMQ definitions for a production vhost, generated from the topology.

`deploy/rabbitmq/definitions.json` holds the vhost, the two users (the services' and the
police integration's), their permissions — only the police user may read the
background-check queue; the services may not even declare it — every exchange, queue
and binding, and the dead-letter policy of the police queue. Load it with
`rabbitmqctl import_definitions deploy/rabbitmq/definitions.json` (change the dev
passwords first), and run the services with DECLARE_POLICE_QUEUE=0.

    python -m deploy.rabbitmq > deploy/rabbitmq/definitions.json
"""
from __future__ import annotations

import base64
import hashlib
import json
import sys

from kombu import Exchange, Queue

from shared.events import POLICE_REQUEST_QUEUE
from shared.topology import DEAD_LETTER_EXCHANGE, declarations

VHOST = "accr"
SERVICES_USER, POLICE_USER = "accr-services", "police"
DEV_PASSWORDS = {SERVICES_USER: "accr-services-dev", POLICE_USER: "police-dev"}
PRODUCTION_RETRY_DELAYS_MS = (1000, 5000, 30000)  # the default of RETRY_DELAYS_MS
POLICE_QUEUE_RE = "^" + POLICE_REQUEST_QUEUE.replace(".", r"\.") + "$"


def password_hash(user: str, password: str) -> str:
    """rabbit_password_hashing_sha256 with a salt derived from the user (deterministic file)."""
    salt = hashlib.sha256(user.encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(vhost: str = VHOST, passwords: dict[str, str] | None = None) -> dict:
    passwords = passwords or DEV_PASSWORDS
    exchanges, queues, bindings = {}, {}, []
    for item in declarations(PRODUCTION_RETRY_DELAYS_MS, include_police_queue=True):
        if isinstance(item, Exchange):
            exchanges[item.name] = {"name": item.name, "vhost": vhost, "type": item.type, "durable": True,
                                    "auto_delete": False, "internal": False, "arguments": {}}
        elif isinstance(item, Queue):
            queues[item.name] = {"name": item.name, "vhost": vhost, "durable": True, "auto_delete": False,
                                 "arguments": dict(getattr(item, "queue_arguments", None) or {})}
            bindings.append({"source": item.exchange.name, "vhost": vhost, "destination": item.name,
                             "destination_type": "queue", "routing_key": item.routing_key, "arguments": {}})
    not_police = f"^(?!{POLICE_QUEUE_RE[1:-1]}$).*"
    return {
        "rabbit_version": "3.10.8",
        "users": [{"name": u, "password_hash": password_hash(u, p), "hashing_algorithm": "rabbit_password_hashing_sha256",
                   "tags": []} for u, p in sorted(passwords.items())],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": SERVICES_USER, "vhost": vhost, "configure": not_police, "write": ".*", "read": not_police},
            {"user": POLICE_USER, "vhost": vhost, "configure": "^$", "write": r"^police\.events$",
             "read": POLICE_QUEUE_RE},
        ],
        "policies": [{"vhost": vhost, "name": "police-requests-dead-letters", "pattern": POLICE_QUEUE_RE,
                      "apply-to": "queues", "priority": 10,
                      "definition": {"dead-letter-exchange": DEAD_LETTER_EXCHANGE}}],
        "exchanges": sorted(exchanges.values(), key=lambda e: e["name"]),
        "queues": sorted(queues.values(), key=lambda q: q["name"]),
        "bindings": sorted(bindings, key=lambda b: (b["source"], b["destination"], b["routing_key"])),
    }


def render(vhost: str = VHOST) -> str:
    return json.dumps(definitions(vhost), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
