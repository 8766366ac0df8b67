"""The portal's client of the services' APIs: one pooled `requests.Session` per process,
timeouts, the user's bearer token; 4xx answers become `ApiProblem`, an unreachable or
failing service becomes `ApiUnavailable`.

In the one-process gateway the services live in the same process: `InProcessAdapter`
hands the request to their WSGI app directly, so a portal page never waits for a free
server thread to answer its own API call."""
from __future__ import annotations

import json as jsonlib
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

IN_PROCESS_URL = "http://in-process"


class ApiProblem(Exception):
    """A 4xx answer (or a service's own JSON error): {"code", "message", "field"}."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.field = status, code, message, field

    @classmethod
    def from_response(cls, response: requests.Response) -> "ApiProblem":
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(response.status_code, f"http_{response.status_code}", response.reason or "error")
        field = body.get("field")
        return cls(response.status_code, str(body.get("code") or f"http_{response.status_code}"),
                   str(body.get("message") or ""), str(field) if field else None)


class ApiUnavailable(Exception):
    """The service did not answer, or answered with a server error."""


class InProcessAdapter(BaseAdapter):
    """A requests transport that calls a WSGI app in this process."""

    def __init__(self, app: Any):
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        url = urlsplit(request.url or "")
        headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
                   if k.lower() != "content-length"]
        raw = request.body  # requests has already encoded JSON, forms and files into bytes
        body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else b""
        builder = EnvironBuilder(path=url.path, query_string=url.query, method=request.method or "GET",
                                 headers=headers, data=body, base_url=f"{url.scheme}://{url.netloc}",
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
        try:
            app_iter, status, response_headers = run_wsgi_app(self.app, builder.get_environ(), buffered=True)
            content = b"".join(app_iter)
        finally:
            builder.close()
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.split(" ", 1)[1] if " " in status else ""
        response.headers = CaseInsensitiveDict(response_headers.items())
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        response.url, response.request = request.url or "", request
        return response

    def close(self) -> None:
        pass


class ApiClient:
    """Calls `{api_url}/api/<service><path>` (or a service's own URL when configured)."""

    def __init__(self, api_url: str, service_urls: dict[str, str] | None = None, timeout: float = 15.0,
                 wsgi_app: Any = None, pool_size: int = 32):
        self.service_urls = dict(service_urls or {})
        self.timeout = timeout
        self.http = requests.Session()
        self.http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # APIs' cookies are never kept
        self.http.trust_env = False  # no proxy from the environment between the portal and its APIs
        pooled = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.http.mount("http://", pooled)
        self.http.mount("https://", pooled)
        if wsgi_app is not None:
            self.api_url = IN_PROCESS_URL
            self.http.mount(IN_PROCESS_URL + "/", InProcessAdapter(wsgi_app))
        else:
            self.api_url = api_url.rstrip("/")

    def url(self, service: str, path: str) -> str:
        base = self.service_urls.get(service) or f"{self.api_url}/api/{service}"
        return base + "/" + path.lstrip("/")

    def request(self, method: str, service: str, path: str, *, token: str | None = None,
                language: str | None = None, client_ip: str | None = None, idempotency_key: str | None = None,
                json: Any = None, params: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
                files: dict[str, Any] | None = None) -> requests.Response:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if language:
            headers["Accept-Language"] = language
        if client_ip:
            headers["X-Forwarded-For"] = client_ip  # registration counts SMS requests per client
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = self.http.request(method, self.url(service, path), headers=headers, json=json,
                                         params=params, data=data, files=files, timeout=self.timeout,
                                         allow_redirects=False)
        except requests.RequestException as exc:
            raise ApiUnavailable(f"{service} did not answer: {type(exc).__name__}") from None
        if response.status_code < 400:
            return response
        if response.status_code < 500 or _has_error_code(response):
            raise ApiProblem.from_response(response)
        raise ApiUnavailable(f"{service} answered {response.status_code}")


def _has_error_code(response: requests.Response) -> bool:
    """A service's deliberate JSON error (e.g. 503 sms_unavailable), not a crash."""
    try:
        body = jsonlib.loads(response.content or b"null")
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("code")) and body.get("code") != "internal_error"
