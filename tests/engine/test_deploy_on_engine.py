"""The deploy tasks on Pulumi's real engine: real StackReferences between real stacks,
the policy pack run by the engine's analyzer, skip-unchanged and status from real state."""

from __future__ import annotations

import json
import subprocess

from tracking_stacks.definitions import REPO_ROOT
from tracking_stacks.registry import REGISTRY

LAYERS = [layer.value for layer in REGISTRY]


def test_deploy_all_deploys_every_layer_in_order_through_real_stack_references(deployed_dev):
    # Given dev deployed by `invoke deploy-all --env dev --yes` (module fixture)
    lines = deployed_dev.deploy_log.splitlines()
    # Then every layer succeeded, each started after the layers it reads had finished
    finished = [line.split("]")[0][1:] for line in lines if "deploy succeeded" in line]
    assert finished == LAYERS
    # and the engine ran the policy pack on them (no violation, or the deploy would fail)
    outputs = deployed_dev.outputs("dev")
    for layer, spec in REGISTRY.items():
        exported = {name.value for name in spec.exports}
        assert exported <= set(outputs[layer.value]), layer
    # A consumer's StackReference read the producer's real output
    assert outputs["compute"]["api_function_name"] == "tracking-api-dev"
    assert outputs["data"]["table_name"] == "tracking-table-dev"


def test_a_second_deploy_all_skips_every_layer_and_status_is_up_to_date(deployed_dev):
    again = deployed_dev.run("deploy-all", "--env", "dev", "--yes").stdout
    for layer in LAYERS:
        assert f"[{layer}] deploy skipped: unchanged" in again
    status = deployed_dev.run("status", "--env", "dev").stdout
    rows = [line for line in status.splitlines() if line.split()[:1] in ([x] for x in LAYERS)]
    assert len(rows) == len(LAYERS)
    assert all(row.rstrip().endswith("up to date") for row in rows), status


def test_engine_state_has_what_the_offline_synth_declares(deployed_dev, tmp_path):
    # The engine's state after a deploy, every resource's type, name and inputs, equals
    # what `invoke synth` produced offline for the same env (secrets and assets aside).
    out = tmp_path / "synth.json"
    deployed_dev.run("synth", "--env", "dev", "--out", str(out))
    synth = json.loads(out.read_text())
    state_dir = deployed_dev.root / "state" / ".pulumi" / "stacks"
    for stack in synth["stacks"]:
        checkpoint = json.loads((state_dir / stack["project"] / "dev.json").read_text())
        resources = checkpoint["checkpoint"]["latest"]["resources"]
        engine = {
            (r["type"], r["urn"].split("::")[-1]): r.get("inputs", {})
            for r in resources
            if r.get("custom") and not r["type"].startswith("pulumi:")
        }
        declared = {
            (r["type"], r["name"]): r["inputs"]
            for r in stack["resources"]
            if not r["type"].startswith(("pulumi:", "tracking:"))
        }
        assert set(engine) == set(declared), stack["layer"]
        for key, inputs in declared.items():
            for prop, value in inputs.items():
                if value == "[secret]" or isinstance(value, dict) and "archive" in value:
                    continue
                got = engine[key].get(prop)
                assert _same(got, value), (stack["layer"], key, prop, got, value)


def _same(engine_value, synth_value) -> bool:
    """Equal as JSON data (the engine's wire has only floats for numbers)."""
    return _numbers_as_floats(engine_value) == _numbers_as_floats(synth_value)


def _numbers_as_floats(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    return [_numbers_as_floats(v) for v in value]


def test_deploying_a_layer_before_its_upstream_stops_before_the_engine_runs(tasks):
    done = tasks.run("deploy", "--stack", "api", "--env", "dev", "--yes", check=False)
    assert done.returncode != 0
    assert "tracking-compute/dev does not exist; deploy it first" in done.stdout + done.stderr
    # nothing was created: the engine never ran for api
    assert not (tasks.root / "state" / ".pulumi" / "stacks" / "tracking-api").exists()


def test_a_branch_env_deploys_and_destroy_all_leaves_no_stack_and_no_resource(tasks):
    tasks.run("deploy-all", "--env", "pr-7", "--yes")
    stacks = tasks.root / "state" / ".pulumi" / "stacks"
    assert sorted(p.name for p in stacks.iterdir()) == sorted(s.project for s in REGISTRY.values())
    destroyed = tasks.run("destroy-all", "--env", "pr-7", "--yes").stdout
    order = [line.split("]")[0][1:] for line in destroyed.splitlines() if line.startswith("[")]
    started = list(dict.fromkeys(order))
    assert started == list(reversed(LAYERS)), destroyed
    left = list(stacks.rglob("*.json")) if stacks.exists() else []
    assert left == [], left


def test_refresh_expecting_no_changes_passes_on_an_untouched_env(deployed_dev):
    done = deployed_dev.run("refresh", "--env", "dev", "--expect-no-changes")
    for layer in LAYERS:
        assert any(
            line.startswith(layer) and "no changes" in line for line in done.stdout.splitlines()
        ), done.stdout


def test_a_sandbox_deploy_leaves_the_committed_stack_files_as_they_are(deployed_dev):
    # The engine writes a stack's salt and config into its stack file: in the sandbox
    # it writes into a copy, never into stacks/<layer>/Pulumi.<env>.yaml.
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", "stacks"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert changed == ""
    assert (deployed_dev.root / "projects" / "data" / "Pulumi.dev.yaml").is_file()


def test_diff_previews_every_layer_and_fail_exits_0_on_an_unchanged_layer(deployed_dev):
    done = deployed_dev.run("diff", "--env", "dev")  # without --fail: 0 whatever it finds
    lines = done.stdout.splitlines()
    for layer in LAYERS:
        assert any(line.startswith(f"{layer}: ") for line in lines), done.stdout
    assert lines[-1].startswith("diff: "), done.stdout
    one = deployed_dev.run("diff", "--env", "dev", "--layer", "data", "--fail", check=False)
    assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]
    assert one.stdout.splitlines()[-2:] == ["data: no changes", "diff: no changes"]
