"""Issue 24, item 2: every Automation API failure as one line with the engine's own
message and what to do, exit code 1; the full output only with --verbose."""

from __future__ import annotations

import pytest
from invoke import Exit
from pulumi.automation import errors
from pulumi.automation._cmd import CommandResult

from tracking_ops.deploy import engine_errors
from tracking_ops.tasks.common import one_line_errors

CASES = {
    "no stack named 'dev' found": (errors.StackNotFoundError, "check --env"),
    "stack 'dev' already exists": (errors.StackAlreadyExistsError, "already exists"),
    "[409] Conflict: Another update is currently in progress.": (
        errors.ConcurrentUpdateError,
        "pulumi cancel",
    ),
    "the stack is currently locked by 1 lock(s)": (errors.ConcurrentUpdateError, "pulumi cancel"),
    "incorrect passphrase": (errors.CommandError, "PULUMI_CONFIG_PASSPHRASE"),
    "failed to login: dial tcp 127.0.0.1:1: connect: connection refused": (
        errors.CommandError,
        "PULUMI_BACKEND_URL",
    ),
    "something else broke": (errors.CommandError, "--verbose"),
}


def engine_failure(message: str) -> errors.CommandError:
    """Built as the Automation API builds it: from the CLI's CommandResult."""
    result = CommandResult(stdout="Updating (dev)\n", stderr=f"error: {message}\n", code=255)
    return errors.create_command_error(result)


@pytest.mark.parametrize("message", list(CASES))
def test_each_engine_error_is_one_line_with_its_message_and_what_to_do(message, capsys):
    expected_class, hint = CASES[message]
    exc = engine_failure(message)
    assert type(exc) is expected_class
    with pytest.raises(Exit) as ended, one_line_errors():
        raise exc
    line = str(ended.value.message)
    assert ended.value.code == 1
    assert "\n" not in line and line.startswith(f"error: {message}; ")
    assert hint in line
    assert capsys.readouterr().err == ""  # no full output without --verbose


@pytest.mark.parametrize(
    "stdout, expected_class",
    [
        (
            "error: an unhandled error occurred: Program exited with non-zero exit code: 1",
            errors.RuntimeError,
        ),
        ("main.go:3: syntax error: unexpected", errors.CompilationError),
    ],
)
def test_program_failures_map_to_synth(stdout, expected_class):
    exc = errors.create_command_error(CommandResult(stdout=stdout, stderr="", code=1))
    assert type(exc) is expected_class
    assert "invoke synth" in engine_errors.one_line(exc)


def test_verbose_shows_the_full_output_first(capsys):
    with pytest.raises(Exit), one_line_errors(verbose=True):
        raise engine_failure("no stack named 'dev' found")
    assert "Updating (dev)" in capsys.readouterr().err


def test_other_exceptions_are_not_swallowed():
    with pytest.raises(KeyError), one_line_errors():
        raise KeyError("x")


# -- the survivors of engine_errors.py's third run (issue 28) ----------------------------
ACCOUNT = "123456789012"


def test_a_denial_without_a_resource_names_no_resource():
    text = (
        f"error: User: arn:aws:sts::{ACCOUNT}:assumed-role/tracking-deploy-api-dev/s1 "
        "is not authorized to perform: apigateway:GET\n"
    )
    assert engine_errors.access_denied(text) == (
        f"tracking-deploy-api-dev may not apigateway:GET; {engine_errors.ROLE_RIGHTS_HINT}"
    )


def test_only_colons_are_stripped_from_the_end_of_a_message():
    assert engine_errors.engine_message("error: unknown flag X:\n") == "unknown flag X"


def test_without_a_reason_the_last_error_line_wins_over_the_last_line():
    text = "error: update failed\nResources:\n    3 unchanged\n"
    assert engine_errors.engine_message(text) == "update failed"
