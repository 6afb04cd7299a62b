"""The endpoint switch: loopback only; off means state only."""

from __future__ import annotations

import pytest

from tracking_ops.standin_cloud import moto_backed


def test_the_switch_off_keeps_every_type_in_state_only(monkeypatch):
    monkeypatch.delenv(moto_backed.ENDPOINT_ENV, raising=False)
    assert moto_backed.cloud_from_environment("us-east-1") is None


@pytest.mark.parametrize("endpoint", ["http://10.0.0.5:5000", "https://example.com", "file:///x"])
def test_a_non_loopback_endpoint_is_refused(monkeypatch, endpoint):
    monkeypatch.setenv(moto_backed.ENDPOINT_ENV, endpoint)
    with pytest.raises(moto_backed.StandinEndpointError, match="loopback"):
        moto_backed.cloud_from_environment("us-east-1")


def test_a_loopback_endpoint_gives_clients_on_it(monkeypatch, cloud):
    monkeypatch.setenv(moto_backed.ENDPOINT_ENV, cloud.endpoint + "/")
    found = moto_backed.cloud_from_environment("eu-west-1")
    assert found.endpoint == cloud.endpoint and found.region == "eu-west-1"
    assert found.client("sqs").meta.endpoint_url == cloud.endpoint
    assert found.client("sqs") is found.client("sqs")
