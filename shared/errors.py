"""The JSON error format {"code", "message", "field"} and the Flask handlers that emit it."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(ApiError):
    status = 404

    def __init__(self, what: str, field: str | None = None):
        super().__init__("not_found", f"{what} not found", field)


class Conflict(ApiError):
    status = 409


class Forbidden(ApiError):
    status = 403

    def __init__(self, message: str = "not allowed"):
        super().__init__("forbidden", message)


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str = "authentication required"):
        super().__init__("unauthorized", message)


def first_field_error(messages: Any, prefix: str = "") -> tuple[str | None, str]:
    """The first (field path, message) of a marshmallow/webargs message tree."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "files", "headers", "path"):  # webargs locations
                return first_field_error(value, prefix)
            if key == "_schema":
                return first_field_error(value, prefix)
            path = f"{prefix}.{key}" if prefix else str(key)
            return first_field_error(value, path)
    if isinstance(messages, list) and messages:
        return first_field_error(messages[0], prefix)
    return (prefix or None), str(messages)


def validation_error(messages: Any) -> ApiError:
    field, message = first_field_error(messages)
    return ApiError("validation_error", message, field)


def error_response(err: ApiError):
    return jsonify(err.to_dict()), err.status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return error_response(err)

    @app.errorhandler(ValidationError)
    def _validation(err: ValidationError):
        return error_response(validation_error(err.messages))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        data = getattr(err, "data", None) or {}
        if err.code == 422 and "messages" in data:  # webargs/flask-smorest input errors
            return error_response(validation_error(data["messages"]))
        code = (err.name or "error").lower().replace(" ", "_")
        if err.code == 400 and data.get("messages"):
            return error_response(validation_error(data["messages"]))
        return jsonify({"code": code, "message": err.description, "field": None}), err.code

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error")  # never includes request bodies
        return jsonify({"code": "internal_error", "message": "internal error", "field": None}), 500
