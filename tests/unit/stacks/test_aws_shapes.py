"""Every stack input that becomes an AWS API parameter, checked against that
parameter's shape in botocore's service model, in dev, staging and prod; and a
wrong value planted in each checked input of each resource type is reported."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tracking_ops.checks import aws_shapes

# Types whose every mapped input is unconstrained in the model (nothing to plant).
UNCONSTRAINED = {"aws:sns/topic:Topic", "aws:cloudwatch/dashboard:Dashboard"}


def test_every_input_of_every_resource_of_every_env_has_a_valid_shape(each_env):
    env, synthesized = each_env
    checked = 0
    for resource in synthesized.all_resources():
        assert aws_shapes.violations(resource["type"], resource["inputs"]) == [], (
            env,
            resource["name"],
        )
        checked += 1
    assert checked > 70


def test_every_resource_type_the_stacks_create_has_a_shape_table(each_env):
    _, synthesized = each_env
    types = {
        r["type"] for r in synthesized.all_resources() if not r["type"].startswith("tracking:")
    }
    assert types <= set(aws_shapes.SHAPES), sorted(types - set(aws_shapes.SHAPES))


def test_every_mapped_parameter_exists_in_the_service_model():
    for typ, table in aws_shapes.SHAPES.items():
        for input_path, param in table.items():
            assert aws_shapes.shape_of(param) is not None, (typ, input_path)  # KeyError if not


def _set_first(inputs: dict, path: list[str], value: Any) -> bool:
    head, rest = path[0], path[1:]
    name = head.removesuffix("[]").removesuffix("{}")
    if name not in inputs or inputs[name] is None:
        return False
    if not rest:
        if head.endswith("{}"):
            key = next(iter(inputs[name]))
            inputs[name][key] = value
        elif head.endswith("[]"):
            inputs[name][0] = value
        else:
            inputs[name] = value
        return True
    child = inputs[name]
    if head.endswith("[]"):
        child = child[0]
    elif head.endswith("{}"):
        child = next(iter(child.values()))
    return _set_first(child, rest, value)


def _candidates(shape, current: Any) -> list[Any]:
    meta = shape.metadata
    values: list[Any] = []
    if getattr(shape, "enum", None):
        values.append("NOT-" + shape.enum[0])
    if shape.type_name in ("integer", "long"):
        values += [meta["max"] + 1] if "max" in meta else []
        values += [meta["min"] - 1] if "min" in meta else []
        values += [2] if aws_shapes.documented_values(shape) else []
    if shape.type_name == "string":
        values += [" ", "!!", "é", ""]
        values += ["x" * (meta["max"] + 1)] if "max" in meta else []
    if shape.type_name == "list":
        item = (current or [None])[0]
        values += [[]] + ([[item] * (meta["max"] + 1)] if "max" in meta else [])
        values += [["NOT-" + shape.member.enum[0]]] if getattr(shape.member, "enum", None) else []
    return values


def _resources_by_type(synthesized) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for resource in synthesized.all_resources():
        found.setdefault(resource["type"], resource)
    return found


def test_a_wrong_value_planted_in_each_checked_input_is_reported(prod):
    planted_by_type: dict[str, int] = {}
    for typ, resource in _resources_by_type(prod).items():
        for input_path, param in aws_shapes.SHAPES.get(typ, {}).items():
            shape = aws_shapes.shape_of(param)
            for wrong in _candidates(shape, None):
                inputs = copy.deepcopy(resource["inputs"])
                if not _set_first(inputs, input_path.split("."), wrong):
                    break  # this resource does not set the input
                if not aws_shapes.check_value(wrong, shape) or (
                    input_path == "reservedConcurrentExecutions" and wrong == -1  # "unreserved"
                ):
                    continue  # not wrong for this input; try the next candidate
                reported = aws_shapes.violations(typ, inputs)
                assert any(m.startswith(f"{input_path} ") for m in reported), (
                    typ,
                    input_path,
                    wrong,
                )
                planted_by_type[typ] = planted_by_type.get(typ, 0) + 1
                break
        if typ == "aws:sqs/queue:Queue":
            inputs = copy.deepcopy(resource["inputs"])
            inputs["messageRetentionSeconds"] = 1_209_601  # one second above 14 days
            assert aws_shapes.violations(typ, inputs), typ
            planted_by_type[typ] = planted_by_type.get(typ, 0) + 1
    constrained = {t for t, table in aws_shapes.SHAPES.items() if table} - UNCONSTRAINED
    present = set(_resources_by_type(prod))
    assert (constrained & present) <= set(planted_by_type), sorted(
        (constrained & present) - set(planted_by_type)
    )


@pytest.mark.parametrize(
    ("typ", "path", "value"),
    [
        ("aws:cloudwatch/logGroup:LogGroup", "retentionInDays", 45),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "statistic", "p99"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "comparisonOperator", "GreaterThan"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "batchSize", 10_001),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "maximumRetryAttempts", -2),
        ("aws:lambda/function:Function", "memorySize", 64),
        ("aws:lambda/function:Function", "runtime", "python3"),
        ("aws:lambda/function:Function", "architectures", ["arm64", "x86_64"]),
        ("aws:ssm/parameter:Parameter", "tier", "Premium"),
        ("aws:apigateway/response:Response", "responseType", "NOT_FOUND"),
        ("aws:apigateway/response:Response", "statusCode", "600"),
        ("aws:sqs/queue:Queue", "visibilityTimeoutSeconds", 43_201),
    ],
)
def test_the_mistakes_a_review_looks_for_are_reported(dev, typ, path, value):
    resource = copy.deepcopy(_resources_by_type(dev)[typ])
    resource["inputs"][path] = value
    assert aws_shapes.violations(typ, resource["inputs"]), (typ, path, value)


def test_an_unknown_resource_type_must_get_a_table():
    assert aws_shapes.violations("aws:ec2/instance:Instance", {}) == [
        "aws:ec2/instance:Instance: no shape table (add one)"
    ]
