"""The release state of the API function's `live` alias and the moves of its traffic:
what is deployed (the `api_release` output), what is configured (the compute stack's
release keys, tracking_stacks/release.py), and the steps that write and apply them
(a canary's routing, a promotion, a rollback by hand). The canary's flow over these
steps is tracking_ops/deploy/canary.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tracking_stacks import release as rel
from tracking_stacks.environments import config_file
from tracking_stacks.naming import is_branch_env
from tracking_stacks.registry import REGISTRY, Layer, Output
from tracking_stacks.release import Release

COMPUTE = Layer.COMPUTE


class CanaryError(Exception):
    """A release step that cannot start or did not complete (one line)."""


class RolledBack(CanaryError):
    """The canary was rolled back: an alarm fired while it baked."""


class ReleaseEngine(Protocol):
    """What releases need from the engine adapter (tracking_ops.deploy.deployer.PulumiDeployer)."""

    def outputs(self, layer: Layer) -> dict[str, Any] | None: ...
    def config(self, layer: Layer, keys: Sequence[str]) -> dict[str, str]: ...
    def set_config(
        self, layer: Layer, values: Mapping[str, str], remove: Sequence[str] = ()
    ) -> None: ...
    def up(self, layer: Layer, plan: str | None = None, message: str = "") -> dict[str, int]: ...


@dataclass(frozen=True)
class Deployed:
    """The compute stack's release as deployed (its `api_release` output)."""

    live: str
    newest: str
    canary: str
    weight: int
    previous: str

    @classmethod
    def of(cls, outputs: Mapping[str, Any] | None) -> Deployed | None:
        found = (outputs or {}).get(Output.API_RELEASE.value)
        if not isinstance(found, Mapping) or not found.get(rel.LIVE):
            return None
        return cls(
            live=str(found[rel.LIVE]),
            newest=str(found.get(rel.NEWEST) or ""),
            canary=str(found.get(rel.CANARY) or ""),
            weight=int(found.get(rel.WEIGHT) or 0),
            previous=str(found.get(rel.PREVIOUS) or ""),
        )

    def routing(self) -> str:
        if self.canary:
            return (
                f"version {self.canary} gets {self.weight}%, "
                f"version {self.live} {100 - self.weight}%"
            )
        return f"version {self.live} gets 100%"


def release_note(outputs: Mapping[str, Any] | None) -> str:
    """For `invoke status`: a canary in progress, or a pinned alias (empty: neither)."""
    deployed = Deployed.of(outputs)
    if deployed is None:
        return ""
    if deployed.canary:
        return f"canary in progress: {deployed.routing()}"
    if deployed.newest and deployed.newest != deployed.live:
        return f"{rel.ALIAS} pinned on version {deployed.live} (newest {deployed.newest} not live)"
    return ""


def refuse_if_in_progress(engine: ReleaseEngine, env: str) -> str:
    """A plain deploy of compute would carry a canary's routing on: refuse and say why.
    Otherwise a note when the alias is pinned (this deploy will not release), or ''."""
    in_config = Release.from_config(engine.config(COMPUTE, rel.RELEASE_KEYS))
    deployed = Deployed.of(engine.outputs(COMPUTE))
    if in_config.canary_weight or (deployed and deployed.canary):
        routing = deployed.routing() if deployed else f"{in_config.canary_weight}% configured"
        raise CanaryError(
            f"{_stack(env)} has a canary in progress ({routing}): "
            f"`invoke deploy --layer compute --env {env} --canary PERCENT` takes it over, "
            f"`invoke rollback --layer compute --env {env}` reverts it"
        )
    pinned = deployed is not None and deployed.newest and deployed.newest != deployed.live
    if pinned and not in_config.live_version:
        raise CanaryError(
            f"{_stack(env)} has {rel.ALIAS} pinned on version {deployed.live} (newest "
            f"{deployed.newest}: a rollback) but {release_config_path(env)} has no "
            f"{rel.LIVE_VERSION_KEY}, so this deploy would release version {deployed.newest}: "
            f"restore {rel.LIVE_VERSION_KEY}: '{deployed.live}' there (and commit it), or "
            f"release with `invoke deploy --layer compute --env {env} --canary PERCENT`"
        )
    if in_config.live_version:
        return (
            f"note: {rel.ALIAS} is pinned on version {in_config.live_version} "
            f"({rel.LIVE_VERSION_KEY} in {release_config_path(env)}): this deploy publishes a new "
            f"version without releasing it; `invoke deploy --layer compute --canary PERCENT` does"
        )
    return ""


