"""Offline tools for the Kubernetes manifests of deploy/k8s: build a kustomization (the subset
of kustomize the manifests use, cross-checked against `kubectl kustomize` where it exists),
validate built-in kinds with kubernetes-validate and custom resources against the operators'
schemas (deploy/k8s/crd-schemas), and evaluate NetworkPolicies between pods."""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CRD_SCHEMAS = K8S / "crd-schemas"

Obj = dict[str, Any]

# The kustomization fields this builder understands; any other is refused (so that a field the
# builder would silently ignore cannot creep in: `kubectl kustomize` would apply it).
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "images", "patches"}


class Unsupported(ValueError):
    pass


class Loader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: an unquoted date is a string (kustomize prints them so)."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=Loader)


def load_yaml_all(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=Loader) if doc]


def load_yaml_documents(path: Path) -> list[Obj]:
    return load_yaml_all(path.read_text(encoding="utf-8"))


def build(directory: Path) -> list[Obj]:
    """The objects `kubectl kustomize directory` would print (for the fields we use)."""
    kustomization = load_yaml((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - KUSTOMIZATION_FIELDS
    if unknown:
        raise Unsupported(f"{directory}: kustomization fields {sorted(unknown)}")
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects.extend(build(path) if path.is_dir() else load_yaml_documents(path))
    for patch in kustomization.get("patches", []):
        apply_patch(objects, directory, patch)
    for image in kustomization.get("images", []):
        for obj in objects:
            set_images(obj, image)
    return objects


def identity(obj: Obj) -> tuple[str, str, str, str]:
    return obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def matches(obj: Obj, target: dict[str, str]) -> bool:
    unknown = set(target) - {"group", "version", "kind", "name", "namespace"}
    if unknown:
        raise Unsupported(f"patch target fields {sorted(unknown)}")
    checks = {"group": _group(obj["apiVersion"]), "version": obj["apiVersion"].rsplit("/", 1)[-1],
              "kind": obj["kind"], "name": obj["metadata"]["name"],
              "namespace": obj["metadata"].get("namespace", "")}
    return all(checks[key] == value for key, value in target.items())


def apply_patch(objects: list[Obj], directory: Path, patch: dict[str, Any]) -> None:
    if set(patch) - {"path", "target"}:
        raise Unsupported(f"patch fields {sorted(patch)}")
    body = load_yaml((directory / patch["path"]).read_text(encoding="utf-8"))
    if isinstance(body, list):  # RFC 6902 operations, on every object the target selects
        selected = [o for o in objects if matches(o, patch["target"])]
        if not selected:
            raise ValueError(f"{patch['path']}: its target selects nothing")
        for obj in selected:
            for operation in body:
                json_patch(obj, operation)
        return
    if "target" in patch:
        raise Unsupported(f"{patch['path']}: a strategic-merge patch with a target")
    meta = body["metadata"]
    found = [o for o in objects if o["kind"] == body["kind"] and o["metadata"]["name"] == meta["name"]
             and o["metadata"].get("namespace", "") == meta.get("namespace", "")]
    if len(found) != 1:
        raise ValueError(f"{patch['path']}: {len(found)} objects named {body['kind']}/{meta['name']}")
    merge(found[0], body, patch["path"])


def merge(into: dict[str, Any], patch: dict[str, Any], where: str) -> None:
    """A strategic-merge patch made only of maps and scalars (lists would merge by keys kustomize
    knows per field: refused here, JSON patches edit lists)."""
    for key, value in patch.items():
        if isinstance(value, list):
            raise Unsupported(f"{where}: a list under {key!r} in a strategic-merge patch")
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value, where)
        elif value is None:
            into.pop(key, None)
        else:
            into[key] = copy.deepcopy(value)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def json_patch(obj: Obj, operation: dict[str, Any]) -> None:
    op, parts = operation["op"], _pointer(operation["path"])
    parent: Any = obj
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    if op not in ("add", "replace", "remove"):
        raise Unsupported(f"JSON patch op {op!r}")
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            parent[index] = copy.deepcopy(operation["value"])
        else:
            del parent[index]
        return
    if op in ("replace", "remove") and last not in parent:
        raise ValueError(f"{operation['path']}: nothing to {op}")
    if op == "remove":
        del parent[last]
    else:
        parent[last] = copy.deepcopy(operation["value"])


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def set_images(node: Any, image: dict[str, str]) -> None:
    """kustomize's image transformer: every `image` of a container or init container, at any
    depth (custom resources' pod templates too)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    current = container.get("image") if isinstance(container, dict) else None
                    if current and _image_name(current) == image["name"]:
                        tag = image.get("newTag") or (current.rsplit(":", 1)[1] if current != _image_name(current)
                                                      else None)
                        container["image"] = image.get("newName", image["name"]) + (f":{tag}" if tag else "")
            set_images(value, image)
    elif isinstance(node, list):
        for item in node:
            set_images(item, image)


def kubectl_build(directory: Path) -> list[Obj] | None:
    """`kubectl kustomize`'s output, or None where no kubectl is installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory}: {result.stderr}")
    return load_yaml_all(result.stdout)


# --- validation -------------------------------------------------------------------------------

def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> a JSON Schema equivalent to the CRD's structural schema."""
    schemas = {}
    for path in sorted(CRD_SCHEMAS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        schemas[(document["apiVersion"], document["kind"])] = structural_to_json_schema(document["openAPIV3Schema"])
    return schemas


def structural_to_json_schema(node: Any) -> Any:
    """A CRD's structural schema as the API server applies it: unknown fields refused unless
    preserved, int-or-string, nullable; formats and CEL rules are not checked offline."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
    int_or_string = node.pop("x-kubernetes-int-or-string", False)
    nullable = node.pop("nullable", False)
    embedded = node.pop("x-kubernetes-embedded-resource", False)
    for key in [k for k in node if k.startswith("x-kubernetes-")]:
        node.pop(key)
    node.pop("format", None)
    for key in ("properties", "patternProperties"):
        if key in node:
            node[key] = {name: structural_to_json_schema(child) for name, child in node[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            node[key] = structural_to_json_schema(node[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            node[key] = [structural_to_json_schema(child) for child in node[key]]
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node \
            and not preserve and not embedded:
        node["additionalProperties"] = False
    if int_or_string:
        node.pop("type", None)
        node["anyOf"] = [*node.get("anyOf", []), {"type": "integer"}, {"type": "string"}]
    if nullable and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


def validate_custom(obj: Obj, schemas: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    schema = schemas[(obj["apiVersion"], obj["kind"])]
    validator = jsonschema.Draft4Validator(schema)
    return [f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in validator.iter_errors(obj)]


# --- pods and policies ------------------------------------------------------------------------

WORKLOADS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}


def pod_templates(objects: Iterable[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(workload, its pod template) for every workload."""
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            yield obj, obj["spec"]["template"]


def containers(template: Obj, init: bool = True) -> list[Obj]:
    spec = template["spec"]
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions); an empty selector selects everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {"Exists": key in labels, "DoesNotExist": key not in labels,
              "In": labels.get(key) in values, "NotIn": labels.get(key) not in values}[operator]
        if not ok:
            return False
    return True


def namespace_labels(name: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": name}


def peer_admits(peer: Obj, policy_namespace: str, source_namespace: str, source_labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], namespace_labels(source_namespace)):
            return False
    elif source_namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], source_labels)


def ingress_allowed(policies: list[Obj], target_namespace: str, target_labels: dict[str, str],
                    source_namespace: str, source_labels: dict[str, str], port: int) -> bool:
    """Whether the NetworkPolicies let a pod (source) open `port` on another (target)."""
    selecting = [p for p in policies if p["metadata"]["namespace"] == target_namespace
                 and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
                 and selector_matches(p["spec"]["podSelector"], target_labels)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port for p in ports):
                continue
            peers = rule.get("from")
            if not peers or any(peer_admits(peer, target_namespace, source_namespace, source_labels)
                                for peer in peers):
                return True
    return False


def egress_allowed(policies: list[Obj], source_namespace: str, source_labels: dict[str, str],
                   target_namespace: str, target_labels: dict[str, str], port: int) -> bool:
    selecting = [p for p in policies if p["metadata"]["namespace"] == source_namespace
                 and "Egress" in p["spec"].get("policyTypes", [])
                 and selector_matches(p["spec"]["podSelector"], source_labels)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("egress", []):
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port for p in ports):
                continue
            peers = rule.get("to")
            if not peers or any(peer_admits(peer, source_namespace, target_namespace, target_labels)
                                for peer in peers):
                return True
    return False
