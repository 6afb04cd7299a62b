"""API Gateway REST proxy events and replies, as API Gateway builds them; the Lambda
context lives in tracking_ops/lambda_context.py (re-exported here for the callers of both)."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from tracking_api.routing import headers_from_pairs
from tracking_ops.lambda_context import LambdaContext

__all__ = ["LambdaContext", "decode_response", "proxy_event"]


def proxy_event(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    body: bytes | str | None = None,
    stage: str = "local",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy integration event for one HTTP request; headers
    as (name, value) pairs keep a repeated name's values (routing.headers_from_pairs)."""
    pairs_in = headers.items() if isinstance(headers, Mapping) else (headers or ())
    headers, multi_headers = headers_from_pairs(pairs_in)
    pairs = parse_qsl(query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in pairs:
        multi_query.setdefault(key, []).append(value)
    if isinstance(body, str):
        body = body.encode()
    # Without binary media types (this API has none) API Gateway passes every body
    # as text, never isBase64Encoded; bytes that are not UTF-8 arrive replaced.
    text_body = None if body is None else body.decode("utf-8", errors="replace")
    request_id = str(uuid.uuid4())
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            "accountId": "local",
            "apiId": "local",
            "domainName": "localhost",
        },
        "body": text_body,
        "isBase64Encoded": False,
    }


def decode_response(response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body bytes of a proxy integration response."""
    headers = dict(response.get("headers") or {})
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key] = ", ".join(values)
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    return int(response["statusCode"]), headers, data
