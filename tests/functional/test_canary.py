"""Canary releases of the API function with a fake engine and the alarms in the moto
stand-in (their states set here): promote, roll back on an alarm, roll back by hand,
and a canary interrupted midway."""

from __future__ import annotations

import io
import sys

import pytest
from invoke import Context, Exit

from tests.unit.ops.fake_engine import FakeEngine
from tracking_ops.deploy import engine_runs, release_routing, release_runs, status
from tracking_ops.deploy.alarm_watch import cloudwatch_alarm_states, watched_alarms
from tracking_ops.deploy.canary import Canary
from tracking_ops.deploy.release_routing import (
    CanaryError,
    Releaser,
    RolledBack,
    refuse_if_in_progress,
)
from tracking_ops.deploy.review import ReviewRefused
from tracking_ops.local import standin
from tracking_ops.tasks import deploy as deploy_tasks
from tracking_ops.tasks import release as release_tasks
from tracking_stacks import release as rel
from tracking_stacks.definitions import alarm_name
from tracking_stacks.registry import Layer, Output
from tracking_stacks.release import Release, release_output

COMPUTE = Layer.COMPUTE
ENV = "dev"
PARTS = {"program": "a1", "config": "c1"}


class ReleaseEngine(FakeEngine):
    """The fake engine, whose compute `up` does what the compute program does: publish a
    version when the code changed, and export the alias's release from its config
    (through tracking_stacks/release.py, as stacks/compute/__main__.py does)."""

    def __init__(self) -> None:
        super().__init__(ENV)
        self.newest = 0
        self.code_changed = True  # the first deploy publishes version 1

    def up(self, layer: Layer, plan: str | None = None, message: str = "") -> dict[str, int]:
        if layer is COMPUTE and self.code_changed:
            self.newest += 1
            self.code_changed = False
        return super().up(layer, plan, message)

    def program_outputs(self, layer: Layer) -> dict:
        outputs = super().program_outputs(layer)
        if layer is COMPUTE:
            release = Release.from_config(self.configs.get(COMPUTE, {}))
            outputs[Output.API_RELEASE.value] = release_output(release, str(self.newest))
        return outputs

    def release(self) -> dict:
        return self.stacks[COMPUTE].outputs[Output.API_RELEASE.value]

    def compute_ups(self) -> int:
        return sum(1 for layer in self.ups() if layer is COMPUTE)


@pytest.fixture
def cloudwatch(moto_endpoint):
    """The stand-in's CloudWatch with the three alarms a canary watches, all OK."""
    standin.reset(moto_endpoint)
    client = standin.StandIn(moto_endpoint, ENV).client("cloudwatch")
    for name in watched_alarms(ENV):
        client.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": "tracking-api-dev"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
        )
        set_state(client, name, "OK")
    return client


def set_state(client, name: str, state: str) -> None:
    client.set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by the test")


@pytest.fixture
def engine() -> ReleaseEngine:
    fake = ReleaseEngine()
    fake.deploy_everything(lambda layer: PARTS)  # version 1 live
    return fake


