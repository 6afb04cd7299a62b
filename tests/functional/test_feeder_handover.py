"""A hot reload replaces the stream feeder: the new one resumes where the old one was."""

from __future__ import annotations

import pickle

import pytest

from tests.helpers import update
from tracking_ops.local.stream_feeder import StreamFeeder

pytestmark = pytest.mark.functional


def test_a_feeder_resumes_from_the_handed_over_position(api, aws, project_stream):
    # Given a feeder that delivered the stream so far
    for i in range(3):
        assert api.track(update(tracking_id=f"H{i}")).status == 201
    old = StreamFeeder(aws)
    assert old.poll_once() > 0
    old.drain()
    state = pickle.loads(pickle.dumps(old.handover()))  # it crosses a pipe

    # When a new feeder takes over with that position, it sees only what is new
    resumed = StreamFeeder(aws)
    resumed.resume(state)
    assert resumed.poll_once() == 0
    assert api.track(update(tracking_id="H-new")).status == 201
    # An update is its event and its parcel's state item (milestones), written in one
    # transaction (moto streams that transaction's update of a new item twice).
    new = resumed.poll_once()
    assert 2 <= new <= 3

    # ... while one started without it would deliver everything again
    assert StreamFeeder(aws).poll_once() >= 3 * 2 + new
