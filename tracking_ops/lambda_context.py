"""Lambda's context object, as a handler sees it: used by the local stand-in and by the
operations that run a function in this process (the DLQ replay), so it sits below both."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str = "tracking-api-local"
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 10_000
    _deadline: float | None = None

    def __post_init__(self) -> None:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.timeout_ms / 1000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:local:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    @classmethod
    def of(cls, function: Any) -> LambdaContext:
        """The context of one invocation of a function spec (tracking_stacks.definitions):
        its name, memory and timeout, so time budgets see what they would on Lambda."""
        return cls(
            function_name=function.what,
            memory_limit_in_mb=function.memory_mb,
            timeout_ms=function.timeout_s * 1000,
        )
