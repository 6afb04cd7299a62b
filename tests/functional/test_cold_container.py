"""A new container's first request: what it calls, and that it overlaps its waits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from botocore.client import BaseClient

from tests.conftest import reset_function_state
from tests.helpers import update
from tracking_api import api as api_module


@contextlib.contextmanager
def every_aws_call() -> Iterator[list[str]]:
    """Calls of every botocore client in this process: the function's, and the SSM
    calls the Parameters and Secrets extension's stand-in makes on its behalf."""
    calls: list[str] = []
    original = BaseClient._make_api_call

    def record(self, operation_name, api_params):
        calls.append(f"{self.meta.service_model.service_id}.{operation_name}")
        return original(self, operation_name, api_params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", record)
        yield calls


def test_a_cold_write_reads_each_parameter_once_then_stores_once(api):
    reset_function_state()  # a new container
    with every_aws_call() as calls:
        assert api.track(update()).status == 201
    assert sorted(calls) == ["DynamoDB.TransactWriteItems"] + ["SSM.GetParameter"] * 3

    with every_aws_call() as calls:  # warm: settings cached, one storage call
        assert api.track(update()).status == 201
    assert calls == ["DynamoDB.TransactWriteItems"]


def test_the_settings_are_fetched_while_the_client_is_built(api, monkeypatch):
    """The prefetch runs in its own thread; the route waits for it, not a second fetch."""
    reset_function_state()
    loader = api_module.settings_loader()
    threads = []
    original = loader._fetch

    def fetch():
        import threading

        threads.append(threading.current_thread().name)
        return original()

    monkeypatch.setattr(loader, "_fetch", fetch)
    assert api.status("tracking_id=NONE").status == 404
    assert threads == ["settings-prefetch"]
    assert loader.prefetch() is False  # only a new container prefetches


def test_a_new_container_builds_its_client_while_the_settings_arrive(api):
    """The first request starts the settings' fetch in a thread, then builds the
    DynamoDB client in its own, before the route needs either."""
    from tracking_api import repository

    reset_function_state()
    api_module._prepare_container()
    loader = api_module.settings_loader()
    try:
        assert repository.dynamodb_client.cache_info().currsize == 1
        assert loader._prefetch is not None
    finally:
        if loader._prefetch is not None:
            loader._prefetch.join(10)


def test_no_thread_started_by_a_cold_request_outlives_it(api, monkeypatch):
    """A cold /health starts the settings prefetch; it ends within the request, so
    nothing runs while Lambda has the container frozen (issue 22, item 10)."""
    import threading
    import time as clock

    from tracking_api.settings import ParametersExtension

    reset_function_state()
    fetch = ParametersExtension.get

    def slow(self, name):  # the extension answering a cold start's first call slowly
        clock.sleep(0.3)
        return fetch(self, name)

    monkeypatch.setattr(ParametersExtension, "get", slow)
    before = set(threading.enumerate())

    def started_by_the_function() -> list[threading.Thread]:
        # The extension's stand-in serves in this process too: its request threads
        # (socketserver's) are the test's, not the function's.
        return [
            t
            for t in set(threading.enumerate()) - before
            if t.is_alive() and "process_request_thread" not in t.name
        ]

    assert api.request("GET", "/health", content_type=None).status == 200
    assert not started_by_the_function()
    # Nor does the fan-out of GET /shipments (one query per status-index shard).
    assert api.request("GET", "/shipments", query="status=pending").status == 200
    assert not started_by_the_function()
