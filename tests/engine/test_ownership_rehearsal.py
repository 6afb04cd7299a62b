"""Per-layer deploy roles through the real engine on moto with its IAM enforcement on
(issue 27, the rehearsal tier). A moto server of this module's own (127.0.0.1,
INITIAL_NO_AUTH_ACTION_COUNT), the platform's admin user, and what the bootstrap makes
(boundary, one deploy role per layer with its generated policy, the state bucket) made
by the admin from the same generated documents; then the engine, with the state in
the bucket (Pulumi's S3 backend on moto), runs layers as the caller and as the roles.

What moto lets this show (docs/ownership.md): the engine as a role reads and writes
its own state and is refused another layer's (S3 checks bucket and key for real); the
provider assumes the role (STS checks the trust for real) and a refusal comes back as
the tasks' one line. What it cannot: moto 5 authorizes a create (and DynamoDB, Lambda,
KMS... altogether) against ``*``, so a role scoped to its ARNs is refused its own new
resources and ``deploy-all`` as the roles cannot pass here; it ignores conditions and
does not apply boundaries, so a role created without the boundary cannot be told from
one with it (tests/functional/test_ownership_iam.py pins each).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.conftest import run_module
from tests.engine.ownership_driver import FAILURE_FILE
from tests.functional.test_ownership_iam import admin_session, enforcing_moto_server
from tracking_ops.deploy import engine_errors
from tracking_ops.standin_cloud.moto_backed import ENDPOINT_ENV
from tracking_stacks import definitions as defs
from tracking_stacks.ownership import documents, scopes
from tracking_stacks.registry import REGISTRY, Layer

REGION = "us-east-1"
ENV = "dev"
HISTORY_SUFFIX = ".history.json"  # one per update in the backend's history folder
S3_BACKEND_OPTIONS = "disableSSL=true&s3ForcePathStyle=true&region=" + REGION


@pytest.fixture(scope="module")
def enforced() -> Iterator[str]:
    with enforcing_moto_server() as url:
        yield url


class Platform:
    """The admin's session, the bootstrap's roles in moto, and the engine runs."""

    def __init__(self, endpoint: str, folder: Path):
        self.endpoint, self.folder = endpoint, folder
        self.admin = admin_session(endpoint)
        self.keys = (self.admin.key, self.admin.secret)
        caller = self.admin.client("sts").get_caller_identity()
        self.account, self.admin_arn = caller["Account"], caller["Arn"]
        self.bucket = scopes.state_bucket_name(self.account, ENV)
        port = endpoint.rsplit(":", 1)[1]
        self.s3_backend = f"s3://{self.bucket}?endpoint=127.0.0.1:{port}&{S3_BACKEND_OPTIONS}"

    def bootstrap(self) -> None:
        """What stacks/bootstrap creates, from the same generated documents."""
        iam, s3 = self.admin.client("iam"), self.admin.client("s3")
        iam.create_policy(
            PolicyName=scopes.boundary_name(ENV),
            PolicyDocument=json.dumps(documents.boundary_policy(ENV, REGION, self.account)),
        )
        for layer in REGISTRY:
            name = scopes.deploy_role_name(layer, ENV)
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(documents.trust_policy([self.admin_arn])),
            )
            where = scopes.Where(layer, ENV, REGION, self.account)
            iam.put_role_policy(
                RoleName=name,
                PolicyName="deploy",
                PolicyDocument=json.dumps(documents.deploy_policy(where)),
            )
        s3.create_bucket(Bucket=self.bucket)
        s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})

    def engine(self, layer: Layer, backend: str, as_role: Layer | None = None):
        """``up`` of ``layer`` on the engine (tests/engine/ownership_driver.py)."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            ENDPOINT_ENV: self.endpoint,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.keys[0],
            "AWS_SECRET_ACCESS_KEY": self.keys[1],
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PULUMI_CONFIG_PASSPHRASE": "",
        }
        args = [str(self.folder / "sandbox"), layer.value, backend]
        args += [as_role.value] if as_role else []
        done = run_module("tests.engine.ownership_driver", *args, env=env)
        failure = self.folder / "sandbox" / FAILURE_FILE
        full = failure.read_text() if done.returncode and failure.exists() else ""
        return done.returncode, done.stdout.strip().splitlines()[-1:], full, done.stderr

    def state_keys(self) -> list[str]:
        listed = self.admin.client("s3").list_objects_v2(Bucket=self.bucket)
        return [entry["Key"] for entry in listed.get("Contents", [])]


