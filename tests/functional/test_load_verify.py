"""invoke load's consistency check reads like a client should: a 503 is read again after
the response's Retry-After (else a doubling back-off), a bounded number of times,
counted in the figures; any other status is a problem at once. Against a small fake
of GET /status on 127.0.0.1; the waits are recorded, not slept."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from tests.helpers import serve_on_loopback
from tracking_ops.measure import load

PARCEL = "P-1"
PAGE = {
    "tracking_id": PARCEL,
    "status": "pending",
    "timestamp": 1,
    "updates": [{"event_id": "E1", "status": "pending", "timestamp": 1}],
    "next_cursor": None,
}
UNAVAILABLE_BODY = {"error": {"code": "storage_unavailable", "message": "retry"}}


class FakeStatus:
    """Answers its first ``failures`` GETs with ``status`` (and ``retry_after`` as
    Retry-After, unless None), then the page."""

    def __init__(self, failures: int, status: int = 503, retry_after: str | None = "2"):
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server's name
                fake.paths.append(self.path)
                failing = len(fake.paths) <= failures
                body = json.dumps(UNAVAILABLE_BODY if failing else PAGE).encode()
                self.send_response(status if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if failing and retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.serving = serve_on_loopback(Handler)

    def __enter__(self) -> str:
        return self.serving.__enter__()

    def __exit__(self, *exc):
        return self.serving.__exit__(*exc)


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(load, "sleep", slept.append)
    return slept


def accepted_result() -> load.LoadResult:
    result = load.LoadResult(clients=1, per_client=1)
    result.accepted["k"] = {"tracking_id": PARCEL, "event_id": "E1"}
    return result


def test_503_twice_then_200_verifies_after_the_retry_after_and_counts_two(waits):
    result = accepted_result()
    fake = FakeStatus(failures=2, retry_after="2")
    with fake as url:
        problems = load.verify(url, [PARCEL], result)

    assert problems == []
    assert waits == [2.0, 2.0]  # the API's Retry-After, honoured
    assert len(fake.paths) == 3 and len(set(fake.paths)) == 1  # the same page again
    assert result.verify_retries == 2
    assert result.summary()["verify_retries_after_503"] == 2


def test_without_retry_after_the_waits_double_and_are_capped(waits):
    result = accepted_result()
    with FakeStatus(failures=load.VERIFY_RETRIES, retry_after=None) as url:
        assert load.verify(url, [PARCEL], result) == []

    expected = [
        min(load.FIRST_BACKOFF_SECONDS * 2**n, load.MAX_RETRY_WAIT_SECONDS)
        for n in range(load.VERIFY_RETRIES)
    ]
    assert waits == expected
    assert waits[-1] == load.MAX_RETRY_WAIT_SECONDS  # the cap is reached within the bound


def test_a_long_retry_after_is_capped(waits):
    with FakeStatus(failures=1, retry_after="3600") as url:
        assert load.verify(url, [PARCEL], accepted_result()) == []
    assert waits == [load.MAX_RETRY_WAIT_SECONDS]


def test_a_read_still_503_after_the_retries_is_a_problem(waits):
    result = accepted_result()
    fake = FakeStatus(failures=load.VERIFY_RETRIES + 1)
    with fake as url:
        problems = load.verify(url, [PARCEL], result)

    assert any("answered 503" in problem for problem in problems), problems
    assert result.verify_retries == load.VERIFY_RETRIES
    assert len(fake.paths) == load.VERIFY_RETRIES + 1  # bounded


@pytest.mark.parametrize("status", [500, 502, 404])
def test_another_error_is_a_problem_without_a_retry(waits, status):
    result = accepted_result()
    fake = FakeStatus(failures=1, status=status)
    with fake as url:
        problems = load.verify(url, [PARCEL], result)

    assert any(f"answered {status}" in problem for problem in problems), problems
    assert (result.verify_retries, len(fake.paths), waits) == (0, 1, [])
