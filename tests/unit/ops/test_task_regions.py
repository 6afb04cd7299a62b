"""Operations tasks build their AWS clients in the stack's region (issue 23, item 8)."""

from __future__ import annotations

import sys
import types

import pytest

from tracking_ops.tasks import recover
from tracking_stacks import environments
from tracking_stacks.registry import Layer


@pytest.fixture
def clients(monkeypatch):
    """boto3.client recorded (service, region_name); no client is really built."""
    built: list[tuple[str, str | None]] = []
    fake = types.SimpleNamespace(
        client=lambda service, region_name=None, **_: (
            built.append((service, region_name)) or types.SimpleNamespace(service=service)
        )
    )
    monkeypatch.setitem(sys.modules, "boto3", fake)
    monkeypatch.setattr(recover, "check_aws_credentials", lambda env: None)
    # An operator whose default region is elsewhere, or unset
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    return built


@pytest.mark.parametrize("env", ["dev", "prod", "pr-7"])
def test_replay_dlq_clients_use_the_stacks_region_not_the_operators(clients, env):
    recover._clients(env, endpoint="")
    assert {service for service, _ in clients} == {"sqs", "dynamodbstreams", "lambda"}
    expected = environments.stack_region(Layer.DATA, env)
    assert expected == "us-east-1"
    assert all(region == expected for _, region in clients), clients


def test_a_stack_without_a_region_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(environments, "stack_config", lambda layer, env, base=None: {})
    with pytest.raises(environments.UnknownEnvironment, match="sets no aws:region"):
        environments.stack_region(Layer.DATA, "dev")
