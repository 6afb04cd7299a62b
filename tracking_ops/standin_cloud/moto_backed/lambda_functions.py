"""Lambda functions and aliases in moto: the zip the engine passes (a file archive's
path), runtime, architecture, handler, memory, timeout, environment, reserved
concurrency, tracing, layers, tags; ``publish`` publishes a version (``version``,
``qualifiedArn``); an alias's version and routing weights (what a canary shifts).
moto runs no code without Docker: create, read, update and delete are what it backs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.compute_shapes import (
    TAGS,
    changed,
    is_not_found,
    present,
    reported,
)

LAMBDA = "lambda"
FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
LATEST = "$LATEST"
UNRESERVED = -1  # pulumi-aws's reservedConcurrentExecutions for "no reservation"
# A file archive on the wire: {<signature>: <archive>, "path": ..., "hash": ...};
# the offline synthesis writes it as {"archive": path}.
ARCHIVE_PATH_KEYS = ("path", "archive")

CODE = "code"
LAYERS = "layers"
RESERVED = "reservedConcurrentExecutions"
TRACING = "tracingConfig"
LOGGING = "loggingConfig"
ARCHITECTURES = "architectures"
ENVIRONMENT = "environment"
ROUTING = "routingConfig"
WEIGHTS = "additionalVersionWeights"

STATE_ONLY.update(
    {
        f"{FUNCTION}#{LOGGING}": "moto keeps no logging config (log format, log group): "
        "CreateFunction accepts it and GetFunctionConfiguration never returns it",
        f"{FUNCTION}#{TRACING} (update)": "moto's UpdateFunctionConfiguration ignores "
        "TracingConfig: the mode set at create is the one moto holds",
        f"{FUNCTION}#{ARCHITECTURES} (update)": "moto's UpdateFunctionCode ignores "
        "Architectures: the architecture set at create is the one moto holds",
        f"{FUNCTION}#{LAYERS} (other accounts)": "a layer of another account (AWS's "
        "Parameters and Secrets extension) does not exist in moto, which refuses unknown "
        "layer versions: such layers stay in the state; the account's own layers reach moto",
    }
)

# Configuration properties: engine name -> (boto3 name, how to convert the input).
CONFIG: dict[str, tuple[str, Any]] = {
    "runtime": ("Runtime", str),
    "handler": ("Handler", str),
    "role": ("Role", str),
    "description": ("Description", str),
    "memorySize": ("MemorySize", int),
    "timeout": ("Timeout", int),
    ENVIRONMENT: ("Environment", lambda env: {"Variables": env.get("variables") or {}}),
}


def _lambda(cloud: Cloud) -> Any:
    return cloud.client(LAMBDA)


def zip_bytes(code: Any) -> bytes:
    """The deployment package: the archive's zip file, or its directory zipped."""
    path = next(
        (code[key] for key in ARCHIVE_PATH_KEYS if isinstance(code, dict) and key in code), None
    )
    if not isinstance(path, str):
        raise ValueError(f"the function's code is not a file archive with a path: {code!r}")
    source = Path(path)
    if source.is_file():
        return source.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(source.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(source).as_posix())
    return buffer.getvalue()


def _own_layers(cloud: Cloud, layers: list[str] | None) -> list[str]:
    """The layers moto can attach: those of moto's own account (see STATE_ONLY)."""
    account = cloud.client("sts").get_caller_identity()["Account"]
    return [arn for arn in layers or [] if arn.split(":")[4] == account]


def _config_arguments(inputs: Properties) -> Properties:
    return present(
        {
            boto: convert(inputs[key]) if inputs.get(key) is not None else None
            for key, (boto, convert) in CONFIG.items()
        }
    )


def _invoke_arn(region: str, arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


def _newest_version(cloud: Cloud, name: str) -> str:
    versions = _lambda(cloud).list_versions_by_function(FunctionName=name)["Versions"]
    numbered = [int(v["Version"]) for v in versions if v["Version"] != LATEST]
    return str(max(numbered)) if numbered else LATEST


def _set_concurrency(cloud: Cloud, name: str, reserved: int | None) -> None:
    if reserved is None or reserved == UNRESERVED:
        _lambda(cloud).delete_function_concurrency(FunctionName=name)
    else:
        _lambda(cloud).put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=reserved
        )


