"""Typed access to a producer layer's outputs through a StackReference."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import pulumi

from tracking_stacks.naming import stack_reference_name
from tracking_stacks.registry import REGISTRY, Layer, Output


class Upstream:
    """The ``{org}/tracking-{producer}/{env}`` stack, as seen by ``consumer``.

    Only outputs the registry says the consumer reads can be required, and
    they are read with ``require_output``: a missing output fails the
    deployment instead of silently becoming None (``get_output``).
    """

    def __init__(self, consumer: Layer, producer: Layer, org: str, env: str):
        if producer not in REGISTRY[consumer].reads:
            raise ValueError(f"layer {consumer} does not read layer {producer} (see registry)")
        self.consumer = consumer
        self.producer = producer
        self.reference = pulumi.StackReference(
            f"{producer.value}-stack", stack_name=stack_reference_name(org, producer, env)
        )
        self.read: dict[Output, pulumi.Output[Any]] = {}

    def require(self, output: Output) -> pulumi.Output[Any]:
        if output not in REGISTRY[self.consumer].reads[self.producer]:
            raise ValueError(
                f"layer {self.consumer} does not declare reading "
                f"{output.value!r} from {self.producer} (see registry)"
            )
        if output not in self.read:
            self.read[output] = self.reference.require_output(output.value)
        return self.read[output]


def read_key(producer: Layer, output: Output) -> str:
    """How a read output is named in fingerprints and in `invoke status`: ``compute.api_function_arn``."""
    return f"{producer.value}.{output.value}"


def output_fingerprint(value: Any) -> str:
    """A short digest of one output's value; the stack program and the orchestrator
    compute it alike (the JSON value as the engine reports it)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_fingerprints(upstreams: Iterable[Upstream]) -> pulumi.Output[dict[str, str]]:
    """``{read_key: output_fingerprint}`` of every output the program required."""
    keys, values = [], []
    for upstream in upstreams:
        for output, value in upstream.read.items():
            keys.append(read_key(upstream.producer, output))
            values.append(value)
    return pulumi.Output.all(*values).apply(
        lambda resolved: {key: output_fingerprint(v) for key, v in zip(keys, resolved, strict=True)}
    )
