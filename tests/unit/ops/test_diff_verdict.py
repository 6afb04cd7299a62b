"""`invoke diff`'s last line and its call of the preview (issue 28: the survivors of
diff.py's mutation run): several layers named, changed and not-previewed both said, the
base and --verbose passed on, and offline the engine's reason kept whole."""

from __future__ import annotations

import pytest

from tracking_ops.deploy import diff, engine_runs
from tracking_ops.deploy.preflight import OFFLINE_HINT, PreflightError
from tracking_ops.deploy.review import LayerPreview
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.unit


def test_the_verdict_names_every_layer_that_would_change_and_those_not_previewed():
    result = diff.DiffResult(
        changed=(Layer.DATA, Layer.API), not_previewed=(Layer.COMPUTE, Layer.MONITORING)
    )
    assert result.line() == (
        "diff: data, api would change; compute, monitoring not previewed "
        "(not deployed: a deploy creates them)"
    )


@pytest.fixture
def previews(monkeypatch) -> list[dict]:
    asked: list[dict] = []

    def preview_layers(env, layers, **options):
        asked.append({"env": env, "layers": layers, **options})
        return [LayerPreview(layer, counts={"update": 1}) for layer in layers]

    monkeypatch.setattr(engine_runs, "preview_layers", preview_layers)
    return asked


def test_the_preview_gets_the_base_and_verbose_asked_for(previews):
    result = diff.diff_layers("dev", [Layer.API], base="main", verbose=True)
    assert previews == [{"env": "dev", "layers": [Layer.API], "base": "main", "verbose": True}]
    assert result.changed == (Layer.API,)


def test_by_default_the_preview_is_quiet_and_on_no_base(previews):
    diff.diff_layers("dev", [Layer.API])
    assert previews == [{"env": "dev", "layers": [Layer.API], "base": "", "verbose": False}]


def test_offline_the_engines_reason_is_kept_and_its_generic_hint_dropped(monkeypatch):
    reason = "The Pulumi CLI is not installed (no `pulumi` on PATH)."

    def preview_layers(env, layers, **options):
        raise PreflightError(f"{reason} {OFFLINE_HINT.format(env=env)}")

    monkeypatch.setattr(engine_runs, "preview_layers", preview_layers)
    with pytest.raises(PreflightError) as raised:
        diff.diff_layers("staging", [Layer.DATA])
    assert str(raised.value) == diff.OFFLINE_DIFF.format(why=reason, env="staging")