class Clock:
    """Time that passes only when the canary sleeps; ``on_sleep`` runs at each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.on_sleep = lambda now: None

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.on_sleep(self.now)


def make_canary(engine, cloudwatch, lines, clock, percent=10, bake=60, publish=None) -> Canary:
    return Canary(
        Releaser(engine, ENV, out=lines.append),
        cloudwatch_alarm_states(cloudwatch),
        percent,
        bake,
        poll_seconds=20,
        publish=publish,
        sleep=clock.sleep,
        clock=lambda: clock.now,
    )


def test_alarms_ok_promote_the_new_version(engine, cloudwatch):
    engine.code_changed = True  # a new build: the deploy publishes version 2
    lines: list[str] = []
    clock = Clock()
    routed: list[dict] = []
    clock.on_sleep = lambda now: routed.append(engine.release())

    after = make_canary(engine, cloudwatch, lines, clock).run()

    # while baking, the alias stayed on 1 and sent 10% to 2
    assert routed and all(r[rel.LIVE] == "1" and r[rel.CANARY] == "2" for r in routed)
    assert routed[0][rel.WEIGHT] == 10
    # promoted: the alias on 2, no routing, 1 recorded for a rollback
    assert (after.live, after.canary, after.previous) == ("2", "", "1")
    assert engine.configs[COMPUTE] == {rel.PREVIOUS_VERSION_KEY: "1"}
    assert engine.compute_ups() == 2  # publish-and-route, promote
    text = "\n".join(lines)
    assert "routing: version 2 gets 10%, version 1 90%" in text
    assert "[1:00 of 1:00] tracking-api-errors-dev OK" in text  # each poll with the states
    assert sum("tracking-api-throttles-dev OK" in line for line in lines) == 5  # 4 polls + before
    assert "promoted: version 2 gets 100%" in text


def test_an_alarm_while_baking_rolls_back(engine, cloudwatch):
    engine.code_changed = True
    lines: list[str] = []
    clock = Clock()
    # the new version's errors trip the alarm 40 s into the bake
    clock.on_sleep = lambda now: (
        now >= 40 and set_state(cloudwatch, alarm_name("api-errors", ENV), "ALARM")
    )

    with pytest.raises(RolledBack, match="api-errors-dev in ALARM"):
        make_canary(engine, cloudwatch, lines, clock, bake=600).run()

    release = engine.release()
    assert (release[rel.LIVE], release[rel.CANARY], release[rel.NEWEST]) == ("1", "", "2")
    # the alias stays pinned on 1 (config), the weight is gone
    assert engine.configs[COMPUTE] == {rel.LIVE_VERSION_KEY: "1"}
    assert clock.now < 600  # it did not wait for the end of the bake
    assert any("tracking-api-errors-dev ALARM" in line for line in lines)
    assert any(line.startswith("rolled back: version 1 gets 100%") for line in lines)


def test_a_firing_alarm_before_the_canary_stops_it_before_any_deploy(engine, cloudwatch):
    engine.code_changed = True
    set_state(cloudwatch, alarm_name("api-throttles", ENV), "ALARM")
    with pytest.raises(CanaryError, match="api-throttles-dev already in ALARM"):
        make_canary(engine, cloudwatch, [], Clock()).run()
    assert engine.compute_ups() == 0 and engine.configs.get(COMPUTE, {}) == {}


def test_missing_alarms_stop_it_before_any_deploy(engine, cloudwatch):
    cloudwatch.delete_alarms(AlarmNames=[alarm_name("api-duration-p99", ENV)])
    with pytest.raises(CanaryError, match="api-duration-p99-dev not found: deploy the monitoring"):
        make_canary(engine, cloudwatch, [], Clock()).run()
    assert engine.compute_ups() == 0


def test_nothing_new_published_means_nothing_to_release(engine, cloudwatch):
    lines: list[str] = []
    after = make_canary(engine, cloudwatch, lines, Clock()).run()
    assert (after.live, after.canary) == ("1", "")
    assert engine.configs[COMPUTE] == {}  # the config is back to what it was
    assert any("nothing to release" in line for line in lines)


def test_a_refused_review_leaves_the_config_as_it_was(engine, cloudwatch):
    engine.code_changed = True

    def refuse() -> None:
        raise ReviewRefused("Not applied.")

    lines: list[str] = []
    with pytest.raises(ReviewRefused):
        make_canary(engine, cloudwatch, lines, Clock(), publish=refuse).run()
    assert engine.configs[COMPUTE] == {} and engine.compute_ups() == 0
    assert any("canary not started: config restored" in line for line in lines)


def test_an_engine_failure_while_publishing_keeps_the_canary_config(engine, cloudwatch):
    """The engine may have moved the alias before it failed: the config must not deny it."""
    engine.code_changed = True
    engine.failing.add(COMPUTE)
    lines: list[str] = []
    with pytest.raises(RuntimeError):
        make_canary(engine, cloudwatch, lines, Clock()).run()
    assert engine.configs[COMPUTE] == {rel.LIVE_VERSION_KEY: "1", rel.CANARY_WEIGHT_KEY: "10"}
    assert "the next `--canary` takes it over" in lines[-1]
    with pytest.raises(CanaryError, match="canary in progress"):
        refuse_if_in_progress(engine, ENV)
    engine.failing.clear()
    after = Releaser(engine, ENV, out=lines.append).rollback()
    assert (after.live, after.canary) == ("1", "")


# --- rollback by hand ----------------------------------------------------------------


def test_rollback_after_a_promotion_returns_to_the_previous_version(engine, cloudwatch):
    engine.code_changed = True
    make_canary(engine, cloudwatch, [], Clock()).run()
    lines: list[str] = []

    after = Releaser(engine, ENV, out=lines.append).rollback()

    assert (after.live, after.canary, after.newest) == ("1", "", "2")
    assert engine.configs[COMPUTE] == {rel.LIVE_VERSION_KEY: "1"}  # pinned, previous consumed
    assert "commit stacks/compute/Pulumi.dev.yaml: it holds the pin" in lines
    # a second rollback has nowhere recorded to go
    with pytest.raises(CanaryError, match="pass --to VERSION"):
        Releaser(engine, ENV, out=lines.append).rollback()
    assert Releaser(engine, ENV, out=lines.append).rollback(to="2").live == "2"


def test_a_pin_lost_from_the_config_stops_a_plain_deploy(engine, cloudwatch):
    """Rolled back in a checkout that is gone (CI): a plain deploy would re-release the
    version rolled back from, so it refuses until the pin is restored."""
    engine.code_changed = True
    make_canary(engine, cloudwatch, [], Clock()).run()
    Releaser(engine, ENV, out=[].append).rollback()
    refuse_if_in_progress(engine, ENV)  # the pin is in the config: fine
    engine.configs[COMPUTE] = {}
    with pytest.raises(CanaryError, match="pinned on version 1 .* would release version 2"):
        refuse_if_in_progress(engine, ENV)


def test_rollback_without_a_recorded_release_needs_a_version(engine):
    with pytest.raises(CanaryError, match="no previous version recorded"):
        Releaser(engine, ENV, out=[].append).rollback()
    with pytest.raises(CanaryError, match="published version number"):
        Releaser(engine, ENV, out=[].append).rollback(to="$LATEST")


# --- a canary interrupted midway ----------------------------------------------------


def interrupt_while_baking(engine, cloudwatch) -> list[str]:
    """A canary of version 2 stopped (Ctrl-C) during its bake: routing is left set."""
    engine.code_changed = True
    clock = Clock()

    def stop(now: float) -> None:
        raise KeyboardInterrupt

    clock.on_sleep = stop
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        make_canary(engine, cloudwatch, lines, clock).run()
    return lines


def test_an_interrupted_canary_says_what_it_left(engine, cloudwatch):
    lines = interrupt_while_baking(engine, cloudwatch)
    assert engine.release()[rel.CANARY] == "2"
    assert lines[-1] == (
        "interrupted while baking: version 2 gets 10%, version 1 90% stays until "
        "`invoke rollback --layer compute --env dev` or the next canary"
    )
    # status and a plain deploy say so
    assert release_routing.release_note(engine.outputs(COMPUTE)) == (
        "canary in progress: version 2 gets 10%, version 1 90%"
    )
    with pytest.raises(CanaryError, match="has a canary in progress .* takes it over"):
        refuse_if_in_progress(engine, ENV)


def test_the_next_canary_takes_an_interrupted_one_over_and_finishes_it(engine, cloudwatch):
    interrupt_while_baking(engine, cloudwatch)
    lines: list[str] = []

    after = make_canary(engine, cloudwatch, lines, Clock(), percent=25).run()

    assert lines[0].startswith("a canary was interrupted (version 2 gets 10%, version 1 90%")
    assert "routing: version 2 gets 25%, version 1 75%" in lines
    assert (after.live, after.canary, after.previous) == ("2", "", "1")


def test_rollback_by_hand_reverts_an_interrupted_canary(engine, cloudwatch):
    interrupt_while_baking(engine, cloudwatch)
    lines: list[str] = []
    after = Releaser(engine, ENV, out=lines.append).rollback()
    assert (after.live, after.canary) == ("1", "")
    assert engine.configs[COMPUTE] == {rel.LIVE_VERSION_KEY: "1"}
    refuse_if_in_progress(engine, ENV)  # a plain deploy may run again


def test_a_canary_whose_config_was_lost_is_still_seen_and_taken_over(engine, cloudwatch):
    """Killed after its deploy, in a checkout that is gone (CI): only the stack knows."""
    interrupt_while_baking(engine, cloudwatch)
    engine.configs[COMPUTE] = {}
    with pytest.raises(CanaryError, match="canary in progress"):
        refuse_if_in_progress(engine, ENV)
    lines: list[str] = []
    after = make_canary(engine, cloudwatch, lines, Clock()).run()
    assert lines[0].startswith("a canary was interrupted")
    assert (after.live, after.previous) == ("2", "1")


# --- through the tasks --------------------------------------------------------------


@pytest.fixture
def tasks_on_fakes(monkeypatch, engine, cloudwatch) -> ReleaseEngine:
    monkeypatch.setattr(engine_runs, "open_deployer", lambda env, verbose, **_: engine)
    monkeypatch.setattr(engine_runs, "build_assets", lambda layers: {})
    monkeypatch.setattr(engine_runs, "source_parts", lambda layer, env, base, assets: PARTS)
    monkeypatch.setattr(release_runs, "source_parts", lambda layer, env, base, assets: PARTS)
    monkeypatch.setattr(status, "source_parts", lambda layer, env, base: PARTS)
    monkeypatch.setattr(release_runs, "alarm_client", lambda env: cloudwatch)
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # no terminal
    return engine


def test_deploy_canary_task_reviews_then_promotes(tasks_on_fakes, capsys):
    engine = tasks_on_fakes
    engine.code_changed = True
    deploy_tasks.deploy(Context(), stack="compute", canary=10, bake="0s", yes=True)
    out = capsys.readouterr().out
    assert "compute: deploy (canary 10%)" in out  # the review of step 1
    assert out.index("Review of dev") < out.index("routing: version 2 gets 10%")
    assert "promoted: version 2 gets 100%" in out
    assert engine.release()[rel.LIVE] == "2"


def test_deploy_canary_task_without_yes_and_without_a_terminal_restores_the_config(
    tasks_on_fakes,
):
    engine = tasks_on_fakes
    engine.code_changed = True
    with pytest.raises(Exit, match="error: .*--yes"):
        deploy_tasks.deploy(Context(), stack="compute", canary=10, bake="0s")
    assert engine.configs[COMPUTE] == {} and engine.compute_ups() == 0


def test_a_plain_deploy_of_compute_refuses_during_a_canary(tasks_on_fakes, cloudwatch, capsys):
    engine = tasks_on_fakes
    interrupt_while_baking(engine, cloudwatch)
    with pytest.raises(Exit, match="error: tracking-compute/dev has a canary in progress"):
        deploy_tasks.deploy(Context(), stack="compute", yes=True)
    with pytest.raises(Exit, match="canary in progress"):
        deploy_tasks.deploy_all(Context(), yes=True)
    deploy_tasks.status(Context())
    assert "canary in progress: version 2 gets 10%, version 1 90%" in capsys.readouterr().out
    release_tasks.rollback(Context(), stack="compute")
    capsys.readouterr()
    engine.code_changed = True
    deploy_tasks.deploy(Context(), stack="compute", yes=True)  # allowed again
    assert "note: live is pinned on version 1 (api_live_version in " in capsys.readouterr().out
    assert (engine.release()[rel.LIVE], engine.release()[rel.NEWEST]) == ("1", "3")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"stack": "api", "canary": 10}, "only with --layer compute"),
        ({"stack": "compute", "canary": 100}, "whole percent from 1 to 99"),
        ({"stack": "compute", "canary": 10, "bake": "ten"}, "duration 'ten'"),
        ({"stack": "compute", "canary": 10, "env": "pr-4"}, "per-branch env"),
    ],
)
def test_deploy_canary_bad_input_is_one_line(tasks_on_fakes, args, message):
    with pytest.raises(Exit, match=message):
        deploy_tasks.deploy(Context(), yes=True, **args)
    assert tasks_on_fakes.compute_ups() == 0


def test_rollback_task_only_for_compute(tasks_on_fakes):
    with pytest.raises(Exit, match="only --layer compute has releases"):
        release_tasks.rollback(Context(), stack="api")
