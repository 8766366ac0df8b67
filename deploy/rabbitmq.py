"""RabbitMQ definitions for a production vhost, generated from the topology.

`deploy/rabbitmq/definitions.json` holds the vhost, one user per service and one for the
police integration, their permissions and topic permissions, every exchange, queue and
binding, and the dead-letter policy of the police queue. What each user may do:

- a service configures only its own queues (handler queues, its RPC queue, its RPC reply
  queues); every exchange is provisioned here and only checked by the services;
- a service publishes only on its own events exchange, and there only the event types it
  produces (topic permissions), plus retries and dead letters; only credentials may send
  background-check requests;
- a service binds its queues only to the exchanges of the events it consumes, and there
  only by those event types;
- RPC calls (`<service>.<method>` on `nameko-rpc`) only from the services that
  `shared.topology.RPC_CALLERS` names; RPC replies and reply queues by uuid only;
- only the police user reads the background-check queue; nobody configures or binds to
  the police exchange and queue; the police user publishes only the check results.

The committed file has no passwords (its users cannot log in). Generate the file that is
loaded with the passwords from the environment (AMQP_PASSWORD_<ROLE>, e.g.
AMQP_PASSWORD_REGISTRATION, AMQP_PASSWORD_POLICE):

    python -m deploy.rabbitmq > deploy/rabbitmq/definitions.json        # the committed file
    python -m deploy.rabbitmq --passwords-from-env --output /run/accr-broker/definitions.json

A replicated broker (deploy/k8s) adds `--queue-type quorum`: the vhost's default queue type,
so the queues of the definitions and those the services declare (without an x-queue-type of
their own) are quorum queues; and `--monitoring-user NAME` (password AMQP_PASSWORD_MONITORING):
a user an autoscaler reads queue depths with over the management API, with no right to
configure, publish or consume anything.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping

from kombu import Exchange, Queue

from shared.broker import DEFAULT_RETRY_DELAYS_MS, producer_users
from shared.config import SERVICES
from shared.events import LATEST, POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE
from shared.topology import (DEAD_LETTER_EXCHANGE, POLICE_DEAD_LETTERS, QUEUE_TYPES, REQUEUE_EXCHANGE, RPC_CALLERS,
                             RPC_EXCHANGE, SUBSCRIPTIONS, dead_letter_queue_name, declarations, handler_queue_name,
                             producers)

VHOST = "accr"
POLICE = "police"
ROLES = (*SERVICES, POLICE)
DEFAULT_USERS: dict[str, str] = {**{s: f"accr-{s}" for s in SERVICES}, POLICE: "police"}
MONITORING = "monitoring"  # the role of an autoscaler's user (its password: AMQP_PASSWORD_MONITORING)
PRODUCTION_RETRY_DELAYS_MS = DEFAULT_RETRY_DELAYS_MS  # the default of RETRY_DELAYS_MS
MIN_PASSWORD_LENGTH = 16
# nameko names RPC reply queues rpc.reply-<service>-<uuid> (standalone proxies, as in the
# API processes, use "standalone_rpc_proxy") and routes replies by the uuid.
UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
STANDALONE_RPC_PROXY = "standalone_rpc_proxy"
NOTHING = "^$"


def password_hash(password: str, salt: bytes | None = None) -> str:
    """rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _literal(name: str) -> str:
    return re.escape(name).replace("\\-", "-")  # a hyphen needs no escape outside a class


def _any_of(names: Iterable[str], literal: bool = True) -> str:
    """A regex matching exactly one of `names` (literal names, or patterns)."""
    names = sorted(set(names))
    if not names:
        return NOTHING
    return "^(" + "|".join(_literal(n) if literal else n for n in names) + ")$"


def produced_events(producer: str) -> list[str]:
    """Event types a producer publishes on its own exchange (not the police-only request)."""
    return [t for t, spec in LATEST.items() if spec.producer == producer and not spec.restricted]


def rpc_calls_by(service: str) -> list[str]:
    return [f"{callee}.{method}" for callee, methods in RPC_CALLERS.items()
            for method, callers in methods.items() if service in callers]


