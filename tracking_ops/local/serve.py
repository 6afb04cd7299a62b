"""The `invoke local` process in the foreground: starts the runtime (runtime.py), prints
its banner and ready line, runs until SIGINT/SIGTERM and stops everything it started.

`python -m tracking_ops.local.serve [--env E] [--port P] ...` runs it without invoke (the
end-to-end tests start it this way).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tracking_api.schema_export import ROUTES
from tracking_ops.local import child_processes, console, docs, http_front, standin
from tracking_ops.local.child_processes import StartupCancelled, StartupFailed, failure_summary
from tracking_ops.local.runtime import DEFAULT_WORKERS, LocalRuntime
from tracking_ops.local.watch import CodeWatcher
from tracking_stacks import definitions as defs
from tracking_stacks.naming import validate_env

SIGNAL_POLL_SECONDS = 0.1  # how soon the main thread runs a signal's handler


def serve_forever(
    env: str,
    port: int,
    workers: int = DEFAULT_WORKERS,
    reload: bool = True,
    functions_dir: Path | str | None = None,
    function_timeout: float | None = None,
    verbose: bool = False,
    host: str = standin.LOOPBACK,
    log_dir: Path | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (to this process or its group); returns the exit code."""
    if warning := http_front.exposure_warning(host):
        print(warning, flush=True)
    stop = threading.Event()  # set by on_fatal (another thread), never by a signal handler
    signalled: list[int] = []  # what the handler sets: an append takes no lock
    status = {"code": 0}
    runtime: LocalRuntime | None = None

    def on_signal(signum: int, frame: Any) -> None:
        # Only flags: an exception raised here lands wherever the main thread is (in a
        # spawn, say); a lock (stop.set()) may be the one the interrupted wait holds.
        signalled.append(signum)
        if runtime is not None:
            runtime.cancel()

    def on_fatal(message: str) -> None:
        print(f"error: {message}; stopping", flush=True)
        status["code"] = 1
        stop.set()

    started = time.monotonic()
    runtime = LocalRuntime(
        env,
        port,
        workers,
        functions_dir=functions_dir,
        function_timeout=function_timeout,
        on_fatal=on_fatal,
        verbose=verbose,
        host=host,
        log_dir=log_dir,
    )
    runtime.bind()  # a port in use fails here, before the stand-in and the workers start
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    watcher = None
    if signalled:  # a signal came before the runtime existed
        runtime.cancel()
    try:
        runtime.start()
        host, bound = runtime.httpd.server_address[:2]
        for line in console.banner_lines(host, bound, ROUTES, docs.LOCAL_PAGES):
            print(line, flush=True)
        if reload:
            watcher = CodeWatcher(runtime.functions_dir, runtime.reload).start()
        ready_in = time.monotonic() - started
        watched = runtime.functions_dir if reload else None
        line = console.ready_line(
            env, runtime.instance.endpoint, workers, ready_in, verbose, watched
        )
        print(line, flush=True)
        print(f"pids: main {os.getpid()}, workers {runtime.pool.pids()}", flush=True)
        # Never an unbounded wait here: a signal to the process may be taken by another
        # thread, and Python runs its handler only when this thread runs bytecode again.
        while not signalled and not stop.wait(SIGNAL_POLL_SECONDS):
            pass
    except StartupCancelled:
        pass
    except StartupFailed as failure:
        print(f"error: the functions do not start:\n{failure_summary(str(failure))}", flush=True)
        status["code"] = 1
    finally:
        print("stopping...", flush=True)
        stopping = time.monotonic()
        runtime.stop()
        if watcher:
            watcher.stop()
        child_processes.reap_resource_tracker()
        print(f"stopped in {time.monotonic() - stopping:.1f}s", flush=True)
    return status["code"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the tracking API locally on moto.")
    parser.add_argument("--env", default="dev", type=validate_env)  # fixed or per-branch
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--host", default=standin.LOOPBACK, help="the address to listen on")
    parser.add_argument("--log-dir", type=Path, default=None, help="the functions' log files")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--no-reload", action="store_true", help="do not watch the code")
    parser.add_argument("--functions", default=None, help="the functions tree to serve and watch")
    parser.add_argument(
        "--function-timeout",
        type=float,
        default=None,
        help=f"the API function's timeout in seconds (default {defs.API_FUNCTION.timeout_s})",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also print the functions' metrics and debug output"
    )
    args = parser.parse_args(argv)
    return serve_forever(
        args.env,
        args.port,
        args.workers,
        reload=not args.no_reload,
        functions_dir=args.functions,
        function_timeout=args.function_timeout,
        verbose=args.verbose,
        host=args.host,
        log_dir=args.log_dir,
    )


if __name__ == "__main__":
    child_processes.exit_now(main())
