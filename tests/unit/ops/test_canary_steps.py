"""The canary's steps word for word, against a releaser that records what it is asked
to configure and apply: which release each step writes, the lines it prints, the
checks of its arguments, and the bake's timing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tracking_ops.deploy.canary import Canary, check_percent
from tracking_ops.deploy.release_routing import COMPUTE, CanaryError, Deployed, RolledBack
from tracking_ops.deploy.review import ReviewRefused
from tracking_stacks.release import Release

ALARMS_OK = "OK"


@dataclass
class Engine:
    ups: list[tuple] = field(default_factory=list)

    def up(self, layer, plan, message):
        self.ups.append((layer, plan, message))


@dataclass
class Releaser:
    """Version 3 live, 2 recorded as previous; a publish makes version 4 the canary."""

    env: str = "dev"
    publishes_new: bool = True
    configured_release: Release = field(default_factory=lambda: Release("", 0, "2"))
    current: Deployed = field(default_factory=lambda: Deployed("3", "3", "", 0, "2"))
    engine: Engine = field(default_factory=Engine)
    lines: list[str] = field(default_factory=list)
    configures: list[Release] = field(default_factory=list)
    applied: list[tuple[Release, str]] = field(default_factory=list)

    def out(self, line: str) -> None:
        self.lines.append(line)

    def message(self) -> str:
        return "tracking-deploy program=ab"

    def deployed(self) -> Deployed:
        return self.current

    def configured(self) -> Release:
        return self.configured_release

    def configure(self, release: Release) -> None:
        self.configures.append(release)
        self.configured_release = release
        if release.canary_weight and self.publishes_new:
            self.current = Deployed("3", "4", "4", release.canary_weight, "2")

    def apply(self, release: Release, why: str) -> Deployed:
        self.applied.append((release, why))
        live = release.live_version or self.current.newest
        self.current = Deployed(live, self.current.newest, "", 0, release.previous_version)
        return self.current


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def canary(releaser, states=None, bake=60, poll=20, clock=None, percent=10) -> Canary:
    clock = clock or Clock()
    return Canary(
        releaser=releaser,
        alarm_states=states or (lambda names: dict.fromkeys(names, ALARMS_OK)),
        percent=percent,
        bake_seconds=bake,
        poll_seconds=poll,
        sleep=clock.sleep,
        clock=lambda: clock.now,
    )


def test_the_percentage_is_a_whole_number_strictly_between_0_and_100():
    assert [check_percent(p) for p in (1, 50, 99)] == [1, 50, 99]
    for wrong in (0, 100, -5, 150):
        with pytest.raises(CanaryError):
            check_percent(wrong)


@pytest.mark.parametrize(("bake", "poll"), [(-1, 20), (60, 0), (60, -1)])
def test_a_negative_bake_or_a_poll_not_above_zero_is_refused_before_anything(bake, poll):
    releaser = Releaser()
    with pytest.raises(CanaryError) as refused:
        canary(releaser, bake=bake, poll=poll).run()
    assert str(refused.value) == "--bake must be 0 or more and --poll above 0 seconds"
    assert releaser.configures == [] and releaser.engine.ups == []


def test_a_bake_of_zero_and_a_poll_of_one_second_are_allowed():
    releaser = Releaser()
    canary(releaser, bake=0, poll=1).run()
    assert releaser.applied[-1][0] == Release(previous_version="3")


def test_a_promotion_writes_each_step_with_the_recorded_previous_version():
    releaser = Releaser()
    after = canary(releaser).run()
    # step 1: stays on 3, 10% to the new version, the recorded previous kept
    assert releaser.configures[0] == Release("3", 10, "2")
    assert releaser.engine.ups == [(COMPUTE, None, "tracking-deploy program=ab")]
    # step 3: the alias follows the newest, 3 recorded for a rollback
    assert releaser.applied == [
        (Release(previous_version="3"), "step 3/3 promote: every alarm OK for the whole bake")
    ]
    assert after.live == "4"
    assert releaser.lines[-1] == (
        "promoted: version 4 gets 100% (`invoke rollback --layer compute --env dev` returns "
        "to version 3)"
    )


def test_a_rollback_keeps_the_previous_version_and_says_which_config_to_commit():
    releaser = Releaser(env="staging")
    # every alarm OK before the start; gone once the canary routes (deleted by hand)
    run = canary(
        releaser, states=lambda names: {} if releaser.configures else dict.fromkeys(names, "OK")
    )
    with pytest.raises(RolledBack) as rolled:
        run.run()
    missing = "tracking-api-errors-staging MISSING"
    assert missing in str(rolled.value)
    release, why = releaser.applied[0]
    assert release == Release(live_version="3", previous_version="2")
    assert why.startswith(f"step 3/3 roll back: {missing}, ")
    assert releaser.lines[-1].endswith("commit stacks/compute/Pulumi.staging.yaml")


def test_no_new_version_restores_the_config_as_it_was_and_says_so():
    releaser = Releaser(publishes_new=False, configured_release=Release("", 0, "2"))
    canary(releaser).run()
    assert releaser.applied == [(Release("", 0, "2"), "no canary")]
    assert any(line.startswith("no new version:") for line in releaser.lines)


def test_each_poll_line_lists_every_alarm_and_its_state_in_order():
    releaser = Releaser()
    seen = {"tracking-api-errors-dev": "OK", "tracking-api-throttles-dev": "OK"}
    with pytest.raises(RolledBack):
        canary(
            releaser,
            states=lambda names: seen if releaser.configures else dict.fromkeys(names, "OK"),
        ).run()
    poll = next(line for line in releaser.lines if line.startswith("  [0:00 of 1:00]"))
    assert poll == (
        "  [0:00 of 1:00] tracking-api-errors-dev OK, tracking-api-duration-p99-dev MISSING, "
        "tracking-api-throttles-dev OK"
    )


def test_the_bake_sleeps_one_poll_at_a_time_and_never_past_its_end():
    releaser, clock = Releaser(), Clock()
    canary(releaser, bake=50, poll=20, clock=clock).run()
    assert clock.sleeps == [20, 20, 10]
    assert clock.now == 50


def test_a_bake_that_started_late_in_the_clock_still_lasts_its_time():
    releaser, clock = Releaser(), Clock()
    clock.now = 1_000.0  # a monotonic clock is anywhere when the bake starts
    canary(releaser, bake=40, poll=20, clock=clock).run()
    assert clock.sleeps == [20, 20]


@pytest.mark.parametrize(
    ("states", "message"),
    [
        (
            {"tracking-api-errors-dev": "OK"},
            "alarm tracking-api-duration-p99-dev, tracking-api-throttles-dev not found: deploy "
            "the monitoring layer of dev first (a canary is judged by its alarms)",
        ),
        (
            dict.fromkeys(["tracking-api-errors-dev", "tracking-api-duration-p99-dev"], "ALARM")
            | {"tracking-api-throttles-dev": "OK"},
            "tracking-api-errors-dev, tracking-api-duration-p99-dev already in ALARM before the "
            "canary: the new version could not be judged; resolve it first",
        ),
        (
            dict.fromkeys(["tracking-api-errors-dev", "tracking-api-duration-p99-dev"], "OK")
            | {"tracking-api-throttles-dev": "INSUFFICIENT_DATA"},
            "tracking-api-throttles-dev INSUFFICIENT_DATA before the canary: not evaluated yet, "
            "so it could not judge the new version; wait one alarm period and run again",
        ),
    ],
)
def test_alarms_not_ok_before_the_start_are_named_in_one_sentence(states, message):
    releaser = Releaser()
    with pytest.raises(CanaryError) as refused:
        canary(releaser, states=lambda names: states).run()
    assert str(refused.value) == message
    assert releaser.configures == []


def test_a_refused_review_of_the_publish_restores_the_config():
    releaser = Releaser()

    def refuse():
        raise ReviewRefused("not confirmed; nothing was applied")

    run = canary(releaser)
    run.publish = refuse
    with pytest.raises(ReviewRefused):
        run.run()
    assert releaser.configures == [Release("3", 10, "2"), Release("", 0, "2")]


def test_the_last_sleep_is_what_is_left_of_the_bake_even_under_a_second():
    releaser, clock = Releaser(), Clock()

    def states(names):  # reading the alarms takes 0.3 s
        clock.now += 0.3
        return dict.fromkeys(names, "OK")

    canary(releaser, states=states, bake=41, poll=20, clock=clock).run()
    assert clock.sleeps[:2] == [20, 20]
    assert clock.sleeps[2] == pytest.approx(0.4)


def test_alarm_states_ask_cloudwatch_for_exactly_the_watched_metric_alarms():
    from tracking_ops.deploy.alarm_watch import cloudwatch_alarm_states

    class CloudWatch:
        def __init__(self) -> None:
            self.calls: list[dict] = []

        def describe_alarms(self, **kwargs):
            self.calls.append(kwargs)
            return {"MetricAlarms": [{"AlarmName": "a", "StateValue": "OK"}]}

    client = CloudWatch()
    assert cloudwatch_alarm_states(client)(("a", "b")) == {"a": "OK"}
    # composite alarms are other things; names filter server-side (no paging through all)
    assert client.calls == [{"AlarmNames": ["a", "b"], "AlarmTypes": ["MetricAlarm"]}]


def test_a_missing_alarm_is_described_as_missing_and_one_in_alarm_as_in_alarm():
    from tracking_ops.deploy.alarm_watch import describe

    states = {"a": "ALARM", "b": "INSUFFICIENT_DATA"}
    assert describe(states, ["a", "b", "c"]) == "a in ALARM, b INSUFFICIENT_DATA, c MISSING"
