"""Routing of API Gateway REST proxy (v1) events to the route functions.

What the API used from Powertools' ``APIGatewayRestResolver``, and nothing more:
routes by method and path (trailing slashes ignored, as the resolver's
``^<path>/*$`` does), handlers chosen by the exception's class hierarchy, a
not-found handler, and the proxy response with ``multiValueHeaders``.

Why not the resolver itself (issue 10, measured with ``python -X importtime`` and
``invoke bench``): importing ``aws_lambda_powertools.event_handler`` runs its
package ``__init__``, which imports every resolver Powertools has (AppSync pulls
in ``asyncio``, the REST resolver every event data class): 85-90 ms of a cold
start whose whole import budget is ~200 ms, and ~0.1 ms of each warm request. Its
other features (OpenAPI generation, validation, CORS, middlewares) are unused
here: the OpenAPI document comes from ``schema_export`` and validation from the
draft-4 model. Logging (with the request id as correlation id) and EMF metrics
stay Powertools'.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"
ANONYMOUS = "anonymous"
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]{16,128})/")


def caller_principal(event: Mapping[str, Any]) -> str:
    """Who is calling: the IAM principal API Gateway puts in the request context
    (``userArn``, set by IAM authorization); without it (the local runtime, which
    verifies no signature) the access key id of the SigV4 Authorization header."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    for name in ("userArn", "caller", "accessKey"):
        if identity.get(name):
            return f"{name}:{identity[name]}"
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    match = _CREDENTIAL.search(str(headers.get("authorization") or ""))
    return f"accessKey:{match.group(1)}" if match else ANONYMOUS


def headers_from_pairs(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The one reading of repeated headers, for the local gateway and the function:
    as API Gateway's REST proxy event has them, ``headers`` keeps the LAST value of a
    name given twice and ``multiValueHeaders`` all of them, in order. Names compare
    case-insensitively; the first spelling seen is kept."""
    spelling: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        key = spelling.setdefault(name.lower(), name)
        multi.setdefault(key, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


@dataclass(frozen=True)
class Request:
    """The parts of a proxy event the routes read. Header names are lower-cased
    (HTTP header names are case-insensitive); query values are the last given."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: str | None
    is_base64_encoded: bool
    principal: str = ANONYMOUS

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        return cls(
            method=str(event.get("httpMethod") or "").upper(),
            path=str(event.get("path") or "/"),
            headers={
                k.lower(): v
                for k, v in headers_from_pairs((event.get("headers") or {}).items())[0].items()
            },
            query=event.get("queryStringParameters") or {},
            body=event.get("body"),
            is_base64_encoded=bool(event.get("isBase64Encoded")),
            principal=caller_principal(event),
        )

    def body_bytes(self) -> bytes:
        raw = self.body or ""
        # surrogatepass: an event's JSON can carry a lone surrogate ("\udcff"); its
        # bytes are then not UTF-8, which the strict decode of the body reports (400).
        return (
            base64.b64decode(raw)
            if self.is_base64_encoded
            else raw.encode("utf-8", "surrogatepass")
        )


@dataclass(frozen=True)
class Response:
    status_code: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE

    def as_proxy_result(self) -> dict[str, Any]:
        """The Lambda proxy integration's response, headers as REST APIs take them."""
        headers = {"Content-Type": self.content_type, **self.headers}
        return {
            "statusCode": self.status_code,
            "body": self.body,
            "isBase64Encoded": False,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
        }


Route = Callable[[Request], Response]
ErrorHandler = Callable[[Exception, Request], Response]


def route_path(path: str) -> str:
    """The path a route is matched on: without trailing slashes (``/`` stays)."""
    return path.rstrip("/") or "/"


class Router:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Route] = {}
        self._error_handlers: dict[type[Exception], ErrorHandler] = {}
        self._not_found: Route | None = None

    def route(self, method: str, path: str) -> Callable[[Route], Route]:
        key = (method.upper(), route_path(path))
        if key in self._routes:
            raise ValueError(f"route {method} {path} is defined twice")

        def register(function: Route) -> Route:
            self._routes[key] = function
            return function

        return register

    def get(self, path: str) -> Callable[[Route], Route]:
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[Route], Route]:
        return self.route("POST", path)

    def exception_handler(self, kind: type[Exception]) -> Callable[[ErrorHandler], ErrorHandler]:
        def register(function: ErrorHandler) -> ErrorHandler:
            self._error_handlers[kind] = function
            return function

        return register

    def not_found(self, function: Route) -> Route:
        self._not_found = function
        return function

    def routes(self) -> list[tuple[str, str]]:
        """(method, path) of every route, in the order they were defined."""
        return list(self._routes)

    def _error_handler(self, exc: Exception) -> ErrorHandler | None:
        """The handler of the nearest class in the exception's hierarchy."""
        for kind in type(exc).__mro__:
            handler = self._error_handlers.get(kind)
            if handler is not None:
                return handler
        return None

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        request = Request.from_event(event)
        function = self._routes.get((request.method, route_path(request.path)), self._not_found)
        if function is None:
            raise LookupError(f"no route for {request.method} {request.path} and no not-found")
        try:
            response = function(request)
        except Exception as exc:
            handler = self._error_handler(exc)
            if handler is None:
                raise
            response = handler(exc, request)
        return response.as_proxy_result()
