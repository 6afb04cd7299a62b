"""Progressive delivery of the API function: canary, promote, roll back.

Every step is a change of the compute stack's config (tracking_stacks/release.py)
applied by the engine, so the stack and the cloud never drift:

1. publish: config ``api_live_version`` = the version live now, ``api_canary_weight``
   = PERCENT; the deploy publishes the new version and the alias routes PERCENT
   of its traffic to it;
2. bake: the API function's alarms (errors, p99, throttles) are read every poll
   interval for the bake time, each poll printed with the alarm states; only an
   alarm that exists and is OK counts as healthy (INSUFFICIENT_DATA cannot judge);
3. promote (every alarm OK at every poll): the release keys removed, ``api_previous_version``
   recorded; the alias follows the newest version, no routing. Or roll back (an
   alarm not OK): the weight removed, the alias stays on the version live before.

A canary stopped midway leaves its state in the config and in the stack's
``api_release`` output. The next canary says so and takes it over (routes and
bakes again, then promotes or rolls back); `invoke rollback` reverts it; a plain
deploy of compute refuses until one of them ran.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tracking_ops.deploy.alarm_watch import (
    ALARM,
    MISSING,
    AlarmStates,
    describe,
    not_ok,
    watched_alarms,
)
from tracking_ops.deploy.release_routing import (
    COMPUTE,
    CanaryError,
    Deployed,
    Releaser,
    RolledBack,
    check_env,
    describe_release,
    release_config_path,
)
from tracking_ops.deploy.review import ReviewRefused
from tracking_stacks import release as rel
from tracking_stacks.release import Release

DURATION = re.compile(r"^(\d+)(s|m|h)?$")
UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}


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


@dataclass
class Canary:
    """`invoke deploy --layer compute --canary PERCENT --bake DURATION`."""

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
                f"{describe_release(configured)}): this run takes it over, routes "
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
                f"step 3/3 roll back: {fired}",
            )
            self.out(
                f"rolled back: {after.routing()}; version {routed.canary} gets no traffic. The "
                f"alias stays on {stable} until the next release; commit {release_config_path(self.env)}"
            )
            raise RolledBack(f"canary of version {routed.canary} rolled back to {stable}: {fired}")
        after = self.releaser.apply(
            Release(previous_version=stable), "step 3/3 promote: every alarm OK for the whole bake"
        )
        self.out(
            f"promoted: {after.routing()} (`invoke rollback --layer compute --env {self.env}` "
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
            self.out(
                f"[compute] canary not started: config restored ({describe_release(previous)})"
            )
            raise
        except BaseException:
            # The engine may have moved the alias before it failed: the config keeps
            # the canary, so plain deploys refuse until it is taken over or reverted.
            self.out(
                f"[compute] the canary's deploy did not complete; the config keeps "
                f"{describe_release(release)}: the next `--canary` takes it over, "
                f"`invoke rollback --layer compute --env {self.env}` reverts it"
            )
            raise
        return self.releaser.deployed()

    def _states_line(self, states: Mapping[str, str], names: Sequence[str]) -> str:
        return ", ".join(f"{name} {states.get(name, MISSING)}" for name in names)

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
        unjudged = not_ok(states, names)
        if unjudged:
            raise CanaryError(
                f"{describe(states, unjudged)} before the canary: not evaluated yet, so it "
                "could not judge the new version; wait one alarm period and run again"
            )
        self.out(f"alarms before: {self._states_line(states, names)}")

    def _bake(self, names: Sequence[str], routed: Deployed) -> str:
        """Poll the alarms for the bake time; why it may not promote ('': every alarm
        existed and was OK at every poll)."""
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
                fired = not_ok(states, names)
                if fired or elapsed >= self.bake_seconds:
                    return describe(states, fired)
                self.sleep(min(self.poll_seconds, max(self.bake_seconds - elapsed, 0)))
        except KeyboardInterrupt:
            self.out(
                f"interrupted while baking: {routed.routing()} stays until "
                f"`invoke rollback --layer compute --env {self.env}` or the next canary"
            )
            raise


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
