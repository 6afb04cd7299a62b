"""The layer DAG from the registry: deploy order, waves, selections."""

from __future__ import annotations

from collections.abc import Iterable

from tracking_stacks.registry import REGISTRY, Layer, downstream_of


class PlanError(ValueError):
    pass


def waves(layers: Iterable[Layer] | None = None) -> list[list[Layer]]:
    """Layers grouped so each wave only reads earlier waves (or layers outside the selection).

    Layers of one wave are independent of each other and may run concurrently.
    """
    selected = (
        list(REGISTRY) if layers is None else [layer for layer in REGISTRY if layer in set(layers)]
    )
    done: set[Layer] = set()
    result: list[list[Layer]] = []
    remaining = list(selected)
    while remaining:
        wave = [
            layer
            for layer in remaining
            if all(u in done or u not in selected for u in REGISTRY[layer].upstream)
        ]
        if not wave:
            raise PlanError(f"cycle among layers {', '.join(remaining)}")
        result.append(wave)
        done.update(wave)
        remaining = [layer for layer in remaining if layer not in done]
    return result


def deploy_order(layers: Iterable[Layer] | None = None) -> list[Layer]:
    return [layer for wave in waves(layers) for layer in wave]


def destroy_order(layers: Iterable[Layer] | None = None) -> list[Layer]:
    return list(reversed(deploy_order(layers)))


def with_downstream(layer: Layer) -> list[Layer]:
    return deploy_order([layer, *downstream_of(layer)])


def parse_layer(name: str) -> Layer:
    try:
        return Layer(name)
    except ValueError:
        raise PlanError(
            f"unknown layer {name!r}; layers: {', '.join(layer.value for layer in REGISTRY)}"
        ) from None


def edge_label(outputs) -> str:
    """A DAG edge's label: the names of the outputs that flow along it, one a line."""
    return "<br>".join(output.value for output in outputs)


def mermaid(env: str | None = None) -> str:
    """The layer DAG as Mermaid, each edge labelled with the outputs it carries;
    with ``env``, nodes name that env's stacks. The README's diagram is this text."""
    lines = ["graph LR"]
    for spec in REGISTRY.values():
        label = f"{spec.project}/{env}" if env else spec.project
        lines.append(f'    {spec.layer.value}["{label}"]')
    for spec in REGISTRY.values():
        for producer, outputs in spec.reads.items():
            lines.append(f'    {producer.value} -->|"{edge_label(outputs)}"| {spec.layer.value}')
    return "\n".join(lines)
