"""KMS keys and aliases, SSM parameters in moto.

Ids as pulumi-aws has them: the key's id, the alias's name, the parameter's name. A
key's deletion window is used when it is deleted (ScheduleKeyDeletion); AWS cannot
read it back before, so ``read`` leaves it as the state has it.
"""

from __future__ import annotations

from typing import Any

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.shapes import (
    ARN,
    NAME,
    TAGS,
    as_declared,
    changed,
    given,
    number,
    tag_changes,
    tag_list,
    tag_map,
)

KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
PARAMETER = "aws:ssm/parameter:Parameter"
KMS, SSM = "kms", "ssm"
DEFAULT_POLICY = "default"  # a key's one policy name
PENDING_DELETION = "PendingDeletion"
WINDOW = "deletionWindowInDays"
ROTATION = "enableKeyRotation"
DESCRIPTION = "description"
POLICY = "policy"
TARGET = "targetKeyId"
SECURE_STRING = "SecureString"
KEY_ID = "keyId"
PARAMETER_TYPE = "Parameter"  # SSM's resource type of a parameter's tags
KMS_TAG = {"key": "TagKey", "value": "TagValue"}

STATE_ONLY[f"{KEY}#{WINDOW}"] = (
    "AWS keeps it only once the deletion is scheduled: applied on delete "
    "(ScheduleKeyDeletion's PendingWindowInDays), not read back before"
)


@backs(KEY)
class Key:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(KMS)
        request: dict[str, Any] = {
            "KeyUsage": inputs.get("keyUsage", "ENCRYPT_DECRYPT"),
            "KeySpec": inputs.get("customerMasterKeySpec")
            or inputs.get("keySpec", "SYMMETRIC_DEFAULT"),
            "MultiRegion": bool(inputs.get("multiRegion")),
            "Tags": tag_list(inputs.get(TAGS), **KMS_TAG),
        }
        for key, field in ((DESCRIPTION, "Description"), (POLICY, "Policy")):
            if key in inputs:
                request[field] = inputs[key]
        metadata = client.create_key(**request)["KeyMetadata"]
        key_id = metadata["KeyId"]
        if inputs.get(ROTATION):
            client.enable_key_rotation(KeyId=key_id)
        if inputs.get("isEnabled") is False:
            client.disable_key(KeyId=key_id)
        return key_id, {ARN: metadata["Arn"], KEY_ID: key_id}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(KMS)
        try:
            metadata = client.describe_key(KeyId=resource_id)["KeyMetadata"]
        except client.exceptions.NotFoundException:
            return None
        if metadata["KeyState"] == PENDING_DELETION:  # pulumi-aws: gone
            return None
        found: Properties = {
            ARN: metadata["Arn"],
            KEY_ID: metadata["KeyId"],
            DESCRIPTION: metadata.get("Description", ""),
            "keyUsage": metadata["KeyUsage"],
            "isEnabled": metadata["Enabled"],
            ROTATION: client.get_key_rotation_status(KeyId=resource_id)["KeyRotationEnabled"],
            TAGS: tag_map(client.list_resource_tags(KeyId=resource_id)["Tags"], **KMS_TAG),
        }
        if POLICY in state:
            held = client.get_key_policy(KeyId=resource_id, PolicyName=DEFAULT_POLICY)["Policy"]
            found[POLICY] = as_declared(state[POLICY], held)
        return {key: value for key, value in found.items() if key in state or key == ARN}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        olds, news = given(olds), given(news)
        client = cloud.client(KMS)
        if changed(olds, news, DESCRIPTION):
            client.update_key_description(KeyId=resource_id, Description=news.get(DESCRIPTION, ""))
        if changed(olds, news, POLICY) and POLICY in news:
            client.put_key_policy(KeyId=resource_id, PolicyName=DEFAULT_POLICY, Policy=news[POLICY])
        if changed(olds, news, ROTATION):
            if news.get(ROTATION):
                client.enable_key_rotation(KeyId=resource_id)
            else:
                client.disable_key_rotation(KeyId=resource_id)
        if changed(olds, news, "isEnabled"):
            if news.get("isEnabled", True):
                client.enable_key(KeyId=resource_id)
            else:
                client.disable_key(KeyId=resource_id)
        to_set, to_remove = tag_changes(olds, news)
        if to_set:
            client.tag_resource(KeyId=resource_id, Tags=tag_list(to_set, **KMS_TAG))
        if to_remove:
            client.untag_resource(KeyId=resource_id, TagKeys=to_remove)
        metadata = client.describe_key(KeyId=resource_id)["KeyMetadata"]
        return {ARN: metadata["Arn"], KEY_ID: metadata["KeyId"]}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        window = number(state.get(WINDOW) or 30)  # AWS's default window: 30 days
        cloud.client(KMS).schedule_key_deletion(KeyId=resource_id, PendingWindowInDays=window)


