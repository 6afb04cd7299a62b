"""Issue 22 item 11: every child of the local runtime starts with SIGINT/SIGTERM
blocked from its exec on, so a Ctrl-C to the process group cannot hit it in its
interpreter's start (site import) before it ignores them; the first spawn too,
which launches multiprocessing's resource tracker (that launch unblocks them)."""

from __future__ import annotations

import signal

import pytest

from tracking_ops.local import child_processes

pytestmark = pytest.mark.unit
SIGNAL_MASK_FIELD = "SigBlk:"


def report_blocked(conn) -> None:
    """In the child, before anything changes its mask: the signals blocked at its start."""
    with open("/proc/self/status") as status:
        field = next(line for line in status if line.startswith(SIGNAL_MASK_FIELD))
    mask = int(field.split()[1], 16)
    conn.send([signum for signum in child_processes.STOP_SIGNALS if mask & 1 << (signum - 1)])
    conn.close()


def blocked_in_a_new_child() -> set[int]:
    process, conn = child_processes.start_child(report_blocked, (), "mask-reporter")
    try:
        assert conn.poll(60), "the child did not report"
        return set(conn.recv())
    finally:
        child_processes.stop_children([(process, conn)], 1)


def test_the_first_child_and_the_next_start_with_the_stop_signals_blocked():
    child_processes.reap_resource_tracker()  # no tracker: the next spawn launches one
    assert blocked_in_a_new_child() == child_processes.STOP_SIGNALS
    assert blocked_in_a_new_child() == child_processes.STOP_SIGNALS
    # and the parent's own mask is as it was
    assert not child_processes.STOP_SIGNALS & signal.pthread_sigmask(signal.SIG_BLOCK, [])


class UnblockingProcess:
    """A spawn that unblocks the stop signals on its way, as the tracker's launch did."""

    killed = False

    def __init__(self, **kwargs):
        self.name = kwargs["name"]

    def start(self):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, child_processes.STOP_SIGNALS)

    def kill(self):
        UnblockingProcess.killed = True

    def join(self, timeout=None):
        pass


class UnblockingContext:
    Pipe = staticmethod(child_processes.SPAWN.Pipe)
    Process = UnblockingProcess


def test_a_child_spawned_with_the_stop_signals_unblocked_is_killed_not_used(monkeypatch):
    monkeypatch.setattr(child_processes, "SPAWN", UnblockingContext)
    with pytest.raises(RuntimeError, match="unblocked"):
        child_processes.start_child(report_blocked, (), "unblocked")
    assert UnblockingProcess.killed
    assert not child_processes.STOP_SIGNALS & signal.pthread_sigmask(signal.SIG_BLOCK, [])
