"""With the switch on, the stacks' invokes answer from moto's account."""

from __future__ import annotations

from pulumi.provider.experimental.provider import InvokeRequest

from tests.functional.standin_cloud.engine_calls import run, unwired
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_ops.standin_cloud.moto_backed import identity
from tracking_ops.standin_cloud.provider import StandinAwsProvider


def _invoke(provider, token):
    return unwired(run(provider.invoke(InvokeRequest(token, {}))).return_value)


def test_caller_identity_region_and_partition_are_moto_s(cloud, provider):
    moto = cloud.client("sts").get_caller_identity()
    found = _invoke(provider, identity.CALLER_IDENTITY)
    assert found["accountId"] == moto["Account"] and found["arn"] == moto["Arn"]
    assert found["accountId"] != MOCK_ACCOUNT_ID  # not the offline synth's account
    for token in identity.REGION_INVOKES:
        assert _invoke(provider, token)["name"] == cloud.region
    assert _invoke(provider, identity.PARTITION)["partition"] == moto["Arn"].split(":")[1]


def test_the_switch_off_answers_the_synth_s_account():
    found = _invoke(StandinAwsProvider(), identity.CALLER_IDENTITY)
    assert found["accountId"] == MOCK_ACCOUNT_ID