def service_permissions(service: str, user: str, vhost: str) -> tuple[dict, list[dict]]:
    """The (configure, write, read) permission and the topic permissions of a service's user."""
    handler_queues = [handler_queue_name(service, t) for t in SUBSCRIPTIONS[service]]
    answers_rpc, calls = service in RPC_CALLERS, rpc_calls_by(service)
    own_queues = [_literal(q) for q in handler_queues] + [_literal(dead_letter_queue_name(service))]
    if answers_rpc:
        own_queues.append(_literal(f"rpc-{service}"))
    if calls:
        own_queues.append(rf"rpc\.reply-({_literal(service)}|{STANDALONE_RPC_PROXY})-{UUID_RE}")
    consumed_from = sorted({LATEST[t].producer for t in SUBSCRIPTIONS[service]})
    produced = produced_events(service)
    # retries, dead letters, and replays of its own dead letters (the requeue exchange routes by
    # queue name; a message another service puts in someone's queue is refused by the consumer)
    write = [r"accr\.retry\.[0-9]+ms", _literal(DEAD_LETTER_EXCHANGE), _literal(REQUEUE_EXCHANGE), *own_queues]
    if produced:
        write.append(_literal(f"{service}.events"))
    read = [_literal(f"{p}.events") for p in consumed_from] + own_queues + [_literal(DEAD_LETTER_EXCHANGE)]
    if handler_queues:
        read.append(_literal(REQUEUE_EXCHANGE))
    if answers_rpc or calls:
        write.append(_literal(RPC_EXCHANGE))
        read.append(_literal(RPC_EXCHANGE))
    if LATEST["BackgroundCheckRequested"].producer == service:
        write.append(_literal(POLICE_REQUEST_EXCHANGE))
    permission = {"user": user, "vhost": vhost, "configure": _any_of(own_queues, literal=False),
                  "write": _any_of(write, literal=False), "read": _any_of(read, literal=False)}
    topics = [{"user": user, "vhost": vhost, "exchange": f"{service}.events",
               "write": _any_of(produced), "read": NOTHING}] if produced else []
    for producer in consumed_from:
        subscribed = [t for t in SUBSCRIPTIONS[service] if LATEST[t].producer == producer]
        topics.append({"user": user, "vhost": vhost, "exchange": f"{producer}.events", "write": NOTHING,
                       "read": _any_of(subscribed)})
    if answers_rpc or calls:
        rpc_write = [_literal(c) for c in calls] + ([UUID_RE] if answers_rpc else [])
        rpc_read = ([_literal(f"{service}.*")] if answers_rpc else []) + ([UUID_RE] if calls else [])
        topics.append({"user": user, "vhost": vhost, "exchange": RPC_EXCHANGE,
                       "write": _any_of(rpc_write, literal=False), "read": _any_of(rpc_read, literal=False)})
    return permission, topics


def police_permissions(user: str, vhost: str) -> tuple[dict, list[dict]]:
    """The police user reads its queue and answers on police.events with the check results."""
    permission = {"user": user, "vhost": vhost, "configure": NOTHING, "write": _any_of([f"{POLICE}.events"]),
                  "read": _any_of([POLICE_REQUEST_QUEUE])}
    topics = [{"user": user, "vhost": vhost, "exchange": f"{POLICE}.events",
               "write": _any_of(produced_events(POLICE)), "read": NOTHING}]
    return permission, topics


def monitoring_permissions(user: str, vhost: str) -> dict:
    """Access to the vhost (the management API shows it its queues) and nothing else: the
    user can neither configure, publish nor consume."""
    return {"user": user, "vhost": vhost, "configure": NOTHING, "write": NOTHING, "read": NOTHING}