@pytest.fixture(scope="module")
def platform(enforced, tmp_path_factory, engine_cli) -> Platform:
    made = Platform(enforced, tmp_path_factory.mktemp("ownership"))
    made.bootstrap()
    return made


@pytest.fixture(scope="module")
def data_deployed(platform: Platform) -> Platform:
    """The data layer deployed through the engine by the platform (the caller's
    credentials: in moto a role scoped to its table's ARN may not create it)."""
    code, last, full, stderr = platform.engine(Layer.DATA, platform.s3_backend)
    assert code == 0, (last, full[-3000:], stderr[-3000:])
    return platform


def test_the_engine_keeps_the_state_in_moto_s3(data_deployed):
    keys = data_deployed.state_keys()
    assert scopes.checkpoint_key(Layer.DATA, ENV) in keys
    tables = data_deployed.admin.client("dynamodb").list_tables()["TableNames"]
    assert defs.table_name(ENV) in tables


def test_the_data_role_runs_its_own_layer_on_the_engine(data_deployed):
    """The engine as data's role (its session: the backend and the provider) reads and
    writes data's state: the update is kept in data's history."""
    before = [k for k in data_deployed.state_keys() if k.endswith(HISTORY_SUFFIX)]
    code, last, full, stderr = data_deployed.engine(
        Layer.DATA, data_deployed.s3_backend, as_role=Layer.DATA
    )
    assert code == 0, (last, full[-3000:], stderr[-3000:])
    after = [k for k in data_deployed.state_keys() if k.endswith(HISTORY_SUFFIX)]
    assert len(after) == len(before) + 1


def test_the_compute_role_may_not_write_the_api_layers_state(data_deployed):
    code, last, full, _ = data_deployed.engine(
        Layer.API, data_deployed.s3_backend, as_role=Layer.COMPUTE
    )
    assert code == 1
    (line,) = last
    assert line.startswith("error: the state backend refused s3:"), line
    assert f"/{REGISTRY[Layer.API].project}/" in line and line.endswith(engine_errors.STATE_HINT)
    assert not [k for k in data_deployed.state_keys() if f"/{REGISTRY[Layer.API].project}/" in k]


def test_the_compute_role_may_not_change_the_data_layers_table(data_deployed):
    """With data's state kept elsewhere (a file backend: the S3 backend refuses compute
    data's lock first), the provider assumes compute's role (aws:assumeRoles) and moto
    refuses its table call: one line naming the role and the action."""
    backend = f"file://{data_deployed.folder / 'file-state'}"
    (data_deployed.folder / "file-state").mkdir(exist_ok=True)
    code, last, full, _ = data_deployed.engine(Layer.DATA, backend, as_role=Layer.COMPUTE)
    assert code == 1
    (line,) = last
    role = scopes.deploy_role_name(Layer.COMPUTE, ENV)
    assert line.startswith(f"error: {role} may not "), line
    assert line.endswith(engine_errors.ROLE_RIGHTS_HINT)
    assert f"assumed-role/{role}/" in full and "dynamodb:CreateTable" in full
    held = data_deployed.admin.client("dynamodb").describe_table(TableName=defs.table_name(ENV))
    assert held["Table"]["TableStatus"] == "ACTIVE"  # the platform's table is untouched
