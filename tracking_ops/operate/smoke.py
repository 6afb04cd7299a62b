"""`invoke smoke`: a short contract check of a running tracking API (DESIGN.md
section 3): health, a write, read-your-write, the shipments list (eventually
consistent: polled within a bound), a bad input, an idempotent replay.

Requests are signed with SigV4 (service execute-api) from the caller's
credentials through botocore's signer, as the deployed API (AWS_IAM) requires.
The local runtime accepts signed requests without checking them; against it,
requests go unsigned when no credentials are configured.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SERVICE = "execute-api"
DEFAULT_REGION = "us-east-1"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")
REPLAYED_HEADER = "Idempotent-Replayed"  # the contract's header on a replayed POST /track
IDEMPOTENCY_HEADER = "Idempotency-Key"
SMOKE_STATUS = "in_transit"
ID_PREFIX = "smoke-"  # smoke writes real updates: their ids say where they came from


class SmokeError(Exception):
    """The smoke test cannot start (one line)."""


@dataclass
class Reply:
    """One HTTP reply of the API (also the tests' reply type: in-process and over HTTP)."""

    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        """The JSON body, or None when it is not JSON (smoke reports what it got)."""
        try:
            return json.loads(self.raw or b"null")
        except ValueError:
            return None

    @property
    def body(self) -> Any:
        """The JSON body; a body that is not JSON raises (a test fails on it)."""
        return json.loads(self.raw)

    @property
    def error_code(self) -> str:
        return self.body["error"]["code"]

    def brief(self) -> str:
        text = self.raw.decode(errors="replace").strip().replace("\n", " ")
        return f"{self.status} {text[:160]}"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"ok    {self.name}" if self.ok else f"FAIL  {self.name}: {self.detail}"


def is_local(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


def region_of(url: str, fallback: str | None) -> str:
    match = REGION_IN_HOST.search(urlsplit(url).hostname or "")
    return match.group(1) if match else (fallback or DEFAULT_REGION)


Signer = Callable[[str, str, bytes | None, dict[str, str]], dict[str, str]]


def sigv4_signer(url: str, required: bool) -> Signer | None:
    """A function adding SigV4 headers from the caller's credentials (botocore's signer);
    None when there are none and signing is not required (the local runtime)."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        if required:
            raise SmokeError(
                "no AWS credentials to sign requests with (SigV4): run `aws sso login`, "
                "or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        return None
    auth = SigV4Auth(
        credentials.get_frozen_credentials(), SERVICE, region_of(url, session.region_name)
    )

    def sign(
        method: str, full_url: str, body: bytes | None, headers: dict[str, str]
    ) -> dict[str, str]:
        request = AWSRequest(method=method, url=full_url, data=body, headers=headers)
        auth.add_auth(request)
        return dict(request.headers.items())

    return sign


class Smoke:
    def __init__(
        self,
        base_url: str,
        signer: Signer | None,
        timeout: float = 15.0,
        list_wait: float = 30.0,
        poll: float = 0.5,
    ):
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.timeout = timeout
        self.list_wait = list_wait
        self.poll = poll
        self.run_id = uuid.uuid4().hex[:12]

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        if self.signer is not None:
            all_headers = self.signer(method, url, data, all_headers)
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def update(self, tracking_id: str, status: str = SMOKE_STATUS) -> dict[str, Any]:
        return {
            "tracking_id": tracking_id,
            "status": status,
            "location": {"lat": 52.52, "lng": 13.405},
            "metadata": {"source": "invoke smoke"},
        }

    # Each check returns a failure detail, or "" when it passes.
    def check_health(self) -> str:
        reply = self.request("GET", "/health")
        if reply.status != 200 or reply.json != {"status": "ok"}:
            return f'expected 200 {{"status": "ok"}}, got {reply.brief()}'
        return ""

    def check_write(self) -> str:
        self.tracking_id = f"{ID_PREFIX}{self.run_id}"
        reply = self.request("POST", "/track", self.update(self.tracking_id))
        body = reply.json if isinstance(reply.json, dict) else {}
        if reply.status != 201 or body.get("tracking_id") != self.tracking_id:
            return f"POST /track: expected 201 with the update, got {reply.brief()}"
        if not body.get("event_id"):
            return "POST /track: 201 without an event_id"
        self.event_id = body["event_id"]
        return ""

    def check_read_your_write(self) -> str:
        if not getattr(self, "event_id", None):
            return "not run: the write failed"
        reply = self.request("GET", f"/status?tracking_id={self.tracking_id}")
        body = reply.json if isinstance(reply.json, dict) else {}
        if reply.status != 200:
            return f"GET /status right after the write: expected 200, got {reply.brief()}"
        events = [u.get("event_id") for u in body.get("updates") or []]
        if body.get("status") != SMOKE_STATUS or self.event_id not in events:
            return f"GET /status does not show the update just written ({reply.brief()})"
        return ""

    def check_shipments(self) -> str:
        if not getattr(self, "event_id", None):
            return "not run: the write failed"
        deadline = time.monotonic() + self.list_wait
        while True:
            reply = self.request("GET", f"/shipments?status={SMOKE_STATUS}&limit=100")
            body = reply.json if isinstance(reply.json, dict) else {}
            if reply.status != 200:
                return f"GET /shipments: expected 200, got {reply.brief()}"
            if self.tracking_id in {item.get("tracking_id") for item in body.get("items") or []}:
                return ""
            if time.monotonic() >= deadline:
                return (
                    f"{self.tracking_id} not listed under {SMOKE_STATUS} "
                    f"after {self.list_wait:.0f}s (the list may lag writes by seconds, not more)"
                )
            time.sleep(self.poll)

    def check_bad_input(self) -> str:
        bad = {**self.update(f"{ID_PREFIX}{self.run_id}-bad"), "status": "teleported"}
        reply = self.request("POST", "/track", bad)
        body = reply.json if isinstance(reply.json, dict) else {}
        code = (
            (body.get("error") or {}).get("code") if isinstance(body.get("error"), dict) else None
        )
        if reply.status != 400 or code != "validation_error":
            return f"POST /track with an unknown status: expected 400 validation_error, got {reply.brief()}"
        return ""

    def check_idempotent_replay(self) -> str:
        key = {IDEMPOTENCY_HEADER: f"{ID_PREFIX}{self.run_id}"}
        body = self.update(f"{ID_PREFIX}{self.run_id}-idem")
        first = self.request("POST", "/track", body, key)
        second = self.request("POST", "/track", body, key)
        if first.status != 201:
            return f"first POST with an Idempotency-Key: expected 201, got {first.brief()}"
        replayed = {k.lower(): v for k, v in second.headers.items()}.get(REPLAYED_HEADER.lower())
        same = isinstance(second.json, dict) and second.json.get("event_id") == first.json.get(
            "event_id"
        )
        if second.status != 201 or replayed != "true" or not same:
            return (
                f"the retry was not a replay (expected 201, {REPLAYED_HEADER}: true and the "
                f"same event_id), got {second.brief()} with {REPLAYED_HEADER}: {replayed}"
            )
        return ""

    CHECKS = (
        ("health", "check_health"),
        ("write", "check_write"),
        ("read-your-write", "check_read_your_write"),
        ("shipments list", "check_shipments"),
        ("bad input", "check_bad_input"),
        ("idempotent replay", "check_idempotent_replay"),
    )

    def run(self, report: Callable[[Check], None] = lambda check: None) -> list[Check]:
        results = []
        for name, method in self.CHECKS:
            try:
                detail = getattr(self, method)()
            except (OSError, ValueError) as exc:  # connection refused, timeouts, bad URLs
                detail = f"{type(exc).__name__}: {exc}"
            check = Check(name, not detail, detail)
            report(check)
            results.append(check)
        return results