def definitions(vhost: str = VHOST, users: Mapping[str, str] | None = None,
                passwords: Mapping[str, str] | None = None,
                retry_delays_ms: tuple[int, ...] = PRODUCTION_RETRY_DELAYS_MS,
                queue_type: str | None = None, monitoring_user: str | None = None) -> dict:
    """The definitions document. `users` maps each role (a service, or "police") to its
    broker user name; `passwords` maps roles to passwords — without them the users
    exist but cannot log in until an operator sets their passwords. `queue_type` becomes
    the vhost's default queue type; `monitoring_user` adds a user for autoscalers (its
    password is passwords["monitoring"])."""
    users = {**DEFAULT_USERS, **(users or {})}
    if set(users) != set(ROLES) or set(producers()) - set(ROLES):
        raise ValueError(f"users must name exactly {ROLES}")
    if queue_type is not None and queue_type not in QUEUE_TYPES:
        raise ValueError(f"queue_type must be one of {QUEUE_TYPES}")
    if monitoring_user is not None and monitoring_user in users.values():
        raise ValueError(f"the monitoring user {monitoring_user!r} is already a service's or the police's")
    exchanges, queues, bindings = {}, {}, []
    for item in declarations(retry_delays_ms, queue_type or "classic"):
        if isinstance(item, Exchange):
            exchanges[item.name] = {"name": item.name, "vhost": vhost, "type": item.type, "durable": True,
                                    "auto_delete": False, "internal": False, "arguments": {}}
        elif isinstance(item, Queue):
            queues[item.name] = {"name": item.name, "vhost": vhost, "durable": True, "auto_delete": False,
                                 "arguments": dict(getattr(item, "queue_arguments", None) or {})}
            bindings.append({"source": item.exchange.name, "vhost": vhost, "destination": item.name,
                             "destination_type": "queue", "routing_key": item.routing_key, "arguments": {}})
    permissions, topic_permissions = [], []
    for role in ROLES:
        if role == POLICE:
            permission, topics = police_permissions(users[role], vhost)
        else:
            permission, topics = service_permissions(role, users[role], vhost)
        permissions.append(permission)
        topic_permissions.extend(topics)
    user_entries = [{"name": users[role], "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": [],
                     "password_hash": password_hash(passwords[role]) if passwords else ""} for role in ROLES]
    if monitoring_user is not None:
        # "management": the HTTP API, limited to the vhosts the user has access to
        user_entries.append({"name": monitoring_user, "hashing_algorithm": "rabbit_password_hashing_sha256",
                             "tags": ["management"],
                             "password_hash": password_hash(passwords[MONITORING]) if passwords else ""})
        permissions.append(monitoring_permissions(monitoring_user, vhost))
    vhost_entry: dict = {"name": vhost}
    if queue_type is not None:
        # RabbitMQ 3.13+ imports the default queue type from the metadata; it then applies it
        # to every durable, non-exclusive queue declared without an x-queue-type (and to an
        # equivalence check of a redeclaration), so the services' declarations need no change.
        vhost_entry.update(default_queue_type=queue_type, metadata={"default_queue_type": queue_type})
    return {
        "rabbit_version": "3.10.8",
        "users": user_entries,
        "vhosts": [vhost_entry],
        "permissions": permissions,
        "topic_permissions": topic_permissions,
        "policies": [{"vhost": vhost, "name": "police-requests-dead-letters",
                      "pattern": _any_of([POLICE_REQUEST_QUEUE]), "apply-to": "queues", "priority": 10,
                      "definition": {"dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                                     "dead-letter-routing-key": POLICE_DEAD_LETTERS}}],
        "exchanges": sorted(exchanges.values(), key=lambda e: e["name"]),
        "queues": sorted(queues.values(), key=lambda q: q["name"]),
        "bindings": sorted(bindings, key=lambda b: (b["source"], b["destination"], b["routing_key"])),
    }


def passwords_from_env(environ: Mapping[str, str] | None = None,
                       roles: tuple[str, ...] = ROLES) -> dict[str, str]:
    """AMQP_PASSWORD_<ROLE> for every role: there is no default password, and a short one
    is refused."""
    environ = os.environ if environ is None else environ
    passwords, problems = {}, []
    for role in roles:
        name = f"AMQP_PASSWORD_{role.upper()}"
        value = environ.get(name, "")
        if len(value) < MIN_PASSWORD_LENGTH:
            problems.append(f"{name} must be set to at least {MIN_PASSWORD_LENGTH} characters")
        passwords[role] = value
    if problems:
        raise ValueError("; ".join(problems))
    return passwords


def users_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user names from AMQP_USERS ("registration=accr-registration,..."), the default
    names for roles it does not list."""
    environ = os.environ if environ is None else environ
    named = producer_users("", environ.get("AMQP_USERS", ""))
    return {role: named.get(role) or DEFAULT_USERS[role] for role in ROLES}


def render(vhost: str = VHOST, users: Mapping[str, str] | None = None,
           passwords: Mapping[str, str] | None = None, queue_type: str | None = None,
           monitoring_user: str | None = None) -> str:
    document = definitions(vhost, users, passwords, queue_type=queue_type, monitoring_user=monitoring_user)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="RabbitMQ definitions with least privilege per service")
    parser.add_argument("--vhost", default=VHOST)
    parser.add_argument("--passwords-from-env", action="store_true",
                        help="password hashes from AMQP_PASSWORD_<ROLE>, user names from AMQP_USERS")
    parser.add_argument("--output", help="write here (mode 0644) instead of stdout")
    parser.add_argument("--queue-type", choices=QUEUE_TYPES,
                        help="the vhost's default queue type (quorum on a replicated broker)")
    parser.add_argument("--monitoring-user", metavar="NAME",
                        help="add a user that reads queue depths over the management API and nothing else "
                             "(password AMQP_PASSWORD_MONITORING)")
    args = parser.parse_args(argv)
    extra = {"queue_type": args.queue_type, "monitoring_user": args.monitoring_user}
    if args.passwords_from_env:
        roles = ROLES + ((MONITORING,) if args.monitoring_user else ())
        try:
            text = render(args.vhost, users_from_env(), passwords_from_env(roles=roles), **extra)
        except ValueError as exc:
            print(f"deploy.rabbitmq: {exc}", file=sys.stderr)
            return 2
    else:
        text = render(args.vhost, **extra)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(args.output, 0o644)  # the broker reads it as its own user
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
