"""The stand-in ``aws`` provider: check, diff, create, read, update, delete and the
invokes the stacks call, over the engine's gRPC protocol (the Python SDK's
``pulumi.provider.experimental`` server).

Outputs are the inputs plus what AWS would compute, from the same derivation as the
offline synthesis (``computed_outputs``), so an engine deploy and ``invoke synth``
agree. An unknown type or invoke is an error naming it. Nothing is stored here: the
engine's state is the only state, unless ``TRACKING_STANDIN_ENDPOINT`` names a moto
server: then the types ``moto_backed`` lists are created, read (so ``refresh`` sees
drift), updated and deleted in moto, and their outputs are moto's answers, signed with
the caller's key pair or, with ``aws:assumeRoles`` set, as the role (assume_roles.py).
"""

from __future__ import annotations

import asyncio
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
from pulumi.runtime import rpc

from tracking_ops.deploy.synth import SynthMocks, computed_outputs
from tracking_ops.standin_cloud import assume_roles, moto_backed, wire_compat
from tracking_ops.standin_cloud.moto_backed import identity
from tracking_ops.standin_cloud.replacements import (
    INVOKES,
    RECOMPUTED_ON_UPDATE,
    REPLACE_ON_CHANGE,
)
from tracking_ops.standin_cloud.schema_outputs import declared_outputs

DEFAULT_REGION = "us-east-1"
REGION_KEY = "region"


class UnknownType(Exception):
    def __init__(self, what: str, token: str):
        super().__init__(
            f"the stand-in aws provider does not implement the {what} {token} "
            "(tracking_ops/standin_cloud/replacements.py lists what it does)"
        )


UNKNOWN = object()  # an input the engine does not know yet (a preview)
# An output not known before the apply, as the wire carries it (the SDK's marshal of
# Computed() raises: the engine's unknown sentinel string is what it stands for).
UNKNOWN_OUTPUT = PropertyValue(rpc.UNKNOWN)


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


