"""The Kubernetes deployment (deploy/k8s) stays valid and consistent with the code, offline:
both kustomizations build (the same objects as `kubectl kustomize`, where kubectl exists),
every object validates against the Kubernetes schemas (built-in kinds: kubernetes-validate;
the operators' custom resources: their CRD schemas in deploy/k8s/crd-schemas), every service
has its API, worker, migration and database, every environment variable a service reads is
provided, and the policies (secrets, keys, network, probes, autoscaling) hold."""
from __future__ import annotations

import ast
import base64
import copy
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from deploy import rabbitmq
from deploy.stack import ACCESS_LOG_FORMAT, WORKER_CLASSES
from shared import auth
from shared.config import SERVICES
from shared.topology import SUBSCRIPTIONS, handler_queue_name

from . import kube

OVERLAYS = {"base": kube.K8S / "base", "production": kube.K8S / "overlays" / "production"}
# The oldest Kubernetes the manifests promise to work on, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.utils.latest_version())
CUSTOM = {("rabbitmq.com/v1beta1", "RabbitmqCluster"), ("postgresql.cnpg.io/v1", "Cluster"),
          ("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication")}
NAMESPACE, POLICE_NAMESPACE = "accr", "accr-police"


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def built(request) -> tuple[str, list[kube.Obj]]:
    return request.param, kube.build(OVERLAYS[request.param])


@pytest.fixture(scope="module")
def production() -> list[kube.Obj]:
    return kube.build(OVERLAYS["production"])


@pytest.fixture(scope="module")
def base() -> list[kube.Obj]:
    return kube.build(OVERLAYS["base"])


def find(objects: list[kube.Obj], kind: str, name: str, namespace: str = NAMESPACE) -> kube.Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name
             and o["metadata"].get("namespace") == namespace]
    assert len(found) == 1, f"{kind} {namespace}/{name}: {len(found)} found"
    return found[0]


def container(workload: kube.Obj, name: str | None = None) -> kube.Obj:
    found = workload["spec"]["template"]["spec"]["containers"]
    return found[0] if name is None else next(c for c in found if c["name"] == name)


def init_container(workload: kube.Obj, name: str) -> kube.Obj:
    return next(c for c in workload["spec"]["template"]["spec"].get("initContainers", []) if c["name"] == name)


def env_value_from(c: kube.Obj, name: str) -> dict[str, Any]:
    return next(e for e in c.get("env", []) if e["name"] == name)["valueFrom"]


# --- building and validating ------------------------------------------------------------------

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_builder_builds_what_kubectl_kustomize_builds(overlay):
    theirs = kube.kubectl_build(OVERLAYS[overlay])
    if theirs is None:
        pytest.skip("kubectl is not installed: the manifests are still built and validated by the other tests")
    ours = {kube.identity(o): o for o in kube.build(OVERLAYS[overlay])}
    assert ours == {kube.identity(o): o for o in theirs}


def test_the_builder_refuses_what_it_does_not_understand(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(kube.Unsupported, match="namePrefix"):
        kube.build(tmp_path)


def test_every_object_validates_against_the_kubernetes_schemas(built):
    overlay, objects = built
    schemas = kube.crd_schemas()
    assert set(schemas) == CUSTOM
    problems = []
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in schemas:
            problems += [f"{overlay} {kube.identity(obj)} {p}" for p in kube.validate_custom(obj, schemas)]
            continue
        for version in KUBERNETES_VERSIONS:
            try:  # strict: a field the schema does not know is an error, as the API server's is
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{overlay} {version} {kube.identity(obj)} {'.'.join(map(str, error.path))}: "
                                f"{error.message}")
    assert not problems, "\n".join(problems)


def test_the_validation_catches_a_misspelt_field(base):
    deployment = copy.deepcopy(find(base, "Deployment", "billing-api"))
    container(deployment)["readinesProbe"] = container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
    schemas = kube.crd_schemas()
    broker = copy.deepcopy(find(base, "RabbitmqCluster", "accr-broker"))
    broker["spec"]["replica"] = broker["spec"].pop("replicas")
    assert any("replica" in p for p in kube.validate_custom(broker, schemas))
    scaled = copy.deepcopy(find(base, "ScaledObject", "billing-worker"))
    scaled["spec"]["minReplicaCount"] = "two"
    assert kube.validate_custom(scaled, schemas)
    database = copy.deepcopy(find(base, "Cluster", "billing-db"))
    database["spec"]["bootstrap"]["initdb"]["databse"] = "billing"
    assert kube.validate_custom(database, schemas)


def test_every_object_has_a_namespace_or_is_one(built):
    _, objects = built
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    assert namespaces == {NAMESPACE, POLICE_NAMESPACE}
    assert all(o["metadata"].get("namespace") in namespaces for o in objects if o["kind"] != "Namespace")


# --- what is deployed -------------------------------------------------------------------------

