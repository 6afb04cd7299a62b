"""Issue 22, item 6: a body that is not UTF-8 is refused, never stored with U+FFFD
replacements, and metadata's 8 KiB is the byte length of its compact UTF-8 JSON.

The encoding case goes the way ``invoke local`` takes a request (http_front): the
local gateway's check on the bytes, then the proxy event (whose text body, like API
Gateway's, carries replacements for bytes that are not UTF-8), then the function."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Reply
from tests.helpers import update
from tracking_api.contract import MAX_METADATA_BYTES
from tracking_ops.local import gateway, proxy

JSON_HEADERS = {"Content-Type": "application/json"}


def through_local_gateway(api, path: str, body: bytes) -> Reply:
    """One request as the local runtime serves it: refused by the gateway's check, or
    passed on to the function as an API Gateway proxy event."""
    rejection = gateway.check_request("POST", path, {}, JSON_HEADERS["Content-Type"], body)
    if rejection:
        return Reply(rejection.status, {}, rejection.body())
    event = proxy.proxy_event("POST", path, headers=JSON_HEADERS, body=body)
    return Reply(*proxy.decode_response(api.handler(event, proxy.LambdaContext())))


NOT_UTF8_IN_A_STRING = [
    # Latin-1 "café" in metadata, a stray continuation byte, a truncated sequence.
    ("metadata", b'"metadata": {"note": "caf\xe9"}'),
    ("continuation", b'"metadata": {"note": "a\x80b"}'),
    ("truncated", b'"metadata": {"note": "\xe2\x82"}'),
]


@pytest.mark.parametrize(
    "member",
    [member for _, member in NOT_UTF8_IN_A_STRING],
    ids=[c for c, _ in NOT_UTF8_IN_A_STRING],
)
def test_invalid_utf8_inside_a_string_is_invalid_json_and_nothing_is_stored(api, member):
    body = (
        b'{"tracking_id": "ENC-1", "status": "pending", "location": {"lat": 1, "lng": 2}, '
        + member
        + b"}"
    )
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the case is what it says

    reply = through_local_gateway(api, "/track", body)

    assert reply.status == 400, reply.body
    assert (reply.status, reply.error_code) == (400, "invalid_json"), reply.body
    assert reply.body["error"]["message"] == "The request body is not UTF-8 encoded JSON."
    assert api.status("tracking_id=ENC-1").status == 404  # nothing stored


def test_a_batch_with_invalid_utf8_in_one_item_is_refused_whole(api):
    good = json.dumps(update(tracking_id="ENC-B0")).encode()
    bad = b'{"tracking_id": "ENC-B1", "status": "pending", "location": {"lat": 1, "lng": 2}, '
    bad += b'"metadata": {"note": "\xff"}}'
    reply = through_local_gateway(
        api, "/track/batch", b'{"updates": [' + good + b", " + bad + b"]}"
    )

    assert reply.status == 400, reply.body
    assert (reply.status, reply.error_code) == (400, "invalid_json"), reply.body
    for tracking_id in ("ENC-B0", "ENC-B1"):
        assert api.status(f"tracking_id={tracking_id}").status == 404


def compact_utf8_bytes(value) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def metadata_of(size: int) -> dict[str, str]:
    """Non-ASCII metadata (two-byte "ü", one "x" to reach an odd size) of ``size``
    bytes as compact UTF-8 JSON; as \\u escapes it is about three times as long."""
    room = size - compact_utf8_bytes({"n": ""})
    value = {"n": "ü" * (room // 2) + "x" * (room % 2)}
    assert compact_utf8_bytes(value) == size
    return value


def test_metadata_of_exactly_8_kib_of_utf8_is_stored(api):
    metadata = metadata_of(MAX_METADATA_BYTES)
    assert len(json.dumps(metadata)) > 2 * MAX_METADATA_BYTES  # what the escapes made of it

    reply = api.track(update(tracking_id="SIZE-1", metadata=metadata))

    assert reply.status == 201, reply.body
    stored = api.status("tracking_id=SIZE-1").body["updates"]
    assert [u["metadata"] for u in stored] == [metadata]


def test_metadata_one_byte_over_8_kib_of_utf8_is_refused_and_not_stored(api):
    reply = api.track(update(tracking_id="SIZE-2", metadata=metadata_of(MAX_METADATA_BYTES + 1)))

    assert (reply.status, reply.error_code) == (400, "validation_error"), reply.body
    assert [d["field"] for d in reply.body["error"]["details"]] == ["metadata"]
    assert api.status("tracking_id=SIZE-2").status == 404
