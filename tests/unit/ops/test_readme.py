"""The README is for users: short, its diagram generated from the registry, and its
links either inside the repository or to public documentation."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tracking_ops.deploy import planner
from tracking_stacks.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
MAX_README_LINES = 300
MAX_FIRST_SCREEN_LINES = 60
FIRST_SECTION = "\n## "
# Hosts of public documentation a page may link to; anything else leaves the project.
PUBLIC_DOCS = (
    "docs.aws.amazon.com",
    "www.pulumi.com",
    "github.com",
    "docs.powertools.aws.dev",
    "docs.pytest.org",
    "www.rfc-editor.org",
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MERMAID = re.compile(r"```mermaid\n(.*?)\n```", re.S)


def pages() -> list[Path]:
    return [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]


def test_the_readme_is_at_most_300_lines_and_its_first_screen_at_most_60():
    text = README.read_text()
    assert len(text.splitlines()) <= MAX_README_LINES
    first_screen = text.split(FIRST_SECTION, 1)[0]
    assert len(first_screen.splitlines()) <= MAX_FIRST_SCREEN_LINES


def test_the_first_screen_gives_the_two_commands_and_a_curl_session():
    first_screen = README.read_text().split(FIRST_SECTION, 1)[0]
    commands = [line for line in first_screen.splitlines() if line.startswith("python3 -m venv")]
    assert [command.rsplit(" ", 1)[-1] for command in commands] == ["local", "test"]
    assert "curl -s" in first_screen


def test_the_layer_diagram_is_the_one_the_registry_generates():
    (diagram,) = MERMAID.findall(README.read_text())
    assert diagram == planner.mermaid()


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_links_stay_in_the_repository_or_go_to_public_documentation(page):
    for target in LINK.findall(page.read_text()):
        url = urlparse(target)
        if url.scheme:
            assert url.scheme == "https" and url.hostname in PUBLIC_DOCS, target
            continue
        path = (page.parent / url.path).resolve() if url.path else page
        assert path.exists(), f"{page.name} links to {target}, which is not in the repository"
        assert REPO_ROOT.resolve() in path.parents or path == REPO_ROOT.resolve(), target


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_no_page_points_at_files_outside_the_repository(page):
    text = page.read_text()
    assert "DESIGN.md" not in text
    assert "../shared" not in text
