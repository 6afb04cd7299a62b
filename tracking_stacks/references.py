"""Typed access to a producer layer's outputs through a StackReference."""

from __future__ import annotations

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

    def require(self, output: Output) -> pulumi.Output[Any]:
        if output not in REGISTRY[self.consumer].reads[self.producer]:
            raise ValueError(
                f"layer {self.consumer} does not declare reading "
                f"{output.value!r} from {self.producer} (see registry)"
            )
        return self.reference.require_output(output.value)
