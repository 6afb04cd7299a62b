"""Plan, review, apply through the deploy tasks with a fake engine: the summary,
the confirmation, the prod guard, update plans, stale consumers, selective
--downstream, skipping unchanged layers."""

from __future__ import annotations

import io
import sys

import pytest
from invoke import Context, Exit

from tests.unit.ops.fake_engine import FakeEngine, urn
from tracking_ops.deploy import engine_runs, status
from tracking_ops.deploy.executor import SUCCEEDED, UNCHANGED, Reporter, Unchanged, execute
from tracking_ops.deploy.fingerprints import deploy_message
from tracking_ops.deploy.review import LayerPreview, Step
from tracking_ops.tasks import deploy as tasks
from tracking_stacks.registry import Layer, Output

TABLE = "aws:dynamodb/table:Table"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"


class Terminal:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def sources() -> dict[Layer, dict[str, str]]:
    """The program/config fingerprints the tasks see now (tests edit them)."""
    return {layer: {"program": "a1", "config": "c1"} for layer in Layer}


@pytest.fixture
def engine(monkeypatch, sources) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(engine_runs, "open_deployer", lambda env, verbose, **_: fake)
    monkeypatch.setattr(engine_runs, "build_assets", lambda layers: {})
    monkeypatch.setattr(
        engine_runs, "source_parts", lambda layer, env, base, assets: sources[layer]
    )
    monkeypatch.setattr(status, "source_parts", lambda layer, env, base: sources[layer])
    monkeypatch.setattr(engine_runs, "offline_counts", lambda env, base: {Layer.CONFIG: 6}.get)
    monkeypatch.setattr(sys, "stdin", Terminal(False))
    return fake


@pytest.fixture
def answer(monkeypatch):
    """A terminal on which the user types the given answer; returns the questions asked."""
    asked: list[str] = []

    def type_(text: str) -> list[str]:
        monkeypatch.setattr(sys, "stdin", Terminal(True))
        monkeypatch.setattr("builtins.input", lambda q: asked.append(q) or text)
        return asked

    return type_


def replace_table() -> LayerPreview:
    return LayerPreview(
        Layer.DATA,
        counts={"replace": 1, "update": 1},
        steps=[
            Step("create-replacement", urn(Layer.DATA, TABLE, "tracking-table"), TABLE),
            Step("replace", urn(Layer.DATA, TABLE, "tracking-table"), TABLE),
            Step("update", urn(Layer.DATA, "aws:sqs/queue:Queue", "tracking-dlq"), "x"),
        ],
    )


# --- the summary -----------------------------------------------------------------


def test_summary_counts_per_layer_and_names_replaced_and_deleted_resources(engine, capsys):
    engine.next_preview[Layer.DATA] = replace_table()
    engine.next_preview[Layer.MONITORING] = LayerPreview(
        Layer.MONITORING,
        counts={"create": 2, "delete": 1},
        steps=[Step("delete", urn(Layer.MONITORING, ALARM, "old-alarm"), ALARM)],
    )
    engine.next_preview[Layer.API] = LayerPreview(Layer.API, counts={})

    tasks.deploy_all(Context(), yes=True)

    out = capsys.readouterr().out
    assert "data: 0 to create, 1 to update, 1 to replace, 0 to delete" in out
    assert "  !! replace tracking-table (aws:dynamodb/table:Table, stateful: its data goes)" in out
    assert "monitoring: 2 to create, 0 to update, 0 to replace, 1 to delete" in out
    assert "     delete old-alarm (aws:cloudwatch/metricAlarm:MetricAlarm)" in out
    assert "!! delete old-alarm" not in out  # an alarm holds nothing: not marked
    assert "api: no changes" in out
    # the review comes before anything is applied
    assert out.index("data: 0 to create") < out.index("[data] deploy started")


def test_a_protected_resource_stands_out_even_when_its_type_is_not_stateful(engine, capsys):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    role = urn(Layer.COMPUTE, ROLE, "api-role")
    engine.mark(Layer.COMPUTE, protected=frozenset({role}))
    engine.next_preview[Layer.COMPUTE] = LayerPreview(
        Layer.COMPUTE, counts={"delete": 1}, steps=[Step("delete", role, ROLE)]
    )
    tasks.deploy(Context(), stack="compute", yes=True)
    assert (
        "  !! delete api-role (aws:iam/role:Role, protected: its data goes)"
        in capsys.readouterr().out
    )