def test_every_service_has_its_api_worker_migration_and_database(built):
    _, objects = built
    for service in SERVICES:
        api = find(objects, "Deployment", f"{service}-api")
        assert container(api)["command"][-1] == f"services.{service}.app:create_app()"
        assert container(api)["ports"] == [{"name": "http", "containerPort": 8000}]
        service_object = find(objects, "Service", f"{service}-api")
        assert service_object["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
        worker = find(objects, "Deployment", f"{service}-worker")
        assert container(worker)["command"][:3] == ["nameko", "run", WORKER_CLASSES[service]]
        assert container(worker)["command"][3:] == ["--broker", "$(AMQP_URI)"]
        job = find(objects, "Job", f"{service}-migrate")
        assert container(job)["command"] == ["python", "-m", "deploy.migrate", service]
        database = find(objects, "Cluster", f"{service}-db")
        assert database["spec"]["bootstrap"]["initdb"] == {"database": service, "owner": service}
        find(objects, "PodDisruptionBudget", f"{service}-api")
    seed = find(objects, "Job", "review-seed")
    assert container(seed)["command"] == ["python", "-m", "deploy.seed"]


def test_the_portal_and_the_police_client_are_there(built):
    _, objects = built
    portal = find(objects, "Deployment", "portal")
    assert container(portal)["command"][-1] == "services.portal.app:create_app()"
    assert container(portal)["ports"] == [{"name": "http", "containerPort": 8000}]
    find(objects, "Service", "portal")
    police = find(objects, "Deployment", "police-client", POLICE_NAMESPACE)
    assert container(police)["command"] == ["python", "-m", "police.reference_client"]


def test_apis_and_workers_start_only_once_their_migration_has_run(built):
    """The migration Job brings the database to head; the API's and the worker's init
    container waits until it is there (deploy.migrate --wait), with the same database."""
    _, objects = built
    for service in SERVICES:
        job = container(find(objects, "Job", f"{service}-migrate"))
        assert database_url(job, service) == database_url(container(find(objects, "Deployment", f"{service}-api")),
                                                          service)
        assert find(objects, "Cluster", f"{service}-db")["spec"]["bootstrap"]["initdb"]["owner"] == service
        for kind in ("api", "worker"):
            wait = init_container(find(objects, "Deployment", f"{service}-{kind}"), "wait-for-schema")
            assert wait["command"][:4] == ["python", "-m", "deploy.migrate", "--wait"]
            assert wait["command"][-1] == service
            assert database_url(wait, service) == database_url(job, service)
    seed = find(objects, "Job", "review-seed")
    assert init_container(seed, "wait-for-schema")["command"][-1] == "review"


def database_url(c: kube.Obj, service: str) -> tuple[str, dict[str, Any]]:
    """The service's database URL and the Secret its password comes from: CloudNativePG's
    `<service>-db-app`, the database's owner on its read-write Service, the psycopg2 driver
    (SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which is not installed)."""
    url = next(e["value"] for e in c["env"] if e["name"] == f"{service.upper()}_DATABASE_URL")
    assert url == (f"postgresql+psycopg2://{service}:$(DATABASE_PASSWORD)@{service}-db-rw.{NAMESPACE}.svc:5432/"
                   f"{service}"), url
    password = env_value_from(c, "DATABASE_PASSWORD")
    assert password == {"secretKeyRef": {"name": f"{service}-db-app", "key": "password"}}
    names = [e["name"] for e in c["env"]]
    assert names.index("DATABASE_PASSWORD") < names.index(f"{service.upper()}_DATABASE_URL")  # $(...) sees only earlier ones
    return url, password


def test_the_ingress_routes_the_portal_and_every_api(built):
    _, objects = built
    routes = {}
    for ingress in (o for o in objects if o["kind"] == "Ingress"):
        annotations = ingress["metadata"].get("annotations", {})
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]["name"]
                routes[path["path"]] = (backend, annotations.get("nginx.ingress.kubernetes.io/rewrite-target"),
                                        annotations.get("nginx.ingress.kubernetes.io/x-forwarded-prefix"))
    assert routes["/"] == ("portal", None, None)
    for service in SERVICES:
        route = f"/api/{service}(/|$)(.*)"
        assert routes[route] == (f"{service}-api", "/$2", f"/api/{service}")
        # what nginx does with it: the API sees the path after its prefix
        match = re.match("^" + route, f"/api/{service}/orders/7?x=1")
        assert match is not None and "/" + match.group(2) == "/orders/7?x=1"
    assert routes["/api/registration(/)(auth/.*|returning/verify|members/join)$"][0] == "registration-api"
    assert routes["/api/review(/)(admin/login)$"][0] == "review-api"
    hosts = {rule["host"] for o in objects if o["kind"] == "Ingress" for rule in o["spec"]["rules"]}
    assert len(hosts) == 1


