"""Fixtures for the moto-backed stand-in provider: a fresh moto account per test and
the provider switched onto it, so each test asserts on moto's resources (read back
with boto3), never on the provider's own answers alone."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from tracking_ops.local import standin
from tracking_ops.standin_cloud import moto_backed
from tracking_ops.standin_cloud.provider import StandinAwsProvider

REGION = "us-east-1"


@pytest.fixture
def cloud(moto_endpoint: str) -> moto_backed.Cloud:
    """moto emptied, and a Cloud on it (its boto3 clients read moto back)."""
    standin.reset(moto_endpoint)
    return moto_backed.Cloud(moto_endpoint, REGION)


@pytest.fixture
def provider(cloud: moto_backed.Cloud, monkeypatch: pytest.MonkeyPatch) -> StandinAwsProvider:
    """The provider as the engine starts it with the endpoint switch on."""
    monkeypatch.setenv(moto_backed.ENDPOINT_ENV, cloud.endpoint)
    instance = StandinAwsProvider()
    instance.region = cloud.region
    instance.cloud = moto_backed.cloud_from_environment(cloud.region)
    return instance


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """One provider call (the provider's methods are coroutines), on a loop of its own:
    asyncio.run would unset the thread's current loop, which Pulumi's mocks in later
    tests (every in-process synth) use."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
