"""Where the repository and its stack programs are: the ground every other module of
tracking_stacks may import (definitions and environments both need it)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = REPO_ROOT / "stacks"