def test_production_serves_one_https_host_the_services_know(production):
    config = find(production, "ConfigMap", "accr-config")["data"]
    assert config["ACCR_ENV"] == "production" and config["ACCR_SANDBOX"] == "0"
    assert config["PUBLIC_BASE_URL"].startswith("https://")
    host = config["PUBLIC_BASE_URL"].removeprefix("https://").split("/")[0]
    for ingress in (o for o in production if o["kind"] == "Ingress"):
        assert [r["host"] for r in ingress["spec"]["rules"]] == [host]
        assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "accr-tls"}]
    assert all(c["image"] == "registry.example.com/accr/suite:2026.11.0"
               for _, template in kube.pod_templates(production) for c in kube.containers(template))
    assert all(c["image"] != "accr/suite:latest" for c in all_containers(production))
    assert all(find(production, "Cluster", f"{s}-db")["spec"]["instances"] == 3 for s in SERVICES)


def all_containers(objects: list[kube.Obj]) -> list[kube.Obj]:
    """Every container, those of the broker's pod template included."""
    found = [c for _, template in kube.pod_templates(objects) for c in kube.containers(template)]
    for broker in (o for o in objects if o["kind"] == "RabbitmqCluster"):
        spec = broker["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]
        found += [c for c in spec.get("initContainers", []) if "image" in c]
    return found


# --- configuration and secrets ----------------------------------------------------------------

SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_KEY|TOKEN)$")


def test_secrets_are_referenced_by_name_never_written(built):
    _, objects = built
    assert not [o for o in objects if o["kind"] == "Secret"]
    for c in all_containers(objects):
        for e in c.get("env", []):
            if SECRET_NAME.search(e["name"]):
                assert "secretKeyRef" in e.get("valueFrom", {}), (c["name"], e["name"])
        assert not any("secretRef" in source for source in c.get("envFrom", [])), c["name"]
    for config in (o for o in objects if o["kind"] == "ConfigMap"):
        leaked = [k for k in config.get("data", {}) if SECRET_NAME.search(k)]
        assert not leaked, (config["metadata"]["name"], leaked)
    for workload, template in kube.pod_templates(objects):
        uris = [e["value"] for c in kube.containers(template) for e in c.get("env", []) if "://" in e.get("value", "")]
        # a password in a URI is a reference to a variable from a Secret, never the password
        assert all(re.search(r"://[^:/@]+:\$\([A-Z_]+\)@", uri) or "@" not in uri for uri in uris), uris


def test_only_the_token_issuers_apis_hold_the_private_key(built):
    _, objects = built
    holders = set()
    for workload, template in kube.pod_templates(objects):
        names = {e["name"] for c in kube.containers(template) for e in c.get("env", [])}
        volumes = str(template["spec"].get("volumes", []))
        if "JWT_PRIVATE_KEY_FILE" in names or "accr-jwt-private" in volumes:
            holders.add(workload["metadata"]["name"])
    assert holders == {"registration-api", "review-api"}
    for name in holders:
        deployment = find(objects, "Deployment", name)
        mounted = {m["mountPath"] for m in container(deployment)["volumeMounts"]}
        private = next(e["value"] for e in container(deployment)["env"] if e["name"] == "JWT_PRIVATE_KEY_FILE")
        assert Path(private).parent.as_posix() in mounted
    public = find(objects, "ConfigMap", "accr-config")["data"]["JWT_PUBLIC_KEY_FILE"]
    for service in SERVICES:
        for kind in ("api", "worker"):
            mounts = {m["mountPath"] for m in container(find(objects, "Deployment", f"{service}-{kind}"))["volumeMounts"]}
            assert Path(public).parent.as_posix() in mounts, (service, kind)


def test_a_services_api_and_worker_share_its_keys(built):
    """REGISTRATION_DATA_KEY and CREDENTIALS_QR_KEY: what the API encrypts or signs, the worker
    must read (and billing's sandbox callbacks verify in every pod)."""
    _, objects = built
    for service, name in (("registration", "REGISTRATION_DATA_KEY"), ("credentials", "CREDENTIALS_QR_KEY"),
                          ("billing", "BILLING_PAYMENT_SANDBOX_SECRET")):
        api = env_value_from(container(find(objects, "Deployment", f"{service}-api")), name)
        worker = env_value_from(container(find(objects, "Deployment", f"{service}-worker")), name)
        assert api == worker and "optional" not in api["secretKeyRef"], name


