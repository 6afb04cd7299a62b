"""Lambda's synchronous invoke payload limit, as `invoke local` applies it (issue 15)."""

from __future__ import annotations

import pytest

from tracking_ops.local import gateway

MB = 1024 * 1024


@pytest.mark.parametrize(
    "body",
    [b"x" * (7 * MB), b'"' * (4 * MB)],  # over 6 MB raw; under it raw but not once escaped
    ids=["7MB", "4MB-escaped-to-8MB"],
)
def test_a_body_over_the_invoke_limit_is_413_before_the_function(local_api, body):
    reply = local_api.request("POST", "/track", raw=body, timeout=60)

    assert (reply.status, reply.error_code) == (413, "payload_too_large")
    # The gateway's answer, naming Lambda's documented limit (6 MB, 6291456 bytes):
    # such a request never reaches the function (whose own limit is 64 KiB).
    assert "6291456" in reply.body["error"]["message"]
    assert gateway.LAMBDA_INVOKE_MAX_PAYLOAD == 6291456
    assert local_api.request("GET", "/health").status == 200
