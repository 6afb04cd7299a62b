"""``pulumi-resource-aws`` of the sandbox: the stand-in provider's gRPC server."""

import sys

from pulumi.provider.experimental.server import main

from tracking_ops.engine.pins import aws_plugin_version
from tracking_ops.standin_cloud import wire_compat
from tracking_ops.standin_cloud.provider import StandinAwsProvider

if __name__ == "__main__":
    wire_compat.install()
    main(sys.argv[1:], aws_plugin_version(), StandinAwsProvider())