@backs(FUNCTION)
class FunctionBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        function_name = inputs.get("name") or name
        arguments = {
            "FunctionName": function_name,
            "Code": {"ZipFile": zip_bytes(inputs[CODE])},
            "Publish": bool(inputs.get("publish")),
            **_config_arguments(inputs),
        }
        if inputs.get(ARCHITECTURES):
            arguments["Architectures"] = inputs[ARCHITECTURES]
        if inputs.get(TRACING):
            arguments["TracingConfig"] = {"Mode": inputs[TRACING]["mode"]}
        if _own_layers(cloud, inputs.get(LAYERS)):
            arguments["Layers"] = _own_layers(cloud, inputs.get(LAYERS))
        if inputs.get(TAGS):
            arguments["Tags"] = inputs[TAGS]
        _lambda(cloud).create_function(**arguments)
        if inputs.get(RESERVED, UNRESERVED) != UNRESERVED:
            _set_concurrency(cloud, function_name, inputs[RESERVED])
        return function_name, self._answer(cloud, function_name, inputs)

    def _answer(self, cloud: Cloud, name: str, inputs: Properties) -> Properties:
        config = _lambda(cloud).get_function_configuration(FunctionName=name)
        arn = config["FunctionArn"]
        version = _newest_version(cloud, name) if inputs.get("publish") else LATEST
        return {
            "name": name,
            "arn": arn,
            "invokeArn": _invoke_arn(cloud.region, arn),
            "version": version,
            "qualifiedArn": f"{arn}:{version}",
            "qualifiedInvokeArn": _invoke_arn(cloud.region, f"{arn}:{version}"),
            "codeSha256": config["CodeSha256"],
            "sourceCodeSize": config["CodeSize"],
            "lastModified": config["LastModified"],
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = _lambda(cloud).get_function(FunctionName=resource_id)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        config = found["Configuration"]
        current: Properties = {
            key: config.get(boto) for key, (boto, _) in CONFIG.items() if key != ENVIRONMENT
        }
        current[ENVIRONMENT] = {"variables": config.get("Environment", {}).get("Variables", {})}
        current[ARCHITECTURES] = config.get("Architectures")
        current[TRACING] = {"mode": config.get("TracingConfig", {}).get("Mode")}
        # Layers of other accounts never reach moto: they are read as the state has them.
        own = _own_layers(cloud, state.get(LAYERS))
        current[LAYERS] = [arn for arn in state.get(LAYERS) or [] if arn not in own] + [
            layer["Arn"] for layer in config.get("Layers") or []
        ]
        current[RESERVED] = found.get("Concurrency", {}).get(
            "ReservedConcurrentExecutions", UNRESERVED
        )
        current[TAGS] = found.get("Tags") or {}
        current["codeSha256"] = config["CodeSha256"]
        if state.get("publish"):
            current["version"] = _newest_version(cloud, resource_id)
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        client = _lambda(cloud)
        config = {
            boto: value
            for boto, value in _config_arguments(news).items()
            if any(CONFIG[key][0] == boto and changed(olds, news, key) for key in CONFIG)
        }
        if changed(olds, news, LAYERS):
            config["Layers"] = _own_layers(cloud, news.get(LAYERS))
        if config:
            client.update_function_configuration(FunctionName=resource_id, **config)
        if changed(olds, news, CODE) or changed(olds, news, ARCHITECTURES):
            client.update_function_code(
                FunctionName=resource_id,
                ZipFile=zip_bytes(news[CODE]),
                **({"Architectures": news[ARCHITECTURES]} if news.get(ARCHITECTURES) else {}),
            )
        if changed(olds, news, RESERVED):
            _set_concurrency(cloud, resource_id, news.get(RESERVED))
        if changed(olds, news, TAGS):
            arn = client.get_function_configuration(FunctionName=resource_id)["FunctionArn"]
            gone = sorted((olds.get(TAGS) or {}).keys() - (news.get(TAGS) or {}).keys())
            if gone:
                client.untag_resource(Resource=arn, TagKeys=gone)
            if news.get(TAGS):
                client.tag_resource(Resource=arn, Tags=news[TAGS])
        if news.get("publish") and (config or changed(olds, news, CODE)):
            client.publish_version(FunctionName=resource_id)
        return self._answer(cloud, resource_id, news)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        _lambda(cloud).delete_function(FunctionName=resource_id)


def _weights(routing: Any) -> dict[str, float]:
    return {key: float(value) for key, value in ((routing or {}).get(WEIGHTS) or {}).items()}


@backs(ALIAS)
class AliasBackend:
    """An alias; its id is its ARN (as pulumi-aws's)."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        created = _lambda(cloud).create_alias(
            FunctionName=inputs["functionName"],
            Name=inputs.get("name") or name,
            FunctionVersion=inputs["functionVersion"],
            Description=inputs.get("description", ""),
            RoutingConfig={"AdditionalVersionWeights": _weights(inputs.get(ROUTING))},
        )
        return created["AliasArn"], self._answer(cloud, created["AliasArn"])

    @staticmethod
    def _answer(cloud: Cloud, arn: str) -> Properties:
        return {"arn": arn, "invokeArn": _invoke_arn(cloud.region, arn), "name": arn.split(":")[-1]}

    @staticmethod
    def _split(resource_id: str) -> tuple[str, str]:
        function_arn, _, alias = resource_id.rpartition(":")
        return function_arn, alias

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        function_arn, alias = self._split(resource_id)
        try:
            found = _lambda(cloud).get_alias(FunctionName=function_arn, Name=alias)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if weights:
            routing = {WEIGHTS: {key: float(value) for key, value in weights.items()}}
        else:  # none in moto: the state's "none" (absent, or an empty map) as it is
            routing = None if _weights(state.get(ROUTING)) else state.get(ROUTING)
        current: Properties = {
            "name": found["Name"],
            "functionVersion": found["FunctionVersion"],
            "description": found.get("Description"),
            ROUTING: routing,
        }
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        function_arn, alias = self._split(resource_id)
        # An empty map clears a canary's weights (as pulumi-aws sends it).
        _lambda(cloud).update_alias(
            FunctionName=function_arn,
            Name=alias,
            FunctionVersion=news["functionVersion"],
            Description=news.get("description", ""),
            RoutingConfig={"AdditionalVersionWeights": _weights(news.get(ROUTING))},
        )
        return self._answer(cloud, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        function_arn, alias = self._split(resource_id)
        _lambda(cloud).delete_alias(FunctionName=function_arn, Name=alias)
