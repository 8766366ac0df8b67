"""The AsyncAPI 3.0 document of the event contract, generated from the catalogue.

Everything comes from the code that runs: the envelope and every payload schema from
`shared/events.py` (marshmallow, converted to JSON Schema by apispec's marshmallow
plugin), the exchanges, queues and subscribers from `shared/topology.py`, the broker users
and their permissions from `deploy/rabbitmq.py`. Nothing in it is written a second time by
hand. The document is written from the platform's side: it `send`s the events it
produces and `receive`s what the police answer.

Two rules shape the schemas. Producers are strict (an unknown field is refused before
it is published) but consumers ignore fields they do not know, so the payload schemas
here allow additional properties: a field added later must not break an integrator who
validates with an older copy of this document (docs/versioning.md). Every version in the
catalogue is published side by side; a version with a newer one beside it is deprecated.

    python -m deploy.asyncapi            # write docs/events/asyncapi.json and .yaml
    python -m deploy.asyncapi --check    # exit 1 when the committed documents are stale (CI)
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from deploy.rabbitmq import DEFAULT_USERS, POLICE, VHOST, police_permissions
from shared.events import CATALOGUE, POLICE_REQUEST_EXCHANGE, POLICE_REQUEST_QUEUE, Envelope, EventSpec
from shared.topology import DEAD_LETTER_EXCHANGE, SUBSCRIPTIONS, handler_queue_name

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT / "docs" / "events"
JSON_PATH, YAML_PATH = DOCS_DIR / "asyncapi.json", DOCS_DIR / "asyncapi.yaml"
ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
# The contract's own version: the minor grows with every additive change, the major never
# (a breaking change is a new event version side by side; docs/versioning.md).
CONTRACT_VERSION = "1.0.0"
REQUEST_TYPE = "BackgroundCheckRequested"
EXAMPLE_TIME = "2026-11-05T08:30:00+00:00"
# Sample values for the generated examples, by field name (examples, not schemas: every
# example is checked against the schema and the catalogue by the tests).
SAMPLE_VALUES: dict[str, Any] = {
    "uscc": "91350100M000100Y43", "order_no": "V20261105083000000000123", "credential_no": "2026A000123",
    "previous_credential_no": "2025A000077", "invoice_no": "26442000000000000123", "amount_fen": 20000,
    "edition": "2026", "name": "广州示例贸易有限公司", "region": "guangdong", "category": "enterprise",
    "visitor_kind": "professional", "region_type": "mainland", "deadline": "2026-10-20",
    "expires_at": "2026-11-05T09:00:00+00:00", "method": "qr", "tracking_no": "SF1234567890",
    "delegation_id": "GD-GZ", "from_delegation_id": "GD-GZ", "to_delegation_id": "GD-SZ",
    "parent_id": "GD", "exhibition_area": "food", "recommendation_code": "GD2026", "people": 3,
    "days_before": 7, "min_version": 2,
}


# --- marshmallow to JSON Schema ------------------------------------------------------------
class SchemaConverter:
    """apispec's marshmallow converter, with nested schemas collected as components."""

    def __init__(self) -> None:
        self.plugin = MarshmallowPlugin()
        self.spec = APISpec("accr-events", CONTRACT_VERSION, "3.1.0", plugins=[self.plugin])

    def convert(self, schema: type[Schema]) -> dict[str, Any]:
        assert self.plugin.converter is not None
        converted = self.plugin.converter.schema2jsonschema(schema)
        if schema.__doc__:
            converted = {"description": " ".join(schema.__doc__.split()), **converted}
        return open_for_consumers(converted)

    def nested_components(self) -> dict[str, Any]:
        found = self.spec.to_dict().get("components", {}).get("schemas", {})
        return {name: open_for_consumers(schema) for name, schema in found.items()}


