"""The HTTP edge every service shares: the Flask app factory (OpenAPI, /health, the relay
thread), authentication of requests, and the one mapping from domain errors to HTTP
statuses and the JSON error format {"code", "message", "field"}."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import Api, Blueprint
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .auth import Principal, verify_token
from .config import Readiness
from .db import retry_transient
from .logsafe import describe
from .errors import (
    AccountLocked, Conflict, DomainError, EditionClosed, Forbidden, NotFound, ProviderRefused, TooManyRequests, Unauthorized,
    Unavailable, validation_error,
)
from .service import ServiceDeps

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

# Most specific first: the first class the error is an instance of decides.
STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404), (Unauthorized, 401), (Forbidden, 403), (AccountLocked, 423), (TooManyRequests, 429),
    (Conflict, 409), (Unavailable, 503), (ProviderRefused, 502), (DomainError, 400),
)


def status_of(err: DomainError) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(err, cls))


class ErrorBody(Schema):
    """Every error's body, whatever its 4xx status: `code` is stable and meant for programs,
    `message` for people, `field` names the request field at fault (null when none)."""
    code = fields.String(required=True, metadata={"example": "invalid_uscc"})
    message = fields.String(required=True, metadata={"example": "USCC check character does not match (GB 32100-2015)"})
    field = fields.String(required=True, allow_none=True, metadata={"example": "uscc"})


class ServiceApi(Api):
    ERROR_SCHEMA = ErrorBody  # the OpenAPI documents describe errors as they are answered


def error_response(err: DomainError) -> tuple[Response, int, dict[str, str]]:
    headers = {}
    if isinstance(err, TooManyRequests) and err.retry_after:
        headers["Retry-After"] = str(err.retry_after)
    return jsonify(err.to_dict()), status_of(err), headers


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        return error_response(err)

    @app.errorhandler(ValidationError)
    def _validation(err: ValidationError):
        return error_response(validation_error(err.messages))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        data = getattr(err, "data", None) or {}
        if err.code in (400, 422) and data.get("messages"):  # webargs/flask-smorest input errors
            return error_response(validation_error(data["messages"]))
        code = (err.name or "error").lower().replace(" ", "_")
        return jsonify({"code": code, "message": err.description, "field": None}), err.code

    @app.errorhandler(OperationalError)
    def _database_unavailable(err: OperationalError):
        # the database refused or dropped the connection, or stayed locked through the retries
        # (a failover, a restart, every connection slot taken): the request may be tried again
        log.warning("database unavailable: %s", describe(err))
        response = jsonify({"code": "database_unavailable", "field": None,
                            "message": "the service's database is busy or unreachable; try again shortly"})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error")  # never includes request bodies
        return jsonify({"code": "internal_error", "message": "internal error", "field": None}), 500


# --- who is calling ------------------------------------------------------------------------
def current_principal() -> Principal:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized()
    return verify_token(header[7:].strip())


def principal() -> Principal:
    """The caller authenticated by `require` for this request."""
    return cast(Principal, g.principal)


def client_ip() -> str | None:
    """The caller's address as our gateway saw it: the last X-Forwarded-For hop (earlier
    hops come from the client and prove nothing), else the socket's peer."""
    forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    ip = forwarded[-1] if forwarded else request.remote_addr
    return ip[:64] if ip else None


def caller_unit_id() -> str:
    """The calling unit's id (for routes that unit contacts and members use)."""
    unit_id = principal().unit_id
    if unit_id is None:
        raise Forbidden("only a unit's own accounts may do this")
    return unit_id


READ_METHODS = ("GET", "HEAD", "OPTIONS")


def refuse_closed_edition(caller: Principal, active_edition: str | None) -> None:
    """A previous edition's session reads its records (invoices, badges, personnel) and
    changes nothing: every other request is refused here, in every service, whatever the
    route (409 edition_closed)."""
    if request.method not in READ_METHODS and caller.closed_for(active_edition):
        raise EditionClosed()


def require(*roles: str) -> Callable[[F], F]:
    """View decorator: a valid token whose role is one of `roles` (any role if none given);
    a closed edition's token only for reading (refuse_closed_edition)."""
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = current_principal()
            if roles and caller.role not in roles:
                raise Forbidden(f"role {caller.role} may not do this")
            deps = current_app.extensions.get("deps")
            refuse_closed_edition(caller, deps.settings.edition if deps is not None else None)
            if deps is not None and deps.token_revoked(caller):
                raise Unauthorized("this session has ended (password changed or account closed); log in again")
            g.principal = caller
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorator


# --- the app factory ---------------------------------------------------------------------
class ServiceFlask(Flask):
    """A request whose transaction the database refused for a passing reason (SQLite's lock,
    a PostgreSQL deadlock) is served again, from the start, instead of answering 500."""

    def dispatch_request(self) -> Any:
        def attempt() -> Any:
            for upload in request.files.values():
                upload.stream.seek(0)  # an earlier attempt may have read it
            return Flask.dispatch_request(self)
        return retry_transient(attempt)


def create_service_app(deps: ServiceDeps, blueprints: Iterable[Blueprint], start_relay: bool = True,
                       issues_tokens: bool = False) -> Flask:
    """The service's API: its blueprints and the operations routes every service has
    (shared.ops). `issues_tokens`: this API signs tokens (registration's, review's), so in
    production it must hold the private key that its worker need not."""
    if issues_tokens and deps.settings.production:
        ready = Readiness(deps.settings)
        ready.token_keys(issuer=True)
        ready.verify()
    service = deps.service
    app = ServiceFlask(f"accr.{service}")
    app.config.update(
        API_TITLE=f"{service} service", API_VERSION="1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json", MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}},
    )
    api = ServiceApi(app)
    from .ops import ops_blueprint  # it uses this module's `require`
    for bp in [*blueprints, ops_blueprint()]:
        api.register_blueprint(bp)
    register_error_handlers(app)  # after Api(): ours replace flask-smorest's error format
    app.extensions["deps"] = deps

    @app.get("/healthz")
    def alive():
        """Liveness: the process answers. Nothing it depends on is asked, so a database
        failover never gets a healthy API restarted."""
        return jsonify({"service": service, "status": "alive"})

    @app.get("/readyz")
    @app.get("/health")
    def readiness():
        """Readiness: its database and the broker answer (503 otherwise: out of the gateway's
        and the cluster's rotation meanwhile)."""
        report = deps.health()
        return jsonify(report), 200 if report["status"] == "ok" else 503

    if start_relay:
        try:
            deps.broker.declare_topology()  # before anything can publish
        except Exception as exc:  # the relay retries; /health reports the broker
            log.warning("broker not reachable at start: %s", exc)
        deps.outbox.start_relay_thread()
    log.info("%s app ready", service)
    return app
