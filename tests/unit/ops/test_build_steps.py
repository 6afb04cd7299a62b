"""`invoke build`'s steps without pip or Lambda's wheels (issue 28: the survivors of
build.py's mutation run): the exact pip command lines and their failures, which files an
asset takes, the zip's fixed entry attributes, and build_functions' count, lines and
Ctrl-C over a recording build_function."""

from __future__ import annotations

import hashlib
import io
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from tracking_ops.deploy import build
from tracking_ops.deploy.build import Artifact, BuildError, Target
from tracking_ops.progress import Interrupted, Progress
from tracking_stacks.definitions import API_FUNCTION, NOTIFIER_FUNCTION

pytestmark = pytest.mark.unit

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


class Completed:
    def __init__(self, returncode: int, stderr: str = "") -> None:
        self.returncode, self.stderr = returncode, stderr


class Subprocess:
    """subprocess as build.py uses it: each run recorded, answered in turn."""

    def __init__(self, *answers: Completed) -> None:
        self.answers = list(answers)
        self.runs: list[tuple[list[str], dict]] = []

    def run(self, command, **options):
        self.runs.append((command, options))
        return self.answers.pop(0)


@pytest.fixture
def pip(monkeypatch):
    def answering(*answers: Completed) -> Subprocess:
        fake = Subprocess(*answers)
        monkeypatch.setattr(build, "subprocess", fake)
        return fake

    return answering


def test_pip_runs_this_interpreters_pip_capturing_text(pip):
    fake = pip(Completed(0))
    build._pip("install", "x")
    assert fake.runs == [([*PIP, "install", "x"], {"capture_output": True, "text": True})]


def test_a_pip_failure_names_the_command_and_its_last_line(pip):
    pip(Completed(1, "first\nsecond\nERROR: no matching distribution\n"))
    with pytest.raises(BuildError) as failed:
        build._pip("download", "x")
    assert str(failed.value) == "pip download failed: ['ERROR: no matching distribution']"


PLATFORM_FLAGS = [
    "--platform",
    "plat_x",
    "--implementation",
    "cp",
    "--python-version",
    "3.9",
    "--only-binary=:all:",
    "--no-deps",
]


def test_dependencies_install_from_the_cache_offline(pip, tmp_path):
    fake = pip(Completed(0))
    cache = tmp_path / "a" / "cache"  # created with its parents
    build.install_dependencies(Path("req.txt"), Path("t"), cache, Target("plat_x", "3.9"))
    assert cache.is_dir()
    assert [command for command, _ in fake.runs] == [
        [
            *PIP,
            "install",
            "--no-index",
            "--find-links",
            str(cache),
            "--target",
            "t",
            "--no-compile",
            *PLATFORM_FLAGS,
            "-r",
            "req.txt",
        ]
    ]


def test_wheels_not_cached_yet_are_downloaded_then_installed_offline(pip, tmp_path):
    fake = pip(Completed(1, "not found"), Completed(0), Completed(0))
    cache = tmp_path / "cache"
    build.install_dependencies(Path("req.txt"), Path("t"), cache, Target("plat_x", "3.9"))
    commands = [command for command, _ in fake.runs]
    assert commands[1] == [
        *PIP,
        "download",
        "--dest",
        str(cache),
        *PLATFORM_FLAGS,
        "-r",
        "req.txt",
    ]
    assert commands[2] == commands[0] and commands[0][len(PIP)] == "install"


def test_an_asset_leaves_out_caches_compiled_files_and_the_top_level_bin(tmp_path):
    kept = ["a.py", "pkg/b.py", "pkg/bin/c.py", "z/data.txt", "zz.py"]
    left_out = ["bin/tool", "pkg/__pycache__/b.cpython.pyc", "m.pyc", "n.pyo", ".pytest_cache/x"]
    for name in kept + left_out:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    files = dict(build._files(tmp_path, prefix="p/"))
    assert sorted(files) == sorted(f"p/{name}" for name in kept)
    assert files["p/pkg/b.py"] == tmp_path / "pkg" / "b.py"


def varied_text() -> bytes:
    words = b"parcel tracking event delivered scanned depot courier label route hub".split()
    x, out = 1, []
    for _ in range(30000):
        x = (x * 1103515245 + 12345) % 2**31
        out += [words[x % len(words)], str(x % 97).encode()]
    return b" ".join(out)


def test_zip_entries_carry_fixed_time_mode_system_and_best_compression(tmp_path):
    source = tmp_path / "big.txt"
    source.write_bytes(varied_text())  # level 9 compresses it smaller than the default
    destination = tmp_path / "out" / "deeper" / "asset.zip"
    build.write_reproducible_zip({"b.txt": source, "a.txt": source}, destination)
    with zipfile.ZipFile(destination) as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos] == ["a.txt", "b.txt"]
        for info in infos:
            assert info.date_time == build.ZIP_EPOCH
            assert info.external_attr == 0o644 << 16
            assert info.create_system == 3
            assert info.compress_type == zipfile.ZIP_DEFLATED
            best = zlib.compressobj(9, zlib.DEFLATED, -15)
            level9 = best.compress(source.read_bytes()) + best.flush()
            assert info.compress_size == len(level9)
            assert archive.read(info) == source.read_bytes()


