"""`invoke diff`: the combined preview of `invoke preview` under its CDK name, with
--fail exiting 1 when anything would change; offline it says what it cannot do. The
fake engine of the deploy tests stands in for Pulumi's."""

from __future__ import annotations

import pytest
from invoke import Context, Exit

from tests.unit.ops.fake_engine import FakeEngine
from tests.unit.ops.test_deploy_flow import replace_table
from tracking_ops.deploy import engine_runs, preflight
from tracking_ops.deploy.review import LayerPreview
from tracking_ops.engine import sandbox
from tracking_ops.tasks import observe
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.unit


@pytest.fixture
def engine(monkeypatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(engine_runs, "open_deployer", lambda env, verbose, **_: fake)
    monkeypatch.setattr(engine_runs, "build_assets", lambda layers: {})
    fake.deploy_everything(lambda layer: {"program": "a1"})
    for layer in Layer:
        fake.next_preview[layer] = LayerPreview(layer, counts={"same": 3})
    return fake


def test_a_change_is_shown_per_layer_and_fail_exits_1(engine, capsys):
    engine.next_preview[Layer.DATA] = replace_table()

    with pytest.raises(Exit) as raised:
        observe.diff(Context(), fail=True)

    assert raised.value.code == 1
    out = capsys.readouterr().out
    assert "data: 0 to create, 1 to update, 1 to replace, 0 to delete" in out
    assert "  !! replace tracking-table (aws:dynamodb/table:Table, stateful: its data goes)" in out
    assert "config: no changes" in out
    assert out.rstrip().endswith("diff: data would change")
    assert engine.previews() == list(Layer) and engine.ups() == []  # a preview only


def test_without_fail_a_change_exits_0(engine, capsys):
    engine.next_preview[Layer.API] = LayerPreview(Layer.API, counts={"update": 2})
    observe.diff(Context())
    assert "diff: api would change" in capsys.readouterr().out


def test_no_changes_exits_0_even_with_fail(engine, capsys):
    observe.diff(Context(), fail=True)
    assert capsys.readouterr().out.rstrip().endswith("diff: no changes")


def test_one_layer_previews_that_layer_only(engine, capsys):
    engine.next_preview[Layer.MONITORING] = LayerPreview(Layer.MONITORING, counts={"create": 1})
    with pytest.raises(Exit):
        observe.diff(Context(), layer="monitoring", fail=True)
    assert engine.previews() == [Layer.MONITORING]
    assert "diff: monitoring would change" in capsys.readouterr().out


def test_a_layer_not_previewed_because_its_producer_is_missing_counts_as_a_change(engine, capsys):
    engine.stacks.clear()  # a new env: only data can be previewed
    with pytest.raises(Exit) as raised:
        observe.diff(Context(), fail=True)
    assert raised.value.code == 1
    out = capsys.readouterr().out
    assert "not previewed: tracking-data/dev is not deployed yet" in out
    assert "config, compute, api, monitoring not previewed" in out


def test_an_unknown_layer_is_usage(engine):
    with pytest.raises(Exit) as raised:
        observe.diff(Context(), layer="web")
    assert raised.value.code == 2 and engine.previews() == []


def test_offline_it_says_what_it_cannot_and_can_do(monkeypatch):
    monkeypatch.delenv(sandbox.SANDBOX_ENV, raising=False)
    monkeypatch.setattr(preflight.shutil, "which", lambda name: None)  # no Pulumi CLI
    with pytest.raises(Exit) as raised:
        observe.diff(Context(), env="dev")
    message = raised.value.message
    assert raised.value.code == 1
    assert message.startswith("error: diff compares each layer's program with its deployed")
    assert "cannot run here: The Pulumi CLI is not installed" in message
    assert "`invoke synth --env dev` lists every resource" in message
    assert "`invoke synth --env dev --diff OTHER`" in message
    assert "Meanwhile" not in message  # the generic hint is replaced, not repeated
    assert "\n" not in message


def test_the_new_tasks_short_flags_are_the_shared_ones():
    from tracking_ops.tasks.common import SHORT_FLAGS

    for task in observe.TASKS:
        for argument in task.get_arguments():
            short = [name for name in argument.names if len(name) == 1]
            expected = SHORT_FLAGS.get(argument.name.replace("-", "_"))
            assert short == ([expected] if expected else []), (task.name, argument)
