"""A bounded load and consistency run through the real socket of `invoke local`."""

from __future__ import annotations

import json

from tracking_ops.measure.load import run_load
from tracking_stacks.definitions import BUILD_DIR


def test_concurrent_updates_with_colliding_times_and_racing_retries_are_each_stored_once(local_api):
    result = run_load(local_api.url, clients=8, per_client=30, parcels=3)

    summary = result.summary()
    assert summary["consistency_problems"] == []
    assert set(summary["statuses"]) <= {201, 409}
    # Every fifth update was sent by two clients at once: fewer keys than requests.
    assert summary["accepted_updates"] == 8 * 30 - 4 * 6
    BUILD_DIR.mkdir(exist_ok=True)
    (BUILD_DIR / "load-e2e.json").write_text(json.dumps(summary, indent=2))
