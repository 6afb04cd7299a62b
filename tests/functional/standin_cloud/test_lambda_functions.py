"""Lambda functions and aliases in moto through the provider."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.functional.standin_cloud.compute_lifecycle import Life, synthesized_inputs
from tracking_ops.standin_cloud.moto_backed import lambda_functions as lf
from tracking_ops.standin_cloud.wire_compat import ASSET_SIGNATURES, SIGNATURE_KEY
from tracking_stacks import definitions as defs

API_FUNCTION = "tracking-api-function"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }
)
ARCHIVE_SIGNATURE = next(sig for sig in ASSET_SIGNATURES if sig.startswith("0def"))


def package(tmp_path, text: str = "def handler(event, context):\n    return event\n") -> dict:
    """A zip file archive as the engine sends it (signature, path, hash)."""
    path = tmp_path / f"code-{abs(hash(text))}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", text)
    return {SIGNATURE_KEY: ARCHIVE_SIGNATURE, "path": str(path), "hash": str(hash(text))}


@pytest.fixture
def role_arn(cloud) -> str:
    return cloud.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)[
        "Role"
    ]["Arn"]


def function_inputs(tmp_path, role_arn: str, **extra) -> dict:
    declared = synthesized_inputs(lf.FUNCTION, API_FUNCTION)
    return {**declared, "code": package(tmp_path), "role": role_arn, **extra}


def test_a_function_is_created_with_its_declared_settings_and_a_published_version(
    provider, cloud, tmp_path, role_arn
):
    life = Life(provider, lf.FUNCTION, API_FUNCTION)
    inputs = function_inputs(tmp_path, role_arn, reservedConcurrentExecutions=7)
    outputs = life.create(inputs)
    found = cloud.client("lambda").get_function(FunctionName=inputs["name"])
    config = found["Configuration"]
    assert life.id == inputs["name"] == config["FunctionName"]
    assert config["Runtime"] == defs.LAMBDA_RUNTIME == inputs["runtime"]
    assert config["Architectures"] == [defs.LAMBDA_ARCHITECTURE]
    assert config["Handler"] == inputs["handler"]
    assert config["MemorySize"] == inputs["memorySize"]
    assert config["Timeout"] == inputs["timeout"]
    assert config["Environment"]["Variables"] == inputs["environment"]["variables"]
    assert config["TracingConfig"]["Mode"] == "Active"
    assert found["Concurrency"]["ReservedConcurrentExecutions"] == 7
    assert found["Tags"] == inputs["tags"]
    assert outputs["arn"] == config["FunctionArn"] and outputs["version"] == "1"
    assert outputs["qualifiedArn"] == f"{config['FunctionArn']}:1"
    assert outputs["invokeArn"].endswith(f"functions/{config['FunctionArn']}/invocations")
    versions = cloud.client("lambda").list_versions_by_function(FunctionName=life.id)
    assert [v["Version"] for v in versions["Versions"]] == [lf.LATEST, "1"]
    assert life.unchanged()


def test_another_accounts_layer_stays_in_the_state_and_an_own_layer_reaches_moto(
    provider, cloud, tmp_path, role_arn
):
    declared = synthesized_inputs(lf.FUNCTION, API_FUNCTION)
    assert declared["layers"], "dev's api function declares the extension layer"
    own = cloud.client("lambda").publish_layer_version(
        LayerName="own", Content={"ZipFile": b"PK\x05\x06" + b"\x00" * 18}
    )["LayerVersionArn"]
    life = Life(provider, lf.FUNCTION, API_FUNCTION)
    life.create(function_inputs(tmp_path, role_arn, layers=[*declared["layers"], own]))
    config = cloud.client("lambda").get_function_configuration(FunctionName=life.id)
    assert [layer["Arn"] for layer in config["Layers"]] == [own]
    assert life.unchanged()


def test_an_update_reaches_moto_publishes_a_version_and_a_change_by_hand_is_read(
    provider, cloud, tmp_path, role_arn
):
    life = Life(provider, lf.FUNCTION, API_FUNCTION)
    inputs = function_inputs(tmp_path, role_arn)
    life.create(inputs)
    outputs = life.update(
        memorySize=1024,
        timeout=20,
        environment={"variables": {"A": "b"}},
        code=package(tmp_path, "def handler(event, context):\n    return 2\n"),
        reservedConcurrentExecutions=3,
        tags={"Layer": "compute"},
    )
    client = cloud.client("lambda")
    found = client.get_function(FunctionName=life.id)
    config = found["Configuration"]
    assert (config["MemorySize"], config["Timeout"]) == (1024, 20)
    assert config["Environment"]["Variables"] == {"A": "b"}
    assert found["Concurrency"]["ReservedConcurrentExecutions"] == 3
    assert found["Tags"] == {"Layer": "compute"}
    assert outputs["version"] == "2" and outputs["codeSha256"] == config["CodeSha256"]
    assert life.unchanged()

    life.update(reservedConcurrentExecutions=lf.UNRESERVED)
    assert "Concurrency" not in client.get_function(FunctionName=life.id)
    client.update_function_configuration(FunctionName=life.id, Timeout=99, Handler="x.y")
    client.put_function_concurrency(FunctionName=life.id, ReservedConcurrentExecutions=9)
    outputs, read_inputs = life.read()
    assert (read_inputs["timeout"], read_inputs["handler"]) == (99, "x.y")
    assert read_inputs["reservedConcurrentExecutions"] == 9


def test_a_deleted_function_is_gone(provider, cloud, tmp_path, role_arn):
    life = Life(provider, lf.FUNCTION, API_FUNCTION)
    life.create(function_inputs(tmp_path, role_arn))
    life.delete()
    assert cloud.client("lambda").list_functions()["Functions"] == []
    assert life.read() is None


def test_a_directory_archive_is_zipped_and_a_code_without_a_path_is_refused(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_text("x = 1\n")
    zipped = lf.zip_bytes({"path": str(tmp_path)})
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.read("pkg/app.py") == b"x = 1\n"
    with pytest.raises(ValueError, match="file archive"):
        lf.zip_bytes({"hash": "abc"})


def alias_on(provider, cloud, tmp_path, role_arn) -> tuple[Life, Life]:
    function = Life(provider, lf.FUNCTION, API_FUNCTION)
    function.create(function_inputs(tmp_path, role_arn))
    function.update(timeout=11)  # version 2
    alias = Life(provider, lf.ALIAS, "tracking-api-alias")
    alias.create(
        {**synthesized_inputs(lf.ALIAS, "tracking-api-alias"), "functionName": function.id}
    )
    return function, alias


def test_an_alias_is_created_on_its_version_and_a_canary_shifts_its_weights(
    provider, cloud, tmp_path, role_arn
):
    function, alias = alias_on(provider, cloud, tmp_path, role_arn)
    client = cloud.client("lambda")
    found = client.get_alias(FunctionName=function.id, Name=alias.inputs["name"])
    assert found["FunctionVersion"] == "1" and alias.id == found["AliasArn"]
    assert alias.state["arn"] == found["AliasArn"]
    assert alias.unchanged()

    alias.update(routingConfig={"additionalVersionWeights": {"2": 0.1}})
    found = client.get_alias(FunctionName=function.id, Name=alias.inputs["name"])
    assert found["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    assert alias.unchanged()

    alias.update(functionVersion="2", routingConfig={})  # promoted: weights cleared
    found = client.get_alias(FunctionName=function.id, Name=alias.inputs["name"])
    assert found["FunctionVersion"] == "2"
    assert not (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert alias.unchanged()

    client.update_alias(
        FunctionName=function.id,
        Name=alias.inputs["name"],
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    _, read_inputs = alias.read()
    assert read_inputs["functionVersion"] == "1"
    assert read_inputs["routingConfig"] == {"additionalVersionWeights": {"2": 0.5}}
    alias.delete()
    assert client.list_aliases(FunctionName=function.id)["Aliases"] == []
    assert alias.read() is None