def test_each_service_is_its_own_broker_user(built):
    _, objects = built
    config = find(objects, "ConfigMap", "accr-config")["data"]
    assert rabbitmq.users_from_env({"AMQP_USERS": config["AMQP_USERS"]}) == rabbitmq.DEFAULT_USERS
    assert tuple(int(v) for v in config["RETRY_DELAYS_MS"].split(",")) == rabbitmq.PRODUCTION_RETRY_DELAYS_MS
    for service in SERVICES:
        user = rabbitmq.DEFAULT_USERS[service]
        for workload in (f"{service}-api", f"{service}-worker"):
            c = container(find(objects, "Deployment", workload))
            uri = next(e["value"] for e in c["env"] if e["name"] == "AMQP_URI")
            assert uri == f"amqp://{user}:$(AMQP_PASSWORD)@accr-broker.accr.svc:5672/{rabbitmq.VHOST}"
            assert env_value_from(c, "AMQP_PASSWORD") == {"secretKeyRef": {"name": f"accr-broker-{service}",
                                                                           "key": "password"}}
            names = [e["name"] for e in c["env"]]
            assert names.index("AMQP_PASSWORD") < names.index("AMQP_URI")  # $(...) sees only earlier ones
    police = container(find(objects, "Deployment", "police-client", POLICE_NAMESPACE))
    uri = next(e["value"] for e in police["env"] if e["name"] == "POLICE_AMQP_URI")
    assert uri.startswith(f"amqp://{rabbitmq.DEFAULT_USERS['police']}:$(AMQP_PASSWORD)@")
    police_config = find(objects, "ConfigMap", "police-config", POLICE_NAMESPACE)["data"]
    assert police_config["POLICE_REQUESTER_USER"] == rabbitmq.DEFAULT_USERS["credentials"]


def test_the_broker_loads_the_generated_definitions_with_quorum_queues(built):
    _, objects = built
    broker = find(objects, "RabbitmqCluster", "accr-broker")
    assert broker["spec"]["replicas"] == 3
    pod = broker["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]
    render = next(c for c in pod["initContainers"] if c["name"] == "render-definitions")
    command = render["command"]
    assert command[:4] == ["python", "-m", "deploy.rabbitmq", "--passwords-from-env"]
    assert command[command.index("--queue-type") + 1] == "quorum"
    output = command[command.index("--output") + 1]
    monitoring_user = command[command.index("--monitoring-user") + 1]
    # the init container's arguments are the generator's own
    rabbitmq.main([a for a in command[3:] if a != "--passwords-from-env"][:-2] + ["--output", os.devnull])
    env = {e["name"] for e in render["env"]}
    assert env == {"AMQP_USERS"} | {f"AMQP_PASSWORD_{r.upper()}" for r in (*rabbitmq.ROLES, rabbitmq.MONITORING)}
    config = broker["spec"]["rabbitmq"]["additionalConfig"]
    assert f"definitions.local.path = {output}" in config
    volume = Path(output).parent.as_posix()
    mounts = next(c for c in pod["containers"] if c["name"] == "rabbitmq")["volumeMounts"]
    assert {"name": "accr-definitions", "mountPath": volume, "readOnly": True} in mounts
    assert {"name": "accr-definitions", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}} in pod["volumes"]
    auth = find(objects, "TriggerAuthentication", "accr-broker-monitoring")
    assert {r["parameter"]: r["name"] for r in auth["spec"]["secretTargetRef"]} == {
        "username": "accr-broker-monitoring", "password": "accr-broker-monitoring"}
    assert monitoring_user not in rabbitmq.DEFAULT_USERS.values()


def test_quorum_definitions_set_the_vhosts_default_queue_type_and_a_reader_that_can_do_nothing():
    document = rabbitmq.definitions(queue_type="quorum", monitoring_user="accr-monitoring",
                                    passwords={r: "p" * 16 for r in (*rabbitmq.ROLES, rabbitmq.MONITORING)})
    assert document["vhosts"] == [{"name": rabbitmq.VHOST, "default_queue_type": "quorum",
                                   "metadata": {"default_queue_type": "quorum"}}]
    reader = next(u for u in document["users"] if u["name"] == "accr-monitoring")
    assert reader["tags"] == ["management"] and reader["password_hash"]
    assert [p for p in document["permissions"] if p["user"] == "accr-monitoring"] == [
        {"user": "accr-monitoring", "vhost": rabbitmq.VHOST, "configure": "^$", "write": "^$", "read": "^$"}]
    assert not [t for t in document["topic_permissions"] if t["user"] == "accr-monitoring"]
    # the committed (docker-compose) definitions are unchanged: classic queues, no reader
    plain = rabbitmq.definitions()
    assert plain["vhosts"] == [{"name": rabbitmq.VHOST}] and len(plain["users"]) == len(rabbitmq.ROLES)
    with pytest.raises(ValueError):
        rabbitmq.definitions(monitoring_user="accr-billing")
    with pytest.raises(ValueError):
        rabbitmq.definitions(queue_type="lazy")


def test_the_monitoring_users_password_comes_from_the_environment_too(tmp_path, monkeypatch):
    for role in rabbitmq.ROLES:
        monkeypatch.setenv(f"AMQP_PASSWORD_{role.upper()}", f"{role}-0123456789abcdef")
    monkeypatch.delenv("AMQP_PASSWORD_MONITORING", raising=False)
    out = tmp_path / "definitions.json"
    args = ["--passwords-from-env", "--queue-type", "quorum", "--monitoring-user", "accr-monitoring",
            "--output", str(out)]
    assert rabbitmq.main(args) == 2 and not out.exists()  # no default password, for this user either
    monkeypatch.setenv("AMQP_PASSWORD_MONITORING", "monitoring-0123456789")
    assert rabbitmq.main(args) == 0
    import json
    document = json.loads(out.read_text())
    assert all(u["password_hash"] for u in document["users"])
    assert document["vhosts"][0]["metadata"] == {"default_queue_type": "quorum"}


