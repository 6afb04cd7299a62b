"""The invokes the stacks call (who am I, which region and partition), answered from
moto when the switch is on: STS's GetCallerIdentity names moto's account, and the
region and partition follow from it and the Cloud's region."""

from __future__ import annotations

from typing import Any

from tracking_ops.standin_cloud.moto_backed import Cloud

CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
REGION_INVOKES = ("aws:index/getRegion:getRegion", "aws:index/region:Region")
PARTITION = "aws:index/getPartition:getPartition"
DNS_SUFFIX = "amazonaws.com"


def _partition(cloud: Cloud) -> str:
    return cloud.client("sts").get_caller_identity()["Arn"].split(":")[1]


def answer(cloud: Cloud, token: str) -> dict[str, Any] | None:
    """The invoke's result as moto has it, or None for an invoke moto does not answer."""
    if token == CALLER_IDENTITY:
        found = cloud.client("sts").get_caller_identity()
        return {
            "accountId": found["Account"],
            "arn": found["Arn"],
            "userId": found["UserId"],
            "id": found["Account"],
        }
    if token in REGION_INVOKES:
        return {
            "name": cloud.region,
            "region": cloud.region,
            "id": cloud.region,
            "endpoint": f"ec2.{cloud.region}.{DNS_SUFFIX}",
            "description": cloud.region,
        }
    if token == PARTITION:
        partition = _partition(cloud)
        return {
            "partition": partition,
            "dnsSuffix": DNS_SUFFIX,
            "id": partition,
            "reverseDnsPrefix": ".".join(reversed(DNS_SUFFIX.split("."))),
        }
    return None
