"""Checks before anything talks to Pulumi's engine or AWS: short, exact messages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from tracking_ops.engine import sandbox
from tracking_stacks.naming import PROD

MIN_PULUMI = (3, 61, 0)
OFFLINE_HINT = "Meanwhile `invoke synth --env {env}` checks every stack offline, without either."
INSTALL_HINT = (
    "Install the Pulumi CLI >= 3.61 (curl -fsSL https://get.pulumi.com | sh, "
    "or brew install pulumi) and make sure `pulumi` is on PATH."
)
PASSPHRASE = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE = "PULUMI_CONFIG_PASSPHRASE_FILE"
SECRETS_PROVIDER = "TRACKING_SECRETS_PROVIDER"  # e.g. awskms://alias/tracking-prod
DEV_PASSPHRASE = ""  # dev stacks hold no secret worth a passphrase; say so, don't hide it


class PreflightError(Exception):
    """One line telling what is missing and how to get it."""


def pulumi_version(binary: str) -> tuple[int, int, int]:
    try:
        text = subprocess.run(
            [binary, "version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise PreflightError(f"`{binary} version` failed ({exc}). {INSTALL_HINT}") from None
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise PreflightError(f"cannot read the Pulumi CLI version from {text.strip()!r}.")
    return tuple(int(part) for part in match.groups())  # type: ignore[return-value]


def check_cli(env: str) -> str:
    binary = shutil.which("pulumi")
    if binary is None:
        raise PreflightError(
            f"The Pulumi CLI is not installed (no `pulumi` on PATH). "
            f"{INSTALL_HINT} {OFFLINE_HINT.format(env=env)}"
        )
    version = pulumi_version(binary)
    if version < MIN_PULUMI:
        raise PreflightError(
            f"Pulumi CLI {'.'.join(map(str, version))} is older than 3.61 (the file backend's "
            f"'organization' stack names need 3.61). {INSTALL_HINT} {OFFLINE_HINT.format(env=env)}"
        )
    return binary


def check_aws_credentials(env: str) -> None:
    """Credentials resolvable locally (no call to AWS is made here)."""
    import boto3

    try:
        credentials = boto3.Session().get_credentials()
    except Exception as exc:  # noqa: BLE001 - any resolver failure is one line, not a traceback
        raise PreflightError(
            f"AWS credentials could not be loaded: {exc}. {OFFLINE_HINT.format(env=env)}"
        ) from None
    if credentials is None:
        raise PreflightError(
            "No AWS credentials found. Run `aws configure` or `aws sso login`, or set "
            "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. "
            + OFFLINE_HINT.format(env=env)
        )


def secrets_settings(env: str) -> tuple[str | None, dict[str, str]]:
    """(secrets provider, environment for the engine) shared by every layer of ``env``."""
    provider = os.environ.get(SECRETS_PROVIDER)
    if provider:
        return provider, {}
    if PASSPHRASE in os.environ or PASSPHRASE_FILE in os.environ:
        return "passphrase", {}
    if env == "dev":
        return "passphrase", {PASSPHRASE: DEV_PASSPHRASE}
    raise PreflightError(
        f"Stacks of {env!r} need a secrets provider shared by all five layers: set "
        f"{PASSPHRASE} (the same value for every layer) or {SECRETS_PROVIDER} "
        f"(e.g. awskms://alias/tracking-{env})."
    )


def confirm_destroy(env: str, allow_prod: bool) -> None:
    if env == PROD and not allow_prod:
        raise PreflightError(
            "Refusing to destroy prod without --yes-destroy-prod "
            "(its table, DLQ and KMS keys are also protected)."
        )


def run_all(env: str, need_credentials: bool = True) -> None:
    if os.environ.get(sandbox.SANDBOX_ENV):
        # The sandbox's engine is the built one, and its aws provider needs no credentials.
        try:
            sandbox.locate_cli()
        except sandbox.SandboxError as exc:
            raise PreflightError(str(exc)) from None
    else:
        check_cli(env)
        if need_credentials:
            check_aws_credentials(env)
    secrets_settings(env)
