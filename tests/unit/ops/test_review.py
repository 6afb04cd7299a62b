"""The review's summary, prod guard and confirmation, word for word."""

from __future__ import annotations

import pytest

from tracking_ops.deploy.review import (
    LayerPreview,
    ReviewRefused,
    Step,
    confirm,
    counts_from_summary,
    guard_prod,
    summary_lines,
)
from tracking_stacks.registry import Layer

TABLE = "aws:dynamodb/table:Table"
URN = "urn:pulumi:prod::tracking-data::aws:dynamodb/table:Table::"


def test_a_change_summary_of_plain_strings_counts_like_one_of_op_types():
    summary = {"create": 2, "update": 1, "same": 7, "delete": 3}
    assert counts_from_summary(summary) == {"create": 2, "update": 1, "replace": 0, "delete": 3}
    assert counts_from_summary(None) == {"create": 0, "update": 0, "replace": 0, "delete": 0}


def test_layers_without_a_preview_or_changes_do_not_hide_the_layers_after_them():
    previews = [
        LayerPreview(Layer.DATA, note="not previewed: its upstream is not deployed yet"),
        LayerPreview(Layer.CONFIG),
        LayerPreview(Layer.COMPUTE, counts={"update": 2}),
    ]
    assert summary_lines(previews) == [
        "data: not previewed: its upstream is not deployed yet",
        "config: no changes",
        "compute: 0 to create, 2 to update, 0 to replace, 0 to delete",
    ]


def test_the_prod_guard_names_every_risky_resource():
    steps = [Step("delete", URN + "table", TABLE), Step("replace", URN + "archive", TABLE)]
    previews = [LayerPreview(Layer.DATA, steps=steps)]
    with pytest.raises(ReviewRefused) as refused:
        guard_prod("prod", previews, allowed=False)
    assert str(refused.value) == (
        "refusing to replace or delete stateful or protected resources in prod "
        "(data: archive, data: table) without --allow-stateful-changes"
    )
    guard_prod("prod", previews, allowed=True)
    guard_prod("staging", previews, allowed=False)


@pytest.mark.parametrize("answer", ["y", "yes", "Y", "YES", " Yes "])
def test_an_explicit_yes_in_any_case_proceeds(answer):
    confirm("Apply?", False, is_terminal=lambda: True, ask=lambda _: answer)


@pytest.mark.parametrize("answer", ["", "n", "no", "yess", "ye", "sure", "y es"])
def test_anything_else_is_refused_and_says_nothing_was_applied(answer):
    with pytest.raises(ReviewRefused) as refused:
        confirm("Apply?", False, is_terminal=lambda: True, ask=lambda _: answer)
    assert str(refused.value) == "not confirmed; nothing was applied"