def test_a_function_is_built_from_its_pins_for_its_target(monkeypatch, tmp_path):
    seen = {}

    def install(requirements, target, wheel_cache, runs_on):
        seen.update(requirements=requirements, target=target, cache=wheel_cache, on=runs_on)
        (target / "dep").mkdir(parents=True)
        (target / "dep" / "__init__.py").write_text("dep")

    monkeypatch.setattr(build, "install_dependencies", install)
    here = Target("plat_x", "3.9")
    destination = tmp_path / "api.zip"
    artifact = build.build_function(API_FUNCTION, destination, tmp_path / "cache", here)
    assert seen["requirements"] == API_FUNCTION.source / build.REQUIREMENTS
    assert seen["target"].name == "deps"
    assert seen["target"].parent.name.startswith(f"build-{API_FUNCTION.what}-")
    assert seen["cache"] == tmp_path / "cache" and seen["on"] is here
    data = destination.read_bytes()

    assert artifact == Artifact(
        API_FUNCTION.what, destination, hashlib.sha256(data).hexdigest(), len(data)
    )
    names = zipfile.ZipFile(destination).namelist()
    assert "dep/__init__.py" in names and "tracking_common/table.py" in names
    assert "app.py" in names and build.REQUIREMENTS not in names


# -- build_functions ------------------------------------------------------------------
def artifact_of(spec) -> Artifact:
    return Artifact(spec.what, Path(f"{spec.what}.zip"), "sha", 1)


class Clock:
    """time.monotonic: 10 s before each build, 13 s after it."""

    def __init__(self) -> None:
        self.ticks = iter([10.0, 13.0, 20.0, 24.0])

    def __call__(self) -> float:
        return next(self.ticks)


def quiet_progress(total: int) -> Progress:
    return Progress("build", total, stream=io.StringIO(), tty=False)


def test_each_function_is_built_counted_and_described_in_turn(monkeypatch, capsys):
    monkeypatch.setattr(build, "build_function", artifact_of)
    monkeypatch.setattr(time, "monotonic", Clock())
    shown = quiet_progress(2)
    described = []

    def describe(artifact, seconds):
        described.append((artifact.function, seconds))
        return f"{artifact.function} in {seconds:g}s" if artifact.function == "api" else ""

    built = build.build_functions([API_FUNCTION, NOTIFIER_FUNCTION], describe, shown)
    assert built == [artifact_of(API_FUNCTION), artifact_of(NOTIFIER_FUNCTION)]
    assert described == [(API_FUNCTION.what, 3.0), (NOTIFIER_FUNCTION.what, 4.0)]
    assert (shown.done, shown.note) == (2, NOTIFIER_FUNCTION.what)
    assert capsys.readouterr().out == f"{API_FUNCTION.what} in 3s\n"  # no empty line


def test_by_default_the_count_is_a_build_progress_over_every_function(monkeypatch):
    made = []

    class Recording(Progress):
        def __init__(self, label, total):
            made.append((label, total))
            super().__init__(label, total, stream=io.StringIO(), tty=False)

    monkeypatch.setattr(build, "Progress", Recording)
    monkeypatch.setattr(build, "build_function", artifact_of)
    assert len(build.build_functions([API_FUNCTION, NOTIFIER_FUNCTION])) == 2
    assert made == [("build", 2)]


def test_a_failed_build_names_its_function(monkeypatch):
    def failing(spec):
        raise BuildError("pip install failed: ['no wheel']")

    monkeypatch.setattr(build, "build_function", failing)
    with pytest.raises(BuildError) as failed:
        build.build_functions([API_FUNCTION], progress=quiet_progress(1))
    assert str(failed.value) == f"{API_FUNCTION.what}: pip install failed: ['no wheel']"


@pytest.mark.parametrize(
    ("interrupted_at", "so_far"), [(0, "none built"), (2, "built: api, notifier")]
)
def test_a_ctrl_c_names_the_functions_built(monkeypatch, interrupted_at, so_far):
    calls = []

    def building(spec):
        calls.append(spec)
        if len(calls) > interrupted_at:
            raise KeyboardInterrupt
        return artifact_of(spec)

    monkeypatch.setattr(build, "build_function", building)
    specs = [API_FUNCTION, NOTIFIER_FUNCTION, API_FUNCTION]
    with pytest.raises(Interrupted) as stopped:
        build.build_functions(specs, progress=quiet_progress(3))
    assert (stopped.value.what, stopped.value.done) == ("build", so_far)
    assert stopped.value.hint == "a re-run builds them all again"
    assert calls[0] is API_FUNCTION
