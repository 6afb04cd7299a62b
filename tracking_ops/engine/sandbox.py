"""The one switch that runs any deploy task on Pulumi's real engine with the stand-in
``aws`` provider: ``TRACKING_SANDBOX=<folder>``. The folder holds the stacks' file
backend (``state/``) and an isolated ``PULUMI_HOME`` (``home/``) in which the only
``aws`` plugin is the project's stand-in, with plugin downloads turned off. The engine
tier of the tests and users use the same switch.

The stand-in is not AWS: it answers the engine's provider protocol for exactly the
resource types the five stacks declare, deriving ids and ARNs as ``invoke synth`` does,
and keeps nothing but the engine's own state.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from tracking_ops.engine import build, pins
from tracking_stacks import environments
from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.registry import Layer

SANDBOX_ENV = "TRACKING_SANDBOX"
# The Python language host is not buildable here (see docs/engine.md): programs run as
# Automation API inline programs (Pulumi's own language server in the `pulumi` package),
# which needs a CLI with `--client` (3.181).
MIN_INLINE_CLI = (3, 181, 0)
SALT_KEY = "encryptionsalt"
POLICY_LAUNCHER = "tracking-policy-pack"
POLICY_PACK_DIR = REPO_ROOT / "policy"
PROVIDER_EXECUTABLE = "pulumi-resource-aws"


class SandboxError(Exception):
    """The sandbox cannot run: one line saying why and what to do."""


@dataclass(frozen=True)
class Sandbox:
    root: Path
    cli: Path

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def pulumi_home(self) -> Path:
        return self.root / "home"

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def backend_url(self) -> str:
        return f"file://{self.state_dir}"

    @property
    def cli_root(self) -> Path:
        """What the Automation API's PulumiCommand takes: the folder above ``bin/pulumi``."""
        return self.cli.parent.parent

    def plugin_dir(self) -> Path:
        return self.pulumi_home / "plugins" / f"resource-aws-v{pins.aws_plugin_version()}"

    def prepare(self) -> Sandbox:
        """Create the backend folder and install the stand-in provider and the policy
        analyzer launcher for this Python (idempotent)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        plugin = self.plugin_dir()
        plugin.mkdir(parents=True, exist_ok=True)
        _write_script(
            plugin / PROVIDER_EXECUTABLE,
            f'exec "{sys.executable}" -u -m tracking_ops.standin_cloud "$@"',
        )
        # With no Python language host, the engine cannot start a policy pack folder
        # (it runs one through the language host); a policy pack given as an executable
        # file it starts itself, with the engine's address: this launcher runs the
        # pack's __main__.py, which serves the analyzer protocol.
        _write_script(
            self.policy_launcher,
            f'cd "{POLICY_PACK_DIR}" && exec "{sys.executable}" -u __main__.py "$@"',
        )
        return self

    @property
    def policy_launcher(self) -> Path:
        return self.bin_dir / POLICY_LAUNCHER

    def project_dir(self, layer: Layer, env: str) -> Path:
        """The engine's work folder for a layer: a copy of ``stacks/<layer>``'s project
        file and ``env``'s stack file, so the engine (which writes a stack's salt and
        config into its stack file) never changes the repository's committed files.
        The repository's stack file is copied again whenever it changes; the salt the
        engine gave the sandbox's stack is kept."""
        folder = self.root / "projects" / layer.value
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STACKS_DIR / layer.value / "Pulumi.yaml", folder / "Pulumi.yaml")
        source = environments.config_file(layer, env)
        target = folder / source.name
        seen = folder / f".{source.name}.source"
        text = source.read_text() if source.exists() else "config: {}\n"
        if not target.exists() or not seen.exists() or seen.read_text() != text:
            copied = yaml.safe_load(text) or {}
            if target.exists():
                salt = (yaml.safe_load(target.read_text()) or {}).get(SALT_KEY)
                if salt:
                    copied[SALT_KEY] = salt
            target.write_text(yaml.safe_dump(copied, sort_keys=False))
            seen.write_text(text)
        return folder

    def engine_env(self) -> dict[str, str]:
        """What every engine call of the deploy tasks gets in this sandbox."""
        return {
            "PULUMI_HOME": str(self.pulumi_home),
            "PULUMI_BACKEND_URL": self.backend_url,
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "PATH": os.pathsep.join([str(self.bin_dir), os.environ.get("PATH", "")]),
        }


def _write_script(path: Path, command: str) -> None:
    text = f"#!/bin/sh\n{command}\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def locate_cli() -> Path:
    """The built engine from the cache, else a Pulumi CLI on PATH new enough to run
    inline programs; else a one-line error saying how to get one."""
    found = build.cached()
    if found:
        return found
    on_path = shutil.which("pulumi")
    if on_path:
        try:
            text = build.reported_version(Path(on_path))
        except build.EngineBuildError:
            text = ""
        parts = tuple(int(p) for p in text.split("-")[0].split(".")[:3] if p.isdigit())
        if len(parts) == 3 and parts >= MIN_INLINE_CLI:
            return Path(on_path)
    raise SandboxError(
        f"{SANDBOX_ENV} is set but no engine is built: run `invoke engine` (builds the "
        f"Pulumi CLI v{pins.PULUMI_VERSION} from the Go module proxy) or put a Pulumi CLI "
        f">= {'.'.join(map(str, MIN_INLINE_CLI))} on PATH."
    )


def active() -> Sandbox | None:
    """The sandbox the environment selects, prepared; None when the switch is off."""
    folder = os.environ.get(SANDBOX_ENV)
    if not folder:
        return None
    return Sandbox(Path(folder).resolve(), locate_cli()).prepare()
