"""The config layer's resources: SSM parameters and the KMS key of the SecureString."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tracking_stacks import definitions as defs
from tracking_stacks.registry import Output


@dataclass(frozen=True)
class ConfigLayerArgs:
    env: str
    key_alias: str
    table_name: pulumi.Input[str]
    api_config: str
    feature_flags: str
    key_deletion_window_days: int
    # prod: `destroy` and a replacement may not schedule the key's deletion (what it
    # encrypts would be unreadable once it is gone).
    protect_key: bool
    tags: dict[str, str]


class ConfigLayer(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ConfigLayerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("tracking:config:ConfigLayer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # A key of our own (not aws/ssm) so the functions' kms:Decrypt names one exact ARN.
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"SecureString parameters of tracking {args.env}",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_key),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{args.key_alias}",
            target_key_id=self.key.key_id,
            opts=child,
        )
        self.parameters = {
            spec: aws.ssm.Parameter(
                f"{name}-{spec.what}",
                name=spec.path(args.env),
                description=spec.description,
                type="SecureString" if spec.secure else "String",
                key_id=self.key.arn if spec.secure else None,
                value=value,
                tags=args.tags,
                opts=child,
            )
            for spec, value in (
                (defs.API_CONFIG_PARAM, args.api_config),
                (defs.FEATURE_FLAGS_PARAM, args.feature_flags),
                (defs.DB_ENDPOINT_PARAM, args.table_name),
            )
        }
        self.register_outputs({Output.CONFIG_KEY_ARN: self.key.arn})
