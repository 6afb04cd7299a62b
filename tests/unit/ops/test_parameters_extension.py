"""The local Parameters and Secrets extension stand-in is ready when it says so: its
SSM client exists before the first request (building one on a busy machine took
longer than a function's budget for its first settings fetch)."""

from __future__ import annotations

from tracking_ops.local import parameters_extension


def test_the_ssm_client_is_built_before_the_endpoint_is_handed_out(monkeypatch):
    built: list[str] = []
    real = parameters_extension._ssm_client

    def recording(environment, cache):
        built.append(environment["AWS_ENDPOINT_URL"])
        return real(environment, cache)

    monkeypatch.setattr(parameters_extension, "_ssm_client", recording)
    environment = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "us-east-1"}
    with parameters_extension.serve(environment) as variables:
        assert built == ["http://127.0.0.1:9"]  # before any function asked for a value
        assert int(next(iter(variables.values()))) > 0
