"""``TRACKING_REHEARSAL=<folder>``: the one switch that points every task at a
rehearsal made by `invoke rehearse`. The folder's record (``rehearsal.json``) names
the moto server; the switch sets the engine's sandbox (``<folder>/sandbox``), the
stand-in provider's endpoint, and the endpoint, region and stand-in credentials of
every boto3 client the operations tasks build. Nothing here starts anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass
from pathlib import Path

from tracking_ops.engine.sandbox import SANDBOX_ENV
from tracking_ops.standin_cloud.moto_backed import ENDPOINT_ENV, STANDIN_CREDENTIALS

SWITCH_ENV = "TRACKING_REHEARSAL"
RECORD = "rehearsal.json"
SANDBOX_FOLDER = "sandbox"
SERVER_LOG = "moto.log"
PASSPHRASE = "PULUMI_CONFIG_PASSPHRASE"
SECRETS_PROVIDER = "PULUMI_SECRETS_PROVIDER"
# The rehearsal's stacks hold no real secret: an empty passphrase unless one is given.
REHEARSAL_PASSPHRASE = ""
# Removed: a profile or a session token of the operator would mix with the stand-in keys.
REMOVED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN")


class RehearsalError(Exception):
    """The rehearsal cannot be used or made: one line saying why and what to do."""


@dataclass(frozen=True)
class Record:
    """What `invoke rehearse` wrote into its folder: the env and the moto server."""

    env: str
    base: str
    endpoint: str
    server_pid: int
    region: str

    def save(self, folder: Path) -> None:
        (folder / RECORD).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Record | None:
        path = folder / RECORD
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))


def sandbox_dir(folder: Path) -> Path:
    return folder / SANDBOX_FOLDER


def environment(folder: Path, record: Record) -> dict[str, str]:
    """The variables that point tasks (and the engine they start) at the rehearsal."""
    return {
        SWITCH_ENV: str(folder),
        SANDBOX_ENV: str(sandbox_dir(folder)),
        ENDPOINT_ENV: record.endpoint,
        "AWS_ENDPOINT_URL": record.endpoint,
        "AWS_ACCESS_KEY_ID": STANDIN_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": STANDIN_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": record.region,
        "AWS_REGION": record.region,
        # The operator's shared files must not send a client elsewhere.
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def apply(environ: MutableMapping[str, str]) -> Record | None:
    """With the switch set, point ``environ`` at its rehearsal and return the record;
    None when the switch is off. A switch naming no rehearsal is an error, never a
    fall-through to the real cloud."""
    value = environ.get(SWITCH_ENV)
    if not value:
        return None
    folder = Path(value).resolve()
    record = Record.load(folder)
    if record is None:
        raise RehearsalError(
            f"{SWITCH_ENV}={value}: no rehearsal there ({RECORD} missing); run "
            f"`invoke rehearse --env ENV --folder {value}` without {SWITCH_ENV} set, or unset it"
        )
    for name in REMOVED_VARIABLES:
        environ.pop(name, None)
    environ.update(environment(folder, record))
    if PASSPHRASE not in environ and SECRETS_PROVIDER not in environ:
        environ[PASSPHRASE] = REHEARSAL_PASSPHRASE
    return record


def endpoint_of(environ: MutableMapping[str, str]) -> str:
    """The rehearsal's moto URL when the switch is applied, else ''."""
    return environ.get(ENDPOINT_ENV, "") if environ.get(SWITCH_ENV) else ""
