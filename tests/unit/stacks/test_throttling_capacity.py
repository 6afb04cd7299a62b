"""Stage throttling against the API function's concurrency, per env (issue 15).

When API Gateway's stage admits more concurrent requests than Lambda will run,
Lambda rejects the invoke and API Gateway answers 500, not the contract's 429.
So, in every env: the burst fits in the concurrency the function can get, and
the steady rate does too at the mean duration the limits are sized for."""

from __future__ import annotations

from tracking_stacks import definitions as defs
from tracking_stacks.registry import Layer

# Lambda keeps at least 100 of an account's concurrency unreserved; an unreserved
# function can count on no more (other functions share that pool).
UNRESERVED_FLOOR = 100
# The mean duration (s) the limits are sized for: ~8x a warm request (~30 ms), so
# a slowed-down backend does not turn throttling into 500s at once.
SIZED_FOR_DURATION_S = 0.25


def api_concurrency(synthesized, env: str) -> int:
    (function,) = [
        f["inputs"]
        for f in synthesized.of_type(Layer.COMPUTE, "aws:lambda/function:Function")
        if f["inputs"]["name"] == defs.API_FUNCTION.function_name(env)
    ]
    reserved = function.get("reservedConcurrentExecutions", -1)
    return UNRESERVED_FLOOR if reserved < 0 else reserved


def test_stage_throttling_fits_the_api_functions_concurrency(each_env):
    env, synthesized = each_env
    settings = synthesized.stage_method_settings()["inputs"]["settings"]
    concurrency = api_concurrency(synthesized, env)

    assert settings["throttlingBurstLimit"] <= concurrency, env
    assert settings["throttlingRateLimit"] * SIZED_FOR_DURATION_S <= concurrency, env
