"""The config layer's key, alias and parameters through the provider into moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.functional.standin_cloud.engine_calls import Resource, synth_inputs, synth_one
from tracking_ops.standin_cloud.moto_backed.keys_and_parameters import ALIAS, KEY, PARAMETER
from tracking_stacks.registry import Layer


@pytest.fixture
def key(provider):
    name, inputs = synth_one(Layer.CONFIG, KEY)
    return Resource(provider, KEY, name, inputs)


@pytest.fixture
def parameters(provider, key):
    """The three parameters, the SecureString's under the key moto made."""
    made = {}
    for name, inputs in synth_inputs(Layer.CONFIG, PARAMETER):
        if inputs["type"] == "SecureString":
            inputs = {**inputs, "keyId": key.outputs["arn"]}
        made[inputs["type"], name] = Resource(provider, PARAMETER, name, inputs, secrets=("value",))
    return made


def _secure(parameters):
    return next(p for (typ, _), p in parameters.items() if typ == "SecureString")


def test_the_key_in_moto_has_the_declared_settings(cloud, key):
    kms = cloud.client("kms")
    metadata = kms.describe_key(KeyId=key.id)["KeyMetadata"]
    assert metadata["Description"] == key.inputs["description"]
    assert kms.get_key_rotation_status(KeyId=key.id)["KeyRotationEnabled"] is True
    tags = kms.list_resource_tags(KeyId=key.id)["Tags"]
    assert {t["TagKey"]: t["TagValue"] for t in tags} == key.inputs["tags"]
    assert key.outputs["arn"] == metadata["Arn"] and key.outputs["keyId"] == key.id


def test_a_key_policy_is_set_updated_and_read(cloud, key):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    key.update(policy=json.dumps(policy), enableKeyRotation=False, description="other")
    kms = cloud.client("kms")
    assert json.loads(kms.get_key_policy(KeyId=key.id, PolicyName="default")["Policy"]) == policy
    assert kms.get_key_rotation_status(KeyId=key.id)["KeyRotationEnabled"] is False
    assert key.read()["description"] == "other"
    kms.enable_key_rotation(KeyId=key.id)
    assert key.read()["enableKeyRotation"] is True


def test_deleting_the_key_schedules_it_with_the_declared_window(cloud, key):
    key.delete()
    metadata = cloud.client("kms").describe_key(KeyId=key.id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    window = timedelta(days=key.inputs["deletionWindowInDays"])
    assert abs(metadata["DeletionDate"] - (datetime.now(UTC) + window)) < timedelta(hours=1)
    assert key.read() is None


def test_the_alias_points_at_the_key_and_follows_a_repoint(cloud, provider, key):
    name, inputs = synth_one(Layer.CONFIG, ALIAS)
    alias = Resource(provider, ALIAS, name, {**inputs, "targetKeyId": key.id})
    kms = cloud.client("kms")
    (entry,) = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == inputs["name"]]
    assert entry["TargetKeyId"] == key.id and alias.outputs["arn"] == entry["AliasArn"]
    assert alias.read() == {**alias.outputs, "targetKeyId": key.id}
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    alias.update(targetKeyId=other)
    (entry,) = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == inputs["name"]]
    assert entry["TargetKeyId"] == other
    kms.update_alias(AliasName=inputs["name"], TargetKeyId=key.id)
    assert alias.read()["targetKeyId"] == key.id
    alias.delete()
    assert inputs["name"] not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert alias.read() is None


def test_the_parameters_in_moto_have_type_value_and_key(cloud, parameters, key):
    ssm = cloud.client("ssm")
    for parameter in parameters.values():
        held = ssm.get_parameter(Name=parameter.id, WithDecryption=True)["Parameter"]
        assert (held["Type"], held["Value"]) == (
            parameter.inputs["type"],
            parameter.inputs["value"],
        )
        assert parameter.outputs["arn"] == held["ARN"] and parameter.outputs["version"] == 1
        (described,) = ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [parameter.id]}]
        )["Parameters"]
        assert described["Description"] == parameter.inputs["description"]
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=parameter.id)
        assert {t["Key"]: t["Value"] for t in tags["TagList"]} == parameter.inputs["tags"]
    assert _key_of(ssm, _secure(parameters).id) == key.outputs["arn"]


def _key_of(ssm, name):
    (described,) = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])[
        "Parameters"
    ]
    return described["KeyId"]


def test_a_new_value_reaches_moto_and_a_hand_change_is_read_as_a_secret(cloud, parameters):
    secure = _secure(parameters)
    secure.update(value='{"token": "new"}')
    ssm = cloud.client("ssm")
    held = ssm.get_parameter(Name=secure.id, WithDecryption=True)["Parameter"]
    assert held["Value"] == '{"token": "new"}' and secure.outputs["version"] == 2
    ssm.put_parameter(Name=secure.id, Value="by hand", Type="SecureString", Overwrite=True)
    found = secure.read_wire()
    assert found.properties["value"].value == "by hand"
    assert found.properties["value"].is_secret and found.inputs["value"].is_secret


def test_a_fresh_read_reports_no_drift_and_delete_removes(cloud, parameters):
    for parameter in parameters.values():
        found = parameter.read()
        for key, value in parameter.inputs.items():
            assert found[key] == value, (parameter.id, key)
        parameter.delete()
        assert parameter.read() is None
    assert cloud.client("ssm").describe_parameters()["Parameters"] == []
