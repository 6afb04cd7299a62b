"""The warm series' order per round: no series may always follow the same one."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from tracking_ops.measure.bench import interleaved_orders

SERIES = ["track", "raw_put_item", "status", "raw_query"]


def predecessors(orders: list[list[str]]) -> Counter[tuple[str, str]]:
    flat = [name for order in orders for name in order]
    return Counter(pairwise(flat))


def test_every_round_runs_every_series_once():
    orders = interleaved_orders(SERIES, 200)
    assert len(orders) == 200
    assert all(sorted(order) == sorted(SERIES) for order in orders)


def test_each_series_follows_each_other_about_equally_often():
    rounds = 2_000
    counts = predecessors(interleaved_orders(SERIES, rounds))
    for after in SERIES:
        for before in SERIES:
            share = counts[(before, after)] / rounds
            # Uniform: 1/4 each (a series follows itself only across rounds: 1/16).
            expected = 1 / 16 if before == after else 5 / 16
            assert abs(share - expected) < 0.04, (before, after, share)


def test_orders_are_repeatable_and_vary_between_rounds():
    assert interleaved_orders(SERIES, 50, seed=3) == interleaved_orders(SERIES, 50, seed=3)
    assert len({tuple(order) for order in interleaved_orders(SERIES, 50)}) > 10