def open_for_consumers(schema: Any) -> Any:
    """A consumer's view of a strict producer schema: unknown properties are allowed (they
    are ignored), and an OpenAPI `example` becomes JSON Schema `examples`."""
    if isinstance(schema, list):
        return [open_for_consumers(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "additionalProperties" and value is False:
            continue
        if key == "example":
            out["examples"] = [value]
            continue
        out[key] = value if key in ("enum", "default", "examples", "required") else open_for_consumers(value)
    return out


# --- examples --------------------------------------------------------------------------------
def _hex_id(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


def example_value(name: str, schema: Mapping[str, Any], components: Mapping[str, Any], seed: str) -> Any:
    """A plausible value for a property: its own example, a sample by name, else by type."""
    if "$ref" in schema:
        return example_object(components[schema["$ref"].rsplit("/", 1)[1]], components, seed)
    if schema.get("examples"):
        return schema["examples"][0]
    types = schema.get("type", "string")
    kind = next(t for t in ([types] if isinstance(types, str) else types) if t != "null")
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if name in SAMPLE_VALUES:
        return SAMPLE_VALUES[name]
    if kind == "array":
        return [example_value(name.removesuffix("s"), schema.get("items", {}), components, seed)]
    if kind == "object":
        return example_object(schema, components, seed) if "properties" in schema else {}
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-11-06"
    if name == "id" or name.endswith("_id"):
        return _hex_id(seed, name)
    return {"reason": "withdrawn by the unit", "comment": "请补充营业执照", "kind": "ordinary"}.get(name, name)


def example_object(schema: Mapping[str, Any], components: Mapping[str, Any], seed: str) -> dict[str, Any]:
    return {name: example_value(name, prop, components, seed) for name, prop in schema.get("properties", {}).items()}


def example_envelope(spec: EventSpec, payload_schema: Mapping[str, Any], components: Mapping[str, Any],
                     producer_seed: str = "") -> dict[str, Any]:
    seed = f"{spec.type}.v{spec.version}{producer_seed}"
    return {"id": _hex_id(seed, "event"), "type": spec.type, "version": spec.version, "occurred_at": EXAMPLE_TIME,
            "producer": spec.producer, "correlation_id": _hex_id(seed, "correlation"),
            "payload": example_object(payload_schema, components, seed)}


# --- the document ----------------------------------------------------------------------------
def channel_id(exchange: str) -> str:
    """`billing.events` -> `billingEvents`, `police.requests` -> `policeRequests`."""
    head, _, tail = exchange.partition(".")
    return head + tail[:1].upper() + tail[1:]


def message_key(spec: EventSpec) -> str:
    return f"{spec.type}.v{spec.version}"


def operation_id(spec: EventSpec) -> str:
    return ("receive" if spec.producer == POLICE else "send") + spec.type


def exchange_binding(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "durable": True, "autoDelete": False, "vhost": VHOST}


def broker_user(producer: str) -> str:
    return DEFAULT_USERS[producer]


def consumers_of(event_type: str) -> list[dict[str, str]]:
    return [{"service": service, "queue": handler_queue_name(service, event_type)}
            for service, events in SUBSCRIPTIONS.items() if event_type in events]


def security_schemes() -> dict[str, Any]:
    permission, topics = police_permissions(DEFAULT_USERS[POLICE], VHOST)
    return {
        "serviceUser": {
            "type": "userPassword",
            "description": (
                "Each service logs in as a broker user of its own. It publishes only on its own "
                "`<service>.events` exchange and there only the event types it produces (topic permissions); "
                "RabbitMQ checks every message's `user_id` against the connection's user, and consumers refuse "
                "an event whose producer's user did not publish it."),
            "x-users": {service: DEFAULT_USERS[service] for service in SUBSCRIPTIONS},
        },
        "policeUser": {
            "type": "userPassword",
            "description": (
                f"The police integration logs in as `{DEFAULT_USERS[POLICE]}` (the name an operator gives you; "
                f"the password is delivered out of band). It may read only the queue `{POLICE_REQUEST_QUEUE}` "
                f"and publish only `BackgroundCheckPassed` and `BackgroundCheckFailed` on `police.events`; it "
                f"configures nothing and binds nothing. Every answer carries `user_id` = this user, and only a "
                f"request whose `user_id` is the credentials service's user (`{DEFAULT_USERS['credentials']}`) "
                f"is genuine."),
            "x-user": DEFAULT_USERS[POLICE],
            "x-permissions": {k: permission[k] for k in ("configure", "write", "read")},
            "x-topic-permissions": [{k: t[k] for k in ("exchange", "write", "read")} for t in topics],
        },
    }


def build(specs: Iterable[EventSpec] | None = None) -> dict[str, Any]:
    """The AsyncAPI document for `specs` (the catalogue by default)."""
    specs = list(CATALOGUE.values() if specs is None else specs)
    latest = {s.type: s for s in sorted(specs, key=lambda s: s.version)}
    converter = SchemaConverter()
    envelope = converter.convert(Envelope)
    schemas: dict[str, Any] = {"Envelope": envelope}
    for spec in specs:
        schemas.setdefault(spec.schema.__name__, converter.convert(spec.schema))
    schemas.update({k: v for k, v in converter.nested_components().items() if k not in schemas})

    messages: dict[str, Any] = {}
    for spec in specs:
        payload_schema = schemas[spec.schema.__name__]
        envelope_properties = copy.deepcopy(envelope["properties"])
        envelope_properties["type"] = {**envelope_properties["type"], "const": spec.type}
        envelope_properties["version"] = {**envelope_properties["version"], "const": spec.version}
        envelope_properties["producer"] = {**envelope_properties["producer"], "const": spec.producer}
        envelope_properties["payload"] = {"$ref": f"#/components/schemas/{spec.schema.__name__}"}
        deprecated = latest[spec.type].version != spec.version
        summary = f"{spec.type} v{spec.version}, published by {spec.producer}"
        message: dict[str, Any] = {
            "name": spec.type,
            "title": f"{spec.type} (version {spec.version})",
            "summary": summary + (" (deprecated: a newer version is published beside it)" if deprecated else ""),
            "contentType": "application/json",
            "correlationId": {"location": "$message.payload#/correlation_id",
                              "description": "The envelope's correlation_id (also the AMQP correlation_id)."},
            "payload": {"type": "object", "description": payload_schema.get("description", summary),
                        "required": envelope.get("required", []), "properties": envelope_properties,
                        **({"deprecated": True} if deprecated else {})},
            "bindings": {"amqp": {"messageType": spec.type, "bindingVersion": AMQP_BINDING_VERSION}},
            "examples": [{"name": f"{spec.type}-v{spec.version}", "summary": f"A {spec.type} as published",
                          "payload": example_envelope(spec, payload_schema, schemas)}],
            "x-producer": spec.producer,
            "x-version": spec.version,
            "x-deprecated": deprecated,
            "x-personal-data": spec.restricted,
        }
        messages[message_key(spec)] = message

    channels: dict[str, Any] = {}
    for exchange in sorted({s.exchange for s in specs}):
        carried = [s for s in specs if s.exchange == exchange]
        producer = carried[0].producer
        restricted = any(s.restricted for s in carried)
        kind = "direct" if restricted else "topic"
        event_types = sorted({s.type for s in carried})
        description = (f"The `{exchange}` exchange ({kind}, durable) in vhost `{VHOST}`, where {producer} "
                       f"publishes; the routing key is the event type.")
        if restricted:
            description += (f" Police-only: bound to the queue `{POLICE_REQUEST_QUEUE}` alone; nobody else may "
                            f"bind to it.")
        channels[channel_id(exchange)] = {
            "address": "{eventType}",
            "title": exchange,
            "description": description,
            "parameters": {"eventType": {"enum": event_types, "location": "$message.payload#/type",
                                         "description": "The routing key: the envelope's `type`."}},
            "messages": {message_key(s): {"$ref": f"#/components/messages/{message_key(s)}"} for s in carried},
            "bindings": {"amqp": {"is": "routingKey", "exchange": exchange_binding(exchange, kind),
                                  "bindingVersion": AMQP_BINDING_VERSION}},
            "x-consumers": {t: consumers_of(t) for t in event_types},
        }
    requests = [s for s in specs if s.type == REQUEST_TYPE]
    channels["policeRequestQueue"] = {
        "address": POLICE_REQUEST_QUEUE,
        "title": POLICE_REQUEST_QUEUE,
        "description": (
            f"The police integration's queue, bound to `{POLICE_REQUEST_EXCHANGE}` by the routing key "
            f"`{REQUEST_TYPE}`. Only the police user reads it. Acknowledge a request once your answer is "
            f"confirmed; a rejected request goes to the dead-letter exchange `{DEAD_LETTER_EXCHANGE}`."),
        "messages": {message_key(s): {"$ref": f"#/components/messages/{message_key(s)}"} for s in requests},
        "bindings": {"amqp": {"is": "queue", "queue": {"name": POLICE_REQUEST_QUEUE, "durable": True,
                                                        "exclusive": False, "autoDelete": False, "vhost": VHOST},
                              "bindingVersion": AMQP_BINDING_VERSION}},
    }

    answers = [s for s in specs if s.producer == POLICE]
    operations: dict[str, Any] = {}
    for event_type in sorted(latest, key=lambda t: (latest[t].producer, t)):
        versions = [s for s in specs if s.type == event_type]
        spec = latest[event_type]
        police = spec.producer == POLICE or spec.restricted
        operation: dict[str, Any] = {
            "action": "receive" if spec.producer == POLICE else "send",
            "channel": {"$ref": f"#/channels/{channel_id(spec.exchange)}"},
            "title": f"{spec.producer} publishes {event_type}",
            "summary": (f"{spec.producer} publishes {event_type} on `{spec.exchange}` with the routing key "
                        f"`{event_type}`"),
            "security": [{"$ref": "#/components/securitySchemes/" + ("policeUser" if spec.producer == POLICE
                                                                      else "serviceUser")}],
            "messages": [{"$ref": f"#/channels/{channel_id(spec.exchange)}/messages/{message_key(s)}"}
                         for s in versions],
            "bindings": {"amqp": {"userId": broker_user(spec.producer), "deliveryMode": 2, "mandatory": False,
                                  "bindingVersion": AMQP_BINDING_VERSION}},
            "x-producer": spec.producer,
        }
        if police:
            operation["tags"] = [{"name": "police"}]
        if event_type == REQUEST_TYPE and answers:
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{channel_id(answers[0].exchange)}"},
                "messages": [{"$ref": f"#/channels/{channel_id(s.exchange)}/messages/{message_key(s)}"}
                             for s in answers]}
        operations[operation_id(spec)] = operation

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:accr:events",
        "info": {
            "title": "CIIE accreditation platform events",
            "version": CONTRACT_VERSION,
            "description": DESCRIPTION,
            "tags": [{"name": "police", "description": "The police background-check channel "
                                                       "(docs/police-integration.md)."}],
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "{host}",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "pathname": f"/{VHOST}",
                "description": f"RabbitMQ, vhost `{VHOST}`. Address and credentials are given to each integrator.",
                "variables": {"host": {"default": "rabbitmq:5672",
                                       "description": "host:port of the broker you are given"}},
                "security": [{"$ref": "#/components/securitySchemes/serviceUser"},
                             {"$ref": "#/components/securitySchemes/policeUser"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages, "securitySchemes": security_schemes()},
    }


DESCRIPTION = """\
Every message on the platform's broker is a JSON envelope (`Envelope`) around a payload whose
schema depends on the event's `type` and `version`. Producers validate strictly before they
publish; consumers validate the envelope and the fields they know, and ignore the rest.

AMQP properties of every message: `content_type` `application/json`, `delivery_mode` 2
(persistent), `message_id` = the envelope's `id`, `correlation_id` = the envelope's
`correlation_id`, and `user_id` = the publisher's broker user, which RabbitMQ validates against
the connection: a consumer refuses an event whose producer's user did not publish it.

Delivery is at least once: consumers drop an envelope `id` they have already applied. Payloads
carry ids, never personal data, except the police-only `BackgroundCheckRequested`.

How events and endpoints change without breaking an integrator: docs/versioning.md. The police
background check step by step: docs/police-integration.md. This document is generated from the
code (`python -m deploy.asyncapi`) and served by the gateway at `/api/events/asyncapi.json`
and `/api/events/asyncapi.yaml`.
"""


def render_json(document: Mapping[str, Any] | None = None) -> str:
    return json.dumps(build() if document is None else document, indent=2, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, as it reads in the source."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def render_yaml(document: Mapping[str, Any] | None = None) -> str:
    return yaml.dump(build() if document is None else dict(document), Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=100)


def stale_files() -> list[Path]:
    """The committed documents that differ from what the catalogue generates now."""
    document = build()
    wanted = {JSON_PATH: render_json(document), YAML_PATH: render_yaml(document)}
    return [path for path, text in wanted.items() if not path.exists() or path.read_text(encoding="utf-8") != text]


def write() -> None:
    document = build()
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    JSON_PATH.write_text(render_json(document), encoding="utf-8")
    YAML_PATH.write_text(render_yaml(document), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="generate the AsyncAPI document from the event catalogue")
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed documents are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"{shown} is out of date: run python -m deploy.asyncapi", file=sys.stderr)
        return 1 if stale else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