# --- confirmation ------------------------------------------------------------------


def test_without_a_terminal_and_without_yes_it_refuses_in_one_line_and_applies_nothing(engine):
    with pytest.raises(Exit) as refused:
        tasks.deploy_all(Context())
    assert refused.value.code == 1
    message = str(refused.value.message)
    assert message.startswith("error: no terminal to confirm on") and "--yes" in message
    assert "\n" not in message
    assert engine.ups() == []


def test_yes_applies_without_asking(engine, answer):
    asked = answer("n")
    tasks.deploy_all(Context(), yes=True)
    assert asked == []
    assert engine.ups() == list(Layer)


def test_on_a_terminal_y_applies_and_anything_else_applies_nothing(engine, answer):
    asked = answer("n")
    with pytest.raises(Exit, match="not confirmed; nothing was applied"):
        tasks.deploy_all(Context())
    assert asked == ["Apply these changes to dev? [y/N] "] and engine.ups() == []

    asked = answer("y")
    tasks.deploy_all(Context())
    assert engine.ups() == list(Layer)


def test_nothing_to_change_needs_no_confirmation(engine, sources):
    engine.deploy_everything(lambda layer: sources[layer])
    for layer in Layer:
        engine.next_preview[layer] = LayerPreview(layer, counts={"same": 4})
    tasks.deploy_all(Context(), force=True)  # no terminal, no --yes: nothing would change
    assert engine.ups() == list(Layer)


# --- the prod guard ------------------------------------------------------------------


def test_prod_refuses_replacing_a_stateful_resource_without_the_flag(engine):
    engine.next_preview[Layer.DATA] = replace_table()
    with pytest.raises(Exit) as refused:
        tasks.deploy_all(Context(), env="prod", yes=True)
    assert "refusing to replace or delete stateful or protected resources in prod" in str(
        refused.value.message
    )
    assert "data: tracking-table" in str(refused.value.message)
    assert "--allow-stateful-changes" in str(refused.value.message)
    assert engine.ups() == []


def test_outside_prod_the_same_change_needs_only_the_confirmation(engine):
    engine.next_preview[Layer.DATA] = replace_table()
    tasks.deploy_all(Context(), env="dev", yes=True)
    assert Layer.DATA in engine.ups()


# --- replacements that would collide with themselves (issue 23, item 10) ---------------


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_replacing_the_named_table_is_refused_at_review_with_the_two_step_change(engine, env):
    """Create-before-delete under a fixed name fails half-way in AWS; the review says so
    first, even with --allow-stateful-changes, and how to do it in two deploys."""
    engine.next_preview[Layer.DATA] = replace_table()
    with pytest.raises(Exit) as refused:
        tasks.deploy_all(Context(), env=env, yes=True, allow_stateful_changes=True)
    message = str(refused.value.message)
    assert f"would fail on its own name in {env}" in message
    assert "data: replacing tracking-table would collide with itself" in message
    assert "In two steps instead: 1) add the new table under a new name" in message
    assert engine.ups() == []


def test_replacing_the_stream_mapping_in_prod_explains_the_remove_then_add(engine, capsys):
    mapping_type = "aws:lambda/eventSourceMapping:EventSourceMapping"
    mapping = urn(Layer.COMPUTE, mapping_type, "tracking-stream", "prod")
    engine.next_preview[Layer.COMPUTE] = LayerPreview(
        Layer.COMPUTE,
        counts={"replace": 1},
        steps=[Step("create-replacement", mapping, mapping_type)],
    )
    # compute is previewed again once data and config are applied: refused there
    with pytest.raises(Exit, match="compute, api, monitoring not done"):
        tasks.deploy_all(Context(), env="prod", yes=True, allow_stateful_changes=True)
    out = capsys.readouterr()
    assert "1) remove the mapping" in out.out + out.err
    assert Layer.COMPUTE not in engine.ups()


@pytest.mark.parametrize("env", ["dev", "pr-8"])
def test_dev_and_branch_envs_replace_the_table_delete_first_without_refusal(engine, env):
    engine.next_preview[Layer.DATA] = replace_table()
    tasks.deploy_all(Context(), env=env, yes=True)
    assert Layer.DATA in engine.ups()


