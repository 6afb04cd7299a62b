"""The synthesis as data (synth_output.py) on small hand-made layers: the JSON document
`invoke synth --out` writes (secrets masked, assets by path, resources as the mocks
recorded them) and the lines `invoke synth --diff` prints."""

from __future__ import annotations

import hashlib
import json

import pulumi
import pytest

from tracking_ops.deploy.synth_output import (
    SECRET_PLACEHOLDER,
    SECRET_SIGNATURE,
    LayerSynth,
    diff_envs,
    synth_document,
)
from tracking_stacks.registry import Layer

TABLE = "aws:dynamodb/table:Table"
PARAMETER = "aws:ssm/parameter:Parameter"
FUNCTION = "aws:lambda/function:Function"


def secret(value):
    """A secret as the mocks see it: Pulumi's wire marker around the value."""
    return {SECRET_SIGNATURE: "1b47061264138c4ac30d75fd1eb44270", "value": value}


def resource(typ, name, inputs, state=None, **flags):
    """A resource as SynthMocks.new_resource records it."""
    return {
        "type": typ,
        "name": name,
        "inputs": inputs,
        "state": inputs if state is None else state,
        "protect": flags.get("protect", False),
        "retain_on_delete": flags.get("retain_on_delete", False),
        "delete_before_replace": flags.get("delete_before_replace", False),
        "dependencies": flags.get("dependencies", []),
        "replace_on_changes": [],
    }


def layer(env, resources, layer_=Layer.DATA, outputs=None, references=None):
    return LayerSynth(layer_, env, "organization", resources, outputs or {}, references or [])


def test_a_layers_json_names_its_project_stack_upstream_references_and_resources():
    result = layer(
        "staging",
        [
            resource(
                PARAMETER,
                "api-config",
                {"name": "/tracking/staging/api", "tags": ("a", ["b"])},
                state={"name": "/tracking/staging/api", "arn": "arn:p"},
                protect=True,
                retain_on_delete=True,
                delete_before_replace=True,
                dependencies=["config-key"],
            )
        ],
        layer_=Layer.CONFIG,
        outputs={"api_config_param_name": "/tracking/staging/api"},
        references=["organization/tracking-data/staging"],
    )

    assert result.as_json() == {
        "layer": "config",
        "project": "tracking-config",
        "stack": "staging",
        "depends_on": ["data"],
        "references": ["organization/tracking-data/staging"],
        "resources": [
            {
                "type": PARAMETER,
                "name": "api-config",
                "protect": True,
                "retain_on_delete": True,
                "delete_before_replace": True,
                "dependencies": ["config-key"],
                "inputs": {"name": "/tracking/staging/api", "tags": ["a", ["b"]]},
                "outputs": {"name": "/tracking/staging/api", "arn": "arn:p"},
            }
        ],
        "outputs": {"api_config_param_name": "/tracking/staging/api"},
    }


def test_each_resource_flag_is_its_own_in_the_json():
    flags = ("protect", "retain_on_delete", "delete_before_replace")
    for flag in flags:
        (shown,) = layer("dev", [resource(TABLE, "t", {}, **{flag: True})]).as_json()["resources"]
        assert {name: shown[name] for name in flags} == {name: name == flag for name in flags}


def test_secrets_are_masked_in_inputs_outputs_and_stack_outputs_at_any_depth():
    result = layer(
        "dev",
        [
            resource(
                PARAMETER,
                "flags",
                {"value": secret("on"), "nested": [{"deep": secret("x")}]},
                state={"value": secret("on"), "arn": "arn:flags"},
            )
        ],
        outputs={"flags": secret("on"), "name": "plain"},
    )

    shown = result.as_json()
    assert shown["resources"][0]["inputs"] == {
        "value": SECRET_PLACEHOLDER,
        "nested": [{"deep": SECRET_PLACEHOLDER}],
    }
    assert shown["resources"][0]["outputs"] == {"value": SECRET_PLACEHOLDER, "arn": "arn:flags"}
    assert shown["outputs"] == {"flags": "[secret]", "name": "plain"}
    assert "on" not in json.dumps(shown["outputs"])


