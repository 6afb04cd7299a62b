"""Two gaps of the Python SDK's experimental provider server, closed here: the engine
may send an asset or archive by its hash alone (Read, Delete), which the SDK's
unmarshalling refuses; and one it does read loses its hash, so a Read would hand back
a different value and every refresh would see drift. The stand-in never opens an
asset, so each is kept as the mapping it came as (hash included), which marshals back
to the same wire value: the engine's state round-trips unchanged."""

from __future__ import annotations

from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime import rpc

SIGNATURE_KEY = rpc._special_sig_key
ASSET_SIGNATURES = {rpc._special_asset_sig, rpc._special_archive_sig}

_sdk_unmarshal = PropertyValue.unmarshal


def _unmarshal(value):
    if value.WhichOneof("kind") == "struct_value":
        fields = value.struct_value.fields
        signature = fields.get(SIGNATURE_KEY)
        if signature is not None and signature.string_value in ASSET_SIGNATURES:
            return PropertyValue({key: _sdk_unmarshal(item) for key, item in fields.items()})
    return _sdk_unmarshal(value)


def install() -> None:
    PropertyValue.unmarshal = staticmethod(_unmarshal)
