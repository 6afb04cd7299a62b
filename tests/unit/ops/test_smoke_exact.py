"""`invoke smoke`'s parts with exact values (issue 28): its defaults and base URL, the
method and headers of what it sends and gets (a recording server on 127.0.0.1), the
list's bound, and what the SigV4 signer signs."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from botocore.auth import SigV4Auth

from tests.helpers import serve_on_loopback
from tracking_ops.operate import smoke
from tracking_ops.operate.smoke import Reply, Smoke

pytestmark = pytest.mark.unit


def test_the_defaults_and_a_base_url_without_its_trailing_slashes():
    checks = Smoke("/srvX//", None)
    assert (checks.timeout, checks.list_wait, checks.poll) == (15.0, 30.0, 0.5)
    assert checks.base_url == "/srvX"
    assert Smoke("http://h/dev/", None).base_url == "http://h/dev"
    assert len(checks.run_id) == 12


class Recording(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        Recording.seen.append((self.command, self.path, self.rfile.read(length)))
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("X-Answer", self.command)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _serve  # noqa: N815

    def log_message(self, *args) -> None:
        pass


def test_each_request_goes_with_its_own_method_and_a_refusal_keeps_its_headers():
    Recording.seen = []
    with serve_on_loopback(Recording, poll_seconds=0.05) as url:
        checks = Smoke(url, None)
        posted = checks.request("POST", "/empty")
        got = checks.request("GET", "/with-body", {"a": 1})
        missing = checks.request("GET", "/missing")
    assert Recording.seen == [
        ("POST", "/empty", b""),
        ("GET", "/with-body", b'{"a": 1}'),
        ("GET", "/missing", b""),
    ]
    assert (posted.status, posted.headers["X-Answer"], posted.raw) == (200, "POST", b"{}")
    assert got.headers["X-Answer"] == "GET"
    assert (missing.status, missing.headers["X-Answer"], missing.raw) == (404, "GET", b"{}")


class Canned(Smoke):
    """The list check over canned replies, without HTTP."""

    def __init__(self, *replies: Reply, **options):
        super().__init__("http://api", None, **options)
        self.replies, self.paths = list(replies), []
        self.tracking_id, self.event_id = "smoke-x", "E1"

    def request(self, method, path, body=None, headers=None):
        self.paths.append((method, path))
        return self.replies.pop(0)


def test_a_list_answer_that_is_not_an_object_lists_nothing(monkeypatch):
    monkeypatch.setattr(smoke.time, "sleep", lambda s: pytest.fail("no poll past the bound"))
    checks = Canned(Reply(200, {}, b"[1, 2]"), list_wait=0)
    assert checks.check_shipments() == (
        "smoke-x not listed under in_transit after 0s (the list may lag writes by seconds, "
        "not more)"
    )
    assert checks.paths == [("GET", "/shipments?status=in_transit&limit=100")]


def test_the_list_is_given_up_at_its_bound_exactly(monkeypatch):
    monkeypatch.setattr(smoke, "time", FrozenTime(100.0))
    checks = Canned(Reply(200, {}, b'{"items": []}'), list_wait=0)
    assert checks.check_shipments().startswith("smoke-x not listed under in_transit after 0s")


class FrozenTime:
    def __init__(self, now: float):
        self.now = now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        raise AssertionError("polled again at the bound")


def test_the_signer_signs_the_body_in_the_region_of_the_urls_host(no_aws_credentials, monkeypatch):
    no_aws_credentials.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    no_aws_credentials.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    no_aws_credentials.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    signed = []
    original = SigV4Auth.add_auth

    def add_auth(self, request):
        signed.append((self._region_name, self._service_name, request.body, request.method))
        return original(self, request)

    monkeypatch.setattr(SigV4Auth, "add_auth", add_auth)
    url = "https://abc.execute-api.ap-south-2.amazonaws.com/dev"
    sign = smoke.sigv4_signer(url, required=True)
    headers = sign("POST", url + "/track", b'{"a": 1}', {"Content-Type": "application/json"})
    assert signed == [("ap-south-2", smoke.SERVICE, b'{"a": 1}', "POST")]
    assert "/ap-south-2/execute-api/aws4_request" in headers["Authorization"]
