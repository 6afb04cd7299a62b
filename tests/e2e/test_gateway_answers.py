"""What the deployed gateway answers itself, answered the same by `invoke local`:
a method or path the API lacks (any HTTP method) gets MISSING_AUTHENTICATION_TOKEN
in the contract's JSON shape, never http.server's HTML."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tracking_ops.local.gateway import unknown_route
from tracking_stacks.definitions import GATEWAY_RESPONSES, UNKNOWN_ROUTE_RESPONSE

pytestmark = pytest.mark.e2e


def deployed_body(response_type: str) -> dict:
    """The api stack's gateway response template, as API Gateway renders it."""
    spec = next(r for r in GATEWAY_RESPONSES if r.response_type == response_type)
    return {"error": {"code": spec.code, "message": spec.message or "API Gateway's message"}}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no-such-path"),
        ("DELETE", "/track"),
        ("PUT", "/track"),
        ("PATCH", "/status"),
        ("POST", "/status"),
        ("OPTIONS", "/track"),
        ("TRACE", "/health"),
        ("PROPFIND", "/track"),
    ],
)
def test_a_method_or_path_the_api_lacks_answers_as_the_deployed_gateway(local_api, method, path):
    reply = local_api.request(method, path)
    assert reply.status == int(UNKNOWN_ROUTE_RESPONSE.status)
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body == deployed_body("MISSING_AUTHENTICATION_TOKEN")


def test_head_gets_the_same_status_and_headers_without_a_body(local_api):
    reply = local_api.request("HEAD", "/health")
    assert reply.status == 403
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) == len(unknown_route().body())
    assert reply.raw == b""


def test_a_malformed_request_is_answered_in_json_not_html(local_api):
    url = urlsplit(local_api.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        conn.sendall(b"GET /health HTTP/1.1 extra\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"Content-Type: application/json" in head
    assert set(json.loads(body)["error"]) == {"code", "message"}
