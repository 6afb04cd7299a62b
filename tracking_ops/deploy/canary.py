"""Progressive delivery of the API function: canary, promote, roll back.

Every step is a change of the compute stack's config (tracking_stacks/release.py)
applied by the engine, so the stack and the cloud never drift:

1. publish: config ``api_live_version`` = the version live now, ``api_canary_weight``
   = PERCENT; the deploy publishes the new version and the alias routes PERCENT
   of its traffic to it;
2. bake: the API function's alarms (errors, p99, throttles) are read every poll
   interval for the bake time, each poll printed with the alarm states;
3. promote (no alarm fired): the release keys removed, ``api_previous_version``
   recorded; the alias follows the newest version, no routing. Or roll back (an
   alarm fired): the weight removed, the alias stays on the version live before.

A canary stopped midway leaves its state in the config and in the stack's
``api_release`` output. The next canary says so and takes it over (routes and
bakes again, then promotes or rolls back); `invoke rollback` reverts it; a plain
deploy of compute refuses until one of them ran.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tracking_ops.deploy.review import ReviewRefused
from tracking_stacks import release as rel
from tracking_stacks.definitions import CANARY_ALARMS, alarm_name
from tracking_stacks.environments import config_file
from tracking_stacks.naming import is_branch_env
from tracking_stacks.registry import REGISTRY, Layer, Output
from tracking_stacks.release import Release

COMPUTE = Layer.COMPUTE
ALARM = "ALARM"
DURATION = re.compile(r"^(\d+)(s|m|h)?$")
UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}


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


class AlarmStates(Protocol):
    def __call__(self, names: Sequence[str]) -> dict[str, str]:
        """Each named alarm that exists: its state (OK, ALARM, INSUFFICIENT_DATA)."""
        ...


def cloudwatch_alarm_states(client: Any) -> AlarmStates:
    """Alarm states from CloudWatch (``client``: boto3's cloudwatch client)."""

    def states(names: Sequence[str]) -> dict[str, str]:
        found = client.describe_alarms(AlarmNames=list(names), AlarmTypes=["MetricAlarm"])
        return {alarm["AlarmName"]: alarm["StateValue"] for alarm in found["MetricAlarms"]}

    return states


def parse_duration(text: str) -> int:
    """Seconds from ``90``, ``90s``, ``10m`` or ``1h``."""
    match = DURATION.match(text.strip())
    if not match:
        raise CanaryError(f"duration {text!r}: expected seconds, or a number with s, m or h")
    return int(match.group(1)) * UNITS[match.group(2)]


def check_percent(percent: int) -> int:
    if not 0 < percent < 100:
        raise CanaryError(f"--canary takes a whole percent from 1 to 99, not {percent}")
    return percent


def watched_alarms(env: str) -> list[str]:
    return [alarm_name(key, env) for key in CANARY_ALARMS]


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
            f"`invoke deploy --stack compute --env {env} --canary PERCENT` takes it over, "
            f"`invoke rollback --stack compute --env {env}` reverts it"
        )
    pinned = deployed is not None and deployed.newest and deployed.newest != deployed.live
    if pinned and not in_config.live_version:
        raise CanaryError(
            f"{_stack(env)} has {rel.ALIAS} pinned on version {deployed.live} (newest "
            f"{deployed.newest}: a rollback) but {_config_path(env)} has no "
            f"{rel.LIVE_VERSION_KEY}, so this deploy would release version {deployed.newest}: "
            f"restore {rel.LIVE_VERSION_KEY}: '{deployed.live}' there (and commit it), or "
            f"release with `invoke deploy --stack compute --env {env} --canary PERCENT`"
        )
    if in_config.live_version:
        return (
            f"note: {rel.ALIAS} is pinned on version {in_config.live_version} "
            f"({rel.LIVE_VERSION_KEY} in {_config_path(env)}): this deploy publishes a new "
            f"version without releasing it; `invoke deploy --stack compute --canary PERCENT` does"
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
                f"(`invoke deploy --stack compute --env {self.env}`, then the api layer with "
                "--downstream); a release needs a live version to compare against"
            )
        return deployed

    def apply(self, release: Release, why: str) -> Deployed:
        """Write ``release`` into the stack's config and apply it."""
        self.configure(release)
        self.out(f"[compute] {why}: applying config {_describe(release)}")
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
            f"`invoke deploy --stack compute --canary PERCENT`"
        )
        self.out(f"commit {_config_path(self.env)}: it holds the pin")
        return after


def _describe(release: Release) -> str:
    values = release.to_config()
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "no release keys (follow newest)"


def _config_path(env: str) -> str:
    return str(config_file(COMPUTE, env).relative_to(config_file(COMPUTE, env).parents[2]))


