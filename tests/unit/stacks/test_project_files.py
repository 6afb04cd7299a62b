"""The five Pulumi.yaml files as the CLI will read them (the mocks never do)."""

from __future__ import annotations

import pytest
import yaml

from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.naming import ENVIRONMENTS
from tracking_stacks.registry import REGISTRY, Layer

# Pulumi's project schema (sdk/go/common/workspace/project.json): a declared
# config key needs a type, and the only types are these.
PULUMI_CONFIG_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list}


def project_file(layer: Layer) -> tuple[str, dict]:
    text = (STACKS_DIR / layer.value / "Pulumi.yaml").read_text()
    return text, yaml.safe_load(text)


@pytest.mark.parametrize("layer", list(Layer), ids=lambda layer: layer.value)
def test_project_file_is_valid_for_the_cli(layer):
    _, project = project_file(layer)
    assert project["name"] == REGISTRY[layer].project
    assert project["runtime"]["name"] == "python"
    venv = (STACKS_DIR / layer.value / project["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (REPO_ROOT / ".venv").resolve()
    assert isinstance(project["description"], str) and project["description"]
    for key, declaration in project["config"].items():
        assert declaration["type"] in PULUMI_CONFIG_TYPES, (layer, key)
        assert isinstance(declaration["default"], PULUMI_CONFIG_TYPES[declaration["type"]])
        assert declaration["description"], (layer, key)


@pytest.mark.parametrize("layer", list(Layer), ids=lambda layer: layer.value)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_key_an_env_sets_is_documented_in_the_project_file(layer, env):
    text, project = project_file(layer)
    stack = yaml.safe_load((STACKS_DIR / layer.value / f"Pulumi.{env}.yaml").read_text())
    prefix = f"{REGISTRY[layer].project}:"
    for key, value in stack["config"].items():
        if not key.startswith(prefix):
            continue  # provider settings such as aws:region
        name = key.removeprefix(prefix)
        declared = project["config"].get(name)
        if declared:
            assert isinstance(value, PULUMI_CONFIG_TYPES[declared["type"]]), (env, key)
        else:
            # structured: documented in a comment
            kind = "object" if isinstance(value, dict) else "list of objects"
            assert isinstance(value, dict | list), (env, key)
            assert f"#   {name} ({kind}" in text, (env, key)


def test_policy_pack_file_parses():
    policy = yaml.safe_load((REPO_ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert policy["runtime"]["name"] == "python"
