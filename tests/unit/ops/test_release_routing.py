"""The release state and its moves word for word (issue 28: the survivors of
release_routing.py's mutation run): what the deployed `api_release` output reads as,
what `invoke status` notes, when a plain compute deploy is refused, and the rollback by
hand against an engine that records its config writes and ups."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tracking_ops.deploy import release_routing as routing
from tracking_ops.deploy.release_routing import COMPUTE, CanaryError, Deployed, Releaser
from tracking_stacks import release as rel
from tracking_stacks.registry import REGISTRY, Output
from tracking_stacks.release import Release, release_output

pytestmark = pytest.mark.unit

ENV = "staging"
STACK = f"{REGISTRY[COMPUTE].project}/{ENV}"
CONFIG_PATH = f"stacks/compute/Pulumi.{ENV}.yaml"
MESSAGE = "tracking-deploy program=ab"


def outputs(**fields) -> dict:
    return {Output.API_RELEASE.value: fields}


@dataclass
class Engine:
    """The compute stack: its release keys, and an up that deploys them over ``newest``."""

    config_values: dict[str, str] = field(default_factory=dict)
    newest: str = "3"
    deployed: dict | None = None
    ups: list[tuple] = field(default_factory=list)
    writes: list[tuple] = field(default_factory=list)

    def outputs(self, layer):
        assert layer is COMPUTE
        return self.deployed

    def config(self, layer, keys):
        assert layer is COMPUTE and tuple(keys) == rel.RELEASE_KEYS
        return {k: v for k, v in self.config_values.items() if k in keys}

    def set_config(self, layer, values, remove=()):
        self.writes.append((layer, dict(values), list(remove)))
        self.config_values.update(values)
        for key in remove:
            self.config_values.pop(key, None)

    def up(self, *args):
        self.ups.append(args)
        release = Release.from_config(self.config_values)
        self.deployed = {Output.API_RELEASE.value: release_output(release, self.newest)}
        return {}


def releaser(engine: Engine) -> tuple[Releaser, list[str]]:
    lines: list[str] = []
    return Releaser(engine, ENV, message=lambda: MESSAGE, out=lines.append), lines


# -- what is deployed -------------------------------------------------------------
def test_a_deployed_release_without_newest_or_weight_reads_empty_and_zero():
    deployed = Deployed.of(outputs(**{rel.LIVE: "3"}))
    assert deployed == Deployed(live="3", newest="", canary="", weight=0, previous="")
    assert deployed.routing() == "version 3 gets 100%"


def test_no_release_output_or_no_live_version_is_nothing_deployed():
    assert Deployed.of(None) is None
    assert Deployed.of(outputs(**{rel.LIVE: ""})) is None
    assert Deployed.of({Output.API_RELEASE.value: "3"}) is None


def test_a_canarys_routing_names_both_shares():
    deployed = Deployed.of(outputs(**{rel.LIVE: "3", rel.CANARY: "4", rel.WEIGHT: 10}))
    assert deployed.routing() == "version 4 gets 10%, version 3 90%"


# -- invoke status's note -----------------------------------------------------------
def test_the_status_note_names_a_pin_only_when_newest_is_not_live():
    pinned = outputs(**{rel.LIVE: "3", rel.NEWEST: "5"})
    assert routing.release_note(pinned) == "live pinned on version 3 (newest 5 not live)"
    assert routing.release_note(outputs(**{rel.LIVE: "5", rel.NEWEST: "5"})) == ""
    assert routing.release_note(outputs(**{rel.LIVE: "5"})) == ""  # newest unknown
    assert routing.release_note(None) == ""


def test_the_status_note_of_a_canary_gives_its_routing():
    canary = outputs(**{rel.LIVE: "3", rel.NEWEST: "4", rel.CANARY: "4", rel.WEIGHT: 25})
    assert routing.release_note(canary) == ("canary in progress: version 4 gets 25%, version 3 75%")


# -- a plain deploy of compute --------------------------------------------------------
def test_a_plain_deploy_with_nothing_released_gets_no_note():
    assert routing.refuse_if_in_progress(Engine(), ENV) == ""
    engine = Engine(deployed=outputs(**{rel.LIVE: "3", rel.NEWEST: "3"}))
    assert routing.refuse_if_in_progress(engine, ENV) == ""


def test_a_deployed_canary_is_refused_with_its_routing():
    engine = Engine(
        config_values={rel.LIVE_VERSION_KEY: "3", rel.CANARY_WEIGHT_KEY: "10"},
        deployed=outputs(**{rel.LIVE: "3", rel.NEWEST: "4", rel.CANARY: "4", rel.WEIGHT: 10}),
    )
    with pytest.raises(CanaryError) as refused:
        routing.refuse_if_in_progress(engine, ENV)
    assert str(refused.value) == (
        f"{STACK} has a canary in progress (version 4 gets 10%, version 3 90%): "
        f"`invoke deploy --layer compute --env {ENV} --canary PERCENT` takes it over, "
        f"`invoke rollback --layer compute --env {ENV}` reverts it"
    )


def test_a_configured_canary_never_deployed_is_refused_with_its_weight():
    engine = Engine(config_values={rel.LIVE_VERSION_KEY: "3", rel.CANARY_WEIGHT_KEY: "10"})
    with pytest.raises(CanaryError, match=r"canary in progress \(10% configured\)"):
        routing.refuse_if_in_progress(engine, ENV)


def test_a_pin_without_its_config_key_is_refused_naming_the_stack_and_file():
    engine = Engine(deployed=outputs(**{rel.LIVE: "3", rel.NEWEST: "5"}))
    with pytest.raises(CanaryError) as refused:
        routing.refuse_if_in_progress(engine, ENV)
    text = str(refused.value)
    assert text.startswith(f"{STACK} has live pinned on version 3 (newest 5: a rollback) but ")
    assert f"but {CONFIG_PATH} has no {rel.LIVE_VERSION_KEY}," in text
    assert f"restore {rel.LIVE_VERSION_KEY}: '3' there" in text


def test_a_pin_in_config_is_noted_with_its_file():
    engine = Engine(
        config_values={rel.LIVE_VERSION_KEY: "3"},
        deployed=outputs(**{rel.LIVE: "3", rel.NEWEST: "5"}),
    )
    note = routing.refuse_if_in_progress(engine, ENV)
    assert note.startswith(
        f"note: live is pinned on version 3 ({rel.LIVE_VERSION_KEY} in {CONFIG_PATH}): "
    )


def test_a_branch_env_cannot_hold_a_release():
    with pytest.raises(CanaryError) as refused:
        routing.check_env("pr-42")
    assert str(refused.value) == (
        "pr-42 is a per-branch env: its config is generated from its base env on every "
        "run, so it cannot hold a release; it releases at once (`invoke deploy`)"
    )
    routing.check_env(ENV)  # a fixed env can


# -- the steps ------------------------------------------------------------------------
def test_a_release_needs_a_deployed_alias():
    releasing, _ = releaser(Engine())
    with pytest.raises(CanaryError) as refused:
        releasing.deployed()
    assert str(refused.value) == (
        f"{STACK} has no `live` alias deployed yet: deploy it once "
        f"(`invoke deploy --layer compute --env {ENV}`, then the api layer with "
        "--downstream); a release needs a live version to compare against"
    )


def test_apply_writes_the_release_and_ups_compute_with_the_message():
    engine = Engine(config_values={rel.CANARY_WEIGHT_KEY: "10", rel.LIVE_VERSION_KEY: "2"})
    releasing, lines = releaser(engine)
    after = releasing.apply(Release(live_version="3", previous_version="2"), "why")
    assert engine.writes == [
        (
            COMPUTE,
            {rel.LIVE_VERSION_KEY: "3", rel.PREVIOUS_VERSION_KEY: "2"},
            [rel.CANARY_WEIGHT_KEY],
        )
    ]
    assert engine.ups == [(COMPUTE, None, MESSAGE)]
    assert lines == [
        f"[compute] why: applying config {rel.LIVE_VERSION_KEY}=3, {rel.PREVIOUS_VERSION_KEY}=2"
    ]
    assert after == Deployed("3", "3", "", 0, "2")


def test_a_release_without_keys_is_described_as_following_newest():
    assert routing.describe_release(Release()) == "no release keys (follow newest)"
    assert routing.describe_release(Release("3")) == f"{rel.LIVE_VERSION_KEY}=3"


# -- rollback by hand -------------------------------------------------------------------
def canary_engine(previous: str = "2") -> Engine:
    """Version 3 live, 4 the canary at 10%, ``previous`` recorded in config."""
    config = {rel.LIVE_VERSION_KEY: "3", rel.CANARY_WEIGHT_KEY: "10"}
    if previous:
        config[rel.PREVIOUS_VERSION_KEY] = previous
    engine = Engine(config_values=config, newest="4")
    engine.up()  # deployed as configured
    engine.ups.clear()
    return engine


def test_a_rollback_during_a_canary_reverts_it_keeping_the_previous_version():
    engine = canary_engine()
    releasing, lines = releaser(engine)
    after = releasing.rollback()
    assert engine.writes[-1][1] == {rel.LIVE_VERSION_KEY: "3", rel.PREVIOUS_VERSION_KEY: "2"}
    assert after == Deployed("3", "4", "", 0, "2")
    assert lines == [
        "canary in progress (version 4 gets 10%, version 3 90%): reverting it",
        f"[compute] rollback to version 3: applying config {rel.LIVE_VERSION_KEY}=3, "
        f"{rel.PREVIOUS_VERSION_KEY}=2",
        "rolled back: version 3 gets 100% (canary 4 gets nothing)",
    ]


def test_a_rollback_during_a_canary_takes_to_only_as_the_live_version():
    releasing, _ = releaser(canary_engine())
    with pytest.raises(CanaryError) as refused:
        releasing.rollback(to="2")
    assert str(refused.value) == (
        "a canary is in progress (version 4 gets 10%, version 3 90%): `invoke rollback` "
        "reverts it to version 3 first; --to applies after that"
    )
    assert releasing.rollback(to="3").live == "3"  # --to the live version: the revert


def released_engine(config: dict[str, str], previous_output: str = "") -> Engine:
    """Version 3 live and newest; ``previous_output`` the deployed record."""
    fields = {rel.LIVE: "3", rel.NEWEST: "3", rel.PREVIOUS: previous_output}
    return Engine(config_values=dict(config), newest="3", deployed=outputs(**fields))


def test_a_rollback_goes_to_the_configured_previous_version_and_says_to_commit_the_pin():
    engine = released_engine({rel.PREVIOUS_VERSION_KEY: "2"})
    releasing, lines = releaser(engine)
    after = releasing.rollback()
    assert engine.writes == [
        (COMPUTE, {rel.LIVE_VERSION_KEY: "2"}, [rel.CANARY_WEIGHT_KEY, rel.PREVIOUS_VERSION_KEY])
    ]
    assert after.live == "2"
    assert lines == [
        f"[compute] rollback from version 3 to 2: applying config {rel.LIVE_VERSION_KEY}=2",
        "rolled back: version 2 gets 100%; the alias stays pinned there until the next "
        "`invoke deploy --layer compute --canary PERCENT`",
        f"commit {CONFIG_PATH}: it holds the pin",
    ]


def test_a_rollback_without_a_configured_previous_uses_the_deployed_one():
    engine = released_engine({}, previous_output="1")
    releasing, _ = releaser(engine)
    assert releasing.rollback().live == "1"


def test_a_rollback_with_no_previous_version_anywhere_asks_for_to():
    releasing, _ = releaser(released_engine({}))
    with pytest.raises(CanaryError) as refused:
        releasing.rollback()
    assert str(refused.value) == (
        f"no previous version recorded for {STACK} (its last release did "
        "not go through `invoke deploy --canary`): pass --to VERSION"
    )


def test_a_rollback_to_the_live_version_changes_nothing():
    engine = released_engine({rel.PREVIOUS_VERSION_KEY: "2"})
    releasing, lines = releaser(engine)
    assert releasing.rollback(to="3").live == "3"
    assert engine.writes == [] and engine.ups == []
    assert lines == ["live already serves version 3: nothing to roll back"]


def test_a_rollback_to_something_not_a_version_is_refused():
    releasing, _ = releaser(released_engine({}))
    with pytest.raises(
        CanaryError, match=r"^--to takes a published version number, not '\$LATEST'$"
    ):
        releasing.rollback(to="$LATEST")
