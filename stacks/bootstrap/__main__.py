"""tracking-bootstrap: the state backend, the secrets key and the per-layer deploy roles."""

import pulumi
import pulumi_aws as aws
from components import Bootstrap, BootstrapArgs

from tracking_stacks import definitions as defs
from tracking_stacks.program import StackContext
from tracking_stacks.registry import Output, PlatformLayer

stack = StackContext.current(PlatformLayer.BOOTSTRAP)
bootstrap = Bootstrap(
    "tracking",
    BootstrapArgs(
        env=stack.env,
        region=pulumi.Config("aws").require("region"),
        account=aws.get_caller_identity().account_id,
        team_principals=stack.setting("teamPrincipals", {}),
        tags=stack.tags,
        protect=stack.is_prod,
        key_deletion_window_days=defs.PROD_KEY_DELETION_WINDOW_DAYS
        if stack.is_prod
        else defs.KEY_DELETION_WINDOW_DAYS,
    ),
)
stack.export(
    {
        Output.STATE_BUCKET_NAME: bootstrap.bucket.bucket,
        Output.SECRETS_KEY_ARN: bootstrap.secrets_key.arn,
        Output.SECRETS_KEY_ALIAS: bootstrap.secrets_alias.name,
        Output.PERMISSIONS_BOUNDARY_ARN: bootstrap.boundary.arn,
        Output.DEPLOY_ROLE_ARNS: {layer.value: role.arn for layer, role in bootstrap.roles.items()},
    }
)