# --- every environment variable a service reads is provided -----------------------------------

# Names the code reads that the manifests may leave unset, and why.
OPTIONAL = {
    # SQLite files and generated keys only; a cluster configures every key (and a pod that
    # would generate one fails on its read-only root filesystem instead)
    "ACCR_DATA_DIR",
    # only registration's and review's APIs hold it (test_only_the_token_issuers_apis_hold_the_private_key)
    "JWT_PRIVATE_KEY_FILE",
    # the sandboxes' failure switches, for tests
    "EINVOICE_SANDBOX_FAIL_TITLES", "REFUND_SANDBOX_FAIL_ACCOUNTS", "SMS_SANDBOX_FAIL_NUMBERS",
    # derived from the edition ("26" + "44") unless a fair wants another
    "INVOICE_PREFIX",
    # the police simulator: its blocklist as a file (POLICE_BLOCKLIST is set), and the fallback
    # URI when POLICE_AMQP_URI is not set
    "POLICE_BLOCKLIST_FILE", "AMQP_URI@police",
}
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")
SETTINGS_CALLS = {"get", "key", "secret"}  # Settings.get and Readiness.key/secret: <SERVICE>_<NAME> or <NAME>
EXACT_CALLS = {"env", "getenv"}


class Read:
    """A name a process reads: exactly, or the way Settings.get does (`<SERVICE>_<NAME>`, then
    `<NAME>`); `pattern` for a name built at run time (an f-string)."""

    def __init__(self, name: str, settings: bool = False, pattern: str | None = None):
        self.name, self.settings, self.pattern = name, settings, pattern

    def provided_by(self, provided: set[str], service: str | None) -> bool:
        if self.pattern is not None:
            return any(re.fullmatch(self.pattern, p) for p in provided)
        if self.name in provided:
            return True
        return bool(self.settings and service and f"{service.upper()}_{self.name}" in provided)


def _fstring_pattern(node: ast.JoinedStr, service: str | None) -> str:
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(re.escape(str(value.value)))
        elif service and ast.unparse(value.value).endswith("service.upper()"):
            parts.append(service.upper())
        else:
            parts.append("[A-Z0-9_]+")
    return "".join(parts)


def names_in_source(paths: list[Path], service: str | None) -> list[Read]:
    """Every environment variable name the code at `paths` reads by a literal (or f-string)."""
    reads = []
    for path in paths:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                    if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                        reads.append(Read(node.slice.value))
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                func = node.func
                call = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                on_environ = isinstance(func, ast.Attribute) and ast.unparse(func.value) in ("os.environ", "environ")
                first = node.args[0]
                if call not in SETTINGS_CALLS | EXACT_CALLS:
                    continue
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and ENV_NAME.match(first.value):
                    reads.append(Read(first.value, settings=call in SETTINGS_CALLS and not on_environ))
                elif isinstance(first, ast.JoinedStr):
                    reads.append(Read(ast.unparse(first), pattern=_fstring_pattern(first, service)))
    return reads


class RecordingEnviron(dict):
    """os.environ that notes the names our own code (shared/, services/) asks for."""

    def __init__(self, values: dict[str, str]):
        super().__init__(values)
        self.asked: list[str] = []

    def _note(self, key: object) -> None:
        caller = sys._getframe(2).f_code.co_filename
        if isinstance(key, str) and ENV_NAME.match(key) and caller.startswith(
                (str(kube.ROOT / "shared"), str(kube.ROOT / "services"))):
            self.asked.append(key)

    def get(self, key, default=None):  # type: ignore[override]
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


def names_read_by(call, tmp_path: Path, monkeypatch, service: str | None = None) -> list[Read]:
    """What `call()` reads from the environment with nothing configured but a data folder and
    the token keys: names built at run time too (a deadline's name from a table, say)."""
    keys = tmp_path / "jwt"
    auth.generate_keypair(keys / "private.pem", keys / "public.pem")
    recording = RecordingEnviron({"ACCR_DATA_DIR": str(tmp_path), "PATH": os.environ.get("PATH", ""),
                                  "JWT_PUBLIC_KEY_FILE": str(keys / "public.pem"),
                                  "JWT_PRIVATE_KEY_FILE": str(keys / "private.pem")})
    auth._read.cache_clear()
    monkeypatch.setattr(os, "environ", recording)
    try:
        call()
    finally:
        monkeypatch.undo()
        auth._read.cache_clear()
    asked = set(recording.asked)
    prefix = f"{service.upper()}_" if service else None
    reads = []
    for name in sorted(asked):
        if prefix and name.startswith(prefix) and name[len(prefix):] in asked:
            continue  # Settings.get: read as the pair below
        reads.append(Read(name, settings=bool(prefix) and f"{prefix}{name}" in asked))
    return reads


