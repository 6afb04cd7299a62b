"""The engine's calls on the stand-in provider, as the engine makes them (property
values on the wire), and the inputs the real stacks synthesize for dev."""

from __future__ import annotations

import asyncio
from typing import Any

from pulumi.provider.experimental.provider import (
    CreateRequest,
    DeleteRequest,
    ReadRequest,
    UpdateRequest,
)

from tests.unit.stacks.conftest import synthesized
from tracking_ops.standin_cloud.provider import StandinAwsProvider, plain, wire
from tracking_stacks.registry import Layer

ENV = "dev"


def run(coroutine: Any) -> Any:
    # A loop of its own, leaving the thread's current loop alone (Pulumi's mocks in
    # later tests use it).
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:{ENV}::tracking::{typ}::{name}"


def wired(properties: dict[str, Any], secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """Plain inputs on the wire, ``secrets`` as the engine sends a secret."""
    return {key: wire(value).with_secret(key in secrets) for key, value in properties.items()}


def unwired(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: plain(value) for key, value in properties.items()}


class Resource:
    """One resource through the provider: its id, inputs and outputs (plain data)."""

    def __init__(
        self,
        provider: StandinAwsProvider,
        typ: str,
        name: str,
        inputs: dict,
        secrets: tuple[str, ...] = (),
    ):
        self.provider, self.urn, self.inputs = provider, urn(typ, name), dict(inputs)
        self.secrets = secrets
        created = run(provider.create(CreateRequest(self.urn, self._wired(inputs), 60, False)))
        self.id = created.resource_id
        self.wire_outputs = created.properties
        self.outputs = unwired(created.properties)

    def _wired(self, properties: dict[str, Any]) -> dict[str, Any]:
        return wired(properties, self.secrets)

    def update(self, **changes: Any) -> dict[str, Any]:
        news = {**self.inputs, **changes}
        updated = run(
            self.provider.update(
                UpdateRequest(
                    self.urn, self.id, self.wire_outputs, self._wired(news), 60, [], False
                )
            )
        )
        self.inputs, self.wire_outputs = news, updated.properties
        self.outputs = unwired(updated.properties)
        return self.outputs

    def read(self) -> dict[str, Any] | None:
        """What refresh would store: the outputs as moto has them, or None when gone."""
        found = run(
            self.provider.read(
                ReadRequest(self.urn, self.id, self.wire_outputs, self._wired(self.inputs))
            )
        )
        if not found.resource_id:
            return None
        return unwired(found.properties)

    def read_wire(self) -> Any:
        return run(
            self.provider.read(
                ReadRequest(self.urn, self.id, self.wire_outputs, self._wired(self.inputs))
            )
        )

    def delete(self) -> None:
        run(self.provider.delete(DeleteRequest(self.urn, self.id, self.wire_outputs, 60)))


def synth_inputs(layer: Layer, typ: str) -> list[dict[str, Any]]:
    """Every resource of ``typ`` in ``layer`` as dev synthesizes it: (name, inputs)."""
    return [(r["name"], r["inputs"]) for r in synthesized(ENV).of_type(layer, typ)]


def synth_one(layer: Layer, typ: str) -> tuple[str, dict[str, Any]]:
    return synth_inputs(layer, typ)[0]
