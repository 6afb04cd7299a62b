"""`invoke rehearse --env E` and `invoke rehearse --down`: the moto server (started or
reused), the engine (built or found), `deploy-all --env E --yes` against them, one
line per stack; `--down` destroys the env, stops the server and removes the folder.
A Ctrl-C stops what this run started (the deploy, and the server and folder when it
made them) and ends with one line (Interrupted: exit 130)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tracking_ops.engine import readiness
from tracking_ops.rehearsal import server
from tracking_ops.rehearsal.switch import (
    SWITCH_ENV,
    Record,
    RehearsalError,
    environment,
    sandbox_dir,
)
from tracking_stacks import environments
from tracking_stacks.definitions import REPO_ROOT
from tracking_stacks.naming import PROD
from tracking_stacks.registry import Layer

FOLDER_PREFIX = "tracking-rehearsal-"
CHILD_STOP_S = 30.0
INTERRUPTED_EXIT = 130
# Operations a user runs next with the switch (printed after the deploy).
NEXT_TASKS = ("status", "outputs", "refresh --expect-no-changes", "replay-dlq")

Out = Callable[[str], None]


class Interrupted(Exception):
    """Ctrl-C: everything this run started is stopped; the message says what."""


def default_folder(env: str) -> Path:
    return Path(tempfile.gettempdir()) / f"{FOLDER_PREFIX}{env}"


@dataclass
class Rehearsal:
    env: str
    folder: Path
    base: str = ""
    out: Out = print
    # what this run started, so a Ctrl-C stops exactly that
    _started_server: int = 0
    _made_folder: bool = False
    _child: subprocess.Popen | None = None

    def up(self) -> Record:
        try:
            return self._up()
        except KeyboardInterrupt:
            raise Interrupted(self._stop_started()) from None
        except BaseException:
            self._stop_started()
            raise

    def _up(self) -> Record:
        self._made_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        ready, why = readiness.engine_tier_ready(progress=self.out)
        if not ready:
            raise RehearsalError(f"no engine: {why}")
        record = self._server()
        self.out(f"rehearsing {self.env} in {self.folder}: deploy-all on the engine, AWS is moto")
        code = self._task(record, "deploy-all", "--env", self.env, "--yes", *self._from())
        if code != 0:
            self._made_folder, self._started_server = False, 0  # kept for a look
            raise RehearsalError(
                f"deploy-all --env {self.env} failed (exit {code}); the rehearsal stays for a "
                f"look ({SWITCH_ENV}={self.folder}); `invoke rehearse --down --env {self.env}` "
                "removes it"
            )
        self._made_folder, self._started_server = False, 0  # kept: it is the result
        for line in summary(self.folder, record):
            self.out(line)
        return record

    def _from(self) -> tuple[str, ...]:
        return ("--from", self.base) if self.base else ()

    def _server(self) -> Record:
        record = Record.load(self.folder)
        if record is not None and record.env != self.env:
            raise RehearsalError(
                f"{self.folder} holds the rehearsal of {record.env}, not {self.env}: "
                f"`invoke rehearse --down --env {record.env}` first, or another --folder"
            )
        if record and server.alive(record.server_pid) and server.answers(record.endpoint):
            self.out(f"moto server: reusing {record.endpoint} (pid {record.server_pid})")
            return record
        if record is not None:  # its server is gone, and moto kept everything in memory
            self.out("moto server of the earlier rehearsal is gone: starting afresh")
            shutil.rmtree(sandbox_dir(self.folder), ignore_errors=True)
        self.out("moto server: starting on 127.0.0.1 ...")
        pid, endpoint = server.start(self.folder)
        self._started_server = pid
        record = Record(self.env, self.base, endpoint, pid, region_of(self.env, self.base))
        record.save(self.folder)
        self.out(f"moto server: {endpoint} (pid {pid}, process group of its own)")
        return record

    def _task(self, record: Record, *args: str) -> int:
        """`invoke ARGS` with the switch on, its lines passed through as they come."""
        env = {**os.environ, **environment(self.folder, record)}
        self._child = subprocess.Popen(
            [sys.executable, "-m", "invoke", *args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for line in self._child.stdout:
            self.out(line.rstrip("\n"))
        code = self._child.wait()
        self._child = None
        return code

    def down(self) -> None:
        record = Record.load(self.folder)
        if record is None:
            if self.folder.exists():
                shutil.rmtree(self.folder)
                self.out(f"no rehearsal recorded in {self.folder}: folder removed")
            else:
                self.out(f"no rehearsal at {self.folder}: nothing to do")
            return
        try:
            if server.alive(record.server_pid) and server.answers(record.endpoint):
                args = ["destroy-all", "--env", record.env, "--yes"]
                if record.env == PROD:
                    args.append("--yes-destroy-prod")
                if record.base:
                    args += ["--from", record.base]
                code = self._task(record, *args)
                if code != 0:
                    self.out(
                        f"destroy-all --env {record.env} did not complete (exit {code}); what "
                        "it left lived only in the moto server, which stops now"
                    )
        except KeyboardInterrupt:
            self._stop_child()
            self.out("interrupted: stopping the server and removing the folder anyway")
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            server.stop(record.server_pid)
            shutil.rmtree(self.folder, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self.out(f"rehearsal of {record.env} down: moto server stopped, {self.folder} removed")

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None or child.poll() is not None:
            return
        for signum in (signal.SIGINT, signal.SIGKILL):
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                return
            try:
                child.wait(CHILD_STOP_S)
                break
            except subprocess.TimeoutExpired:
                continue
        # the engine and the provider it started are in the child's group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)

    def _stop_started(self) -> str:
        """Stop what this run started; the one line that says so."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        stopped: list[str] = []
        removed = ""
        try:
            if self._child is not None:
                self._stop_child()
                stopped.append("the deploy")
            if self._started_server:
                server.stop(self._started_server)
                self._started_server = 0
                stopped.append("the moto server")
            if self._made_folder:
                shutil.rmtree(self.folder, ignore_errors=True)
                self._made_folder = False
                removed = f"; removed {self.folder}"
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        done = " and ".join(stopped) if stopped else "nothing was running"
        return f"rehearse interrupted: stopped {done}{removed}"


def region_of(env: str, base: str) -> str:
    return environments.stack_region(Layer.DATA, env, base or None)


def summary(folder: Path, record: Record) -> list[str]:
    """Where the rehearsed env lives and how to run the other tasks against it."""
    switch = f"{SWITCH_ENV}={folder}"
    return [
        f"rehearsed {record.env}: stacks in {sandbox_dir(folder)}, AWS is moto at "
        f"{record.endpoint}",
        f"run any task against it with {switch}, e.g.:",
        *(f"  {switch} invoke {task} --env {record.env}" for task in NEXT_TASKS),
        f"  {switch} invoke deploy --stack compute --env {record.env} --canary 10 --bake 2m",
        f"stop it: {switch} invoke rehearse --down",
    ]
