"""The DynamoDB client of the tracking API and how its failures map to the contract.

Shared by the write path (``writes``), the read path (``reads``) and the
idempotency records (``idempotency``); ``repository`` puts them together.
"""

from __future__ import annotations

from functools import cache, cached_property
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tracking_api.errors import StorageUnavailable
from tracking_common import table

# Time budget: a call against a hung endpoint costs at most attempts x (connect +
# read timeout) plus the SDK's back-off before its retry (<= 1 s): 4 s, which with
# the settings' budget (settings.py: one extension call, <= 2 s) leaves 4 s of the API
# function's 10 s timeout to answer 503 before Lambda kills it (API Gateway would
# answer 502). Throttling and service faults are retried once by the SDK before
# they become a 503. tests/functional/test_aws_runtime.py checks the sum.
CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 2, "mode": "standard"},
    connect_timeout=0.5,
    read_timeout=1,
    max_pool_connections=16,
)
# The worst case of one call under CLIENT_CONFIG (see above).
CALL_WORST_CASE_SECONDS = 4.0
# One time budget per request, from the handler's start: the settings (<= 2 s) and
# one storage call (<= 4 s), 6 s of the function's 10 s timeout. A batch starts an
# item only while a worst-case call still fits; the read that settles an ambiguous
# write runs only in what is left (else the write is answered 503, not stored).
REQUEST_BUDGET_SECONDS = 6.0
_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        "ResourceNotFoundException",
    }
)
# Service faults after which a write may or may not have been applied (the request
# reached DynamoDB; its answer says nothing about the outcome).
AMBIGUOUS_CODES = frozenset({"InternalServerError", "ServiceUnavailable"})
# Cancellation reasons of a transaction that say "too much load", not "conflict":
# retrying later helps (botocore's CancellationReason documentation lists them).
_CAPACITY_REASONS = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
UNAVAILABLE_MESSAGE = "Tracking storage is unavailable; retry after the time in Retry-After."

number = table.number_attribute


def string(value: str) -> dict[str, str]:
    return {"S": value}


def cancellation_codes(error: ClientError) -> list[str]:
    return [r.get("Code") or "None" for r in error.response.get("CancellationReasons", [])]


def error_code(exc: Exception) -> str:
    return exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__


def is_ambiguous(exc: Exception) -> bool:
    """Whether a failed write may still have been applied: the SDK gave up on the
    reply (timeout, connection reset after sending) or DynamoDB answered a fault."""
    if isinstance(exc, BotoCoreError):
        return True
    return isinstance(exc, ClientError) and error_code(exc) in AMBIGUOUS_CODES


def unavailable(exc: Exception) -> Exception:
    """StorageUnavailable for a failure a later retry can fix; ``exc`` itself otherwise."""
    code = error_code(exc)
    if code == "TransactionCanceledException" and _CAPACITY_REASONS.intersection(
        cancellation_codes(exc)
    ):
        code = "ThrottlingException"
    if isinstance(exc, BotoCoreError) or code in _UNAVAILABLE_CODES:
        return StorageUnavailable(UNAVAILABLE_MESSAGE)
    return exc


@cache
def dynamodb_client() -> Any:
    """The container's DynamoDB client. botocore's session, not boto3's: boto3 imports
    s3transfer (~50 ms of a cold start) for nothing a DynamoDB client uses."""
    return botocore.session.get_session().create_client("dynamodb", config=CLIENT_CONFIG)


class Store:
    """The table and its client; every call goes through ``_call``."""

    def __init__(self, table_name: str, client: Any = None):
        self.table_name = table_name
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or dynamodb_client()

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise unavailable(exc) from exc

    def _state_key(self, tracking_id: str) -> dict[str, dict[str, str]]:
        return {
            table.PARTITION_KEY: string(tracking_id),
            table.SORT_KEY: string(table.STATE_SORT_KEY),
        }
