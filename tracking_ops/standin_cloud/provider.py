"""The stand-in ``aws`` provider: check, diff, create, read, update, delete and the
invokes the stacks call, over the engine's gRPC protocol (the Python SDK's
``pulumi.provider.experimental`` server).

Outputs are the inputs plus what AWS would compute, from the same derivation as the
offline synthesis (``computed_outputs``), so an engine deploy and ``invoke synth``
agree. An unknown type or invoke is an error naming it. Nothing is stored here: the
engine's state is the only state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    InvokeRequest,
    InvokeResponse,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)

from tracking_ops.deploy.synth import SynthMocks, computed_outputs
from tracking_ops.standin_cloud.replacements import INVOKES, REPLACE_ON_CHANGE

DEFAULT_REGION = "us-east-1"
REGION_KEY = "region"


class UnknownType(Exception):
    def __init__(self, what: str, token: str):
        super().__init__(
            f"the stand-in aws provider does not implement the {what} {token} "
            "(tracking_ops/standin_cloud/replacements.py lists what it does)"
        )


UNKNOWN = object()  # an input the engine does not know yet (a preview)


def plain(value: PropertyValue) -> Any:
    """A property as plain data: mappings, lists, strings, numbers; unknowns as UNKNOWN."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {key: plain(item) for key, item in inner.items()}
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        return [plain(item) for item in inner]
    if isinstance(inner, float) and inner.is_integer():
        return int(inner)
    return inner


def has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(has_unknown(item) for item in value)
    return False


def wire(value: Any) -> PropertyValue:
    """Plain data back to a property value (numbers as floats, as the protocol has them)."""
    if isinstance(value, PropertyValue):
        return value
    if isinstance(value, dict):
        return PropertyValue({key: wire(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return PropertyValue([wire(item) for item in value])
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return PropertyValue(value)
    if isinstance(value, int | float):
        return PropertyValue(float(value))
    return PropertyValue(value)


def _urn_name(urn: str) -> str:
    return urn.split("::")[-1]


def _urn_type(urn: str) -> str:
    return urn.split("::")[-2].split("$")[-1]


class StandinAwsProvider(Provider):
    def __init__(self) -> None:
        self.region = DEFAULT_REGION

    @staticmethod
    def _known(token: str) -> None:
        if token not in REPLACE_ON_CHANGE:
            raise UnknownType("resource type", token)

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        return CheckResponse(inputs=request.new_inputs)

    async def diff_config(self, request: DiffRequest) -> DiffResponse:
        return DiffResponse(changes=False)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        region = request.args.get(REGION_KEY) if request.args else None
        if region is not None and isinstance(region.value, str) and region.value:
            self.region = region.value
        elif request.variables.get(f"aws:{REGION_KEY}"):
            self.region = request.variables[f"aws:{REGION_KEY}"]
        return ConfigureResponse(
            accept_secrets=True, supports_preview=True, accept_resources=True, accept_outputs=False
        )

    async def check(self, request: CheckRequest) -> CheckResponse:
        self._known(_urn_type(request.urn))
        return CheckResponse(inputs=request.new_inputs)

    def _outputs(self, urn: str, inputs: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
        """The inputs as given (secrets stay secret) and what AWS would compute."""
        typ, name = _urn_type(urn), _urn_name(urn)
        plain_inputs = {key: plain(value) for key, value in inputs.items()}
        derived = computed_outputs(typ, name, plain_inputs, self.region)
        unknown = has_unknown(plain_inputs)
        out = dict(inputs)
        for key, value in derived.items():
            if key in inputs:
                continue
            out[key] = PropertyValue(Computed()) if unknown or has_unknown(value) else wire(value)
        return out

    async def diff(self, request: DiffRequest) -> DiffResponse:
        typ = _urn_type(request.urn)
        self._known(typ)
        olds = {key: plain(value) for key, value in request.old_state.items()}
        news = {key: plain(value) for key, value in request.new_inputs.items()}
        # A stored key that the new inputs lack is a removed input, unless the
        # provider derives it (ids, ARNs, a defaulted name).
        derived = computed_outputs(typ, _urn_name(request.urn), news, self.region)
        removed = olds.keys() - news.keys() - derived.keys()
        ignored = set(request.ignore_changes or [])
        changed = sorted(
            key
            for key in (removed | news.keys()) - ignored
            if has_unknown(news.get(key)) or olds.get(key) != news.get(key)
        )
        replaces = [key for key in changed if key in REPLACE_ON_CHANGE[typ]]
        return DiffResponse(changes=bool(changed), replaces=replaces, diffs=changed)

    async def create(self, request: CreateRequest) -> CreateResponse:
        self._known(_urn_type(request.urn))
        name = _urn_name(request.urn)
        return CreateResponse(
            resource_id=f"{name}-id", properties=self._outputs(request.urn, request.properties)
        )

    async def read(self, request: ReadRequest) -> ReadResponse:
        self._known(_urn_type(request.urn))
        return ReadResponse(
            resource_id=request.resource_id,
            properties=request.properties,
            inputs=request.inputs,
        )

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        self._known(_urn_type(request.urn))
        return UpdateResponse(properties=self._outputs(request.urn, request.news))

    async def delete(self, request: DeleteRequest) -> None:
        self._known(_urn_type(request.urn))

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        if request.tok not in INVOKES:
            raise UnknownType("invoke", request.tok)
        args = {key: plain(value) for key, value in request.args.items()}
        result, _ = SynthMocks(self.region, {}).call(
            SimpleNamespace(token=request.tok, args=args, provider=None)
        )
        return InvokeResponse(return_value={key: wire(v) for key, v in result.items()})
