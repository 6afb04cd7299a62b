"""Maintenance tasks: the committed constraints file."""

from __future__ import annotations

import sys
import time

from invoke import Context, Exit

from tracking_ops.checks import lock as locking
from tracking_ops.tasks.common import task


@task(help={"python": "the interpreter to resolve for (default: this one; CI uses 3.11)"})
def lock(c: Context, python: str = "") -> None:
    """Refresh constraints.txt, the pins every install uses.

    Resolved by pip's resolver, installing nothing.

    Every package the project and its dev extras resolve to, pinned. Run it after
    changing pyproject.toml, and commit the result."""
    started = time.monotonic()
    interpreter = python or sys.executable
    print(f"resolving {locking.PYPROJECT.name} with {interpreter} ...", flush=True)
    try:
        pins = locking.resolve(interpreter)
        version = locking.python_version(interpreter)
    except (locking.LockError, OSError) as exc:
        raise Exit(f"error: {exc}", code=1) from None
    old = locking.read_pins() if locking.CONSTRAINTS.exists() else {}
    locking.CONSTRAINTS.write_text(locking.render(pins, version))
    changed = sorted(n for n in pins.keys() | old.keys() if pins.get(n) != old.get(n))
    print(
        f"wrote {locking.CONSTRAINTS.name}: {len(pins)} packages, {len(changed)} changed "
        f"in {time.monotonic() - started:.0f}s"
    )
    for name in changed:
        print(f"  {name}: {old.get(name, '-')} -> {pins.get(name, '-')}")


TASKS = (lock,)
