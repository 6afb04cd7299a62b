"""Build the pinned Pulumi CLI from the Go module proxy into a cache outside the work
tree, keyed by version; reuse it when present. Nothing built is committed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tracking_ops.engine import pins

CACHE_ENV = "TRACKING_ENGINE_CACHE"  # where built engines are kept (default: the user cache)
GO_HINT = (
    "Install Go 1.26 or newer (a Debian or distribution package, or your usual "
    "installer), or install the Pulumi CLI >= 3.61 yourself and put it on PATH."
)


class EngineBuildError(Exception):
    """The engine could not be built or verified: one line saying why and what to do."""


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tracking-microstacks" / "engine"


def engine_root(version: str = pins.PULUMI_VERSION) -> Path:
    """The folder Pulumi's Automation API takes as a CLI root: ``<root>/bin/pulumi``."""
    return cache_root() / f"v{version}"


def cli_path(version: str = pins.PULUMI_VERSION) -> Path:
    return engine_root(version) / "bin" / "pulumi"


def reported_version(binary: Path) -> str:
    """What ``pulumi version`` prints, without the leading v."""
    try:
        text = subprocess.run(
            [str(binary), "version"], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise EngineBuildError(f"`{binary} version` failed: {exc}") from None
    match = re.fullmatch(r"v?(\d+\.\d+\.\d+\S*)", text)
    if not match:
        raise EngineBuildError(f"`{binary} version` printed {text!r}, not a version")
    return match.group(1)


def cached(version: str = pins.PULUMI_VERSION) -> Path | None:
    """The cached CLI when it is there and reports the pinned version."""
    binary = cli_path(version)
    if not binary.is_file():
        return None
    try:
        return binary if reported_version(binary) == version else None
    except EngineBuildError:
        return None


def wrapper_go_mod() -> str:
    """A small module requiring pkg/v3 and sdk/v3 at one version: ``go install pkg@v``
    refuses pkg's own go.mod (it has replace lines); a requiring module ignores them."""
    lines = [f"module tracking.invalid/engine\n\ngo {pins.GO_DIRECTIVE}\n\nrequire ("]
    lines += [f"\t{path} {version}" for path, version in pins.GO_REQUIREMENTS]
    return "\n".join(lines) + "\n)\n"


WRAPPER_TOOLS = f"""//go:build tools

// Package tools keeps the CLI's main package in this module's requirements.
package tools

import _ "{pins.CLI_PACKAGE}"
"""


def _go(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ go {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(["go", *args], cwd=cwd, env=env, stdout=out, stderr=out)
    if done.returncode != 0:
        tail = log.read_text().strip().splitlines()[-3:]
        raise EngineBuildError(
            f"`go {args[0]}` failed (exit {done.returncode}): {' | '.join(tail)} (full log: {log})"
        )


def build(
    version: str = pins.PULUMI_VERSION,
    force: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> Path:
    """The pinned CLI: from the cache, else built (a few minutes cold on 2 cores)."""
    if not force and (found := cached(version)):
        progress(f"engine: Pulumi CLI v{version} from the cache ({found})")
        return found
    if shutil.which("go") is None:
        raise EngineBuildError(
            f"Building the Pulumi CLI needs Go, and `go` is not on PATH. {GO_HINT}"
        )
    root = engine_root(version)
    root.mkdir(parents=True, exist_ok=True)
    log = root / "build.log"
    log.write_text("")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tracking-engine-") as work:
        wdir = Path(work)
        (wdir / "go.mod").write_text(wrapper_go_mod())
        (wdir / "tools.go").write_text(WRAPPER_TOOLS)
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
        progress(f"engine: resolving pulumi v{version} modules (go mod tidy) ...")
        _go(["mod", "tidy"], wdir, env, log)
        partial = root / "bin" / "pulumi.partial"
        partial.parent.mkdir(parents=True, exist_ok=True)
        progress("engine: compiling the Pulumi CLI (go build; 4-8 minutes cold) ...")
        _go(
            [
                "build",
                "-trimpath",
                "-tags",
                pins.BUILD_TAGS,
                "-ldflags",
                f"-X {pins.VERSION_VARIABLE}=v{version}",
                "-o",
                str(partial),
                pins.CLI_PACKAGE,
            ],
            wdir,
            env,
            log,
        )
    got = reported_version(partial)
    if got != version:
        raise EngineBuildError(f"the built CLI reports {got}, not the pinned {version}")
    partial.replace(cli_path(version))  # only a verified binary takes the cache's name
    progress(f"engine: built Pulumi CLI v{version} in {time.monotonic() - started:.0f} s")
    return cli_path(version)
