"""`invoke smoke`'s checks against a small fake API on 127.0.0.1 (a stdlib HTTP server
in a thread, started and stopped by each test): what each check sends, word for word,
and how each bad answer is reported; the task's lines and exit; the SigV4 signer."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from invoke import Context, Exit

from tests.helpers import serve_on_loopback
from tracking_ops.operate import smoke
from tracking_ops.operate.smoke import Check, Reply, Smoke, SmokeError
from tracking_ops.tasks import deploy as deploy_tasks

pytestmark = pytest.mark.unit

STATUSES = ("pending", "in_transit", "delivered", "failed")
UPDATE_KEYS = {"tracking_id", "status", "location", "metadata"}


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)


Answer = tuple[int, dict[str, str], bytes]


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


@dataclass
class FakeApi:
    """The contract's answers, in memory; ``override`` replaces one route's answer (by
    "METHOD /path", or "POST /track <tracking id suffix>") to break one check."""

    sent: list[Sent] = field(default_factory=list)
    events: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    override: dict[str, Callable[[Sent], Answer]] = field(default_factory=dict)
    lists_after: int = 0  # GET /shipments answers without the parcel this many times
    released: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def handle(self, request: Sent) -> Answer:
        self.sent.append(request)
        key = f"{request.method} {request.route}"
        if request.method == "POST" and isinstance(request.body, dict):
            suffix = str(request.body.get("tracking_id", "")).rpartition("-")[2]
            for name in (f"{key} {suffix}", key):
                if name in self.override:
                    return self.override[name](request)
        elif key in self.override:
            return self.override[key](request)
        return getattr(self, "_" + request.method.lower())(request)

    def _get(self, request: Sent) -> Answer:
        if request.route == "/health":
            return answer(200, {"status": "ok"})
        if request.route == "/status":
            (tracking_id,) = request.query["tracking_id"]
            updates = self.events.get(tracking_id)
            if not updates:
                return answer(404, {"error": {"code": "not_found", "message": "no such parcel"}})
            return answer(200, {"tracking_id": tracking_id, "status": updates[-1]["status"],
                                "updates": updates})  # fmt: skip
        if request.route == "/shipments":
            (status,) = request.query["status"]
            self.lists_after -= 1
            items = [] if self.lists_after >= 0 else [
                {"tracking_id": t} for t, u in self.events.items() if u[-1]["status"] == status
            ]  # fmt: skip
            return answer(200, {"items": items, "next_cursor": None})
        return answer(404, {"error": {"code": "not_found", "message": "no route"}})

    def _post(self, request: Sent) -> Answer:
        body = request.body
        if body.get("status") not in STATUSES:
            return answer(400, {"error": {"code": "validation_error", "message": "status"}})
        key = request.headers.get("Idempotency-Key")
        if key in self.replies:
            return answer(201, self.replies[key], {"Idempotent-Replayed": "true"})
        event = {"event_id": f"E{len(self.sent):04d}", "status": body["status"]}
        self.events.setdefault(body["tracking_id"], []).append(event)
        reply = {"tracking_id": body["tracking_id"], **event}
        if key:
            self.replies[key] = reply
        return answer(201, reply)


def handler_for(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Sent(self.command, self.path, dict(self.headers.items()),
                           json.loads(raw) if raw else None)  # fmt: skip
            status, headers, data = api.handle(request)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    # A test may hold a handler, or its client give up on one (a timeout).
    with serve_on_loopback(handler_for(fake), poll_seconds=0.05, handlers_may_hang=True) as url:
        fake.url = url
        yield fake
        fake.released.set()  # a handler held by a test lets go


def run_smoke(api: FakeApi, **options: Any) -> tuple[Smoke, dict[str, str]]:
    checks = Smoke(api.url + "/", None, **{"list_wait": 5, "poll": 0.01, **options})
    return checks, {check.name: check.detail for check in checks.run()}


def detail_of(api: FakeApi, name: str, **options: Any) -> str:
    return run_smoke(api, **options)[1][name]


# ---- what the checks send -----------------------------------------------------------


def test_against_an_api_keeping_the_contract_every_check_passes_in_order(api):
    reported: list[Check] = []
    checks = Smoke(api.url, None, list_wait=5, poll=0.01)

    results = checks.run(reported.append)

    assert reported == results
    assert [check.line() for check in results] == [
        "ok    health",
        "ok    write",
        "ok    read-your-write",
        "ok    shipments list",
        "ok    bad input",
        "ok    idempotent replay",
    ]


def test_each_check_sends_exactly_its_request(api):
    checks, details = run_smoke(api)
    run = checks.run_id
    assert len(run) == 12 and set(details.values()) == {""}

    assert [(s.method, s.path) for s in api.sent] == [
        ("GET", "/health"),
        ("POST", "/track"),
        ("GET", f"/status?tracking_id=smoke-{run}"),
        ("GET", "/shipments?status=in_transit&limit=100"),
        ("POST", "/track"),
        ("POST", "/track"),
        ("POST", "/track"),
    ]
    update = {
        "status": "in_transit",
        "location": {"lat": 52.52, "lng": 13.405},
        "metadata": {"source": "invoke smoke"},
    }
    posts = [s for s in api.sent if s.method == "POST"]
    assert [p.body for p in posts] == [
        {"tracking_id": f"smoke-{run}", **update},
        {"tracking_id": f"smoke-{run}-bad", **update, "status": "teleported"},
        {"tracking_id": f"smoke-{run}-idem", **update},
        {"tracking_id": f"smoke-{run}-idem", **update},
    ]
    for post in posts:
        assert post.headers["Content-Type"] == "application/json"
    assert [p.headers.get("Idempotency-Key") for p in posts] == [
        None,
        None,
        f"smoke-{run}",
        f"smoke-{run}",
    ]
    gets = [s for s in api.sent if s.method == "GET"]
    assert all("Content-Type" not in g.headers and g.body is None for g in gets)
    # What the write stored is what the read and the list were asked about
    assert checks.tracking_id == f"smoke-{run}" and checks.event_id == "E0002"


def test_the_signer_signs_each_request_with_its_method_url_and_body(api):
    calls: list[tuple[str, str, bytes | None, dict[str, str]]] = []

    def signer(method: str, url: str, body: bytes | None, headers: dict[str, str]):
        calls.append((method, url, body, dict(headers)))
        return {**headers, "Authorization": f"signed {method} {len(calls)}"}

    results = Smoke(api.url, signer, list_wait=5, poll=0.01).run()

    assert all(check.ok for check in results)
    assert [s.headers["Authorization"] for s in api.sent] == [
        f"signed {s.method} {n}" for n, s in enumerate(api.sent, 1)
    ]
    assert [(m, u) for m, u, _, _ in calls] == [(s.method, api.url + s.path) for s in api.sent]
    method, _, body, headers = calls[1]
    assert json.loads(body) == api.sent[1].body
    assert headers == {"Content-Type": "application/json"}
    assert calls[0][2] is None and calls[0][3] == {}
    assert calls[-1][3] == {
        "Content-Type": "application/json",
        "Idempotency-Key": api.sent[-1].headers["Idempotency-Key"],
    }


# ---- how each bad answer is reported -------------------------------------------------


def always(status: int, body: Any, headers: dict[str, str] | None = None):
    return lambda request: answer(status, body, headers)


def raw(status: int, data: bytes) -> Callable[[Sent], Answer]:
    return lambda request: (status, {"Content-Type": "text/plain"}, data)


@pytest.mark.parametrize(
    ("route", "reply", "expected"),
    [
        ("GET /health", raw(503, b"Service\nUnavailable\n"),
         'expected 200 {"status": "ok"}, got 503 Service Unavailable'),
        ("GET /health", always(200, {"status": "degraded"}),
         'expected 200 {"status": "ok"}, got 200 {"status": "degraded"}'),
        ("GET /health", always(204, {"status": "ok"}),
         'expected 200 {"status": "ok"}, got 204 '),
    ],
)  # fmt: skip
def test_an_unhealthy_answer_fails_the_health_check_with_what_came(api, route, reply, expected):
    api.override[route] = reply
    assert detail_of(api, "health") == expected


def test_a_long_answer_is_cut_to_160_characters_on_one_line(api):
    api.override["GET /health"] = raw(500, b"x" * 100 + b"\n" + b"y" * 200)
    assert detail_of(api, "health") == (
        'expected 200 {"status": "ok"}, got 500 ' + "x" * 100 + " " + "y" * 59
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (always(200, {"tracking_id": "T"}),
         'POST /track: expected 201 with the update, got 200 {"tracking_id": "T"}'),
        (always(201, {"tracking_id": "someone-else", "event_id": "E1"}),
         "POST /track: expected 201 with the update, got 201 "
         '{"tracking_id": "someone-else", "event_id": "E1"}'),
        (raw(201, b"created"), "POST /track: expected 201 with the update, got 201 created"),
        (always(201, ["a list"]), 'POST /track: expected 201 with the update, got 201 ["a list"]'),
    ],
)  # fmt: skip
def test_a_write_not_answered_with_the_update_fails_and_skips_the_reads(api, reply, expected):
    api.override["POST /track"] = reply
    details = run_smoke(api)[1]
    assert details["write"] == expected
    assert details["read-your-write"] == details["shipments list"] == "not run: the write failed"
    assert not any(s.route in ("/status", "/shipments") for s in api.sent)


def test_a_write_answered_without_an_event_id_says_so(api):
    api.override["POST /track"] = lambda request: answer(
        201, {"tracking_id": request.body["tracking_id"], "event_id": ""}
    )
    details = run_smoke(api)[1]
    assert details["write"] == "POST /track: 201 without an event_id"
    assert details["read-your-write"] == "not run: the write failed"


def test_a_read_that_does_not_find_the_write_fails(api):
    api.override["GET /status"] = always(404, {"error": {"code": "not_found"}})
    assert detail_of(api, "read-your-write") == (
        'GET /status right after the write: expected 200, got 404 {"error": {"code": "not_found"}}'
    )


WRITTEN = object()  # the updates the fake stored for the parcel


@pytest.mark.parametrize(
    "body",
    [
        {"status": "delivered", "updates": WRITTEN},  # the update, under another status
        {"status": "in_transit", "updates": [{"event_id": "E9999"}]},  # another event
        {"status": "in_transit", "updates": None},
        {"status": "in_transit"},
    ],
)
def test_a_read_without_the_update_just_written_fails(api, body):
    def status(request: Sent) -> Answer:
        written = api.events[request.query["tracking_id"][0]]
        return answer(200, {k: written if v is WRITTEN else v for k, v in body.items()})

    api.override["GET /status"] = status
    checks, details = run_smoke(api)
    assert details["read-your-write"].startswith(
        "GET /status does not show the update just written (200 {"
    )
    assert details["read-your-write"].endswith("})")


def test_a_read_answer_that_is_not_json_fails(api):
    api.override["GET /status"] = raw(200, b"<html>")
    assert detail_of(api, "read-your-write") == (
        "GET /status does not show the update just written (200 <html>)"
    )


def test_the_list_is_polled_until_the_write_shows(api):
    api.lists_after = 3
    checks, details = run_smoke(api, list_wait=30, poll=0.001)
    assert details["shipments list"] == ""
    assert [s.route for s in api.sent].count("/shipments") == 4


def test_a_list_that_never_shows_the_write_fails_after_its_bound(api):
    api.lists_after = 10**6
    checks, details = run_smoke(api, list_wait=0.2, poll=0.01)
    assert details["shipments list"] == (
        f"smoke-{checks.run_id} not listed under in_transit after 0s "
        "(the list may lag writes by seconds, not more)"
    )
    assert [s.route for s in api.sent].count("/shipments") >= 2  # polled, not asked once


def test_a_list_answer_lists_only_other_statuses_parcels(api):
    api.override["GET /shipments"] = lambda request: answer(
        200, {"items": [{"tracking_id": t} for t in api.events if t.endswith("-x")] or None}
    )
    checks, details = run_smoke(api, list_wait=0, poll=0)
    assert details["shipments list"].startswith(f"smoke-{checks.run_id} not listed")


def test_a_failing_list_fails_at_once(api):
    api.lists_after = 10**6
    api.override["GET /shipments"] = always(500, {"message": "Internal server error"})
    details = run_smoke(api, list_wait=30)[1]
    assert details["shipments list"] == (
        'GET /shipments: expected 200, got 500 {"message": "Internal server error"}'
    )
    assert [s.route for s in api.sent].count("/shipments") == 1


@pytest.mark.parametrize(
    ("reply", "got"),
    [
        (always(201, {"tracking_id": "x", "event_id": "E1"}),
         '201 {"tracking_id": "x", "event_id": "E1"}'),
        (always(400, {"error": {"code": "invalid_json"}}), '400 {"error": {"code": "invalid_json"}}'),
        (always(400, {"error": "validation_error"}), '400 {"error": "validation_error"}'),
        (always(400, {"code": "validation_error"}), '400 {"code": "validation_error"}'),
        (always(500, {"error": {"code": "validation_error"}}),
         '500 {"error": {"code": "validation_error"}}'),
        (raw(400, b"validation_error"), "400 validation_error"),
    ],
)  # fmt: skip
def test_bad_input_must_be_refused_as_a_validation_error(api, reply, got):
    api.override["POST /track bad"] = reply
    details = run_smoke(api)[1]
    assert details["bad input"] == (
        f"POST /track with an unknown status: expected 400 validation_error, got {got}"
    )
    assert details["write"] == ""  # only the bad input was answered wrongly


def test_an_idempotent_first_post_that_fails_is_named(api):
    api.override["POST /track idem"] = always(409, {"error": {"code": "conflict"}})
    assert detail_of(api, "idempotent replay") == (
        'first POST with an Idempotency-Key: expected 201, got 409 {"error": {"code": "conflict"}}'
    )


def replaying(headers: dict[str, str], same: bool = True, status: int = 201):
    """A POST /track ...-idem answer: the first 201, the retry as given."""
    answers: list[Answer] = []

    def reply(request: Sent) -> Answer:
        if not answers:
            answers.append(answer(201, {"event_id": "E1"}))
        else:
            answers.append(answer(status, {"event_id": "E1" if same else "E2"}, headers))
        return answers[-1]

    return reply


@pytest.mark.parametrize(
    ("reply", "got"),
    [
        (replaying({}), '201 {"event_id": "E1"} with Idempotent-Replayed: None'),
        (replaying({"Idempotent-Replayed": "false"}),
         '201 {"event_id": "E1"} with Idempotent-Replayed: false'),
        (replaying({"Idempotent-Replayed": "true"}, same=False),
         '201 {"event_id": "E2"} with Idempotent-Replayed: true'),
        (replaying({"Idempotent-Replayed": "true"}, status=200),
         '200 {"event_id": "E1"} with Idempotent-Replayed: true'),
    ],
)  # fmt: skip
def test_a_retry_that_is_not_a_replay_fails(api, reply, got):
    api.override["POST /track idem"] = reply
    assert detail_of(api, "idempotent replay") == (
        "the retry was not a replay (expected 201, Idempotent-Replayed: true and the same "
        f"event_id), got {got}"
    )


def test_the_replay_header_is_read_in_any_case(api):
    api.override["POST /track idem"] = replaying({"idempotent-replayed": "true"})
    assert detail_of(api, "idempotent replay") == ""


def test_a_replay_whose_body_is_not_json_is_not_the_same_event(api):
    sent: list[int] = []

    def reply(request: Sent) -> Answer:
        sent.append(1)
        if len(sent) == 1:
            return answer(201, {"event_id": "E1"})
        return 201, {"Idempotent-Replayed": "true"}, b"E1"

    api.override["POST /track idem"] = reply
    assert detail_of(api, "idempotent replay").endswith("got 201 E1 with Idempotent-Replayed: true")


# ---- what cannot be reached ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_api_nobody_serves_fails_every_check_with_the_error(api):
    url = f"http://127.0.0.1:{free_port()}"
    seen: list[str] = []
    results = Smoke(url, None, list_wait=0, poll=0).run(lambda check: seen.append(check.name))
    assert seen == [name for name, _ in Smoke.CHECKS]
    assert [c.ok for c in results] == [False] * 6
    assert results[0].line().startswith("FAIL  health: URLError: <urlopen error [Errno 111]")
    assert results[2].detail == "not run: the write failed"


def test_a_url_that_is_not_one_is_a_value_error_per_check():
    results = Smoke("nowhere", None, list_wait=0, poll=0).run()
    assert results[0].detail == "ValueError: unknown url type: 'nowhere/health'"


def test_an_api_that_does_not_answer_in_time_is_a_timeout(api):
    api.override["GET /health"] = lambda request: (api.released.wait(30), answer(200, {}))[1]
    detail = detail_of(api, "health", timeout=0.2)
    assert detail in ("TimeoutError: timed out", "URLError: <urlopen error timed out>")
    api.released.set()


# ---- replies, lines, where the API is ------------------------------------------------


def test_a_reply_reads_json_or_says_it_is_none():
    assert Reply(200, {}, b"").json is None
    assert Reply(200, {}, b"not json").json is None
    assert Reply(200, {}, b'{"a": 1}').json == {"a": 1}
    assert Reply(400, {}, b'{"error": {"code": "bad"}}').error_code == "bad"
    with pytest.raises(ValueError):
        _ = Reply(200, {}, b"not json").body
    assert Reply(502, {}, b"\xff bad\n").brief() == "502 \ufffd bad"


def test_a_check_is_one_line():
    assert Check("health", True, "ignored").line() == "ok    health"
    assert Check("write", False, "no").line() == "FAIL  write: no"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8787", True),
        ("http://localhost:8787/dev", True),
        ("http://[::1]:8787", True),
        ("https://abc.execute-api.eu-west-1.amazonaws.com/dev", False),
        ("https://127.0.0.1.example.com", False),
    ],
)
def test_local_means_a_loopback_host(url, local):
    assert smoke.is_local(url) is local


def test_the_region_comes_from_the_host_else_the_fallback_else_the_default():
    assert smoke.region_of("https://a1.execute-api.ap-south-2.amazonaws.com/dev", "eu-west-1") == (
        "ap-south-2"
    )
    assert smoke.region_of("https://api.example.com/dev", "eu-west-1") == "eu-west-1"
    assert smoke.region_of("http://127.0.0.1:8787", None) == "us-east-1"


@pytest.fixture
def no_credentials(no_aws_credentials):
    no_aws_credentials.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    return no_aws_credentials


def test_without_credentials_a_deployed_api_is_refused_and_a_local_one_unsigned(no_credentials):
    with pytest.raises(SmokeError) as refused:
        smoke.sigv4_signer("https://x.execute-api.us-east-1.amazonaws.com/dev", required=True)
    assert str(refused.value) == (
        "no AWS credentials to sign requests with (SigV4): run `aws sso login`, "
        "or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )
    assert smoke.sigv4_signer("http://127.0.0.1:8787", required=False) is None


def test_signing_is_sigv4_for_execute_api_in_the_sessions_region(no_credentials):
    no_credentials.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    no_credentials.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    sign = smoke.sigv4_signer("http://127.0.0.1:8787", required=False)
    headers = sign("POST", "http://127.0.0.1:8787/track", b"{}", {"Content-Type": "x"})
    assert headers["Content-Type"] == "x" and "X-Amz-Date" in headers
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-central-1/execute-api/aws4_request, SignedHeaders=" in headers["Authorization"]


# ---- the task ------------------------------------------------------------------------


def test_the_task_prints_a_line_per_check_and_passes_against_the_local_url(
    api, no_credentials, capsys
):
    deploy_tasks.smoke(Context(), url=api.url, list_wait=5)
    assert capsys.readouterr().out.splitlines() == [
        f"smoke test of {api.url} (unsigned: local)",
        *(f"ok    {name}" for name, _ in Smoke.CHECKS),
        f"smoke: all 6 checks passed against {api.url}",
    ]


def test_the_task_exits_1_naming_how_many_checks_failed(api, no_credentials, capsys):
    api.override["POST /track bad"] = always(201, {"event_id": "E1"})
    with pytest.raises(Exit) as failed:
        deploy_tasks.smoke(Context(), url=api.url, list_wait=5)
    assert failed.value.code == 1
    assert failed.value.message == f"smoke: 1 of 6 checks failed against {api.url}"
    assert "FAIL  bad input: POST /track with an unknown status" in capsys.readouterr().out
