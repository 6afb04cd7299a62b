"""Function assets for Lambda (manylinux, arm64, the runtime's CPython), byte-for-byte
reproducible: the same sources and pins give the same zip, so an unchanged
function never shows a diff in `pulumi preview`."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tracking_ops.progress import Progress, on_interrupt
from tracking_stacks.definitions import (
    BUILD_DIR,
    LAMBDA_RUNTIME,
    SHARED_FUNCTION_CODE,
    FunctionSpec,
)

PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = LAMBDA_RUNTIME.removeprefix("python")  # "3.13"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
WHEEL_CACHE = BUILD_DIR / "wheels"
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
REQUIREMENTS = "requirements.txt"


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Artifact:
    function: str
    path: Path
    sha256: str
    size: int


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip {args[0]} failed: {result.stderr.strip().splitlines()[-1:]}")


@dataclass(frozen=True)
class Target:
    """Where the asset runs: Lambda's platform by default."""

    platform: str = PLATFORM
    python_version: str = PYTHON_VERSION


LAMBDA = Target()


def _platform_flags(target: Target = LAMBDA) -> list[str]:
    return [
        "--platform",
        target.platform,
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
        "--only-binary=:all:",
        "--no-deps",
    ]


def install_dependencies(
    requirements: Path, target: Path, wheel_cache: Path = WHEEL_CACHE, runs_on: Target = LAMBDA
) -> None:
    """Wheels for the target platform: downloaded once into the cache, installed from it offline."""
    wheel_cache.mkdir(parents=True, exist_ok=True)
    platform, pinned = _platform_flags(runs_on), ["-r", str(requirements)]

    def install_from_cache() -> None:
        _pip(
            "install",
            "--no-index",
            "--find-links",
            str(wheel_cache),
            "--target",
            str(target),
            "--no-compile",
            *platform,
            *pinned,
        )

    try:
        install_from_cache()
    except BuildError:  # not all cached yet
        _pip("download", "--dest", str(wheel_cache), *platform, *pinned)
        install_from_cache()


def _files(root: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_dir() or EXCLUDED_PARTS & set(relative.parts):
            continue
        if path.suffix in EXCLUDED_SUFFIXES or relative.parts[0] == "bin":
            continue
        yield f"{prefix}{relative.as_posix()}", path


def write_reproducible_zip(entries: dict[str, Path], destination: Path) -> None:
    """Sorted entries, fixed timestamps and modes: the bytes depend on contents only."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever builds it
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)


def build_function(
    spec: FunctionSpec,
    destination: Path | None = None,
    wheel_cache: Path = WHEEL_CACHE,
    runs_on: Target = LAMBDA,
) -> Artifact:
    destination = destination or spec.asset
    with tempfile.TemporaryDirectory(prefix=f"build-{spec.what}-") as tmp:
        dependencies = Path(tmp) / "deps"
        install_dependencies(spec.source / REQUIREMENTS, dependencies, wheel_cache, runs_on)
        entries = dict(_files(dependencies))
        entries.update(_files(SHARED_FUNCTION_CODE))  # tracking_common/
        entries.update((name, path) for name, path in _files(spec.source) if name != REQUIREMENTS)
        write_reproducible_zip(entries, destination)
    data = destination.read_bytes()
    return Artifact(spec.what, destination, hashlib.sha256(data).hexdigest(), len(data))


def build_functions(
    specs: list[FunctionSpec],
    describe=lambda artifact, seconds: "",
    progress: Progress | None = None,
) -> list[Artifact]:
    """Each function's asset in turn, counted (with an estimate) as it is built; the line
    ``describe`` gives for each goes above the count. A Ctrl-C names those built."""
    import time

    shown = progress or Progress("build", len(specs))
    built: list[Artifact] = []

    def so_far() -> str:
        return f"built: {', '.join(a.function for a in built)}" if built else "none built"

    with shown, on_interrupt("build", so_far, lambda: "a re-run builds them all again"):
        for spec in specs:
            started = time.monotonic()
            try:
                artifact = build_function(spec)
            except BuildError as exc:
                raise BuildError(f"{spec.what}: {exc}") from exc
            built.append(artifact)
            shown.advance(note=spec.what)
            line = describe(artifact, time.monotonic() - started)
            if line:
                shown.print(line)
    return built
