"""Offline synthesis: every stack program under Pulumi's official mocks.

Producers run first; each consumer's StackReferences return the producer's
synthesized outputs, so a consumer can be checked before any producer was
ever deployed (which ``pulumi preview`` cannot do). The result is DESIGN.md
section 6's JSON; its assembly and the comparison of two envs are synth_output.py.
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import runpy
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tracking_ops.deploy.planner import deploy_order
from tracking_ops.deploy.synth_output import LayerSynth
from tracking_stacks import environments
from tracking_stacks.definitions import STACKS_DIR
from tracking_stacks.naming import DEFAULT_ORG, ORG_CONFIG_KEY, stack_reference_name
from tracking_stacks.registry import REGISTRY, Layer, PlatformLayer, spec_of

MOCK_ACCOUNT_ID = "0" * 12  # stands for the caller identity's account; never a real one
STACK_REFERENCE = "pulumi:pulumi:StackReference"
Transformation = Callable[
    [pulumi.ResourceTransformationArgs], pulumi.ResourceTransformationResult | None
]


class SynthError(Exception):
    """A program failed, or a consumer requires an output its producer does not export."""


def _arn(service: str, region: str, resource: str, account: bool = True) -> str:
    return f"arn:aws:{service}:{region}:{MOCK_ACCOUNT_ID if account else ''}:{resource}"


def _lambda_invoke_arn(region: str, function_arn: str) -> str:
    """What API Gateway's integration URI for a function (or version, or alias) is."""
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def computed_outputs(typ: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """What AWS would compute for a resource: ids, ARNs, URLs, with the mock account."""
    physical = inputs.get("name") or name
    out: dict[str, Any] = {"name": physical} if "name" not in inputs else {}
    match typ:
        case "aws:dynamodb/table:Table":
            arn = _arn("dynamodb", region, f"table/{physical}")
            out |= {"arn": arn, "streamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}
        case "aws:sqs/queue:Queue":
            out |= {
                "arn": _arn("sqs", region, physical),
                "url": f"https://sqs.{region}.amazonaws.com/{MOCK_ACCOUNT_ID}/{physical}",
            }
        case "aws:kms/key:Key":
            out |= {"arn": _arn("kms", region, f"key/{name}-id"), "keyId": f"{name}-id"}
        case "aws:ssm/parameter:Parameter":
            out |= {"arn": _arn("ssm", region, f"parameter{physical}")}
        case "aws:lambda/function:Function":
            arn = _arn("lambda", region, f"function:{physical}")
            # publish: AWS numbers versions from 1; unpublished, only $LATEST exists.
            version = "1" if inputs.get("publish") else "$LATEST"
            out |= {
                "arn": arn,
                "invokeArn": _lambda_invoke_arn(region, arn),
                "version": version,
                "qualifiedArn": f"{arn}:{version}",
                "qualifiedInvokeArn": _lambda_invoke_arn(region, f"{arn}:{version}"),
            }
        case "aws:lambda/alias:Alias":
            arn = _arn("lambda", region, f"function:{inputs.get('functionName')}:{physical}")
            out |= {"arn": arn, "invokeArn": _lambda_invoke_arn(region, arn)}
        case "aws:cloudwatch/logGroup:LogGroup":
            out |= {"arn": _arn("logs", region, f"log-group:{physical}")}
        case "aws:iam/role:Role":
            out |= {"arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/{physical}"}
        case "aws:cloudwatch/eventBus:EventBus":
            out |= {"arn": _arn("events", region, f"event-bus/{physical}")}
        case "aws:apigateway/restApi:RestApi":
            out |= {
                "rootResourceId": f"{name}-root",
                "executionArn": _arn("execute-api", region, f"{name}-id"),
                "arn": f"arn:aws:apigateway:{region}::/restapis/{name}-id",
            }
        case "aws:apigateway/stage:Stage":
            out |= {
                "invokeUrl": f"https://{inputs.get('restApi')}.execute-api.{region}"
                f".amazonaws.com/{inputs.get('stageName')}",
                "arn": f"arn:aws:apigateway:{region}::/restapis/{inputs.get('restApi')}"
                f"/stages/{inputs.get('stageName')}",
            }
        case "aws:sns/topic:Topic":
            out |= {"arn": _arn("sns", region, physical)}
        case "aws:iam/policy:Policy":
            out |= {"arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/{physical}"}
        case "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or name
            out |= {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        case _:
            out |= {"arn": _arn(typ.split(":")[1].split("/")[0], region, physical)}
    return out


class SynthMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, references: dict[str, dict[str, Any]]):
        self.region = region
        self.references = references
        self.resources: list[dict[str, Any]] = []
        self.referenced: list[str] = []
        self.protected: set[str] = set()
        self.retained: set[str] = set()  # retain_on_delete
        self.delete_first: set[str] = set()  # delete_before_replace
        # Explicit dependencies (depends_on) by resource name: what AWS ordering
        # rules are checked against offline (the mocks see no options).
        self.dependencies: dict[str, list[str]] = {}
        # Properties whose change replaces the resource (replace_on_changes), by name.
        self.replace_on_changes: dict[str, list[str]] = {}

    def record_options(self, args: pulumi.ResourceTransformationArgs) -> None:
        """Resource options never reach the mocks; a stack transformation sees them."""
        if args.opts and args.opts.protect:
            self.protected.add(args.name)
        if args.opts and args.opts.retain_on_delete:
            self.retained.add(args.name)
        if args.opts and args.opts.delete_before_replace:
            self.delete_first.add(args.name)
        if args.opts and args.opts.replace_on_changes:
            self.replace_on_changes[args.name] = sorted(args.opts.replace_on_changes)
        depends_on = args.opts.depends_on if args.opts else None
        if isinstance(depends_on, pulumi.Resource):
            depends_on = [depends_on]
        if isinstance(depends_on, list | tuple):
            self.dependencies[args.name] = sorted(
                {d._name for d in depends_on if isinstance(d, pulumi.Resource)}
            )

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == STACK_REFERENCE:
            stack_name = args.inputs["name"]
            self.referenced.append(stack_name)
            return stack_name, {
                "name": stack_name,
                "outputs": self.references.get(stack_name, {}),
                "secretOutputNames": [],
            }
        state = dict(args.inputs)
        if args.custom:
            state |= computed_outputs(args.typ, args.name, args.inputs, self.region)
        self.resources.append(
            {
                "type": args.typ,
                "name": args.name,
                "inputs": args.inputs,
                "state": state,
                "protect": args.name in self.protected,
                "retain_on_delete": args.name in self.retained,
                "delete_before_replace": args.name in self.delete_first,
                "dependencies": self.dependencies.get(args.name, []),
                "replace_on_changes": self.replace_on_changes.get(args.name, []),
            }
        )
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": MOCK_ACCOUNT_ID,
                "arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:user/synth",
                "userId": "synth",
                "id": MOCK_ACCOUNT_ID,
            }, []
        if args.token in ("aws:index/getRegion:getRegion", "aws:index/region:Region"):
            return {
                "name": self.region,
                "region": self.region,
                "id": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
                "description": "synth",
            }, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise SynthError(f"no mock for the invoke {args.token}")


def read_stack_config(layer: Layer, env: str, base: str | None = None) -> dict[str, Any]:
    """``stacks/<layer>/Pulumi.<env>.yaml`` with every key fully qualified (project:key);
    a per-branch env's comes from its base env (tracking_stacks/environments.py)."""
    try:
        return environments.stack_config(layer, env, base)
    except ValueError as exc:
        raise SynthError(str(exc)) from None


def _config_strings(config: dict[str, Any]) -> dict[str, str]:
    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value)  # objects and lists as JSON; true/false and numbers likewise

    return {key: text(value) for key, value in config.items()}


