"""What the engine is built from: one place for every version (recorded, reviewed)."""

from __future__ import annotations

import json
from importlib import resources

# The Pulumi CLI: the main package of pkg/v3, built with sdk/v3 at the same version.
PULUMI_VERSION = "3.276.0"
CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO_REQUIREMENTS = (
    ("github.com/pulumi/pulumi/pkg/v3", f"v{PULUMI_VERSION}"),
    ("github.com/pulumi/pulumi/sdk/v3", f"v{PULUMI_VERSION}"),
)
# pkg/v3's go.mod names go 1.26.6: the Go these machines have (1.26.8) builds it.
GO_DIRECTIVE = "1.26.6"
# The release build's settings (Pulumi's own goreleaser flags); the Automation API
# parses `pulumi version`, so the version is stamped into the binary.
BUILD_TAGS = "osusergo,grpcnotrace"
VERSION_VARIABLE = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"


def aws_plugin_version() -> str:
    """The `aws` resource plugin's version the engine asks for: the one pulumi_aws names."""
    text = resources.files("pulumi_aws").joinpath("pulumi-plugin.json").read_text()
    return str(json.loads(text)["version"]).lstrip("v")