# --- update plans ------------------------------------------------------------------------


def test_the_reviewed_plan_is_the_one_applied(engine):
    tasks.deploy_all(Context(), yes=True)
    previewed = {layer: plan for op, layer, plan in engine.calls if op == "preview"}
    applied = {layer: plan for op, layer, plan in engine.calls if op == "up"}
    assert applied == previewed and all(
        plan and plan.endswith(".plan.json") for plan in applied.values()
    )
    assert engine.previews() == list(Layer)  # each previewed once: no second preview


def test_no_plan_applies_without_one(engine):
    tasks.deploy_all(Context(), yes=True, plan=False)
    assert {plan for op, _, plan in engine.calls} == {None}


def test_a_layer_whose_upstream_is_not_deployed_says_so_and_is_previewed_after_it(engine, capsys):
    tasks.deploy_all(Context(), yes=True)  # a new env: nothing deployed yet

    out = capsys.readouterr().out
    assert (
        "config: not previewed yet: tracking-data/dev is not deployed (offline synth: "
        "6 resources to create; the engine previews it after that, before it is applied)"
    ) in out
    order = [(op, layer) for op, layer, _ in engine.calls]
    # data previewed in the review; config previewed again only once data is up
    assert order.index(("up", Layer.DATA)) < order.index(("preview", Layer.CONFIG))
    assert order.index(("preview", Layer.CONFIG)) < order.index(("up", Layer.CONFIG))
    assert "[config] previewed now: config: 0 to create, 1 to update" in out


def test_a_consumer_is_previewed_again_when_its_producer_changed_what_it_reads(engine):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    engine.version[Layer.COMPUTE] = 2  # compute's next deploy changes its outputs
    tasks.deploy(Context(), stack="compute", downstream=True, yes=True)
    assert engine.previews().count(Layer.API) == 1  # not in the review: api was up to date then
    assert engine.ups() == [Layer.COMPUTE, Layer.API, Layer.MONITORING]


def test_an_unreviewed_replacement_found_after_a_producer_changed_is_guarded_in_prod(
    engine, capsys
):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    engine.version[Layer.DATA] = 2
    engine.next_preview[Layer.DATA] = LayerPreview(Layer.DATA, counts={"update": 1})
    table = urn(Layer.CONFIG, "aws:ssm/parameter:Parameter", "db-endpoint")
    engine.next_preview[Layer.CONFIG] = LayerPreview(
        Layer.CONFIG,
        counts={"replace": 1},
        steps=[Step("replace", table, "aws:ssm/parameter:Parameter")],
    )
    with pytest.raises(Exit, match="deploy did not complete: config"):
        tasks.deploy(Context(), stack="data", downstream=True, env="prod", yes=True)
    assert Layer.CONFIG not in engine.ups() and Layer.COMPUTE not in engine.ups()
    # refused by the prod guard, by name, not by any failure of the second review
    failed = [
        line for line in capsys.readouterr().out.splitlines() if "[config] deploy FAILED" in line
    ]
    assert len(failed) == 1 and failed[0].endswith(
        ": refusing to replace or delete stateful or protected resources in prod "
        "(config: db-endpoint) without --allow-stateful-changes"
    )


# --- stale consumers and --downstream -------------------------------------------------------


def test_status_names_the_reads_that_changed_since_a_consumer_deployed(engine, sources):
    engine.deploy_everything(lambda layer: sources[layer])
    lines = status.status_lines(engine, "dev")
    assert all(line.endswith("up to date") for line in lines[1:]), lines

    engine.version[Layer.COMPUTE] = 2
    engine.changed_outputs[Layer.COMPUTE] = {Output.API_FUNCTION_ARN, Output.API_FUNCTION_NAME}
    engine.up(Layer.COMPUTE, message="tracking-deploy config=c1 program=a1")

    rows = {line.split()[0]: line for line in status.status_lines(engine, "dev")}
    assert rows["api"].endswith("stale: reads compute.api_function_name, changed since")
    assert rows["monitoring"].endswith("stale: reads compute.api_function_name, changed since")
    assert rows["compute"].endswith("up to date") and rows["data"].endswith("up to date")
    assert "2026-11-28 12:00 UTC" in rows["api"] and " 3 " in rows["api"]