COMPONENTS = "components"  # the module name each stack program imports its resources from


def components_module_name(layer: Layer) -> str:
    """The name the synthesis gives a program's components module: its path as a
    dotted name (``stacks.api.components``), the name mutation testing (mutmut)
    derives from the file, so a mutant planted in it is active here."""
    path = (STACKS_DIR / layer.value / f"{COMPONENTS}.py").relative_to(STACKS_DIR.parent)
    return ".".join(path.with_suffix("").parts)


def load_components(layer: Layer) -> ModuleType:
    """Execute the layer's ``components.py`` under ``components_module_name`` and make it
    the ``components`` module the program imports. The file and what it declares are the
    same as under ``pulumi up`` (where the program's folder is on ``sys.path``); only
    the module's name differs. Each program gets its own, freshly executed."""
    name = components_module_name(layer)
    spec = importlib.util.spec_from_file_location(
        name, STACKS_DIR / layer.value / f"{COMPONENTS}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    sys.modules[COMPONENTS] = module
    spec.loader.exec_module(module)
    return module


def _run_program(
    layer: Layer,
    env: str,
    org: str,
    mocks: SynthMocks,
    transformations: Sequence[Transformation],
    config: dict[str, Any],
) -> dict[str, Any]:
    spec = spec_of(layer)
    region = str(config.get("aws:region", mocks.region))
    mocks.region = region
    pulumi.runtime.set_mocks(
        mocks, project=spec.project, stack=env, preview=False, organization=org
    )
    pulumi.runtime.set_all_config(_config_strings(config), [])
    for transformation in transformations:
        pulumi.runtime.register_stack_transformation(transformation)
    pulumi.runtime.register_stack_transformation(mocks.record_options)
    program_dir = STACKS_DIR / layer.value
    sys.path.insert(0, str(program_dir))

    def program() -> None:
        load_components(layer)  # what the program's `from components import ...` gets
        runpy.run_path(str(program_dir / "__main__.py"), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(program))
        root = pulumi.runtime.get_root_resource()
        outputs = _sync_await(pulumi.Output.from_input(dict(root.outputs)).future())
    finally:
        sys.path.remove(str(program_dir))
        sys.modules.pop(COMPONENTS, None)
        sys.modules.pop(components_module_name(layer), None)
    return outputs or {}


def synth_layer(
    layer: Layer,
    env: str,
    upstream: dict[Layer, dict[str, Any]],
    org: str | None = None,
    region: str = "us-east-1",
    transformations: Sequence[Transformation] = (),
    base: str | None = None,
) -> LayerSynth:
    """Run one program under mocks, its StackReferences answering with ``upstream``'s outputs.

    ``org``: the organization of the StackReference names, which the program is given as
    its ``org`` config; by default the one its stack config names, as `pulumi up` reads it
    (else Pulumi's self-managed backend's). ``transformations`` (stack transformations)
    let a test change what a program declares."""
    spec = spec_of(layer)
    for producer, required in spec.reads.items():
        if producer not in upstream:
            raise SynthError(
                f"{spec.project} reads {REGISTRY[producer].project}, "
                "which has not been synthesized first"
            )
        missing = [name.value for name in required if name.value not in upstream[producer]]
        if missing:
            raise SynthError(
                f"{spec.project} requires {', '.join(missing)} from "
                f"{REGISTRY[producer].project}, which does not export it"
            )
    # `base` only for a per-branch env (keeps read_stack_config(layer, env) the common call).
    config = read_stack_config(layer, env, base) if base else read_stack_config(layer, env)
    org_key = f"{spec.project}:{ORG_CONFIG_KEY}"
    org = org or str(config.get(org_key) or DEFAULT_ORG)
    config = {**config, org_key: org}
    references = {
        stack_reference_name(org, producer, env): upstream[producer] for producer in spec.reads
    }
    mocks = SynthMocks(region, references)
    try:
        outputs = contextvars.Context().run(
            _run_program, layer, env, org, mocks, tuple(transformations), config
        )
    except SynthError:
        raise
    except Exception as exc:
        raise SynthError(f"{spec.project} ({env}) failed under mocks: {exc}") from exc
    return LayerSynth(layer, env, org, mocks.resources, outputs, mocks.referenced)


def synth_all(
    env: str,
    org: str | None = None,
    progress=lambda layer, result: None,
    base: str | None = None,
) -> list[LayerSynth]:
    """``base``: the env a per-branch env (``pr-123``) takes its config from (default dev)."""
    results: dict[Layer, LayerSynth] = {}
    for layer in deploy_order():
        upstream = {producer: results[producer].outputs for producer in REGISTRY[layer].upstream}
        results[layer] = synth_layer(layer, env, upstream, org, base=base)
        progress(layer, results[layer])
    return list(results.values())


def synth_platform(env: str, org: str | None = None, base: str | None = None) -> list[LayerSynth]:
    """The platform projects (the bootstrap) under mocks: they read no layer."""
    return [synth_layer(layer, env, {}, org, base=base) for layer in PlatformLayer]
