"""Configuration from SSM through Powertools parameters, with a fallback.

All three parameters (API config, feature flags, DB endpoint) come in one
GetParameters call, cached for PARAMETER_CACHE_SECONDS. When SSM is
unreachable the function keeps serving: with the last values it read, or, on
a cold start, with the documented defaults (runtime_config) and the table name
from the environment; it tries SSM again after a short back-off so an outage
does not add latency to every request.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from botocore.config import Config

from tracking_common.runtime_config import (
    ENV_API_CONFIG_PARAM,
    ENV_DB_ENDPOINT_PARAM,
    ENV_FEATURE_FLAGS_PARAM,
    ENV_TABLE_NAME,
    PARAMETER_CACHE_SECONDS,
    ApiConfig,
    FeatureFlags,
)

logger = Logger(child=True)
# Time budget: one attempt of at most 0.5 + 1 s. A failure is retried by the
# loader itself, not the SDK: the last known values serve meanwhile (or, on a
# cold start, the documented defaults for at most COLD_OUTAGE_BACKOFF_SECONDS).
SSM_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=0.5, read_timeout=1
)
OUTAGE_BACKOFF_SECONDS = 15
COLD_OUTAGE_BACKOFF_SECONDS = 1


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
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self.provider = SSMProvider(boto_config=SSM_CONFIG)
        return self.provider

    def _fetch(self) -> Settings:
        names = [n for n in (self.api_param, self.flags_param, self.db_param) if n]
        values: dict[str, Any] = {}
        if names:
            values = self._provider().get_parameters_by_name(
                parameters={name: {} for name in names},
                decrypt=True,
                max_age=PARAMETER_CACHE_SECONDS,
            )
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

    def get(self) -> Settings:
        now = self._clock()
        if self._current is not None and now < self._fresh_until:
            return self._current
        try:
            self._current = self._fetch()
            self._fresh_until = now + PARAMETER_CACHE_SECONDS
        except Exception:  # noqa: BLE001 - any SSM failure falls back, by design
            logger.warning(
                "SSM unreachable; serving with last known or default settings", exc_info=True
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
