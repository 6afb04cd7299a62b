"""Issue 24, item 1: destroys are reviewed like deploys (what goes, a terminal's
answer or --yes), prod keeps its long flag, and a layer's readers guard it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from invoke import Context, Exit

from tests.unit.ops.fake_engine import FakeEngine, urn
from tracking_ops.deploy import engine_runs
from tracking_ops.deploy.flow import Console
from tracking_ops.tasks import deploy as tasks
from tracking_stacks.registry import Layer

TABLE = "aws:dynamodb/table:Table"
ROLE = "aws:iam/role:Role"


@pytest.fixture
def engine(monkeypatch) -> FakeEngine:
    fake = FakeEngine(env="dev")
    monkeypatch.setattr(engine_runs, "open_deployer", lambda env, verbose, **_: fake)
    fake.deploy_everything(lambda layer: {"program": "a1", "config": "c1"})
    table, role = urn(Layer.DATA, TABLE, "tracking-table"), urn(Layer.DATA, ROLE, "reader")
    fake.stacks[Layer.DATA] = replace(
        fake.stacks[Layer.DATA], resource_count=2, resources=((table, TABLE), (role, ROLE))
    )
    return fake


def destroyed(engine: FakeEngine) -> list[Layer]:
    return [layer for op, layer, _ in engine.calls if op == "destroy"]


def terminal(answer: str, lines: list[str], asked: list[str]) -> Console:
    def ask(question: str) -> str:
        asked.append(question)
        return answer

    return Console(out=lines.append, is_terminal=lambda: True, ask=ask)


def test_on_a_terminal_the_destroy_shows_what_goes_and_asks(engine):
    lines: list[str] = []
    asked: list[str] = []
    engine_runs.destroy_layers("dev", console=terminal("y", lines, asked))
    assert asked and "Destroy" in asked[0]
    assert destroyed(engine) == list(reversed(list(Layer)))
    assert "data: 0 to create, 0 to update, 0 to replace, 2 to delete" in lines
    assert any(line.startswith("  !! delete tracking-table") for line in lines), lines
    assert "     delete reader (aws:iam/role:Role)" in lines
    assert "api: 0 to create, 0 to update, 0 to replace, 3 to delete" in lines


def test_a_terminal_answering_no_destroys_nothing(engine):
    with pytest.raises(Exception, match="nothing was destroyed"):
        engine_runs.destroy_layers("dev", console=terminal("n", [], []))
    assert destroyed(engine) == []


def test_without_a_terminal_the_destroy_is_refused_and_nothing_goes(engine, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(Exit, match="rerun with --yes.*nothing was destroyed"):
        tasks.destroy_all(Context(), env="dev")
    with pytest.raises(Exit, match="nothing was destroyed"):
        tasks.destroy(Context(), layer="monitoring", env="dev")
    assert destroyed(engine) == []


def test_yes_destroys_without_asking(engine, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    tasks.destroy(Context(), layer="monitoring", env="dev", yes=True)
    assert destroyed(engine) == [Layer.MONITORING]


def test_prod_needs_its_long_flag_even_with_yes_and_it_has_no_short_form(engine):
    with pytest.raises(Exit, match="--yes-destroy-prod"):
        tasks.destroy_all(Context(), env="prod", yes=True)
    with pytest.raises(Exit, match="--yes-destroy-prod"):
        tasks.destroy(Context(), layer="monitoring", env="prod", yes=True)
    assert destroyed(engine) == []
    for task in (tasks.destroy_all, tasks.destroy):
        (flag,) = [a for a in task.get_arguments() if a.name == "yes_destroy_prod"]
        assert flag.names == ("yes-destroy-prod",), flag.names
        (yes,) = [a for a in task.get_arguments() if a.name == "yes"]
        assert "y" in yes.names


def test_a_layer_with_deployed_readers_is_refused_alone(engine):
    with pytest.raises(Exit, match="compute alone.*api, monitoring.*--with-readers"):
        tasks.destroy(Context(), layer="compute", env="dev", yes=True)
    assert destroyed(engine) == []


def test_with_readers_destroys_the_readers_first_in_reverse_order(engine):
    tasks.destroy(Context(), layer="compute", env="dev", yes=True, with_readers=True)
    assert destroyed(engine) == [Layer.MONITORING, Layer.API, Layer.COMPUTE]


def test_a_layer_whose_readers_are_gone_is_destroyed_alone(engine):
    for reader in (Layer.MONITORING, Layer.API):
        engine.stacks.pop(reader)
    tasks.destroy(Context(), layer="compute", env="dev", yes=True)
    assert destroyed(engine) == [Layer.COMPUTE]


def test_an_unknown_or_missing_layer_lists_the_layers(engine):
    for name in ("", "nope"):
        with pytest.raises(Exit, match="layers: data, config, compute, api, monitoring"):
            tasks.destroy(Context(), layer=name, env="dev", yes=True)
    assert destroyed(engine) == []


def test_a_refused_destroy_names_every_protected_resource_of_every_layer():
    from tracking_ops.deploy.destroy_guard import DestroyRefused, refuse_if_protected
    from tracking_ops.deploy.fingerprints import LayerState

    base = "urn:pulumi:prod::tracking-{}::{}::{}"
    states = {
        Layer.DATA: LayerState(
            outputs={},
            protected=frozenset(
                {
                    base.format("data", "aws:dynamodb/table:Table", "tracking-table"),
                    base.format("data", "aws:sqs/queue:Queue", "tracking-dlq"),
                }
            ),
        ),
        Layer.CONFIG: LayerState(
            outputs={}, protected=frozenset({base.format("config", "aws:kms/key:Key", "key")})
        ),
    }
    with pytest.raises(DestroyRefused) as refused:
        refuse_if_protected("prod", [Layer.MONITORING, Layer.CONFIG, Layer.DATA], states.get)
    assert str(refused.value) == (
        "refusing to destroy prod: nothing was destroyed, because these resources are "
        "protected (config: key; data: tracking-table, tracking-dlq); unprotect them on "
        "purpose first (e.g. `pulumi state unprotect --all --stack prod` in stacks/config for "
        "tracking-config), then destroy again"
    )


def test_the_destroy_review_marks_a_protected_resource_as_protected():
    from tracking_ops.deploy.destroy_review import destroy_preview
    from tracking_ops.deploy.fingerprints import LayerState
    from tracking_ops.deploy.review import summary_lines

    key = "urn:pulumi:prod::tracking-config::aws:kms/key:Key::config-key"
    role = "urn:pulumi:prod::tracking-config::aws:iam/role:Role::reader"
    state = LayerState(
        outputs={},
        resource_count=2,
        resources=[(key, "aws:kms/key:Key"), (role, "aws:iam/role:Role")],
        protected=frozenset({key}),
    )
    assert summary_lines([destroy_preview(Layer.CONFIG, state)]) == [
        "config: 0 to create, 0 to update, 0 to replace, 2 to delete",
        "  !! delete config-key (aws:kms/key:Key, protected: its data goes)",
        "     delete reader (aws:iam/role:Role)",
    ]