def names_read_by_bootstrap(service: str, tmp_path: Path, monkeypatch) -> list[Read]:
    module = importlib.import_module(f"services.{service}.bootstrap")
    module.bootstrap.cache_clear()
    try:
        return names_read_by(module.bootstrap, tmp_path, monkeypatch, service)
    finally:
        module.bootstrap.cache_clear()


def provided_names(objects: list[kube.Obj], c: kube.Obj, namespace: str) -> set[str]:
    names = {e["name"] for e in c.get("env", [])}
    for source in c.get("envFrom", []):
        assert "configMapRef" in source, source
        names |= set(find(objects, "ConfigMap", source["configMapRef"]["name"], namespace).get("data", {}))
    return names


def missing(reads: list[Read], provided: set[str], service: str | None, role: str) -> list[str]:
    return sorted({r.name for r in reads if not r.provided_by(provided, service)
                   and r.name not in OPTIONAL and f"{r.name}@{role}" not in OPTIONAL})


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_a_service_reads_is_provided_to_its_api_and_worker(built, service, tmp_path, monkeypatch):
    _, objects = built
    reads = names_in_source([kube.ROOT / "shared", kube.ROOT / "services" / service], service)
    reads += names_read_by_bootstrap(service, tmp_path, monkeypatch)
    assert {"AMQP_URI", "FAIR_EDITION", f"{service.upper()}_DATABASE_URL"} <= {r.name for r in reads}
    for kind in ("api", "worker"):
        c = container(find(objects, "Deployment", f"{service}-{kind}"))
        gaps = missing(reads, provided_names(objects, c, NAMESPACE), service, service)
        assert not gaps, f"{service}-{kind} reads {gaps}, which no manifest provides"


def test_the_seed_gets_what_review_and_the_seed_read(built, tmp_path, monkeypatch):
    _, objects = built
    reads = names_in_source([kube.ROOT / "shared", kube.ROOT / "services" / "review",
                             kube.ROOT / "deploy" / "seed.py"], "review")
    reads += names_read_by_bootstrap("review", tmp_path, monkeypatch)
    assert "ADMIN_PASSWORD" in {r.name for r in reads}
    c = container(find(objects, "Job", "review-seed"))
    assert not missing(reads, provided_names(objects, c, NAMESPACE), "review", "review")


def test_the_police_client_gets_what_it_reads(built):
    _, objects = built
    reads = names_in_source([kube.ROOT / "police"], None)
    assert "POLICE_AMQP_URI" in {r.name for r in reads}
    c = container(find(objects, "Deployment", "police-client", POLICE_NAMESPACE))
    assert not missing(reads, provided_names(objects, c, POLICE_NAMESPACE), None, "police")


def test_the_portal_gets_what_it_reads(built, tmp_path, monkeypatch):
    portal_code = kube.ROOT / "services" / "portal"
    if not portal_code.is_dir():
        pytest.skip("services/portal is not in this tree yet")
    _, objects = built
    reads = names_in_source([portal_code], None)
    settings = importlib.import_module("services.portal.bootstrap")
    if hasattr(settings, "load_portal_settings"):  # names read through helpers, at run time
        reads += names_read_by(settings.load_portal_settings, tmp_path, monkeypatch)
    c = container(find(objects, "Deployment", "portal"))
    assert not missing(reads, provided_names(objects, c, NAMESPACE), None, "portal")


def test_the_environment_check_can_fail(built):
    """A name no manifest provides is reported (the check above is not vacuous)."""
    _, objects = built
    c = container(find(objects, "Deployment", "billing-worker"))
    provided = provided_names(objects, c, NAMESPACE)
    reads = [Read("ORDER_TTL_MINUTES", settings=True), Read("BILLING_SOMETHING_NEW"), Read("X_NEW", settings=True)]
    assert missing(reads, provided, "billing", "billing") == ["BILLING_SOMETHING_NEW", "X_NEW"]


# --- probes, resources, security --------------------------------------------------------------

