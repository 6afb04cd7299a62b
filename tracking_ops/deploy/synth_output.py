"""What the offline synthesis produces, as data: each layer's resources and outputs
(secrets masked, assets by path), the JSON document of DESIGN.md section 6, and the
differences between two envs' synthesis (`invoke synth --diff`)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from tracking_stacks.registry import REGISTRY, Layer

SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"  # Pulumi's wire marker of a secret
SECRET_PLACEHOLDER = "[secret]"


def _plain(value: Any) -> Any:
    """Outputs and inputs as JSON-able data (secrets masked, assets by path)."""
    if isinstance(value, dict) and SECRET_SIGNATURE in value:
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return "<resource>"
    if isinstance(value, pulumi.asset.FileArchive | pulumi.asset.FileAsset):
        return {"archive": str(value.path)}
    if isinstance(value, pulumi.asset.AssetArchive):
        return {"archive": {k: _plain(v) for k, v in value.assets.items()}}
    return value


@dataclass
class LayerSynth:
    layer: Layer
    env: str
    org: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    references: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        spec = REGISTRY[self.layer]
        return {
            "layer": self.layer.value,
            "project": spec.project,
            "stack": self.env,
            "depends_on": [layer.value for layer in spec.upstream],
            "references": self.references,
            "resources": [
                {
                    "type": r["type"],
                    "name": r["name"],
                    "protect": r["protect"],
                    "retain_on_delete": r["retain_on_delete"],
                    "delete_before_replace": r["delete_before_replace"],
                    "dependencies": r["dependencies"],
                    "inputs": _plain(r["inputs"]),
                    "outputs": _plain(r["state"]),
                }
                for r in self.resources
            ],
            "outputs": _plain(self.outputs),
        }


def synth_document(env: str, results: list[LayerSynth]) -> dict[str, Any]:
    return {"env": env, "stacks": [result.as_json() for result in results]}


def _normalized(value: Any, env: str) -> Any:
    """Inputs with the env's own name written as <env>, so names do not count as
    differences; a secret shows as a short hash of its value: whether it differs, not what."""
    if isinstance(value, dict) and SECRET_SIGNATURE in value:
        digest = hashlib.sha256(
            json.dumps(_normalized(value.get("value"), env), sort_keys=True).encode()
        ).hexdigest()[:8]
        return f"[secret {digest}]"
    if isinstance(value, dict):
        return {k: _normalized(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v, env) for v in value]
    if isinstance(value, str):
        return re.sub(rf"\b{re.escape(env)}\b", "<env>", value)
    return _plain(value)  # assets by path, not by object identity


def diff_envs(first: list[LayerSynth], second: list[LayerSynth]) -> list[str]:
    """Lines naming each resource input (and protect flag) that differs between two envs."""
    lines: list[str] = []
    for a, b in zip(first, second, strict=True):

        def index(result: LayerSynth) -> dict[tuple[str, str], dict[str, Any]]:
            return {
                (r["type"], r["name"]): {
                    **_normalized(r["inputs"], result.env),
                    "(protect)": r["protect"],
                }
                for r in result.resources
            }

        left, right = index(a), index(b)
        for key in sorted(left.keys() | right.keys()):
            typ, name = key
            if key not in right or key not in left:
                only = a.env if key in left else b.env
                lines.append(f"[{a.layer.value}] {typ} {name}: only in {only}")
                continue
            for prop in sorted(left[key].keys() | right[key].keys()):
                old, new = left[key].get(prop), right[key].get(prop)
                if old != new:
                    lines.append(
                        f"[{a.layer.value}] {name}.{prop}: "
                        f"{_short(old)} ({a.env}) -> {_short(new)} ({b.env})"
                    )
    return lines


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
