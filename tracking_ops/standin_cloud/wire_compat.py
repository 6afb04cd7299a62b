"""Three gaps of the Python SDK's experimental provider server, closed here: the engine
may send an asset or archive by its hash alone (Read, Delete), which the SDK's
unmarshalling refuses; and one it does read loses its hash, so a Read would hand back
a different value and every refresh would see drift. The stand-in never opens an
asset, so each is kept as the mapping it came as (hash included), which marshals back
to the same wire value: the engine's state round-trips unchanged. And its Diff drops
the old inputs the engine sends (``DiffRequest.old_inputs``): without them a stored
output moto answered (a role's ``path``, a parameter's ``version``) cannot be told from
an input the program removed, and would be diffed as removed (a replacement, for a
role's path). ``old_inputs()`` hands them to the provider's diff."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from pulumi.provider.experimental import server
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime import rpc

SIGNATURE_KEY = rpc._special_sig_key
ASSET_SIGNATURES = {rpc._special_asset_sig, rpc._special_archive_sig}

_sdk_unmarshal = PropertyValue.unmarshal
_sdk_diff = server.ProviderServicer.Diff
# The old inputs of the Diff call being answered (None: the engine sent none).
_OLD_INPUTS: contextvars.ContextVar[dict[str, PropertyValue] | None] = contextvars.ContextVar(
    "standin_old_inputs", default=None
)


def old_inputs() -> dict[str, PropertyValue] | None:
    """The old inputs the engine sent with the Diff being answered, or None."""
    return _OLD_INPUTS.get()


@contextlib.contextmanager
def diffing_with(inputs: dict[str, PropertyValue] | None) -> Iterator[None]:
    """Within: ``old_inputs()`` is ``inputs`` (the Diff being answered sent them)."""
    token = _OLD_INPUTS.set(inputs)
    try:
        yield
    finally:
        _OLD_INPUTS.reset(token)


async def _diff(self, request, context):
    sent = request.HasField("old_inputs")
    with diffing_with(PropertyValue.unmarshal_map(request.old_inputs) if sent else None):
        return await _sdk_diff(self, request, context)


def _unmarshal(value):
    if value.WhichOneof("kind") == "struct_value":
        fields = value.struct_value.fields
        signature = fields.get(SIGNATURE_KEY)
        if signature is not None and signature.string_value in ASSET_SIGNATURES:
            return PropertyValue({key: _sdk_unmarshal(item) for key, item in fields.items()})
    return _sdk_unmarshal(value)


def install() -> None:
    PropertyValue.unmarshal = staticmethod(_unmarshal)
    server.ProviderServicer.Diff = _diff
