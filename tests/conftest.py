"""Fixtures shared by every tier: markers by folder, one moto server per session."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracking_ops.local import proxy, standin
from tracking_ops.operate.smoke import Reply

TESTS = Path(__file__).parent
TIER_BY_FOLDER = {"unit": "unit", "functional": "functional", "e2e": "e2e", "engine": "engine"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(item.fspath).relative_to(TESTS).parts[0]
        if folder in TIER_BY_FOLDER:
            item.add_marker(TIER_BY_FOLDER[folder])


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment in which the SDK finds no AWS credentials anywhere (variables,
    profile, shared files or instance metadata)."""
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with standin.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def parameters_extension_environment(moto_endpoint: str) -> Iterator[dict[str, str]]:
    """The Parameters and Secrets extension's stand-in, in this process: it calls SSM
    with this process's environment, as the `aws` fixture sets it for each test."""
    from tracking_ops.local import parameters_extension

    with parameters_extension.serve(os.environ) as variables:
        yield variables


@pytest.fixture
def aws(
    moto_endpoint: str,
    parameters_extension_environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> standin.StandIn:
    """A fresh stand-in account: the data and config layers of dev, and the env pointing at it."""
    standin.reset(moto_endpoint)
    instance = standin.StandIn(moto_endpoint, "dev")
    for name in standin.PROFILE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        **instance.aws_environment(),
        **instance.function_environment(),
        **parameters_extension_environment,
    }.items():
        monkeypatch.setenv(name, value)
    standin.provision(instance)
    return instance


class ApiClient:
    """Calls the real ``app.handler`` in-process with API Gateway proxy events."""

    def __init__(self, handler):
        self.handler = handler

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: Any = None,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        content_type: str | None = "application/json",
    ) -> Reply:
        all_headers = {"Content-Type": content_type} if content_type else {}
        all_headers.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        event = proxy.proxy_event(method, path, query=query, headers=all_headers, body=data)
        status, response_headers, payload = proxy.decode_response(
            self.handler(event, proxy.LambdaContext())
        )
        return Reply(status, response_headers, payload)

    def track(self, body: Any, **kwargs: Any) -> Reply:
        return self.request("POST", "/track", body=body, **kwargs)

    def status(self, query: str) -> Reply:
        return self.request("GET", "/status", query=query)


def reset_function_state() -> None:
    """Forget per-container caches (settings, clients) as a new container would."""
    from tracking_api import api, repository, writes

    api.settings_loader.cache_clear()
    api.repository.cache_clear()
    repository.dynamodb_client.cache_clear()
    writes.settle_client.cache_clear()


@pytest.fixture
def project_stream(aws: standin.StandIn):
    """Deliver the table's stream to the notifier, as the event source mapping does
    (the current-state projection behind GET /shipments is eventually consistent)."""
    from tracking_notifier import handler as notifier
    from tracking_ops.local.stream_feeder import StreamFeeder

    def forget_clients() -> None:
        notifier.dynamodb_client.cache_clear()
        notifier.events_client.cache_clear()
        notifier.ssm_provider.cache_clear()

    forget_clients()
    feeder = StreamFeeder(aws)
    yield feeder.drain
    forget_clients()


def still_clock() -> float:
    return 0.0


@pytest.fixture
def real_clock(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request's time budget on the real clock, for the tests about that budget."""
    from tracking_api import api as api_module
    from tracking_api import writes

    for module in (api_module, writes):
        monkeypatch.setattr(module, "clock", time.monotonic)


@pytest.fixture
def api(aws: standin.StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    from tracking_api import api as api_module
    from tracking_api import writes
    from tracking_api.api import handler

    # The request's time budget is a rule about time: its tests set the clock (the
    # real_clock fixture gives the real one back, test_batch_per_item ticks it). Everywhere
    # else the answer must not depend on how busy this machine is (a batch of 25 on
    # a loaded machine ran out of the budget), so the clock the budget reads stands still.
    for module in (api_module, writes):
        monkeypatch.setattr(module, "clock", still_clock)
    reset_function_state()
    os.environ.setdefault("POWERTOOLS_DEV", "false")
    yield ApiClient(handler)
    reset_function_state()