def test_apis_and_the_portal_are_probed_on_their_health_endpoint(built):
    _, objects = built
    for name in [f"{s}-api" for s in SERVICES] + ["portal"]:
        c = container(find(objects, "Deployment", name))
        # readiness asks the database and the broker; liveness only that the process answers,
        # so that a database failover takes an API out of rotation without restarting it
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        if "startupProbe" in c:
            assert c["startupProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name


def test_workers_are_probed_on_their_heartbeat(built):
    _, objects = built
    for service in SERVICES:
        c = container(find(objects, "Deployment", f"{service}-worker"))
        command = c["livenessProbe"]["exec"]["command"]
        assert command[:4] == ["python", "-m", "deploy.heartbeat", service], service
        # the worker beats every 5 s; the probe forgives a minute of a busy event loop
        max_age = float(command[command.index("--max-age") + 1])
        assert max_age >= 60 and c["livenessProbe"]["periodSeconds"] * c["livenessProbe"]["failureThreshold"] >= 60


@pytest.mark.parametrize("service", SERVICES)
def test_the_health_endpoint_the_probes_use_exists(service, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCR_DATA_DIR", str(tmp_path))
    for name in ("ACCR_ENV", "AMQP_URI", f"{service.upper()}_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    importlib.import_module(f"services.{service}.bootstrap").bootstrap.cache_clear()
    try:
        app = importlib.import_module(f"services.{service}.app").create_app(start_relay=False)
        assert {"/health", "/healthz", "/readyz"} <= {str(rule) for rule in app.url_map.iter_rules()}
    finally:
        importlib.import_module(f"services.{service}.bootstrap").bootstrap.cache_clear()


def test_every_container_is_sized_and_locked_down(built):
    _, objects = built
    for workload, template in kube.pod_templates(objects):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert pod.get("automountServiceAccountToken") is False, workload["metadata"]["name"]
        for c in kube.containers(template):
            where = f"{workload['metadata']['name']}/{c['name']}"
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), where
            assert "memory" in c["resources"]["limits"], where
            assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}, where


def test_access_logs_leave_query_strings_out(built):
    _, objects = built
    for name in [f"{s}-api" for s in SERVICES] + ["portal"]:
        command = container(find(objects, "Deployment", name))["command"]
        assert command[command.index("--access-logformat") + 1] == ACCESS_LOG_FORMAT, name


def test_apis_and_the_portal_have_disruption_budgets_below_their_replicas(built):
    _, objects = built
    budgets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PodDisruptionBudget"}
    autoscaled = {o["spec"]["scaleTargetRef"]["name"]: o["spec"]["minReplicas"]
                  for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    autoscaled |= {o["spec"]["scaleTargetRef"]["name"]: o["spec"]["minReplicaCount"]
                   for o in objects if o["kind"] == "ScaledObject"}
    for name in [f"{s}-api" for s in SERVICES] + ["portal", "billing-worker"]:
        deployment = find(objects, "Deployment", name)
        replicas = autoscaled.get(name, deployment["spec"].get("replicas"))
        assert replicas is not None and budgets[name]["spec"]["minAvailable"] < replicas, name  # a node can drain
        assert budgets[name]["spec"]["selector"] == deployment["spec"]["selector"]
    assert budgets["accr-broker"]["spec"]["maxUnavailable"] == 1


# --- billing scales on its own ----------------------------------------------------------------

def test_billing_api_scales_on_cpu_and_its_worker_on_queue_depth(built):
    _, objects = built
    hpa = find(objects, "HorizontalPodAutoscaler", "billing-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "billing-api"}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and 0 < metric["resource"]["target"]["averageUtilization"] < 100
    api = find(objects, "Deployment", "billing-api")
    assert "replicas" not in api["spec"]  # the autoscaler's, not kubectl apply's
    assert container(api)["resources"]["requests"]["cpu"]  # utilisation is of the request
    scaled = find(objects, "ScaledObject", "billing-worker")
    assert scaled["spec"]["scaleTargetRef"] == {"name": "billing-worker"}
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    assert "replicas" not in find(objects, "Deployment", "billing-worker")["spec"]
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq" and trigger["authenticationRef"] == {"name": "accr-broker-monitoring"}
    meta = trigger["metadata"]
    assert meta["protocol"] == "http" and meta["vhostName"] == rabbitmq.VHOST and meta["mode"] == "QueueLength"
    assert meta["useRegex"] == "true" and meta["operation"] == "sum" and int(meta["value"]) > 0
    # the regex sums exactly billing's event queues, of every queue the broker has
    queues = {q["name"] for q in rabbitmq.definitions()["queues"]}
    billing_queues = {handler_queue_name("billing", event) for event in SUBSCRIPTIONS["billing"]}
    assert billing_queues <= queues
    assert {q for q in queues if re.search(meta["queueName"], q)} == billing_queues


def test_billing_sizing_is_written_down_where_it_is_used():
    text = (kube.K8S / "base" / "billing-autoscaling.yaml").read_text(encoding="utf-8")
    assert "BILLING SIZING" in text and "PLACEHOLDER" not in text
    assert "see BILLING SIZING" in (kube.K8S / "base" / "billing.yaml").read_text(encoding="utf-8")


# --- network policies -------------------------------------------------------------------------

def pods(objects: list[kube.Obj]) -> list[tuple[str, str, dict[str, str]]]:
    """(name, namespace, labels) of every pod the manifests create."""
    return [(w["metadata"]["name"], w["metadata"]["namespace"], t["metadata"]["labels"])
            for w, t in kube.pod_templates(objects)]


STRANGER = ("stranger", "default", {"app": "stranger"})


def test_nothing_reaches_a_database_but_its_own_service(built):
    _, objects = built
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    sources = pods(objects) + [STRANGER, ("other-police-pod", POLICE_NAMESPACE, {"app": "x"})]
    for service in SERVICES:
        database = {"cnpg.io/cluster": f"{service}-db", "cnpg.io/instanceRole": "primary"}
        admitted = {name for name, namespace, labels in sources
                    if kube.ingress_allowed(policies, NAMESPACE, database, namespace, labels, 5432)}
        assert admitted == {f"{service}-api", f"{service}-worker", f"{service}-migrate"} | (
            {"review-seed"} if service == "review" else set()), service
        standby = {"cnpg.io/cluster": f"{service}-db", "cnpg.io/instanceRole": "replica"}
        assert kube.ingress_allowed(policies, NAMESPACE, database, NAMESPACE, standby, 5432)  # replication
        operator = {"app.kubernetes.io/name": "cloudnative-pg"}
        assert kube.ingress_allowed(policies, NAMESPACE, database, "cnpg-system", operator, 8000)
        other = {"cnpg.io/cluster": "billing-db" if service != "billing" else "review-db"}
        assert not kube.ingress_allowed(policies, NAMESPACE, database, NAMESPACE, other, 5432)


def test_only_the_suite_and_the_police_client_reach_the_broker(built):
    _, objects = built
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    broker = {"app.kubernetes.io/name": "accr-broker", "app.kubernetes.io/component": "rabbitmq"}
    sources = pods(objects) + [STRANGER, ("other-police-pod", POLICE_NAMESPACE, {"app": "x"})]
    admitted = {name for name, namespace, labels in sources
                if kube.ingress_allowed(policies, NAMESPACE, broker, namespace, labels, 5672)}
    expected = {f"{s}-{k}" for s in SERVICES for k in ("api", "worker", "migrate")} | {"review-seed", "police-client"}
    assert admitted == expected
    keda = {"app": "keda-operator"}
    assert kube.ingress_allowed(policies, NAMESPACE, broker, "keda", keda, 15672)
    assert not kube.ingress_allowed(policies, NAMESPACE, broker, NAMESPACE, find_labels(objects, "billing-api"), 15672)


def find_labels(objects: list[kube.Obj], name: str) -> dict[str, str]:
    return next(labels for n, _, labels in pods(objects) if n == name)


def test_the_police_namespace_reaches_only_the_broker(built):
    _, objects = built
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    police = find_labels(objects, "police-client")
    broker = {"app.kubernetes.io/name": "accr-broker", "app.kubernetes.io/component": "rabbitmq"}
    assert kube.egress_allowed(policies, POLICE_NAMESPACE, police, NAMESPACE, broker, 5672)
    assert kube.egress_allowed(policies, POLICE_NAMESPACE, police, "kube-system", {"k8s-app": "kube-dns"}, 53)
    for service in SERVICES:
        db = {"cnpg.io/cluster": f"{service}-db"}
        assert not kube.egress_allowed(policies, POLICE_NAMESPACE, police, NAMESPACE, db, 5432)
        assert not kube.egress_allowed(policies, POLICE_NAMESPACE, police, NAMESPACE,
                                       find_labels(objects, f"{service}-api"), 8000)
    assert not kube.egress_allowed(policies, POLICE_NAMESPACE, police, NAMESPACE, broker, 15672)
    assert not any(kube.ingress_allowed(policies, POLICE_NAMESPACE, police, namespace, labels, 8000)
                   for _, namespace, labels in pods(objects) + [STRANGER])


def test_apis_take_requests_from_the_ingress_controller_and_the_portal_only(built):
    _, objects = built
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    controller = ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    for service in SERVICES:
        api = find_labels(objects, f"{service}-api")
        admitted = {name for name, namespace, labels in pods(objects) + [STRANGER]
                    if kube.ingress_allowed(policies, NAMESPACE, api, namespace, labels, 8000)}
        assert admitted == {"portal"}, service
        assert kube.ingress_allowed(policies, NAMESPACE, api, *controller, 8000)
    for worker in (f"{s}-worker" for s in SERVICES):
        labels = find_labels(objects, worker)
        assert not kube.ingress_allowed(policies, NAMESPACE, labels, *controller, 8000)


# --- the migration runner's wait --------------------------------------------------------------

def test_the_wait_ends_once_the_migration_has_run(tmp_path):
    from deploy import migrate
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    assert not migrate.at_head("billing", url)
    assert not migrate.wait_for_head("billing", url, timeout=0.3, interval=0.1)
    assert migrate.main(["--wait", "--timeout", "0.2", "billing", url]) == 1
    migrate.upgrade("billing", url)
    assert migrate.at_head("billing", url)
    assert migrate.main(["--wait", "--timeout", "5", "billing", url]) == 0


def test_the_wait_keeps_waiting_while_the_database_is_unreachable():
    from deploy import migrate
    unreachable = "postgresql+psycopg2://nobody:x@127.0.0.1:1/none?connect_timeout=1"
    assert migrate.at_head("billing", unreachable) is False


def test_keys_are_32_byte_base64url_as_the_readme_says():
    """The README tells operators how to make REGISTRATION_DATA_KEY and CREDENTIALS_QR_KEY for
    their Secrets; the services accept exactly that."""
    from shared.crypto import load_key
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert load_key(key, Path("/nonexistent/never-written")) == base64.urlsafe_b64decode(key)