def test_assets_show_by_path_and_resources_as_a_placeholder(tmp_path):
    code = tmp_path / "api.zip"
    code.write_bytes(b"zip")
    handler = tmp_path / "handler.py"
    handler.write_text("pass\n")
    inputs = {
        "code": pulumi.FileArchive(str(code)),
        "file": pulumi.FileAsset(str(handler)),
        "bundle": pulumi.AssetArchive({"handler.py": pulumi.FileAsset(str(handler))}),
        "count": 3,
        "off": None,
    }

    (shown,) = layer("dev", [resource(FUNCTION, "api", inputs)]).as_json()["resources"]

    assert shown["inputs"] == {
        "code": {"archive": str(code)},
        "file": {"archive": str(handler)},
        "bundle": {"archive": {"handler.py": {"archive": str(handler)}}},
        "count": 3,
        "off": None,
    }
    json.dumps(shown)  # what --out writes


def test_a_resource_object_in_the_outputs_shows_as_a_placeholder():
    class Recorded(pulumi.CustomResource):
        def __init__(self):  # the object only: never registered with an engine
            pass

    shown = layer("dev", [], outputs={"table": Recorded(), "many": [Recorded()]}).as_json()
    assert shown["outputs"] == {"table": "<resource>", "many": ["<resource>"]}


def test_the_document_is_the_env_and_each_layers_json_in_the_order_given():
    data = layer("prod", [resource(TABLE, "t", {"name": "tracking-prod"})])
    config = layer("prod", [], layer_=Layer.CONFIG)

    document = synth_document("prod", [data, config])

    assert document == {"env": "prod", "stacks": [data.as_json(), config.as_json()]}
    assert [stack["layer"] for stack in document["stacks"]] == ["data", "config"]


def test_the_same_resources_in_two_envs_differ_in_nothing_but_their_names():
    def of(env):
        return [
            layer(
                env,
                [
                    resource(
                        TABLE,
                        "tracking-table",
                        {
                            "name": f"tracking-{env}",
                            "tags": {"env": env, "Name": f"{env}-table"},
                            "list": [f"a-{env}", 1],
                        },
                    )
                ],
            )
        ]

    assert diff_envs(of("dev"), of("prod")) == []
    assert diff_envs(of("pr-12"), of("staging")) == []


def test_a_name_containing_the_env_as_part_of_a_word_is_a_difference():
    def of(env, name):
        return [layer(env, [resource(TABLE, "t", {"name": name})])]

    lines = diff_envs(of("dev", "devices-dev"), of("prod", "devices-prod"))
    assert lines == []
    lines = diff_envs(of("dev", "devices"), of("prod", "prodices"))
    assert lines == ['[data] t.name: "devices" (dev) -> "prodices" (prod)']


def test_an_env_name_is_matched_literally_not_as_a_pattern():
    # "pr-1.2" would match "pr-1x2" as a regular expression.
    first = [layer("pr-1.2", [resource(TABLE, "t", {"name": "pr-1x2"})])]
    second = [layer("dev", [resource(TABLE, "t", {"name": "pr-1x2"})])]
    assert diff_envs(first, second) == []
    renamed = [layer("dev", [resource(TABLE, "t", {"name": "dev"})])]
    assert diff_envs(first, renamed) == ['[data] t.name: "pr-1x2" (pr-1.2) -> "<env>" (dev)']


def test_every_differing_input_and_protect_flag_is_a_line_in_sorted_order():
    first = [
        layer(
            "dev",
            [
                resource(TABLE, "table", {"billing": "PAY", "ttl": 1, "same": [1]}),
                resource(PARAMETER, "api", {"tier": "Standard"}, protect=False),
            ],
        )
    ]
    second = [
        layer(
            "prod",
            [
                resource(TABLE, "table", {"billing": "PROVISIONED", "same": [1], "zone": "a"}),
                resource(PARAMETER, "api", {"tier": "Standard"}, protect=True),
            ],
        )
    ]

    # By type, then name, then property: the table's type sorts before the parameter's.
    assert diff_envs(first, second) == [
        '[data] table.billing: "PAY" (dev) -> "PROVISIONED" (prod)',
        "[data] table.ttl: 1 (dev) -> null (prod)",
        '[data] table.zone: null (dev) -> "a" (prod)',
        "[data] api.(protect): false (dev) -> true (prod)",
    ]


def test_a_resource_in_one_env_only_is_one_line_naming_that_env():
    first = [layer("dev", [resource(TABLE, "both", {}), resource(TABLE, "dev-only", {"a": 1})])]
    second = [layer("prod", [resource(TABLE, "both", {}), resource(PARAMETER, "prod-only", {})])]

    assert diff_envs(first, second) == [
        f"[data] {TABLE} dev-only: only in dev",
        f"[data] {PARAMETER} prod-only: only in prod",
    ]


