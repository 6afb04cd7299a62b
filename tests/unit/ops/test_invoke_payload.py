"""The local gateway's invoke payload limit and the events it builds (issue 15)."""

from __future__ import annotations

import json

from tracking_ops.local import gateway, proxy

MB = 1024 * 1024


def event(body: bytes) -> dict:
    return proxy.proxy_event(
        "POST", "/track", headers={"Content-Type": "application/json"}, body=body
    )


def test_a_body_under_the_invoke_limit_passes():
    assert gateway.check_invoke_payload(event(b"x" * (5 * MB))) is None


def test_a_body_over_the_invoke_limit_is_413_payload_too_large():
    rejection = gateway.check_invoke_payload(event(b"x" * (7 * MB)))
    assert (rejection.status, rejection.code) == (413, "payload_too_large")
    assert str(gateway.LAMBDA_INVOKE_MAX_PAYLOAD) in rejection.message


def test_the_limit_counts_the_body_after_json_escaping():
    body = b'"' * (4 * MB)  # 4 MB raw, 8 MB once escaped into the event
    assert len(body) < gateway.LAMBDA_INVOKE_MAX_PAYLOAD
    assert gateway.check_invoke_payload(event(body)).status == 413


def test_a_body_that_is_not_utf8_is_text_never_base64():
    """API Gateway without binary media types never sets isBase64Encoded."""
    built = event(b'{"tracking_id": "\xff"}')
    assert built["isBase64Encoded"] is False
    assert json.loads(built["body"]) == {"tracking_id": "\ufffd"}