@dataclass
class Canary:
    """`invoke deploy --stack compute --canary PERCENT --bake DURATION`."""

    releaser: Releaser
    alarm_states: AlarmStates
    percent: int
    bake_seconds: int
    poll_seconds: int = 30
    publish: Callable[[], None] | None = None  # the reviewed deploy of step 1 (default: up)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # While baking: the alarm states judged on the new version's own metrics
    # (tracking_ops/deploy/version_alarms.py); None: the alarms' own states.
    version_states: Callable[[str], AlarmStates] | None = None

    @property
    def out(self) -> Callable[[str], None]:
        return self.releaser.out

    @property
    def env(self) -> str:
        return self.releaser.env

    def run(self) -> Deployed:
        check_env(self.env)
        check_percent(self.percent)
        if self.bake_seconds < 0 or self.poll_seconds <= 0:
            raise CanaryError("--bake must be 0 or more and --poll above 0 seconds")
        names = watched_alarms(self.env)
        before = self.releaser.deployed()
        configured = self.releaser.configured()
        if before.canary or configured.canary_weight:
            self.out(
                f"a canary was interrupted ({before.routing()}; config "
                f"{_describe(configured)}): this run takes it over, routes "
                f"{self.percent}% to the newest version and bakes again"
            )
        self._check_alarms_before(names)
        stable = before.live
        self.out(
            f"step 1/3 publish: {rel.ALIAS} stays on version {stable}, "
            f"{self.percent}% to the new version"
        )
        routed = self._publish(Release(stable, self.percent, configured.previous_version))
        if not routed.canary:
            self.out(
                f"no new version: the function's code and settings are those of version "
                f"{stable}; nothing to release"
            )
            return self.releaser.apply(
                Release(configured.live_version, 0, configured.previous_version), "no canary"
            )
        self.out(f"routing: {routed.routing()}")
        fired = self._bake(names, routed)
        if fired:
            after = self.releaser.apply(
                Release(live_version=stable, previous_version=configured.previous_version),
                f"step 3/3 roll back: {', '.join(fired)} in ALARM",
            )
            self.out(
                f"rolled back: {after.routing()}; version {routed.canary} gets no traffic. The "
                f"alias stays on {stable} until the next release; commit {_config_path(self.env)}"
            )
            raise RolledBack(
                f"canary of version {routed.canary} rolled back to {stable}: "
                f"{', '.join(fired)} in ALARM"
            )
        after = self.releaser.apply(
            Release(previous_version=stable), "step 3/3 promote: no alarm fired"
        )
        self.out(
            f"promoted: {after.routing()} (`invoke rollback --stack compute --env {self.env}` "
            f"returns to version {stable})"
        )
        return after

    def _publish(self, release: Release) -> Deployed:
        previous = self.releaser.configured()
        self.releaser.configure(release)
        try:
            if self.publish is None:
                self.releaser.engine.up(COMPUTE, None, self.releaser.message())
            else:
                self.publish()
        except ReviewRefused:
            # Refused at the review: nothing applied, so the config goes back to what
            # is deployed.
            self.releaser.configure(previous)
            self.out(f"[compute] canary not started: config restored ({_describe(previous)})")
            raise
        except BaseException:
            # The engine may have moved the alias before it failed: the config keeps
            # the canary, so plain deploys refuse until it is taken over or reverted.
            self.out(
                f"[compute] the canary's deploy did not complete; the config keeps "
                f"{_describe(release)}: the next `--canary` takes it over, "
                f"`invoke rollback --stack compute --env {self.env}` reverts it"
            )
            raise
        return self.releaser.deployed()

    def _states_line(self, states: Mapping[str, str], names: Sequence[str]) -> str:
        return ", ".join(f"{name} {states.get(name, 'MISSING')}" for name in names)

    def _check_alarms_before(self, names: Sequence[str]) -> None:
        states = self.alarm_states(names)
        missing = [name for name in names if name not in states]
        if missing:
            raise CanaryError(
                f"alarm {', '.join(missing)} not found: deploy the monitoring layer of "
                f"{self.env} first (a canary is judged by its alarms)"
            )
        firing = [name for name in names if states[name] == ALARM]
        if firing:
            raise CanaryError(
                f"{', '.join(firing)} already in ALARM before the canary: the new version "
                "could not be judged; resolve it first"
            )
        self.out(f"alarms before: {self._states_line(states, names)}")

    def _bake(self, names: Sequence[str], routed: Deployed) -> list[str]:
        """Poll the alarms for the bake time; the alarms that fired (empty: none)."""
        self.out(
            f"step 2/3 bake {_clock(self.bake_seconds)}: watching {len(names)} alarms every "
            f"{self.poll_seconds}s"
        )
        start = self.clock()
        read = self.version_states(routed.canary) if self.version_states else self.alarm_states
        try:
            while True:
                elapsed = self.clock() - start
                states = read(names)
                self.out(
                    f"  [{_clock(elapsed)} of {_clock(self.bake_seconds)}] "
                    f"{self._states_line(states, names)}"
                )
                fired = [n for n in names if states.get(n) == ALARM or n not in states]
                if fired or elapsed >= self.bake_seconds:
                    return fired
                self.sleep(min(self.poll_seconds, max(self.bake_seconds - elapsed, 0)))
        except KeyboardInterrupt:
            self.out(
                f"interrupted while baking: {routed.routing()} stays until "
                f"`invoke rollback --stack compute --env {self.env}` or the next canary"
            )
            raise


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