def _key_id(client: Any, key: str) -> str:
    return client.describe_key(KeyId=key)["KeyMetadata"]["KeyId"]


@backs(ALIAS)
class Alias:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        client = cloud.client(KMS)
        alias = inputs.get(NAME) or f"alias/{name}"
        client.create_alias(AliasName=alias, TargetKeyId=inputs[TARGET])
        return alias, self._answer(client, alias)

    @staticmethod
    def _found(client: Any, alias: str) -> dict[str, Any] | None:
        for page in client.get_paginator("list_aliases").paginate():
            for entry in page["Aliases"]:
                if entry["AliasName"] == alias:
                    return entry
        return None

    def _answer(self, client: Any, alias: str) -> Properties:
        entry = self._found(client, alias)
        target = client.describe_key(KeyId=entry["TargetKeyId"])["KeyMetadata"]["Arn"]
        return {ARN: entry["AliasArn"], "targetKeyArn": target}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(KMS)
        entry = self._found(client, resource_id)
        if entry is None:
            return None
        declared = state.get(TARGET)
        # The state may name the key by id or by ARN: the same key is no drift.
        same = declared and _key_id(client, declared) == entry["TargetKeyId"]
        return {NAME: resource_id, TARGET: declared if same else entry["TargetKeyId"]}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        client = cloud.client(KMS)
        client.update_alias(AliasName=resource_id, TargetKeyId=news[TARGET])
        return self._answer(client, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(KMS)
        if self._found(client, resource_id) is not None:
            client.delete_alias(AliasName=resource_id)


PARAMETER_FIELDS = (
    ("type", "Type"),
    ("value", "Value"),
    (DESCRIPTION, "Description"),
    (KEY_ID, "KeyId"),
    ("tier", "Tier"),
    ("dataType", "DataType"),
    ("allowedPattern", "AllowedPattern"),
)


@backs(PARAMETER)
class Parameter:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(SSM)
        parameter = inputs.get(NAME, name)
        request = {field: inputs[key] for key, field in PARAMETER_FIELDS if key in inputs}
        if "insecureValue" in inputs:
            request["Value"] = inputs["insecureValue"]
        if inputs.get(TAGS):
            request["Tags"] = tag_list(inputs[TAGS])
        client.put_parameter(Name=parameter, **request)
        return parameter, self._answer(client, parameter)

    @staticmethod
    def _answer(client: Any, parameter: str) -> Properties:
        found = client.get_parameter(Name=parameter)["Parameter"]
        return {ARN: found["ARN"], "version": found["Version"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(SSM)
        try:
            held = client.get_parameter(Name=resource_id, WithDecryption=True)["Parameter"]
        except client.exceptions.ParameterNotFound:
            return None
        (described,) = client.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [resource_id]}]
        )["Parameters"]
        found: Properties = {
            NAME: resource_id,
            "type": held["Type"],
            "version": held["Version"],
            DESCRIPTION: described.get("Description"),
            KEY_ID: described.get("KeyId"),
            "tier": described.get("Tier"),
            "dataType": held.get("DataType"),
            TAGS: tag_map(
                client.list_tags_for_resource(ResourceType=PARAMETER_TYPE, ResourceId=resource_id)[
                    "TagList"
                ]
            ),
        }
        found["insecureValue" if "insecureValue" in state else "value"] = held["Value"]
        return {key: value for key, value in found.items() if key in state or key == "version"}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        olds, news = given(olds), given(news)
        client = cloud.client(SSM)
        keys = [key for key, _ in PARAMETER_FIELDS] + ["insecureValue"]
        if changed(olds, news, *keys):
            request = {field: news[key] for key, field in PARAMETER_FIELDS if key in news}
            if "insecureValue" in news:
                request["Value"] = news["insecureValue"]
            client.put_parameter(Name=resource_id, Overwrite=True, **request)
        to_set, to_remove = tag_changes(olds, news)
        where = {"ResourceType": PARAMETER_TYPE, "ResourceId": resource_id}
        if to_set:
            client.add_tags_to_resource(**where, Tags=tag_list(to_set))
        if to_remove:
            client.remove_tags_from_resource(**where, TagKeys=to_remove)
        return self._answer(client, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(SSM)
        try:
            client.delete_parameter(Name=resource_id)
        except client.exceptions.ParameterNotFound:
            return
