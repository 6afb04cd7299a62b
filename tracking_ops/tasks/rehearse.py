"""`invoke rehearse`: a whole env deployed by the real engine into moto on 127.0.0.1
(tracking_ops/rehearsal/), and `--down` to remove it."""

from __future__ import annotations

import os
from pathlib import Path

from invoke import Context, Exit

from tracking_ops.rehearsal import run as rehearsal
from tracking_ops.rehearsal.switch import SWITCH_ENV, RehearsalError
from tracking_ops.tasks.common import check_env, task
from tracking_ops.tasks.help import HELP_ENV, HELP_FROM


@task(
    help={
        "env": HELP_ENV,
        "from_": HELP_FROM,
        "down": "destroy the rehearsed env, stop its moto server and remove its folder",
        "folder": f"where the rehearsal lives (default: {SWITCH_ENV}, else "
        f"<temp>/{rehearsal.FOLDER_PREFIX}<env>)",
    }
)
def rehearse(
    c: Context, env: str = "dev", from_: str = "", down: bool = False, folder: str = ""
) -> None:
    """Deploy ENV with the real engine into moto on 127.0.0.1.

    Prints how to run every other task against it (TRACKING_REHEARSAL=<folder>);
    --down destroys it and stops the server. See docs/rehearse.md.
    """
    check_env(env, from_)
    where = Path(folder or os.environ.get(SWITCH_ENV) or rehearsal.default_folder(env))
    run = rehearsal.Rehearsal(env, where.resolve(), from_, out=lambda line: print(line, flush=True))
    try:
        run.down() if down else run.up()
    except rehearsal.Interrupted as exc:
        raise Exit(str(exc), code=rehearsal.INTERRUPTED_EXIT) from None
    except RehearsalError as exc:
        raise Exit(f"error: {exc}", code=1) from None


TASKS = (rehearse,)
