"""Resource types the stand-in provider backs with real resources in moto's server.

When ``TRACKING_STANDIN_ENDPOINT`` names a moto server on 127.0.0.1 (``invoke
rehearse`` sets it), the provider's create, read, update and delete of a type listed
in ``BACKENDS`` call moto through boto3, and the outputs are moto's answers. A type
not listed (or the switch off) is kept in the engine's state only, as before;
``STATE_ONLY`` says why for each type moto cannot back.

Each family of services is one module of this package that registers its backends
with ``@backs(token)``; ``backends()`` imports them all.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

ENDPOINT_ENV = "TRACKING_STANDIN_ENDPOINT"
LOOPBACK_PREFIXES = ("http://127.0.0.1:", "http://localhost:")
# moto accepts any key pair; these name no real account and sign nothing real.
STANDIN_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The caller's key pair (and session token), as boto3 names its arguments: with moto's
# IAM enforcement on, a user moto knows (the stand-in pair is then refused).
CREDENTIAL_VARIABLES = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
}

Properties = dict[str, Any]  # the engine's property names (camelCase), plain data


class StandinEndpointError(Exception):
    """The endpoint switch names something other than a loopback moto server."""


@dataclass
class Cloud:
    """moto's server at ``endpoint``, in ``region``: one boto3 client per service,
    signed with ``credentials`` (boto3's argument names; the stand-in pair if none)."""

    endpoint: str
    region: str
    credentials: dict[str, str] = field(default_factory=lambda: dict(STANDIN_CREDENTIALS))
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(
                service, endpoint_url=self.endpoint, region_name=self.region, **self.credentials
            )
        return self._clients[service]

    def signed_with(self, credentials: dict[str, str]) -> Cloud:
        """The same server and region, every client signed with ``credentials``."""
        return Cloud(self.endpoint, self.region, dict(credentials))


class Backend(Protocol):
    """One resource type in moto. ``inputs``/``state`` are the engine's properties."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        """Create it; return its physical id (pulumi-aws's id for the type) and the
        properties moto answers (ARNs, ids, computed attributes)."""
        ...

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        """The properties as moto has them now (those it can read back, under the same
        names as the inputs), or None when the resource is gone."""
        ...

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        """Apply ``news`` in place (replacements are create + delete); moto's answer."""
        ...

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None: ...


BACKENDS: dict[str, Backend] = {}
# token -> why moto cannot back it (kept in the engine's state only); docs/rehearse.md
# shows this table.
STATE_ONLY: dict[str, str] = {}


def backs(token: str) -> Callable[[type], type]:
    """Register a class (instantiated without arguments) as the backend of ``token``."""

    def register(cls: type) -> type:
        if token in BACKENDS:
            raise ValueError(f"two moto backends for {token}")
        BACKENDS[token] = cls()
        return cls

    return register


@cache
def backends() -> dict[str, Backend]:
    """Every family module imported, so every backend registered."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return BACKENDS


def caller_credentials() -> dict[str, str]:
    """The key pair the environment names (the engine passes the task's on), else the
    stand-in pair: they only ever sign requests to the loopback server."""
    found = {
        arg: os.environ[var] for arg, var in CREDENTIAL_VARIABLES.items() if os.environ.get(var)
    }
    if "aws_access_key_id" in found and "aws_secret_access_key" in found:
        return found
    return dict(STANDIN_CREDENTIALS)


def cloud_from_environment(region: str) -> Cloud | None:
    """The moto server the switch names, or None (state only), with the caller's keys."""
    endpoint = os.environ.get(ENDPOINT_ENV, "").rstrip("/")
    if not endpoint:
        return None
    if not endpoint.startswith(LOOPBACK_PREFIXES):
        raise StandinEndpointError(
            f"{ENDPOINT_ENV}={endpoint} is not a loopback address: the stand-in provider "
            "only talks to a moto server on 127.0.0.1"
        )
    return Cloud(endpoint, region, caller_credentials())