def test_status_of_an_env_never_deployed(engine):
    lines = status.status_lines(engine, "pr-7")
    assert lines[1].split()[:2] == ["data", "tracking-data/pr-7"]
    assert all(line.endswith("not deployed") for line in lines[1:])


def test_downstream_redeploys_only_the_readers_whose_reads_changed(engine, capsys):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    # the data layer's next deploy changes only the DLQ's name, which only monitoring reads
    engine.version[Layer.DATA] = 2
    engine.changed_outputs[Layer.DATA] = {Output.DLQ_NAME}

    tasks.deploy(Context(), stack="data", downstream=True, yes=True)

    assert engine.ups() == [Layer.DATA, Layer.MONITORING]
    out = capsys.readouterr().out
    assert "[monitoring] now stale: reads data.dlq_name, changed during this deploy" in out
    for layer in ("config", "compute", "api"):
        assert f"[{layer}] deploy skipped: up to date (what it reads is unchanged)" in out


def test_downstream_deploys_a_reader_that_was_already_stale(engine, capsys):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    engine.version[Layer.COMPUTE] = 2
    engine.up(Layer.COMPUTE, message="by hand")  # compute changed; nobody redeployed its readers
    engine.calls.clear()
    engine.version[Layer.COMPUTE] = 2  # the next compute deploy changes nothing more

    tasks.deploy(Context(), stack="compute", downstream=True, yes=True)

    assert engine.ups() == [Layer.COMPUTE, Layer.API, Layer.MONITORING]
    assert "api: deploy (reads compute.api_function_name" in capsys.readouterr().out


def test_all_downstream_forces_every_reader(engine):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    tasks.deploy(Context(), stack="data", all_downstream=True, yes=True)
    assert engine.ups() == list(Layer)


# --- skip unchanged layers ---------------------------------------------------------------


def test_deploy_all_skips_layers_unchanged_since_their_last_deploy_and_says_why(
    engine, sources, capsys
):
    engine.deploy_everything(lambda layer: sources[layer])
    sources[Layer.API] = {"program": "a1", "config": "c2"}  # api's config edited

    tasks.deploy_all(Context(), yes=True)

    assert engine.ups() == [Layer.API]
    out = capsys.readouterr().out
    assert "  api: deploy (config changed since its last deploy)" in out
    assert "  data: skip (unchanged since its last deploy on 2026-11-28 12:00 UTC)" in out
    assert "[data] deploy skipped: unchanged since its last deploy" in out


def test_a_skipped_layer_runs_when_a_producer_deployed_before_it_changed_what_it_reads(
    engine, sources
):
    engine.deploy_everything(lambda layer: sources[layer])
    sources[Layer.COMPUTE] = {"program": "a2", "config": "c1", "assets": "f0"}
    engine.version[Layer.COMPUTE] = 2

    tasks.deploy_all(Context(), yes=True)

    assert engine.ups() == [Layer.COMPUTE, Layer.API, Layer.MONITORING]


@pytest.mark.parametrize(
    ("state_change", "reason"),
    [
        ({"last_result": "failed"}, "its last update failed"),
        ({"last_message": "manual fix"}, "its last update was not made by invoke"),
    ],
)
def test_a_failed_or_foreign_last_update_is_not_skipped(
    engine, sources, capsys, state_change, reason
):
    engine.deploy_everything(lambda layer: sources[layer])
    engine.mark(Layer.CONFIG, **state_change)
    tasks.deploy_all(Context(), yes=True)
    assert engine.ups() == [Layer.CONFIG]
    assert reason in capsys.readouterr().out


def test_force_deploys_every_layer(engine, sources, capsys):
    engine.deploy_everything(lambda layer: sources[layer])
    tasks.deploy_all(Context(), yes=True, force=True)
    assert engine.ups() == list(Layer)
    assert "  data: deploy (--force)" in capsys.readouterr().out


def test_a_failed_layer_stops_its_dependants_and_the_task_exits_1(engine):
    engine.failing.add(Layer.COMPUTE)
    with pytest.raises(Exit, match="deploy did not complete: compute, api, monitoring"):
        tasks.deploy_all(Context(), yes=True)
    assert engine.ups() == [Layer.DATA, Layer.CONFIG, Layer.COMPUTE]


