"""Every stack program synthesized once per session under Pulumi's mocks, for dev and prod."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tracking_ops.checks.mutate_selection import stack_program_mutant
from tracking_ops.deploy import synth
from tracking_ops.deploy.synth_output import SECRET_SIGNATURE, LayerSynth
from tracking_stacks.registry import Layer


class Synthesized:
    def __init__(self, results: list[LayerSynth]):
        self.by_layer = {result.layer: result for result in results}

    def layer(self, layer: Layer) -> LayerSynth:
        return self.by_layer[layer]

    def of_type(self, layer: Layer, typ: str) -> list[dict[str, Any]]:
        return [unwrap(r) for r in self.by_layer[layer].resources if r["type"] == typ]

    def one(self, layer: Layer, typ: str) -> dict[str, Any]:
        (resource,) = self.of_type(layer, typ)
        return resource

    def stage_method_settings(self) -> dict[str, Any]:
        """The stage-wide (``*/*``) MethodSettings: the limits every method has by default."""
        (settings,) = [
            r
            for r in self.of_type(Layer.API, "aws:apigateway/methodSettings:MethodSettings")
            if r["inputs"]["methodPath"] == "*/*"
        ]
        return settings

    def all_resources(self) -> list[dict[str, Any]]:
        return [unwrap(r) for result in self.by_layer.values() for r in result.resources]


def unwrap(value: Any) -> Any:
    """Secret inputs as their plain values (tests may look inside)."""
    if isinstance(value, dict) and SECRET_SIGNATURE in value:
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def policy_statements(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(resource["inputs"]["policy"])["Statement"]}


_SYNTHESIZED: dict[tuple[str, str], Synthesized] = {}


def synthesized(env: str) -> Synthesized:
    """One synthesis per env and process. A process that runs pytest sessions one after
    another (mutation testing forks one per mutant) reuses it, unless the mutant it
    runs under is planted in a stack program: that one is synthesized anew."""
    key = (env, stack_program_mutant())
    if key not in _SYNTHESIZED:
        _SYNTHESIZED[key] = Synthesized(synth.synth_all(env))
    return _SYNTHESIZED[key]


@pytest.fixture(scope="session")
def dev() -> Synthesized:
    return synthesized("dev")


@pytest.fixture(scope="session")
def prod() -> Synthesized:
    return synthesized("prod")


@pytest.fixture(scope="session", params=["dev", "staging", "prod"])
def each_env(request) -> tuple[str, Synthesized]:
    return request.param, synthesized(request.param)


_PLATFORM: dict[tuple[str, str], Synthesized] = {}


def synthesized_platform(env: str) -> Synthesized:
    """The platform projects (the bootstrap), synthesized once per env and process."""
    key = (env, stack_program_mutant())
    if key not in _PLATFORM:
        _PLATFORM[key] = Synthesized(synth.synth_platform(env))
    return _PLATFORM[key]


# The envs the ownership proofs run for: the three fixed ones and a per-branch one.
PROOF_ENVS = ["dev", "staging", "prod", "pr-9"]


@pytest.fixture(scope="session", params=PROOF_ENVS)
def each_proof_env(request) -> tuple[str, Synthesized, Synthesized]:
    """(env, the five layers' synth, the bootstrap's synth)."""
    return request.param, synthesized(request.param), synthesized_platform(request.param)