def _stack(env: str) -> str:
    return f"{REGISTRY[COMPUTE].project}/{env}"


def check_env(env: str) -> None:
    if is_branch_env(env):
        raise CanaryError(
            f"{env} is a per-branch env: its config is generated from its base env on every "
            "run, so it cannot hold a release; it releases at once (`invoke deploy`)"
        )


@dataclass
class Releaser:
    """The release steps over one env's compute stack."""

    engine: ReleaseEngine
    env: str
    message: Callable[[], str] = lambda: ""  # the update message (fingerprints) at each up
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    # -- state ------------------------------------------------------------------
    def configured(self) -> Release:
        return Release.from_config(self.engine.config(COMPUTE, rel.RELEASE_KEYS))

    def deployed(self) -> Deployed:
        deployed = Deployed.of(self.engine.outputs(COMPUTE))
        if deployed is None:
            raise CanaryError(
                f"{_stack(self.env)} has no `{rel.ALIAS}` alias deployed yet: deploy it once "
                f"(`invoke deploy --layer compute --env {self.env}`, then the api layer with "
                "--downstream); a release needs a live version to compare against"
            )
        return deployed

    def apply(self, release: Release, why: str) -> Deployed:
        """Write ``release`` into the stack's config and apply it."""
        self.configure(release)
        self.out(f"[compute] {why}: applying config {describe_release(release)}")
        self.engine.up(COMPUTE, None, self.message())
        return self.deployed()

    def configure(self, release: Release) -> None:
        values = release.to_config()
        self.engine.set_config(
            COMPUTE, values, remove=[k for k in rel.RELEASE_KEYS if k not in values]
        )

    # -- rollback by hand ---------------------------------------------------------
    def rollback(self, to: str = "") -> Deployed:
        check_env(self.env)
        deployed = self.deployed()
        configured = self.configured()
        if deployed.canary or configured.canary_weight:
            if to and to != deployed.live:
                raise CanaryError(
                    f"a canary is in progress ({deployed.routing()}): `invoke rollback` reverts "
                    f"it to version {deployed.live} first; --to applies after that"
                )
            self.out(f"canary in progress ({deployed.routing()}): reverting it")
            after = self.apply(
                Release(live_version=deployed.live, previous_version=configured.previous_version),
                f"rollback to version {deployed.live}",
            )
            self.out(f"rolled back: {after.routing()} (canary {deployed.canary} gets nothing)")
            return after
        target = to or configured.previous_version or deployed.previous
        if not target:
            raise CanaryError(
                f"no previous version recorded for {_stack(self.env)} (its last release did "
                "not go through `invoke deploy --canary`): pass --to VERSION"
            )
        if not rel.VERSION.match(target):
            raise CanaryError(f"--to takes a published version number, not {target!r}")
        if target == deployed.live:
            self.out(f"{rel.ALIAS} already serves version {target}: nothing to roll back")
            return deployed
        after = self.apply(
            Release(live_version=target), f"rollback from version {deployed.live} to {target}"
        )
        self.out(
            f"rolled back: {after.routing()}; the alias stays pinned there until the next "
            f"`invoke deploy --layer compute --canary PERCENT`"
        )
        self.out(f"commit {release_config_path(self.env)}: it holds the pin")
        return after


def describe_release(release: Release) -> str:
    values = release.to_config()
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "no release keys (follow newest)"


def release_config_path(env: str) -> str:
    return str(config_file(COMPUTE, env).relative_to(config_file(COMPUTE, env).parents[2]))