def as_stored(properties: Mapping[str, PropertyValue]) -> dict[str, Any]:
    """A stored state as a backend reads it: the outputs answered null (every declared
    output moto did not set) left out, as if never answered."""
    plain_properties = {key: plain(value) for key, value in properties.items()}
    return {key: value for key, value in plain_properties.items() if value is not None}


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
        self.cloud: moto_backed.Cloud | None = None

    def _backend(self, token: str) -> moto_backed.Backend | None:
        """The moto backend of a type when a moto server is switched on, else None."""
        if self.cloud is None:
            return None
        return moto_backed.backends().get(token)

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
        cloud = moto_backed.cloud_from_environment(self.region)
        if cloud is not None:  # aws:assumeRoles: every call as the (last) role
            args = {key: plain(value) for key, value in (request.args or {}).items()}
            roles = assume_roles.configured(args, request.variables or {})
            cloud = await asyncio.to_thread(assume_roles.assume, cloud, roles)
        self.cloud = cloud
        return ConfigureResponse(
            accept_secrets=True, supports_preview=True, accept_resources=True, accept_outputs=False
        )

    async def check(self, request: CheckRequest) -> CheckResponse:
        self._known(_urn_type(request.urn))
        return CheckResponse(inputs=request.new_inputs)

    def _outputs(
        self,
        urn: str,
        inputs: dict[str, PropertyValue],
        answered: dict[str, Any] | None = None,
        moto_answers: bool = False,
    ) -> dict[str, PropertyValue]:
        """The inputs as given (secrets stay secret) and what AWS would compute: moto's
        answer where a moto backend made the resource, else the offline derivation."""
        typ, name = _urn_type(urn), _urn_name(urn)
        plain_inputs = {key: plain(value) for key, value in inputs.items()}
        derived = computed_outputs(typ, name, plain_inputs, self.region)
        # A preview of what moto will answer: unknown, as the engine's update plan then
        # accepts moto's real ids and ARNs (the offline ones would violate it).
        unknown = moto_answers or has_unknown(plain_inputs)
        out = dict(inputs)
        for key, value in derived.items():
            if key in inputs:
                continue
            out[key] = UNKNOWN_OUTPUT if unknown or has_unknown(value) else wire(value)
        for key, value in (answered or {}).items():
            if key not in inputs:
                out[key] = wire(value)
        if answered is not None:  # moto's answer: every declared output, null if unset
            for key in declared_outputs(typ) - out.keys():
                out[key] = PropertyValue(None)
        return out

    async def diff(self, request: DiffRequest) -> DiffResponse:
        typ = _urn_type(request.urn)
        self._known(typ)
        olds = {key: plain(value) for key, value in request.old_state.items()}
        news = {key: plain(value) for key, value in request.new_inputs.items()}
        removed = self._removed_inputs(typ, _urn_name(request.urn), olds, news)
        ignored = set(request.ignore_changes or [])
        changed = sorted(
            key
            for key in (removed | news.keys()) - ignored
            if has_unknown(news.get(key)) or olds.get(key) != news.get(key)
        )
        replaces = [key for key in changed if key in REPLACE_ON_CHANGE[typ]]
        return DiffResponse(changes=bool(changed), replaces=replaces, diffs=changed)

    def _removed_inputs(
        self, typ: str, name: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> set[str]:
        """The inputs the program no longer sets. With the old inputs the engine sent,
        exactly those it lacks now: a stored output moto answered (a role's ``path``)
        is no input. Without them, a stored key the new inputs lack, unless the offline
        derivation computes it (ids, ARNs, a defaulted name)."""
        sent = wire_compat.old_inputs()
        if sent is not None:
            return sent.keys() - news.keys()
        derived = computed_outputs(typ, name, news, self.region)
        return olds.keys() - news.keys() - derived.keys()

    async def create(self, request: CreateRequest) -> CreateResponse:
        typ = _urn_type(request.urn)
        self._known(typ)
        name = _urn_name(request.urn)
        backend = self._backend(typ)
        if backend is None or request.preview:
            # moto names the id at the apply: a preview's id is unknown (empty, as
            # pulumi-aws answers), or the update plan would hold a made-up one that the
            # apply then violates (a role policy's ``role`` wired from the role's id).
            return CreateResponse(
                resource_id="" if backend is not None else f"{name}-id",
                properties=self._outputs(
                    request.urn, request.properties, moto_answers=backend is not None
                ),
            )
        inputs = {key: plain(value) for key, value in request.properties.items()}
        resource_id, answered = await asyncio.to_thread(backend.create, self.cloud, name, inputs)
        return CreateResponse(
            resource_id=resource_id,
            properties=self._outputs(request.urn, request.properties, answered),
        )

    async def read(self, request: ReadRequest) -> ReadResponse:
        typ = _urn_type(request.urn)
        self._known(typ)
        backend = self._backend(typ)
        if backend is None:
            return ReadResponse(
                resource_id=request.resource_id,
                properties=request.properties,
                inputs=request.inputs,
            )
        state = as_stored(request.properties)
        current = await asyncio.to_thread(backend.read, self.cloud, request.resource_id, state)
        if current is None:  # gone: the engine drops it from its state
            return ReadResponse(resource_id="", properties={}, inputs={})
        # What moto holds now replaces what the state says (secrets stay as stored when
        # unchanged), in the outputs and in the inputs, so refresh shows the drift.
        properties = dict(request.properties)
        inputs = dict(request.inputs or {})
        for key, value in current.items():
            if state.get(key) == value:
                continue
            # A secret read back stays a secret (an SSM SecureString's value).
            held = request.properties.get(key)
            fresh = wire(value).with_secret(bool(held and held.contains_secret()))
            properties[key] = fresh
            if key in inputs:
                inputs[key] = fresh.with_secret(fresh.is_secret or inputs[key].contains_secret())
        return ReadResponse(resource_id=request.resource_id, properties=properties, inputs=inputs)

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        typ = _urn_type(request.urn)
        self._known(typ)
        backend = self._backend(typ)
        if backend is None:
            return UpdateResponse(properties=self._outputs(request.urn, request.news))
        if request.preview:  # what moto answered before stays (the plan expects it),
            # but what the update computes anew is unknown until moto answers it
            kept = {k: plain(v) for k, v in request.olds.items() if k not in request.news}
            kept |= {
                key: UNKNOWN_OUTPUT for key in RECOMPUTED_ON_UPDATE.get(typ, ()) if key in kept
            }
            return UpdateResponse(properties=self._outputs(request.urn, request.news, kept))
        olds = as_stored(request.olds)
        news = {key: plain(value) for key, value in request.news.items()}
        answered = await asyncio.to_thread(
            backend.update, self.cloud, request.resource_id, olds, news
        )
        return UpdateResponse(properties=self._outputs(request.urn, request.news, answered))

    async def delete(self, request: DeleteRequest) -> None:
        typ = _urn_type(request.urn)
        self._known(typ)
        backend = self._backend(typ)
        if backend is not None:
            state = as_stored(request.properties)
            await asyncio.to_thread(backend.delete, self.cloud, request.resource_id, state)

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        if request.tok not in INVOKES:
            raise UnknownType("invoke", request.tok)
        args = {key: plain(value) for key, value in request.args.items()}
        result = None
        if self.cloud is not None:  # the switch on: moto's account answers
            result = await asyncio.to_thread(identity.answer, self.cloud, request.tok)
        if result is None:
            result, _ = SynthMocks(self.region, {}).call(
                SimpleNamespace(token=request.tok, args=args, provider=None)
            )
        return InvokeResponse(return_value={key: wire(v) for key, v in result.items()})
