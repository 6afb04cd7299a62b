"""Configuration from SSM through AWS's Parameters and Secrets Lambda extension.

The extension (a layer of the function) answers HTTP on localhost and calls
SSM GetParameter with the function's role, so the function builds no SSM client
on its cold path. The three parameters (API config, feature flags, DB endpoint)
are fetched concurrently and cached here for PARAMETER_CACHE_SECONDS (the
extension's own cache is off, so values are never older than that). When the
extension or SSM fails the function keeps serving: with the last values it
read, or, on a cold start, with the documented defaults (runtime_config) and the
table name from the environment; it tries again after a short back-off so an
outage does not add latency to every request. `invoke local` serves the same
endpoint from moto (tracking_ops.local.parameters_extension).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools import Logger

from tracking_common.runtime_config import (
    ENV_API_CONFIG_PARAM,
    ENV_DB_ENDPOINT_PARAM,
    ENV_FEATURE_FLAGS_PARAM,
    ENV_TABLE_NAME,
    PARAMETER_CACHE_SECONDS,
    PARAMETERS_EXTENSION,
    SETTINGS_EXTENSION_TIMEOUT_SECONDS,
    ApiConfig,
    FeatureFlags,
)

logger = Logger(child=True)
# Time budget: one call per parameter (the three run concurrently), the
# extension's own call to SSM included; the socket timeout bounds its connect and
# its read, so at most 2 x EXTENSION_TIMEOUT_SECONDS. A failure is
# retried by the loader itself, not per call: the last known values serve meanwhile
# (or, on a cold start, the documented defaults for COLD_OUTAGE_BACKOFF_SECONDS).
EXTENSION_TIMEOUT_SECONDS = SETTINGS_EXTENSION_TIMEOUT_SECONDS  # tracking_common's budget
OUTAGE_BACKOFF_SECONDS = 15
COLD_OUTAGE_BACKOFF_SECONDS = 1


class ParameterUnavailable(Exception):
    """The extension answered something other than the parameter."""


@dataclass(frozen=True)
class ParametersExtension:
    """Client of the Parameters and Secrets extension's HTTP API (GET, one name each)."""

    port: int
    token: str
    timeout: float = EXTENSION_TIMEOUT_SECONDS

    @classmethod
    def from_environment(cls) -> ParametersExtension:
        return cls(
            port=int(os.environ.get(PARAMETERS_EXTENSION.port_variable, PARAMETERS_EXTENSION.port)),
            token=os.environ.get("AWS_SESSION_TOKEN", ""),
        )

    def get(self, name: str) -> str:
        connection = HTTPConnection(PARAMETERS_EXTENSION.host, self.port, timeout=self.timeout)
        try:
            connection.request(
                "GET",
                f"{PARAMETERS_EXTENSION.path}?name={quote(name, safe='')}&withDecryption=true",
                headers={PARAMETERS_EXTENSION.token_header: self.token},
            )
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise ParameterUnavailable(f"{name}: HTTP {response.status} {body[:200]!r}")
        return json.loads(body)["Parameter"]["Value"]

    def get_many(self, names: list[str]) -> dict[str, str]:
        """All ``names`` at once: one thread each, so a cold start waits for one SSM
        round trip, not three. Any failure raises."""
        values: dict[str, str] = {}
        errors: list[BaseException] = []

        def fetch(name: str) -> None:
            try:
                values[name] = self.get(name)
            except Exception as exc:  # noqa: BLE001 - re-raised below, in the caller
                errors.append(exc)

        threads = [threading.Thread(target=fetch, args=(name,)) for name in names[1:]]
        for thread in threads:
            thread.start()
        if names:
            fetch(names[0])
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return values


@dataclass(frozen=True)
class Settings:
    api: ApiConfig
    flags: FeatureFlags
    table_name: str


@dataclass
class SettingsLoader:
    api_param: str | None
    flags_param: str | None
    db_param: str | None
    table_name_default: str
    provider: Any = None
    _current: Settings | None = None
    _fresh_until: float = 0.0
    _from_ssm: bool = False
    _clock: Any = field(default=time.monotonic)
    _lock: Any = field(default_factory=threading.Lock)
    _prefetch: threading.Thread | None = None

    @classmethod
    def from_environment(cls) -> SettingsLoader:
        return cls(
            api_param=os.environ.get(ENV_API_CONFIG_PARAM),
            flags_param=os.environ.get(ENV_FEATURE_FLAGS_PARAM),
            db_param=os.environ.get(ENV_DB_ENDPOINT_PARAM),
            table_name_default=os.environ.get(ENV_TABLE_NAME, ""),
        )

    def _provider(self) -> Any:
        if self.provider is None:
            self.provider = ParametersExtension.from_environment()
        return self.provider

    def _fetch(self) -> Settings:
        names = [n for n in (self.api_param, self.flags_param, self.db_param) if n]
        values: dict[str, Any] = self._provider().get_many(names) if names else {}
        previous = self._current
        return Settings(
            api=ApiConfig.from_mapping(json.loads(values[self.api_param]))
            if self.api_param in values
            else (previous.api if previous else ApiConfig()),
            flags=FeatureFlags.from_mapping(json.loads(values[self.flags_param]))
            if self.flags_param in values
            else (previous.flags if previous else FeatureFlags()),
            table_name=values.get(self.db_param) or self.table_name_default,
        )

    def prefetch(self) -> bool:
        """Start reading the settings in a thread when nothing was read yet, so a cold
        start's wait for the extension overlaps other work; True if started."""
        if self._current is not None or self._prefetch is not None:
            return False
        self._prefetch = threading.Thread(target=self.get, name="settings-prefetch")
        self._prefetch.start()
        return True

    def join_prefetch(self) -> None:
        """Wait for a prefetch this request started (it is bounded by the extension's
        timeouts), so that it does not outlive the request."""
        if self._prefetch is not None:
            self._prefetch.join()

    def get(self) -> Settings:
        now = self._clock()
        if self._current is not None and now < self._fresh_until:
            return self._current
        with self._lock:  # one fetch at a time: a caller waits for one in flight
            if self._current is not None and self._clock() < self._fresh_until:
                return self._current
            return self._refresh(now)

    def _refresh(self, now: float) -> Settings:
        try:
            self._current = self._fetch()
            self._fresh_until = now + PARAMETER_CACHE_SECONDS
        except Exception:  # noqa: BLE001 - any SSM failure falls back, by design
            logger.warning(
                "Parameters unavailable; serving with last known or default settings", exc_info=True
            )
            backoff = OUTAGE_BACKOFF_SECONDS
            if self._current is None or not self._from_ssm:
                # Nothing known yet: defaults for this request only, and SSM is
                # asked again soon (a cold start must not serve defaults for 15 s).
                self._current = Settings(ApiConfig(), FeatureFlags(), self.table_name_default)
                backoff = COLD_OUTAGE_BACKOFF_SECONDS
            self._fresh_until = now + backoff
            return self._current
        self._from_ssm = True
        return self._current
