"""Before deploying one layer: every stack it reads exists and exports what it requires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracking_stacks.registry import REGISTRY, Layer


class UpstreamNotReady(Exception):
    pass


def check_upstream(
    layer: Layer, env: str, outputs_of: Callable[[Layer], dict[str, Any] | None]
) -> None:
    """Raise UpstreamNotReady naming the stack to deploy first."""
    for producer, required in REGISTRY[layer].reads.items():
        project = REGISTRY[producer].project
        outputs = outputs_of(producer)
        if outputs is None:
            raise UpstreamNotReady(
                f"{project}/{env} does not exist; deploy it first: "
                f"invoke deploy --layer {producer.value} --env {env}"
            )
        missing = [name.value for name in required if name.value not in outputs]
        if missing:
            raise UpstreamNotReady(
                f"{project}/{env} does not export {', '.join(missing)} that "
                f"{REGISTRY[layer].project} requires; redeploy it first: "
                f"invoke deploy --layer {producer.value} --env {env}"
            )
