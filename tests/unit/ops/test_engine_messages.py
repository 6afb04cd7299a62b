"""The engine's own message in an Automation API failure's one line (issue 28: the
survivors of engine_errors.py's mutation run): found whatever case the engine writes
`error:` in, kept whole when it names stderr itself, and said when there is none."""

from __future__ import annotations

import pytest
from pulumi.automation import errors
from pulumi.automation._cmd import CommandResult

from tracking_ops.deploy import engine_errors

pytestmark = pytest.mark.unit


def test_an_engine_that_printed_nothing_is_an_unknown_failure():
    assert engine_errors.engine_message("") == "unknown engine failure"
    assert engine_errors.engine_message(" \n\n  ") == "unknown engine failure"


def test_the_error_prefix_goes_whatever_its_case():
    text = "Updating (dev)\nError: the stack program failed\nResources: 3 unchanged\n"
    assert engine_errors.engine_message(text) == "the stack program failed"


def test_a_message_that_names_stderr_is_kept_whole():
    message = "could not read the language host's stderr: broken pipe"
    result = CommandResult(stdout="Updating (dev)\n", stderr=f"error: {message}\n", code=255)
    line = engine_errors.one_line(errors.create_command_error(result))
    assert line == f"error: {message}; {engine_errors.GENERIC_HINT}"
