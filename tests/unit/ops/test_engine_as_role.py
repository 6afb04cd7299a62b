"""With an S3 state backend and deploy roles on, the engine of a layer runs with the
layer's role's session (issue 27, item 2): the backend then writes the state with the
role's rights. The provider's config names no role to assume again; the boundary stays.
With a file backend the provider assumes the role, as before. A refusal of the state
backend is one line naming the S3 action and the object."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tracking_ops.deploy import deploy_roles, engine_errors
from tracking_ops.deploy.deployer import BACKEND_ENV, PulumiDeployer
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.ownership import scopes
from tracking_stacks.registry import Layer

ACCOUNT = MOCK_ACCOUNT_ID
S3_BACKEND = f"s3://tracking-state-{ACCOUNT}-dev?region=us-east-1"
SESSION = {
    "AWS_ACCESS_KEY_ID": "ASIAROLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "token",
}


def roles() -> dict[Layer, deploy_roles.DeployRole]:
    return {layer: deploy_roles.deploy_role(layer, "dev", ACCOUNT) for layer in Layer}


def adapter(backend: str, assumed: list) -> PulumiDeployer:
    def session(role):
        assumed.append(role.layer)
        return dict(SESSION)

    return PulumiDeployer(
        env="dev",
        secrets_provider=None,
        engine_env={BACKEND_ENV: backend},
        sandbox=None,
        roles=roles(),
        role_session=session,
    )


def config_of(deployer: PulumiDeployer, layer: Layer) -> dict:
    return yaml.safe_load(Path(deployer._config_file(layer)).read_text())["config"]


def test_with_an_s3_backend_the_engine_runs_with_the_roles_session():
    assumed: list[Layer] = []
    deployer = adapter(S3_BACKEND, assumed)
    env = deployer._options(Layer.COMPUTE).env_vars
    assert {key: env[key] for key in SESSION} == SESSION
    assert env[BACKEND_ENV] == S3_BACKEND
    deployer._options(Layer.COMPUTE)
    assert assumed == [Layer.COMPUTE]  # assumed once per layer
    config = config_of(deployer, Layer.COMPUTE)
    assert deploy_roles.ASSUME_ROLES_KEY not in config  # the engine is the role already
    boundary = f"tracking-compute:{scopes.BOUNDARY_CONFIG_KEY}"
    assert config[boundary] == scopes.boundary_arn(ACCOUNT, "dev")


def test_with_a_file_backend_the_provider_assumes_the_role():
    assumed: list[Layer] = []
    deployer = adapter("file:///tmp/state", assumed)
    env = deployer._options(Layer.DATA).env_vars
    assert not set(SESSION) & set(env)
    assert assumed == []
    config = config_of(deployer, Layer.DATA)
    role = roles()[Layer.DATA]
    assert config[deploy_roles.ASSUME_ROLES_KEY] == [
        {"roleArn": role.role_arn, "sessionName": role.session_name}
    ]


def test_without_roles_nothing_is_assumed():
    assumed: list[Layer] = []
    deployer = adapter(S3_BACKEND, assumed)
    deployer.roles = {}
    assert not set(SESSION) & set(deployer._options(Layer.API).env_vars)
    assert assumed == [] and deployer._config_file(Layer.API) is None


class FakeSts:
    def __init__(self, refuse: bool = False):
        self.refuse, self.asked = refuse, []

    def assume_role(self, **request):
        self.asked.append(request)
        if self.refuse:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "AccessDenied", "Message": "denied"}}
            raise ClientError(error, "AssumeRole")
        return {
            "Credentials": {
                "AccessKeyId": SESSION["AWS_ACCESS_KEY_ID"],
                "SecretAccessKey": SESSION["AWS_SECRET_ACCESS_KEY"],
                "SessionToken": SESSION["AWS_SESSION_TOKEN"],
            }
        }

    def get_caller_identity(self):
        return {"Arn": f"arn:aws:iam::{ACCOUNT}:user/someone"}


def test_the_session_is_the_roles_temporary_credentials():
    role = roles()[Layer.API]
    sts = FakeSts()
    assert deploy_roles.session_environment(role, sts) == SESSION
    assert sts.asked == [{"RoleArn": role.role_arn, "RoleSessionName": role.session_name}]


def test_a_caller_who_may_not_assume_the_role_gets_one_line():
    role = roles()[Layer.API]
    with pytest.raises(deploy_roles.RoleRefused) as raised:
        deploy_roles.session_environment(role, FakeSts(refuse=True))
    assert str(raised.value) == (
        f"arn:aws:iam::{ACCOUNT}:user/someone may not sts:AssumeRole on {role.role_arn}; "
        f"{engine_errors.ASSUME_HINT}"
    )


def test_a_state_backend_refusal_is_one_line():
    # the CLI's own text, from the engine tier (the compute role on the api's state)
    text = (
        'error: failed to load checkpoint: blob (key ".pulumi/stacks/tracking-api/dev.json") '
        "(code=PermissionDenied): operation error S3: HeadObject, https response error "
        "StatusCode: 403, RequestID: , HostID: , api error Forbidden: Forbidden"
    )
    assert engine_errors.state_denied(text) == (
        "the state backend refused s3:GetObject on .pulumi/stacks/tracking-api/dev.json; "
        f"{engine_errors.STATE_HINT}"
    )
    assert engine_errors.one_line(Exception(text)).startswith(
        "error: the state backend refused s3:GetObject on "
    )
    assert engine_errors.state_denied("error: the stack is locked") is None
