"""One resource's life through the provider (create, update, read, delete) with the
inputs the real stacks synthesize, for the compute and api families' tests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pulumi.provider.experimental.provider import (
    CreateRequest,
    DeleteRequest,
    ReadRequest,
    UpdateRequest,
)

from tests.functional.standin_cloud.conftest import run
from tracking_ops.deploy import synth
from tracking_ops.standin_cloud.provider import StandinAwsProvider, plain, wire

ENV = "dev"


@cache
def _synthesized() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    return tuple(
        (resource["type"], resource["name"], resource["inputs"])
        for layer in synth.synth_all(ENV)
        for resource in layer.resources
    )


def synthesized_inputs(token: str, name: str | None = None) -> dict[str, Any]:
    """The inputs dev's stacks declare for a resource of ``token`` (the first, or ``name``)."""
    for typ, resource_name, inputs in _synthesized():
        if typ == token and name in (None, resource_name):
            return dict(inputs)
    raise LookupError(f"dev declares no {token} {name or ''}")


class Life:
    """A resource of ``token`` called ``name``, driven through ``provider``."""

    def __init__(self, provider: StandinAwsProvider, token: str, name: str):
        self.provider = provider
        self.urn = f"urn:pulumi:{ENV}::tracking::{token}::{name}"
        self.id = ""
        self.inputs: dict[str, Any] = {}
        self.state: dict[str, Any] = {}

    def create(self, inputs: dict[str, Any]) -> dict[str, Any]:
        wired = {key: wire(value) for key, value in inputs.items()}
        created = run(self.provider.create(CreateRequest(self.urn, wired, 0, False)))
        self.id, self.inputs = created.resource_id, inputs
        self.state = {key: plain(value) for key, value in created.properties.items()}
        return self.state

    def update(self, **changes: Any) -> dict[str, Any]:
        news = {**self.inputs, **changes}
        news = {key: value for key, value in news.items() if value is not None}
        updated = run(
            self.provider.update(
                UpdateRequest(
                    self.urn,
                    self.id,
                    {key: wire(value) for key, value in self.state.items()},
                    {key: wire(value) for key, value in news.items()},
                    0,
                    [],
                    False,
                )
            )
        )
        self.inputs = news
        self.state = {key: plain(value) for key, value in updated.properties.items()}
        return self.state

    def read(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(outputs, inputs) as the provider reads them from moto; None when gone."""
        answer = run(
            self.provider.read(
                ReadRequest(
                    self.urn,
                    self.id,
                    {key: wire(value) for key, value in self.state.items()},
                    {key: wire(value) for key, value in self.inputs.items()},
                )
            )
        )
        if not answer.resource_id:
            return None
        return (
            {key: plain(value) for key, value in answer.properties.items()},
            {key: plain(value) for key, value in answer.inputs.items()},
        )

    def unchanged(self) -> bool:
        """``read`` reports exactly the state (no drift)."""
        found = self.read()
        return found is not None and found[0] == self.state and found[1] == self.inputs

    def delete(self) -> None:
        wired = {key: wire(value) for key, value in self.state.items()}
        run(self.provider.delete(DeleteRequest(self.urn, self.id, wired, 0)))
