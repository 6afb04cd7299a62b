"""Fingerprints: what a consumer's program records of its reads matches what the
orchestrator computes; the source parts that make a layer run again."""

from __future__ import annotations

import pytest

from tracking_ops.deploy import fingerprints
from tracking_ops.deploy.fingerprints import (
    LayerState,
    decide,
    deploy_message,
    parse_message,
    source_parts,
    stale_reads,
)
from tracking_ops.deploy.synth import synth_all
from tracking_stacks.registry import REGISTRY, Layer, Output


@pytest.fixture(scope="module")
def synthesized():
    return {result.layer: result for result in synth_all("dev")}


def test_each_consumer_program_exports_a_fingerprint_of_every_output_it_reads(synthesized):
    for layer, spec in REGISTRY.items():
        recorded = synthesized[layer].outputs.get(Output.READ_FINGERPRINTS.value)
        if not spec.reads:
            assert recorded is None
            continue
        expected = {f"{p.value}.{o.value}" for p, names in spec.reads.items() for o in names}
        assert set(recorded) == expected


def test_what_the_program_records_is_what_the_orchestrator_computes(synthesized):
    def outputs_of(layer):
        return synthesized[layer].outputs

    for layer in REGISTRY:
        recorded = synthesized[layer].outputs.get(Output.READ_FINGERPRINTS.value)
        assert stale_reads(layer, recorded, outputs_of) == []


def test_a_changed_producer_output_makes_exactly_its_readers_stale(synthesized):
    def outputs_of(layer):
        outputs = dict(synthesized[layer].outputs)
        if layer is Layer.COMPUTE:
            outputs[Output.API_FUNCTION_NAME.value] = "tracking-api-dev-2"
        return outputs

    stale = {
        layer: stale_reads(layer, synthesized[layer].outputs.get("read_fingerprints"), outputs_of)
        for layer in REGISTRY
    }
    assert stale == {
        Layer.DATA: [],
        Layer.CONFIG: [],
        Layer.COMPUTE: [],
        Layer.API: ["compute.api_function_name"],
        Layer.MONITORING: ["compute.api_function_name"],
    }


def test_a_missing_producer_counts_as_stale(synthesized):
    recorded = synthesized[Layer.API].outputs["read_fingerprints"]
    assert stale_reads(Layer.API, recorded, lambda layer: None) == [
        "compute.api_function_name",
        "compute.api_alias_name",
        "compute.api_alias_invoke_arn",
    ]


def test_source_parts_per_layer_and_env():
    dev, prod = source_parts(Layer.DATA, "dev"), source_parts(Layer.DATA, "prod")
    assert dev["program"] == prod["program"] and dev["config"] != prod["config"]
    assert "assets" not in dev
    one = source_parts(Layer.COMPUTE, "dev", assets={"api": "1", "notifier": "2"})
    two = source_parts(Layer.COMPUTE, "dev", assets={"api": "1", "notifier": "3"})
    assert one["assets"] != two["assets"] and one["program"] == two["program"]
    assert source_parts(Layer.API, "dev")["program"] != dev["program"]


def test_the_program_fingerprint_follows_the_layers_files_but_not_other_envs_config(
    monkeypatch, tmp_path
):
    stacks = tmp_path / "stacks"
    (stacks / "data").mkdir(parents=True)
    (stacks / "data" / "__main__.py").write_text("x = 1\n")
    (stacks / "data" / "Pulumi.yaml").write_text("name: tracking-data\n")
    (stacks / "data" / "Pulumi.dev.yaml").write_text("config: {}\n")
    monkeypatch.setattr(fingerprints, "STACKS_DIR", stacks)
    monkeypatch.setattr(fingerprints, "REPO_ROOT", tmp_path)
    first = fingerprints.program_fingerprint(Layer.DATA)

    (stacks / "data" / "Pulumi.staging.yaml").write_text("config: {a: 1}\n")
    assert fingerprints.program_fingerprint(Layer.DATA) == first
    (stacks / "data" / "Pulumi.yaml").write_text("name: tracking-data\nconfig: {}\n")
    assert fingerprints.program_fingerprint(Layer.DATA) != first


def test_the_deploy_message_round_trips():
    parts = {"program": "ab12", "config": "cd34", "assets": "ef56"}
    message = deploy_message(parts)
    assert message == "tracking-deploy assets=ef56 config=cd34 program=ab12"
    assert parse_message(message) == parts
    assert parse_message("fixed by hand") is None


def test_decisions_say_why():
    parts = {"program": "ab", "config": "cd"}
    state = LayerState(outputs={}, last_result="succeeded", last_message=deploy_message(parts))
    assert decide(Layer.DATA, None, lambda _: None, parts).reason == "never deployed"
    assert not decide(Layer.DATA, state, lambda _: None, parts).run
    changed = decide(Layer.DATA, state, lambda _: None, {"program": "ab", "config": "ce"})
    assert changed.run and changed.reason == "config changed since its last deploy"


def test_a_branch_envs_config_part_is_that_of_the_env_it_was_made_from():
    from_prod = source_parts(Layer.COMPUTE, "pr-7", base="prod")["config"]
    from_dev = source_parts(Layer.COMPUTE, "pr-7")["config"]
    assert from_prod != from_dev  # prod's settings (capped for a branch) are not dev's
    assert from_prod == fingerprints.output_fingerprint(
        fingerprints.stack_config(Layer.COMPUTE, "pr-7", "prod")
    )


def test_a_fingerprint_is_sixteen_hex_digits():
    for part in source_parts(Layer.COMPUTE, "dev", assets={"api": "1"}).values():
        assert len(part) == 16 and set(part) <= set("0123456789abcdef")
    assert len(fingerprints.program_fingerprint(Layer.DATA)) == 16


def test_each_reason_names_what_changed_in_plain_words():
    parts = {"program": "ab", "config": "cd", "assets": "ef"}
    deployed = LayerState(outputs={}, last_result="succeeded", last_message=deploy_message(parts))
    both = decide(Layer.DATA, deployed, lambda _: None, {**parts, "program": "a1", "config": "c1"})
    assert both.reason == "config, program changed since its last deploy"
    unchanged = decide(Layer.DATA, deployed, lambda _: None, parts)
    assert unchanged.run is False and unchanged.reason == "unchanged since its last deploy"
    by_hand = LayerState(outputs={}, last_result="succeeded", last_message="fixed by hand")
    assert decide(Layer.DATA, by_hand, lambda _: None, parts).reason == (
        "its last update was not made by invoke (no fingerprint)"
    )


def test_with_only_reads_counting_a_reader_with_unchanged_reads_is_skipped(synthesized):
    def outputs_of(layer):
        return synthesized[layer].outputs

    recorded = synthesized[Layer.API].outputs
    state = LayerState(outputs=recorded, last_result="succeeded")
    decision = decide(Layer.API, state, outputs_of, None)
    assert decision.run is False
    assert decision.reason == "up to date (what it reads is unchanged)"
    stale = decide(Layer.API, state, lambda layer: None, None)
    assert stale.reason == (
        "reads compute.api_function_name, compute.api_alias_name, "
        "compute.api_alias_invoke_arn, changed since its last deploy"
    )
