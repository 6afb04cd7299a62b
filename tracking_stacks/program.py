"""What every stack program starts with: who am I (layer, env, org), my tags,
my upstream stacks, and the one way to export outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from tracking_stacks.naming import DEFAULT_ORG, ORG_CONFIG_KEY, PROD, physical_name, tags
from tracking_stacks.references import Upstream, read_fingerprints
from tracking_stacks.registry import Layer, Output, PlatformLayer, spec_of


@dataclass(frozen=True)
class StackContext:
    layer: Layer | PlatformLayer
    env: str
    org: str
    config: pulumi.Config
    upstreams: list[Upstream] = field(default_factory=list, compare=False)

    @classmethod
    def current(cls, layer: Layer | PlatformLayer) -> StackContext:
        project = pulumi.get_project()
        if project != spec_of(layer).project:
            raise ValueError(
                f"program of layer {layer} runs in project {project!r}, "
                f"expected {spec_of(layer).project!r}"
            )
        config = pulumi.Config()
        org = config.get(ORG_CONFIG_KEY) or DEFAULT_ORG
        return cls(layer=layer, env=pulumi.get_stack(), org=org, config=config)

    @property
    def is_prod(self) -> bool:
        return self.env == PROD

    @property
    def tags(self) -> dict[str, str]:
        return tags(self.env, self.layer)

    def name(self, what: str) -> str:
        return physical_name(what, self.env)

    def setting(self, key: str, default: Any) -> Any:
        """A config value of the default's type; the default only when the key is unset,
        so a deliberate 0 or false is kept (``get_int(k) or d`` would lose it)."""
        getter = {
            bool: self.config.get_bool,
            int: self.config.get_int,
            float: self.config.get_float,
            str: self.config.get,
            dict: self.config.get_object,
            list: self.config.get_object,
        }[type(default)]
        value = getter(key)
        return default if value is None else value

    def upstream(self, producer: Layer) -> Upstream:
        upstream = Upstream(consumer=self.layer, producer=producer, org=self.org, env=self.env)
        self.upstreams.append(upstream)
        return upstream

    def export(self, outputs: Mapping[Output, Any]) -> None:
        """Export exactly the outputs the registry lists for this layer."""
        declared = set(spec_of(self.layer).exports)
        if Output.READ_FINGERPRINTS in declared:
            outputs = {**outputs, Output.READ_FINGERPRINTS: read_fingerprints(self.upstreams)}
        given = set(outputs)
        if given != declared:
            raise ValueError(
                f"layer {self.layer} must export {sorted(declared)}; missing "
                f"{sorted(declared - given)}, not registered {sorted(given - declared)}"
            )
        for name, value in outputs.items():
            pulumi.export(name.value, value)