def test_resources_of_two_types_with_one_name_are_two_resources():
    first = [layer("dev", [resource(TABLE, "x", {"a": 1})])]
    second = [layer("prod", [resource(PARAMETER, "x", {"a": 1})])]
    assert diff_envs(first, second) == [
        f"[data] {TABLE} x: only in dev",
        f"[data] {PARAMETER} x: only in prod",
    ]


def test_layers_are_compared_pairwise_and_named_in_each_line():
    first = [
        layer("dev", [], Layer.DATA),
        layer("dev", [resource(TABLE, "t", {"a": 1})], Layer.CONFIG),
    ]
    second = [
        layer("prod", [], Layer.DATA),
        layer("prod", [resource(TABLE, "t", {"a": 2})], Layer.CONFIG),
    ]
    assert diff_envs(first, second) == ["[config] t.a: 1 (dev) -> 2 (prod)"]


def test_two_envs_with_different_layers_are_not_compared():
    with pytest.raises(ValueError):
        diff_envs([layer("dev", []), layer("dev", [], Layer.CONFIG)], [layer("prod", [])])


def test_a_secret_shows_whether_it_differs_as_a_hash_of_its_value_not_the_value():
    def of(env, value):
        return [layer(env, [resource(PARAMETER, "flags", {"value": secret(value)})])]

    assert diff_envs(of("dev", {"beta": True}), of("prod", {"beta": True})) == []
    # A secret naming its env is the same secret in the other env.
    assert diff_envs(of("dev", "key-dev"), of("prod", "key-prod")) == []
    (line,) = diff_envs(of("dev", {"beta": True}), of("prod", {"beta": False}))

    def digest(value):
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:8]

    assert line == (
        f'[data] flags.value: "[secret {digest({"beta": True})}]" (dev) -> '
        f'"[secret {digest({"beta": False})}]" (prod)'
    )
    assert "beta" not in line


def test_a_secrets_hash_does_not_depend_on_key_order():
    def of(env, value):
        return [layer(env, [resource(PARAMETER, "flags", {"value": secret(value)})])]

    assert diff_envs(of("dev", {"a": 1, "b": 2}), of("prod", {"b": 2, "a": 1})) == []


def test_assets_differ_by_path_not_by_object(tmp_path):
    def of(env, path):
        return [layer(env, [resource(FUNCTION, "api", {"code": pulumi.FileArchive(str(path))})])]

    assert diff_envs(of("dev", tmp_path / "a.zip"), of("prod", tmp_path / "a.zip")) == []
    (line,) = diff_envs(of("dev", tmp_path / "a.zip"), of("prod", tmp_path / "b.zip"))
    assert line == (
        f'[data] api.code: {{"archive": "{tmp_path}/a.zip"}} (dev) -> '
        f'{{"archive": "{tmp_path}/b.zip"}} (prod)'
    )


def test_a_long_value_is_cut_to_120_characters_ending_in_dots():
    def of(env, value):
        return [layer(env, [resource(TABLE, "t", {"policy": value})])]

    exact = "x" * 118  # 120 with its quotes: shown whole
    (line,) = diff_envs(of("dev", exact), of("prod", "y"))
    assert line == f'[data] t.policy: "{exact}" (dev) -> "y" (prod)'

    longer = "x" * 119 + "z"
    (line,) = diff_envs(of("dev", longer), of("prod", "y"))
    assert line == f'[data] t.policy: "{"x" * 116}... (dev) -> "y" (prod)'


def test_a_dict_value_is_shown_as_json_with_sorted_keys():
    def of(env, value):
        return [layer(env, [resource(TABLE, "t", {"attributes": value})])]

    (line,) = diff_envs(of("dev", {"b": 1, "a": [1, 2]}), of("prod", {"a": [1]}))
    assert line == '[data] t.attributes: {"a": [1, 2], "b": 1} (dev) -> {"a": [1]} (prod)'


def test_a_value_json_cannot_write_is_shown_as_its_text():
    def of(env, value):
        return [layer(env, [resource(TABLE, "t", {"zones": value})])]

    (line,) = diff_envs(of("dev", frozenset({"a"})), of("prod", frozenset({"b"})))
    assert line == "[data] t.zones: \"frozenset({'a'})\" (dev) -> \"frozenset({'b'})\" (prod)"
