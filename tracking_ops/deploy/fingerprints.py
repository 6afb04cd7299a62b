"""What a layer's deploy depends on, as fingerprints: its program, its config,
its function assets (recorded in the update's message) and the producer
outputs it read (recorded by the program itself as Output.READ_FINGERPRINTS).

From them: which consumers are stale, and which layers `deploy-all` may skip.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tracking_ops.deploy.affected import EVERYTHING
from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.environments import stack_config
from tracking_stacks.references import output_fingerprint, read_key
from tracking_stacks.registry import REGISTRY, Layer, Output

MESSAGE_PREFIX = "tracking-deploy"
PROGRAM, CONFIG, ASSETS = "program", "config", "assets"
# Code a layer's program imports beyond its folder and the shared paths: the api
# layer derives its request models from the API function's package.
EXTRA_SOURCES: dict[Layer, tuple[str, ...]] = {Layer.API: ("functions/tracking/tracking_api",)}
IGNORED_PARTS = ("__pycache__",)


@dataclass(frozen=True)
class LayerState:
    """A deployed stack as the engine reports it."""

    outputs: dict[str, Any]
    resource_count: int = 0
    last_update: datetime | None = None
    last_result: str = ""  # of the latest update: "succeeded", "failed", ...
    last_message: str = ""  # of the latest update
    protected: frozenset[str] = field(default_factory=frozenset)  # URNs
    resources: tuple[tuple[str, str], ...] = ()  # (URN, type) of each deployed resource


@dataclass(frozen=True)
class Decision:
    run: bool
    reason: str


def _files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        for child in sorted(path.rglob("*")):
            ignored = child.suffix == ".pyc" or any(p in IGNORED_PARTS for p in child.parts)
            if child.is_file() and not ignored:
                yield child


def _digest(chunks: Iterable[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(hashlib.sha256(chunk).digest())
    return hasher.hexdigest()[:16]


def program_fingerprint(layer: Layer) -> str:
    """The layer's folder (without per-env config files) and every shared path it runs."""
    roots = [STACKS_DIR / layer.value, *(REPO_ROOT / p for p in EVERYTHING)]
    roots += [REPO_ROOT / p for p in EXTRA_SOURCES.get(layer, ())]
    own = STACKS_DIR / layer.value

    def env_config(f: Path) -> bool:  # counted as config, for its own env only
        return f.parent == own and f.name.startswith("Pulumi.") and f.name != "Pulumi.yaml"

    files = [f for root in roots for f in _files(root) if not env_config(f)]
    return _digest(str(f.relative_to(REPO_ROOT)).encode() + b"\0" + f.read_bytes() for f in files)


def source_parts(
    layer: Layer, env: str, base: str | None = None, assets: Mapping[str, str] | None = None
) -> dict[str, str]:
    """program, config (the env's effective stack config) and, for compute, the assets."""
    parts = {
        PROGRAM: program_fingerprint(layer),
        CONFIG: output_fingerprint(stack_config(layer, env, base)),
    }
    if layer is Layer.COMPUTE:
        parts[ASSETS] = output_fingerprint(dict(sorted((assets or {}).items())))
    return parts


def deploy_message(parts: Mapping[str, str]) -> str:
    """The update's message: human-readable, and parsed back by `parse_message`."""
    return " ".join([MESSAGE_PREFIX, *(f"{k}={v}" for k, v in sorted(parts.items()))])


def parse_message(message: str) -> dict[str, str] | None:
    if not message.startswith(MESSAGE_PREFIX):
        return None
    return dict(re.findall(r"(\w+)=([0-9a-f]+)", message))


def stale_reads(
    layer: Layer,
    recorded: Mapping[str, str] | None,
    outputs_of: Callable[[Layer], Mapping[str, Any] | None],
) -> list[str]:
    """The reads (``compute.api_function_arn``) whose producer value differs from what
    ``layer`` recorded at its last deploy (or that it never recorded)."""
    stale = []
    for producer, names in REGISTRY[layer].reads.items():
        current = outputs_of(producer) or {}
        for name in names:
            key = read_key(producer, name)
            now = output_fingerprint(current[name.value]) if name.value in current else None
            if now is None or (recorded or {}).get(key) != now:
                stale.append(key)
    return stale


def recorded_reads(state: LayerState | None) -> dict[str, str] | None:
    if state is None:
        return None
    value = state.outputs.get(Output.READ_FINGERPRINTS.value)
    return dict(value) if isinstance(value, Mapping) else None


def decide(
    layer: Layer,
    state: LayerState | None,
    outputs_of: Callable[[Layer], Mapping[str, Any] | None],
    parts: Mapping[str, str] | None,
) -> Decision:
    """Run or skip, and why. ``parts=None``: only the reads count (`--downstream`)."""
    if state is None:
        return Decision(True, "never deployed")
    stale = stale_reads(layer, recorded_reads(state), outputs_of)
    if stale:
        return Decision(True, f"reads {', '.join(stale)}, changed since its last deploy")
    if parts is None:
        return Decision(False, "up to date (what it reads is unchanged)")
    if state.last_result and state.last_result != "succeeded":
        return Decision(True, f"its last update {state.last_result}")
    recorded = parse_message(state.last_message)
    if recorded is None:
        return Decision(True, "its last update was not made by invoke (no fingerprint)")
    changed = [name for name in sorted(parts) if recorded.get(name) != parts[name]]
    if changed:
        return Decision(True, f"{', '.join(changed)} changed since its last deploy")
    when = f" on {state.last_update:%Y-%m-%d %H:%M} UTC" if state.last_update else ""
    return Decision(False, f"unchanged since its last deploy{when}")


def assets_fingerprints(artifacts: Mapping[str, Any]) -> dict[str, str]:
    """what -> sha256 of each built asset (builds are reproducible)."""
    return {what: artifact.sha256 for what, artifact in artifacts.items()}
