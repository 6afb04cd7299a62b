"""S3: no stack of this project declares a bucket, so none is backed by moto yet (a
bucket stays in the engine's state only, as before the switch)."""

from __future__ import annotations

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY

BUCKET = "aws:s3/bucket:Bucket"
STATE_ONLY[BUCKET] = "no stack declares a bucket, so no backend was written for it"
