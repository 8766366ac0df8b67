"""JSON Schema validation of published documents' schemas (AsyncAPI message payloads,
OpenAPI request and response bodies): local references inlined, OpenAPI 3.0's `nullable`
turned into a JSON Schema type, then a Draft 7 validator that also checks formats."""
from __future__ import annotations

from typing import Any

import jsonschema_rs


def resolve(root: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are published: {ref}"
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(node: Any, root: dict[str, Any], openapi: bool = False, seen: tuple[str, ...] = ()) -> Any:
    """`node` with every local $ref replaced by its target (and OpenAPI 3.0's nullable
    made JSON Schema when `openapi`)."""
    if isinstance(node, list):
        return [inline(item, root, openapi, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        assert ref not in seen, f"recursive schema at {ref}"
        return inline(resolve(root, ref), root, openapi, (*seen, ref))
    out = {key: value if key in ("enum", "examples", "example", "default", "const") else
           inline(value, root, openapi, seen) for key, value in node.items()}
    if openapi and out.pop("nullable", False):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def validator(schema: dict[str, Any], root: dict[str, Any], openapi: bool = False) -> jsonschema_rs.Draft7Validator:
    return jsonschema_rs.Draft7Validator(inline(schema, root, openapi), validate_formats=True)


def errors(check: jsonschema_rs.Draft7Validator, instance: Any) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message}" for e in check.iter_errors(instance)]
