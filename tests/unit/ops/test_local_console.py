"""Issue 24's quiet local console, the pieces: EMF lines are recognised and dropped
unless verbose, everything else passes, snapshot paths are written as the user's."""

from __future__ import annotations

import io
import json

from tracking_ops.local import console
from tracking_ops.local.child_processes import CodeVersion

EMF = json.dumps(
    {
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Metrics": []}]},
        "ValidationFailures": [1.0],
    }
)
WARNING = json.dumps({"level": "WARNING", "message": "storage unavailable"})


def written(text: str, verbose: bool, replacements=()) -> str:
    sink = io.StringIO()
    out = console.ChildOutput(sink, tuple(replacements), verbose)
    out.write(text)
    out.flush()
    return sink.getvalue()


def test_an_emf_line_is_a_json_object_with_the_aws_metadata():
    assert console.is_metric_line(EMF + "\n")
    assert not console.is_metric_line(WARNING)
    assert not console.is_metric_line('{"_aws": 1}')  # not EMF metadata
    assert not console.is_metric_line('says "_aws" in {text}')


def test_metric_lines_are_dropped_unless_verbose_and_the_rest_is_kept():
    text = f"{WARNING}\n{EMF}\nplain debug\n"
    assert written(text, verbose=False) == f"{WARNING}\nplain debug\n"
    assert written(text, verbose=True) == text


def test_lines_written_in_pieces_are_judged_whole():
    sink = io.StringIO()
    out = console.ChildOutput(sink, (), verbose=False)
    for piece in (EMF[:10], EMF[10:], "\n", "kept", "\n"):
        out.write(piece)
    assert sink.getvalue() == "kept\n"


def test_a_traceback_names_the_users_file_not_the_snapshot():
    code = CodeVersion(3, "/tmp/tracking-local-code-3-x", ("/tmp/p",), "/home/me/functions")
    line = '  File "/tmp/tracking-local-code-3-x/functions/tracking/tracking_api/api.py", line 9\n'
    assert written(line, False, code.replacements) == (
        '  File "/home/me/functions/tracking/tracking_api/api.py", line 9\n'
    )
    assert code.user_paths(line) == written(line, False, code.replacements)


def test_the_verbose_switch_reaches_the_children_with_the_log_level():
    assert console.child_environment(True) == {
        "POWERTOOLS_LOG_LEVEL": console.VERBOSE_LOG_LEVEL,
        console.VERBOSE_VARIABLE: console.VERBOSE_ON,
    }
    assert console.child_environment(False)["POWERTOOLS_LOG_LEVEL"] == console.QUIET_LOG_LEVEL
    assert console.child_environment(False)[console.VERBOSE_VARIABLE] != console.VERBOSE_ON


def test_the_banner_lists_every_route_given():
    routes = [{"method": "GET", "path": "/a"}, {"method": "POST", "path": "/b"}]
    assert console.route_lines(routes, ["/docs"]) == [
        "routes: GET /a, POST /b",
        "local pages: GET /docs",
    ]
