"""`invoke local --host H`: passed to the listener; anything but loopback warns first."""

from __future__ import annotations

import pytest
from invoke import Context

from tracking_ops.local import child_processes, http_front, serve
from tracking_ops.tasks import develop

pytestmark = pytest.mark.unit


class NeverStarts:
    """A LocalRuntime stand-in: records how it was made, then Ctrl-C while starting."""

    made: list[dict] = []

    def __init__(self, *args, **kwargs):
        NeverStarts.made.append(kwargs)

    def bind(self):
        return self

    def start(self):
        raise serve.StartupCancelled()

    def stop(self):
        pass


@pytest.fixture
def never_starts(monkeypatch):
    NeverStarts.made = []
    monkeypatch.setattr(serve, "LocalRuntime", NeverStarts)
    monkeypatch.setattr(child_processes, "reap_resource_tracker", lambda: None)
    return NeverStarts.made


def test_a_non_loopback_host_is_passed_on_after_one_warning(never_starts, capsys):
    assert serve.serve_forever("dev", 0, host="0.0.0.0") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == http_front.EXPOSED.format(host="0.0.0.0")
    assert never_starts[0]["host"] == "0.0.0.0"


def test_the_default_host_is_loopback_and_quiet(never_starts, capsys):
    serve.serve_forever("dev", 0)
    assert "warning" not in capsys.readouterr().out
    assert never_starts[0]["host"] == "127.0.0.1"


def test_the_task_passes_host_and_defaults_to_loopback(monkeypatch):
    seen = []
    monkeypatch.setattr(serve, "serve_forever", lambda *a, **kw: seen.append(kw["host"]) or 0)
    monkeypatch.setattr(child_processes, "exit_now", lambda code: None)
    develop.local(Context(), host="localhost")
    develop.local(Context())
    assert seen == ["localhost", "127.0.0.1"]


def test_host_has_no_short_flag():
    (host,) = [a for a in develop.local.get_arguments() if a.name == "host"]
    assert host.names == ("host",)
