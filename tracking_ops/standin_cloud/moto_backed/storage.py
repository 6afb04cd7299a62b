"""S3: only the platform's bootstrap declares buckets (the state bucket), and the
rehearsal does not deploy the bootstrap (its bucket must exist before any state is
written), so none is backed by moto yet: a bucket stays in the engine's state only."""

from __future__ import annotations

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY

BUCKET = "aws:s3/bucket:Bucket"
STATE_ONLY[BUCKET] = (
    "only the bootstrap declares buckets, and the rehearsal does not deploy it "
    "(its state bucket must exist before any state): no backend was written for it"
)
