"""`invoke smoke` against `invoke local` (passes), and against an API that breaks
the contract (fails with one clear line per failed check)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.helpers import serve_on_loopback
from tracking_ops.operate.smoke import Smoke, SmokeError, sigv4_signer
from tracking_stacks.definitions import REPO_ROOT

CHECKS = ["health", "write", "read-your-write", "shipments list", "bad input", "idempotent replay"]


def smoke(url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "smoke", "--url", url, *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_smoke_passes_against_the_local_runtime(local_api):
    result = smoke(local_api.url)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(None, 1)[1] for line in lines if line.startswith("ok ")] == CHECKS
    assert lines[-1] == f"smoke: all 6 checks passed against {local_api.url}"


def test_smoke_writes_are_visible_in_the_api(local_api):
    checks = Smoke(local_api.url, signer=None)
    assert all(check.ok for check in checks.run())
    reply = local_api.request("GET", f"/status?tracking_id={checks.tracking_id}")
    assert reply.status == 200 and reply.body["updates"][0]["event_id"] == checks.event_id


class BrokenApi(BaseHTTPRequestHandler):
    """Healthy, but answers a write with 200 and no event id, and bad input with 500."""

    def _send(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": {"code": "not_found", "message": "no"}})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("status") not in ("pending", "in_transit", "delivered", "failed"):
            self._send(500, {"message": "Internal server error"})
        else:
            self._send(200, {"tracking_id": body["tracking_id"]})

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_api() -> Iterator[str]:
    with serve_on_loopback(BrokenApi) as url:
        yield url


def test_smoke_fails_with_one_line_per_failed_check_and_exit_1(broken_api):
    result = smoke(broken_api, "--list-wait", "1")

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "ok    health" in lines
    failed = [line for line in lines if line.startswith("FAIL")]
    assert [line.split(":")[0] for line in failed] == [
        "FAIL  write",
        "FAIL  read-your-write",
        "FAIL  shipments list",
        "FAIL  bad input",
        "FAIL  idempotent replay",
    ]
    assert "expected 201 with the update, got 200" in failed[0]
    assert failed[1].endswith("not run: the write failed")
    assert "expected 400 validation_error, got 500" in failed[3]
    assert result.stderr.strip() == f"smoke: 5 of 6 checks failed against {broken_api}"


def test_an_unreachable_api_fails_each_check_clearly():
    result = smoke("http://127.0.0.1:9", "--list-wait", "1")  # port 9: nothing listens
    assert result.returncode == 1
    assert "FAIL  health: URLError" in result.stdout


# --- signing (no request leaves the machine) ---


def test_requests_are_sigv4_signed_for_execute_api_in_the_urls_region(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/dev"
    sign = sigv4_signer(url, required=True)
    headers = sign("POST", url + "/track", b"{}", {"Content-Type": "application/json"})
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers


def test_a_deployed_api_needs_credentials_the_local_one_does_not(no_aws_credentials):
    with pytest.raises(SmokeError, match="no AWS credentials to sign requests with"):
        sigv4_signer("https://x.execute-api.us-east-1.amazonaws.com/dev", required=True)
    assert sigv4_signer("http://127.0.0.1:8787", required=False) is None


class Canned(Smoke):
    """Smoke with answers given by a function instead of HTTP."""

    def __init__(self, answer):
        super().__init__("http://127.0.0.1:1", signer=None, list_wait=0, poll=0)
        self.answer = answer
        self.sent = []

    def request(self, method, path, body=None, headers=None):
        self.sent.append((method, path, headers))
        return self.answer(method, path, body, headers or {})


def reply(status, body, headers=None):
    from tracking_ops.operate.smoke import Reply

    return Reply(status, headers or {}, json.dumps(body).encode())


def test_a_retry_that_is_stored_again_instead_of_replayed_fails_the_replay_check():
    counter = iter(range(100))
    fresh = Canned(lambda *a: reply(201, {"tracking_id": "x", "event_id": f"e{next(counter)}"}))
    assert "the retry was not a replay" in fresh.check_idempotent_replay()
    assert fresh.sent[0][2] == fresh.sent[1][2] and "Idempotency-Key" in fresh.sent[0][2]

    no_header = Canned(lambda *a: reply(201, {"event_id": "e1"}))
    assert "Idempotent-Replayed: None" in no_header.check_idempotent_replay()

    replayed = Canned(lambda *a: reply(201, {"event_id": "e1"}, {"Idempotent-Replayed": "true"}))
    assert replayed.check_idempotent_replay() == ""


def test_the_shipments_check_polls_within_its_bound_then_fails():
    never = Canned(lambda *a: reply(200, {"items": [], "next_cursor": None}))
    never.tracking_id, never.event_id = "smoke-1", "e1"
    assert never.check_shipments() == (
        "smoke-1 not listed under in_transit after 0s (the list may lag writes by seconds, not more)"
    )
    later = iter([[], [], [{"tracking_id": "smoke-1"}]])
    eventually = Canned(lambda *a: reply(200, {"items": next(later)}))
    eventually.tracking_id, eventually.event_id, eventually.list_wait = "smoke-1", "e1", 60
    assert eventually.check_shipments() == "" and len(eventually.sent) == 3
