"""`invoke status`'s last column for deployed layers (issue 28: the survivors of
status.py's mutation run): every stale read named, a local edit of the program or
config since the deploy, and an update made outside invoke, against the fake engine."""

from __future__ import annotations

import pytest

from tests.unit.ops.fake_engine import FakeEngine
from tracking_ops.deploy import status
from tracking_ops.deploy.fingerprints import deploy_message
from tracking_stacks import release as rel
from tracking_stacks.registry import Layer, Output

pytestmark = pytest.mark.unit


@pytest.fixture
def now() -> dict[Layer, dict[str, str]]:
    """Each layer's program/config fingerprints in the working tree (tests edit them)."""
    return {layer: {"program": "a1", "config": "c1"} for layer in Layer}


@pytest.fixture
def asked(monkeypatch, now) -> list[tuple[Layer, str, str | None]]:
    """The (layer, env, base) status computed the working tree's fingerprints for."""
    calls: list[tuple[Layer, str, str | None]] = []

    def source_parts(layer: Layer, env: str, base: str | None) -> dict[str, str]:
        calls.append((layer, env, base))
        return now[layer]

    monkeypatch.setattr(status, "source_parts", source_parts)
    return calls


@pytest.fixture
def engine(now, asked) -> FakeEngine:
    fake = FakeEngine()
    fake.deploy_everything(lambda layer: now[layer])
    return fake


def rows(engine: FakeEngine, env: str = "dev", base: str | None = None) -> dict[str, str]:
    return {line.split()[0]: line for line in status.status_lines(engine, env, base)}


def test_every_read_that_changed_is_named(engine, now):
    engine.version[Layer.DATA] = 2
    engine.changed_outputs[Layer.DATA] = {Output.TABLE_NAME, Output.DLQ_NAME}
    engine.up(Layer.DATA, message=deploy_message(now[Layer.DATA]))
    assert rows(engine)["monitoring"].endswith(
        "stale: reads data.table_name, data.dlq_name, changed since"
    )


def test_a_local_edit_since_the_deploy_is_named_by_part(engine, now):
    now[Layer.CONFIG] = {"program": "a2", "config": "c1"}
    now[Layer.API] = {"program": "a2", "config": "c2"}
    shown = rows(engine)
    assert shown["config"].endswith("  up to date; local program changed since")
    assert shown["api"].endswith("  up to date; local program and config changed since")
    assert shown["data"].endswith("  up to date")


def test_the_working_tree_is_read_for_the_env_and_base_asked(engine, asked):
    asked.clear()
    rows(engine, env="staging", base="main")
    assert asked == [(layer, "staging", "main") for layer in Layer]


def test_an_update_made_outside_invoke_says_so(engine):
    engine.up(Layer.DATA, message="pulumi up by hand")
    assert rows(engine)["data"].endswith("  up to date; last update not made by invoke")


def test_a_layer_not_deployed_says_so(engine):
    del engine.stacks[Layer.MONITORING]
    line = rows(engine)["monitoring"]
    assert line.split()[1:4] == ["tracking-monitoring/dev", "-", "-"]
    assert line.endswith("  not deployed")


def test_the_table_word_for_word(engine, now):
    """Aligned columns under their header; a layer not deployed before the last does
    not end the table (and its reader is stale); an update never recorded and a failed
    one; a local edit and a canary in progress both noted."""
    engine.mark(Layer.DATA, last_update=None)
    engine.mark(Layer.COMPUTE, last_result="failed")
    outputs = dict(engine.stacks[Layer.COMPUTE].outputs)
    outputs[Output.API_RELEASE.value] = {
        rel.LIVE: "3",
        rel.NEWEST: "4",
        rel.CANARY: "4",
        rel.WEIGHT: 10,
    }
    engine.mark(Layer.COMPUTE, outputs=outputs)
    now[Layer.COMPUTE] = {"program": "a2", "config": "c1"}
    del engine.stacks[Layer.API]
    assert status.status_lines(engine, "dev") == [
        "layer       stack                    last update                    resources  status",
        "data        tracking-data/dev        never                          3          up to date",
        "config      tracking-config/dev      2026-11-28 12:00 UTC           3          up to date",
        "compute     tracking-compute/dev     2026-11-28 12:00 UTC (failed)  3          up to date; "
        "local program changed since; canary in progress: version 4 gets 10%, version 3 90%",
        "api         tracking-api/dev         -                              -          not deployed",
        "monitoring  tracking-monitoring/dev  2026-11-28 12:00 UTC           3          "
        "stale: reads api.rest_api_name, api.stage_name, changed since",
    ]
