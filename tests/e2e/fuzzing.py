"""The request loop both fuzz suites drive: hypothesis draws cases from a schemathesis
strategy, each one goes through the real socket, and the suite judges the response.
(schemathesis' pytest loader does not run under pytest 9, hence hypothesis directly.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 40


def fuzz(strategy: Any, base_url: str, judge: Callable[[Any, Any], None]) -> list[int]:
    """Call ``base_url`` with each drawn case and ``judge(case, response)``; the statuses
    answered, in order (empty: the operation was never exercised)."""
    answered: list[int] = []

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        response = case.call(base_url=base_url, timeout=30)
        answered.append(response.status_code)
        judge(case, response)

    check()
    return answered


def assert_error_shape(response: Any) -> None:
    """The API's one error shape: code and message, details at most."""
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "details"}
    assert error["code"] and error["message"]
