"""A DynamoDB client for unit tests of the storage code: it answers each call from a
script and records what it was sent; and the errors botocore raises."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def client_error(
    code: str, reasons: list[dict] | None = None, operation: str = "Op"
) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, operation)


def cancelled(*reasons: dict) -> ClientError:
    return client_error("TransactionCanceledException", list(reasons), "TransactWriteItems")


class RecordingClient:
    """A DynamoDB client that answers each call from a script (a value, or an exception
    to raise; ``pages`` may instead be a function of the query's arguments, for queries
    made from several threads) and records what it was sent."""

    def __init__(
        self,
        writes: list[Any] = (),
        reads: list[Any] = (),
        pages: list[Any] | Callable[[dict], Any] = (),
    ):
        self.writes, self.reads = list(writes), list(reads)
        self.pages = pages if callable(pages) else list(pages)
        self.transactions: list[list[dict]] = []
        self.gets: list[dict] = []
        self.queries: list[dict] = []
        self.updates: list[dict] = []
        self._lock = threading.Lock()

    @staticmethod
    def _answer(script: list[Any]) -> Any:
        answer = script.pop(0) if script else {}
        if isinstance(answer, Exception):
            raise answer
        return answer

    def transact_write_items(self, **kwargs: Any) -> dict:
        assert set(kwargs) == {"TransactItems"}
        self.transactions.append(kwargs["TransactItems"])
        return self._answer(self.writes)

    def update_item(self, **kwargs: Any) -> dict:
        self.updates.append(kwargs)
        return self._answer(self.writes)

    def get_item(self, **kwargs: Any) -> dict:
        self.gets.append(kwargs)
        return self._answer(self.reads)

    def query(self, **kwargs: Any) -> dict:
        with self._lock:
            self.queries.append(kwargs)
            if callable(self.pages):
                return self._answer([self.pages(kwargs)])
            return self._answer(self.pages)
