"""A second API deployment after an update that removed part of the API.

A deployment snapshots the REST API as it is when it is created. Pulumi creates
and replaces resources in the program's order and deletes the ones the program
no longer declares at the end of the update: the deployment that a route's
removal triggers is created while the removed method and integration still
exist, so its snapshot keeps serving the route, whose Lambda permission is then
deleted (callers get 500 until the next deployment). So when the applied plan
deleted a part of the API's definition, a second update of the api layer
follows at once, with the deployment's `redeployment` generation raised: it
snapshots the API without the removed parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tracking_ops.deploy.review import DELETE, LayerPreview
from tracking_stacks.registry import Layer

# The api program's config key that the deployment's trigger includes.
REDEPLOYMENT_KEY = "redeployment"
# What a deployment snapshots (stacks/api/components.py SNAPSHOT_PROPERTIES).
SNAPSHOT_PART_TYPES = frozenset(
    {
        "aws:apigateway/resource:Resource",
        "aws:apigateway/method:Method",
        "aws:apigateway/integration:Integration",
        "aws:apigateway/methodResponse:MethodResponse",
        "aws:apigateway/integrationResponse:IntegrationResponse",
        "aws:apigateway/model:Model",
        "aws:apigateway/requestValidator:RequestValidator",
        "aws:apigateway/response:Response",
    }
)


def removes_snapshot_parts(layer: Layer, preview: LayerPreview | None) -> list[str]:
    """The API parts the applied plan deletes (empty: no second deployment needed)."""
    if layer is not Layer.API or preview is None:
        return []
    return [step.name for step in preview.changed(DELETE) if step.type in SNAPSHOT_PART_TYPES]


def second_deployment(
    engine, layer: Layer, removed: list[str], message: str, out: Callable[[str], None]
) -> Mapping[str, int]:
    """Raise the deployment's generation and update the layer again."""
    current = engine.config(layer, [REDEPLOYMENT_KEY]).get(REDEPLOYMENT_KEY) or "0"
    generation = str(int(current) + 1)
    out(
        f"[{layer.value}] removed {', '.join(removed)}: a second deployment (generation "
        f"{generation}) so the stage stops serving them"
    )
    engine.set_config(layer, {REDEPLOYMENT_KEY: generation})
    return engine.up(layer, None, f"{message} (second deployment after removals)")
