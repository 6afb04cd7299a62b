"""Count the AWS API calls the API function makes, through botocore's event hooks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def function_clients() -> list:
    """The botocore clients of the warm API function container: storage only: it reads
    SSM through the Parameters and Secrets extension, no client of its own."""
    from tracking_api import api

    loader = api.settings_loader()
    return [api.repository(loader.get().table_name).client]


@contextlib.contextmanager
def count_aws_calls(clients: list | None = None) -> Iterator[list[str]]:
    """Each client copies its session's event emitter when it is created, so the
    hook goes on every client: ``Service.Operation`` per call sent."""
    calls: list[str] = []

    def record(model, **_):
        calls.append(f"{model.service_model.service_id.replace(' ', '')}.{model.name}")

    clients = function_clients() if clients is None else clients
    for client in clients:
        client.meta.events.register("before-call", record)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", record)
