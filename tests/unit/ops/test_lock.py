"""The committed constraints file pins every dependency pyproject.toml declares,
inside its declared range, and CI and the README install with it."""

from __future__ import annotations

from tracking_ops.checks import lock
from tracking_stacks.definitions import REPO_ROOT

INSTALL = "pip install -q -c constraints.txt -e '.[dev]'"


def test_the_lock_pins_every_declared_dependency_inside_its_range():
    assert lock.uncovered(lock.declared_requirements(), lock.read_pins()) == []


def test_every_line_of_the_lock_is_an_exact_pin():
    for line in lock.CONSTRAINTS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and name and version and " " not in line, line


def test_a_dependency_missing_from_the_lock_or_outside_its_range_is_reported():
    pins = lock.read_pins()
    declared = [*lock.declared_requirements(), "not-a-real-package>=1"]
    assert lock.uncovered(declared, pins) == ["not-a-real-package is not pinned"]
    pins["pulumi-aws"] = "7.16.0"  # before GSI key_schemas
    assert lock.uncovered(lock.declared_requirements(), pins) == [
        "pulumi-aws==7.16.0 is outside <8,>=7.17"
    ]


def test_the_lock_round_trips_through_its_renderer():
    pins = lock.read_pins()
    rendered = lock.render(pins, "3.11")
    assert rendered.startswith("# Every package")
    parsed = {
        lock.canonical(n): v
        for n, _, v in (line.partition("==") for line in rendered.splitlines() if "==" in line)
    }
    assert parsed == pins


def test_ci_and_the_readme_install_from_the_lock():
    assert "-c constraints.txt" in (REPO_ROOT / ".ci" / "run").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    install_lines = [line for line in readme.splitlines() if "pip install" in line]
    assert install_lines and all("-c constraints.txt" in line for line in install_lines)
