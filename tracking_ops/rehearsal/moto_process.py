"""The rehearsal's moto server: ``python -m tracking_ops.rehearsal.moto_process FOLDER``.

Serves moto on 127.0.0.1 (tracking_ops/local/standin.py) until SIGTERM or SIGINT,
and writes its URL into ``FOLDER/endpoint`` once it listens. The folder is on the
command line so that a leftover server can be found by it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from tracking_ops.local.standin import moto_server
from tracking_ops.standin_cloud.moto_backed.iam import LOAD_AWS_MANAGED_ENV

ENDPOINT_FILE = "endpoint"
FOLDER_CHECK_S = 2.0


def serve(folder: Path) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # The stacks attach AWS managed policies (the API Gateway logging role's): moto has
    # them only when this is set before its IAM is first used.
    os.environ[LOAD_AWS_MANAGED_ENV] = "true"
    with moto_server() as endpoint:
        partial = folder / f".{ENDPOINT_FILE}.part"
        partial.write_text(endpoint + "\n")
        partial.replace(folder / ENDPOINT_FILE)  # whole or absent
        # A folder removed under it (a temporary directory cleaned up) ends it too.
        while not stop.wait(FOLDER_CHECK_S) and folder.is_dir():
            pass


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
