"""Issue 22 item 11, the wire side of `invoke local`: every request gets an answer
(a 20,000-level JSON body, a chunked body) and the connection stays usable after it;
a header given twice reads the same in the gateway and the function (the last value,
as in API Gateway's REST proxy event)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e


def read_reply(conn: socket.socket, pending: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response (Content-Length framed) off a kept-alive connection."""
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(65536)
        assert chunk, "connection closed without an answer"
        pending += chunk
    head, _, rest = bytes(pending).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, "connection closed mid-answer"
        body += chunk
    pending[:] = body[length:]
    return status, headers, bytes(body[:length])


def connect(local_api) -> socket.socket:
    url = urlsplit(local_api.url)
    return socket.create_connection((url.hostname, url.port), timeout=60)


HEALTH = b"GET /health HTTP/1.1\r\nHost: local\r\n\r\n"


def post(path: str, body: bytes, extra: str = "Content-Type: application/json\r\n") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: local\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_a_deeply_nested_body_is_answered_and_the_connection_stays_usable(local_api):
    nested = b"[" * 20_000 + b"]" * 20_000
    with connect(local_api) as conn:
        pending = bytearray()
        conn.sendall(post("/track", nested))
        status, _, body = read_reply(conn, pending)
        assert status in (400, 413)
        assert json.loads(body)["error"]["code"] in (
            "invalid_json",
            "validation_error",
            "payload_too_large",
        )
        conn.sendall(HEALTH)
        assert read_reply(conn, pending)[0] == 200


def test_a_chunked_body_is_read_and_keep_alive_works_after(local_api):
    payload = json.dumps({"unknown_field_only": 1}).encode()
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:5], payload[5:]))
        + b"0\r\n\r\n"
    )
    request = (
        b"POST /track HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunked
    )
    with connect(local_api) as conn:
        pending = bytearray()
        conn.sendall(request)
        status, _, body = read_reply(conn, pending)
        # The same body sent with Content-Length gets the same answer.
        conn.sendall(post("/track", payload))
        assert (status, body) == read_reply(conn, pending)[::2]
        assert json.loads(body)["error"]["code"] != "invalid_json"
        conn.sendall(HEALTH)
        assert read_reply(conn, pending)[0] == 200


def test_a_repeated_header_reads_its_last_value_in_gateway_and_function(local_api):
    # API Gateway's event has headers[name] = the last value: text/plain here, so no
    # model validation runs and the function refuses the media type (415).
    extra = "Content-Type: application/json\r\nContent-Type: text/plain\r\n"
    with connect(local_api) as conn:
        pending = bytearray()
        conn.sendall(post("/track", b"{}", extra))
        status, _, body = read_reply(conn, pending)
        assert status == 415, body
        conn.sendall(HEALTH)
        assert read_reply(conn, pending)[0] == 200


NOT_UTF8_BODIES = [
    b'{"tracking_id": "\xff\xfe", "status": "pending", "location": {"lat": 1, "lng": 2}}',
    '{"tracking_id": "PKG-1"}'.encode("utf-16"),  # json.loads(bytes) would take it
    b'{"tracking_id": "PKG-1", "status": "pending", "location": {"lat": 1, "lng": 2},'
    b' "metadata": {"note": "\xed\xb3\xbf"}}',  # an encoded surrogate: not UTF-8
]


@pytest.mark.parametrize("body", NOT_UTF8_BODIES, ids=["ff-fe", "utf-16", "surrogate"])
def test_a_body_that_is_not_utf8_is_invalid_json_at_the_local_gateway(local_api, body):
    from tracking_api.messages import NOT_UTF8

    with connect(local_api) as conn:
        pending = bytearray()
        conn.sendall(post("/track", body))
        status, _, answer = read_reply(conn, pending)
        assert (status, json.loads(answer)["error"]) == (
            400,
            {"code": "invalid_json", "message": NOT_UTF8},
        )
        conn.sendall(HEALTH)  # the connection is still usable
        assert read_reply(conn, pending)[0] == 200
