"""Which published version of the API function serves traffic: the release state.

The compute stack publishes a version of each function on every code or
settings change and keeps an alias, ``live``, in front of it. Three keys of the
compute stack's config say where the alias points (`invoke deploy --canary`
and `invoke rollback` set them through the engine, so stack and cloud never
drift); this module turns them into the alias's version and routing. The
program and the tests' fake engine both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALIAS = "live"
# Compute stack config keys (documented in stacks/compute/Pulumi.yaml).
LIVE_VERSION_KEY = "api_live_version"
CANARY_WEIGHT_KEY = "api_canary_weight"
PREVIOUS_VERSION_KEY = "api_previous_version"
RELEASE_KEYS = (LIVE_VERSION_KEY, CANARY_WEIGHT_KEY, PREVIOUS_VERSION_KEY)
VERSION = re.compile(r"^[1-9][0-9]*$")  # a published version ($LATEST is not one)

# Fields of the compute stack's `api_release` output.
LIVE = "live_version"
NEWEST = "newest_version"
CANARY = "canary_version"
WEIGHT = "canary_weight"
PREVIOUS = "previous_version"


class ReleaseError(ValueError):
    """Release settings that cannot be applied (one line)."""


@dataclass(frozen=True)
class Release:
    """The release keys of the compute stack's config.

    ``live_version`` empty: the alias follows the newest published version (every
    deploy releases at once). Set: the alias stays on it (a canary, or a rollback),
    and ``canary_weight`` percent of its traffic goes to the newest version.
    ``previous_version``: what `invoke rollback` returns to (recorded at promotion).
    """

    live_version: str = ""
    canary_weight: int = 0  # whole percent
    previous_version: str = ""

    def __post_init__(self) -> None:
        for key, value in (
            (LIVE_VERSION_KEY, self.live_version),
            (PREVIOUS_VERSION_KEY, self.previous_version),
        ):
            if value and not VERSION.match(value):
                raise ReleaseError(f"{key} must be a published version number, not {value!r}")
        if isinstance(self.canary_weight, bool) or not isinstance(self.canary_weight, int):
            raise ReleaseError(
                f"{CANARY_WEIGHT_KEY} must be a whole percent, not {self.canary_weight!r}"
            )
        if not 0 <= self.canary_weight < 100:
            raise ReleaseError(f"{CANARY_WEIGHT_KEY} must be in [0, 100), not {self.canary_weight}")
        if self.canary_weight and not self.live_version:
            raise ReleaseError(
                f"{CANARY_WEIGHT_KEY} needs {LIVE_VERSION_KEY} (the version it shares traffic with)"
            )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Release:
        """From config values (strings as the engine stores them, or typed values)."""
        weight = config.get(CANARY_WEIGHT_KEY) or 0
        try:
            weight = int(weight)
        except ValueError:
            raise ReleaseError(
                f"{CANARY_WEIGHT_KEY} must be a whole percent, not {weight!r}"
            ) from None
        return cls(
            live_version=str(config.get(LIVE_VERSION_KEY) or ""),
            canary_weight=weight,
            previous_version=str(config.get(PREVIOUS_VERSION_KEY) or ""),
        )

    def to_config(self) -> dict[str, str]:
        """The keys to set (the others are removed): config values are strings."""
        values = {
            LIVE_VERSION_KEY: self.live_version,
            CANARY_WEIGHT_KEY: str(self.canary_weight) if self.canary_weight else "",
            PREVIOUS_VERSION_KEY: self.previous_version,
        }
        return {key: value for key, value in values.items() if value}


def alias_target(release: Release, newest: str) -> tuple[str, dict[str, float]]:
    """(the alias's version, its routing {version: share of traffic in 0..1}).

    An alias can point at two versions at most; routing to the version it is on
    is an error, so with nothing newer published there is no routing.
    """
    if not release.live_version:
        return newest, {}
    if release.canary_weight and newest != release.live_version:
        return release.live_version, {newest: release.canary_weight / 100}
    return release.live_version, {}


def release_output(release: Release, newest: str) -> dict[str, Any]:
    """The compute stack's `api_release` output: what the alias serves, as deployed."""
    live, routing = alias_target(release, newest)
    canary, share = next(iter(routing.items()), ("", 0.0))
    return {
        "alias": ALIAS,
        LIVE: live,
        NEWEST: newest,
        CANARY: canary,
        WEIGHT: round(share * 100),
        PREVIOUS: release.previous_version,
    }
