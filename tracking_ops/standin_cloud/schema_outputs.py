"""Every output property pulumi-aws declares for a resource type, read from the
``pulumi_aws`` SDK's resource class (its ``@pulumi.getter`` names).

pulumi-aws answers a create or update with every property of the type, ``null`` for
the ones not set. A property left out of the answer is, in the next preview, unknown
to the program (the Python SDK marks a missing output unknown during a preview): a
value built from it then changes from known to unknown, and a resource that hashes it
(the API's deployment trigger hashes its methods' optional properties) is replaced on
every deploy. The moto-backed provider therefore answers each declared property.
"""

from __future__ import annotations

import importlib
from functools import cache

PACKAGE = "pulumi_aws"
INDEX_MODULE = "index"
NAME_ATTRIBUTE = "_pulumi_name"  # what @pulumi.getter sets on the getter


@cache
def declared_outputs(token: str) -> frozenset[str]:
    """The engine's (camelCase) names of the type's output properties; empty when the
    SDK has no class for the token."""
    _, module_path, class_name = token.split(":")
    module = module_path.split("/")[0]
    resource_class = None
    # pulumi_aws names a module that is a Python keyword with a trailing _ (lambda_).
    for candidate in (module, f"{module}_"):
        name = PACKAGE if module == INDEX_MODULE else f"{PACKAGE}.{candidate}"
        try:
            resource_class = getattr(importlib.import_module(name), class_name, None)
        except ImportError:
            continue
        if resource_class is not None:
            break
    if resource_class is None:
        return frozenset()
    return frozenset(
        getattr(member.fget, NAME_ATTRIBUTE)
        for member in vars(resource_class).values()
        if isinstance(member, property) and hasattr(member.fget, NAME_ATTRIBUTE)
    )