def test_deploying_one_layer_whose_upstream_is_missing_names_the_stack_to_deploy_first(engine):
    with pytest.raises(Exit) as refused:
        tasks.deploy(Context(), stack="api", yes=True)
    assert str(refused.value.message) == (
        "error: tracking-compute/dev does not exist; deploy it first: "
        "invoke deploy --layer compute --env dev"
    )
    assert engine.calls == []


def test_an_unchanged_layer_lets_its_dependants_run():
    def action(name):
        if name == "a":
            raise Unchanged("nothing to do")
        return {"update": 1}

    out = io.StringIO()
    outcomes = execute(["a", "b"], lambda n: ["a"] if n == "b" else [], action, Reporter(out))
    assert [(o.name, o.status) for o in outcomes] == [("a", UNCHANGED), ("b", SUCCEEDED)]
    assert "[a] deploy skipped: nothing to do" in out.getvalue()


def test_a_reviewed_consumer_is_previewed_again_when_its_producer_changed_its_reads(
    engine, sources
):
    engine.deploy_everything(lambda layer: sources[layer])
    sources[Layer.DATA] = {"program": "a2", "config": "c1"}
    sources[Layer.COMPUTE] = {"program": "a2", "config": "c1", "assets": "f0"}
    engine.version[Layer.DATA] = 2  # data's deploy changes its outputs after the review

    tasks.deploy_all(Context(), yes=True)

    # compute was reviewed against data's old outputs: previewed again before it applies
    assert engine.previews().count(Layer.COMPUTE) == 2
    assert engine.previews().count(Layer.DATA) == 1
    order = [(op, layer) for op, layer, _ in engine.calls]
    assert order.index(("up", Layer.DATA)) < len(order) - order[::-1].index(
        ("preview", Layer.COMPUTE)
    )


def test_offline_counts_come_from_the_synth_of_the_env():
    branch, dev = engine_runs.offline_counts("pr-3", ""), engine_runs.offline_counts("dev", "")
    assert all(branch(layer) > 0 for layer in Layer)
    assert branch(Layer.API) < dev(Layer.API)  # a branch env leaves the account logging role alone


def test_preview_of_a_layer_whose_upstream_is_not_deployed_says_so(engine, capsys):
    engine.up(Layer.DATA)
    tasks.preview(Context())
    out = capsys.readouterr().out
    assert engine.previews() == [Layer.DATA, Layer.CONFIG]
    assert (
        "[compute] preview skipped: not previewed: tracking-config/dev is not deployed yet" in out
    )
    assert "[api] preview skipped: not previewed: tracking-compute/dev is not deployed yet" in out
    assert "config: 0 to create, 1 to update" in out


# --- a removed route gets a second deployment (issue 23, item 5) ------------------------


def test_removing_a_route_deploys_the_api_a_second_time_with_a_new_generation(
    engine, sources, capsys
):
    method = "aws:apigateway/method:Method"
    integration = "aws:apigateway/integration:Integration"
    engine.next_preview[Layer.API] = LayerPreview(
        Layer.API,
        counts={"delete": 2, "replace": 1},
        steps=[
            Step("delete", urn(Layer.API, method, "tracking-method-get_status"), method),
            Step(
                "delete",
                urn(Layer.API, integration, "tracking-integration-get_status"),
                integration,
            ),
        ],
    )
    tasks.deploy_all(Context(), env="dev", yes=True)

    api_calls = [
        (op, arg) for op, layer, arg in engine.calls if layer is Layer.API and op != "preview"
    ]
    assert api_calls == [
        ("up", api_calls[0][1]),  # the reviewed plan
        ("set_config", ({"redeployment": "1"}, ())),
        ("up", None),  # after the deletes: a snapshot without the route
    ]
    assert "removed tracking-method-get_status, tracking-integration-get_status" in (
        capsys.readouterr().out
    )
    # the second update is recorded under the first's message, saying why it ran
    first = deploy_message(sources[Layer.API])
    assert engine.stacks[Layer.API].last_message == f"{first} (second deployment after removals)"
    # the next removal raises the generation again
    tasks.deploy_all(Context(), env="dev", yes=True, force=True)
    assert engine.configs[Layer.API] == {"redeployment": "2"}


def test_an_api_update_without_removals_deploys_once(engine):
    tasks.deploy_all(Context(), env="dev", yes=True)
    assert [op for op, layer, _ in engine.calls if layer is Layer.API and op == "up"] == ["up"]


# --- what each apply records and asks (mutation tests of flow.py) ----------------------


def test_every_applied_layer_records_its_source_fingerprints_in_the_update_message(engine, sources):
    tasks.deploy_all(Context(), yes=True)
    for layer in Layer:
        assert engine.stacks[layer].last_message == deploy_message(sources[layer]), layer


def test_a_stale_reader_names_every_read_that_changed(engine, capsys):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    engine.version[Layer.DATA] = 2
    engine.changed_outputs[Layer.DATA] = {Output.DLQ_NAME, Output.TABLE_NAME}
    engine.changed_outputs[Layer.CONFIG] = set()  # config's own outputs do not change
    tasks.deploy(Context(), stack="data", downstream=True, yes=True)
    out = capsys.readouterr().out
    assert (
        "[monitoring] now stale: reads data.table_name, data.dlq_name, changed during this deploy"
    ) in out


def test_a_reviewed_layer_with_nothing_to_change_says_so_without_asking(engine, sources, capsys):
    engine.deploy_everything(lambda layer: sources[layer])
    sources[Layer.DATA] = {"program": "a2", "config": "c1"}
    engine.next_preview[Layer.DATA] = LayerPreview(Layer.DATA)  # no resource changes
    tasks.deploy(Context(), stack="data")  # no terminal, no --yes: nothing to confirm
    assert "No resource changes; the deploys only record what they read." in (
        capsys.readouterr().out.splitlines()
    )


def test_a_deployed_layer_waiting_for_its_upstream_shows_no_offline_count(engine, capsys):
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    del engine.stacks[Layer.DATA]  # data gone (destroyed alone), config still deployed
    tasks.deploy_all(Context(), yes=True)
    out = capsys.readouterr().out
    assert (
        "config: not previewed yet: tracking-data/dev is not deployed (the engine previews "
        "it after that, before it is applied)"
    ) in out


def _replacement_after_the_review(engine) -> str:
    """config's re-preview (data changed what it reads) shows a replacement the
    review did not."""
    engine.deploy_everything(lambda layer: {"program": "a0", "config": "c1"})
    engine.version[Layer.DATA] = 2
    engine.changed_outputs[Layer.DATA] = {Output.TABLE_NAME}
    engine.next_preview[Layer.DATA] = LayerPreview(Layer.DATA, counts={"update": 1})
    parameter = urn(Layer.CONFIG, "aws:ssm/parameter:Parameter", "db-endpoint")
    engine.next_preview[Layer.CONFIG] = LayerPreview(
        Layer.CONFIG,
        counts={"replace": 1},
        steps=[Step("replace", parameter, "aws:ssm/parameter:Parameter")],
    )
    return parameter


def test_an_unreviewed_replacement_is_asked_for_on_the_terminal_by_name(engine, answer):
    _replacement_after_the_review(engine)
    asked = answer("y")
    tasks.deploy(Context(), stack="data", downstream=True)
    assert asked == [
        "Apply these changes to dev? [y/N] ",
        "Apply config's changes shown above (not in the first review)? [y/N] ",
    ]
    assert Layer.CONFIG in engine.ups()


def test_an_unreviewed_replacement_in_prod_applies_with_the_stateful_flag(engine):
    _replacement_after_the_review(engine)
    tasks.deploy(
        Context(), stack="data", downstream=True, env="prod", yes=True, allow_stateful_changes=True
    )
    assert Layer.CONFIG in engine.ups()


def test_a_replacement_already_in_the_review_is_not_asked_for_again(engine, sources, answer):
    _replacement_after_the_review(engine)
    # config runs in the review too (its program changed), so the replacement is shown
    # there; data then changes what config reads, and its re-preview shows it again
    sources[Layer.DATA] = {"program": "a2", "config": "c1"}
    sources[Layer.CONFIG] = {"program": "a2", "config": "c1"}
    asked = answer("y")
    tasks.deploy_all(Context())
    assert engine.previews().count(Layer.CONFIG) == 2  # reviewed, then previewed again
    assert asked == ["Apply these changes to dev? [y/N] "]
    assert Layer.CONFIG in engine.ups()
