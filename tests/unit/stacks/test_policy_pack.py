"""The CrossGuard rules on every synthesized resource, and on one broken resource per rule."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys

import pytest

from tests.unit.stacks.conftest import unwrap
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.definitions import REPO_ROOT


def load_rules():
    """``policy/rules.py`` as ``policy.rules`` (the repository root is on the tests' path;
    ``policy/`` is the pack's folder, not an installed package)."""
    module = importlib.import_module("policy.rules")
    assert module.__file__ == str(REPO_ROOT / "policy" / "rules.py")
    return module


rules = load_rules()


def test_every_synthesized_resource_of_every_env_passes_every_rule(each_env):
    env, synthesized = each_env
    checked = 0
    for resource in synthesized.all_resources():
        assert rules.violations(resource["type"], resource["name"], resource["inputs"]) == [], (
            env,
            resource["type"],
            resource["name"],
        )
        checked += 1
    assert checked > 70


def find(synthesized, typ: str, predicate=lambda r: True) -> dict:
    return copy.deepcopy(
        next(r for r in synthesized.all_resources() if r["type"] == typ and predicate(r))
    )


def with_policy(resource: dict, mutate) -> dict:
    document = json.loads(resource["inputs"]["policy"])
    mutate(document["Statement"])
    resource["inputs"]["policy"] = json.dumps(document)
    return resource


def _broken(dev, prod) -> dict[str, dict]:
    """One resource per rule, taken from the real synth and broken in one way."""
    policy = lambda: find(dev, "aws:iam/rolePolicy:RolePolicy", lambda r: "-api-" in r["name"])  # noqa: E731
    function = find(dev, "aws:lambda/function:Function")
    function["inputs"]["deadLetterConfig"] = {"targetArn": "arn:aws:sqs:us-east-1:0:q"}
    table = find(prod, "aws:dynamodb/table:Table")
    table["inputs"]["deletionProtectionEnabled"] = False
    queue = find(dev, "aws:sqs/queue:Queue")
    queue["inputs"].pop("sqsManagedSseEnabled")
    group = find(dev, "aws:cloudwatch/logGroup:LogGroup")
    group["inputs"].pop("retentionInDays")
    method = find(
        dev, "aws:apigateway/method:Method", lambda r: r["inputs"]["operationName"] == "post_track"
    )
    method["inputs"]["authorization"] = "NONE"
    stage = find(dev, "aws:apigateway/stage:Stage")
    stage["inputs"].pop("accessLogSettings")
    alarm = find(dev, "aws:cloudwatch/metricAlarm:MetricAlarm")
    alarm["inputs"]["alarmActions"] = []
    attachment = find(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attachment["inputs"]["policyArn"] = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
    untagged = find(dev, "aws:sqs/queue:Queue")
    del untagged["inputs"]["tags"]["Layer"]
    return {
        "iam-no-wildcards": with_policy(
            policy(), lambda s: s[0].__setitem__("Action", ["dynamodb:*"])
        ),
        "iam-no-dynamodb-scan": with_policy(
            policy(), lambda s: s[0]["Action"].append("dynamodb:Scan")
        ),
        "iam-logs-named-groups": with_policy(
            policy(),
            lambda s: next(x for x in s if x["Sid"] == "OwnLogGroup").__setitem__(
                "Resource", [f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT_ID}:log-group:*"]
            ),
        ),
        "iam-managed-policies": attachment,
        "lambda-runtime-arch-tracing": function,
        "dynamodb-pitr-sse-protection": table,
        "encrypted-queues-and-topics": queue,
        "log-group-retention": group,
        "apigateway-iam-auth": method,
        "apigateway-stage-logs-tracing": stage,
        "alarm-actions-dimensions": alarm,
        "required-tags": untagged,
    }


def test_there_is_a_broken_case_for_every_rule(dev, prod):
    assert set(_broken(dev, prod)) == {rule.name for rule in rules.RULES}


@pytest.mark.parametrize("rule", [rule.name for rule in rules.RULES])
def test_each_rule_reports_its_violation(rule, dev, prod):
    resource = unwrap(_broken(dev, prod)[rule])
    reported = rules.violations(resource["type"], resource["name"], resource["inputs"])
    assert rule in {name for name, _ in reported}, reported


@pytest.mark.parametrize(
    ("runtime", "ok"),
    [("python3.9", False), ("python3.11", False), ("python3.12", True), ("nodejs20.x", False)],
)
def test_runtime_rule(runtime, ok):
    props = {"runtime": runtime, "architectures": ["arm64"], "tracingConfig": {"mode": "Active"}}
    assert (rules.lambda_runtime("aws:lambda/function:Function", "f", props) == []) is ok


def test_xray_is_the_only_wildcard_resource_allowed():
    def document(actions):
        return {
            "policy": json.dumps(
                {"Statement": [{"Sid": "S", "Effect": "Allow", "Action": actions, "Resource": "*"}]}
            )
        }

    typ = "aws:iam/rolePolicy:RolePolicy"
    assert rules.no_wildcards(typ, "p", document(["xray:PutTraceSegments"])) == []
    assert rules.no_wildcards(typ, "p", document(["dynamodb:GetItem"]))


@pytest.mark.parametrize(
    ("arn", "ok"),
    [
        ("arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs", True),
        ("arn:aws-cn:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs", True),
        ("arn:aws:iam::aws:policy/AdministratorAccess", False),
        ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", False),
        (
            f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
            True,
        ),
    ],
)
def test_the_api_gateway_logging_policy_is_the_only_managed_policy_allowed(arn, ok):
    """The exception is exactly that AWS managed policy (any partition); a customer
    policy of the same name is checked as a document by the other rules instead."""
    typ = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    assert (rules.managed_policies(typ, "a", {"role": "r", "policyArn": arn}) == []) is ok
    role = {"managedPolicyArns": [arn]}
    assert (rules.managed_policies("aws:iam/role:Role", "r", role) == []) is ok


def test_a_managed_policy_arn_unknown_during_preview_is_left_for_the_run_that_knows_it():
    """A value Pulumi cannot resolve in a preview reaches the pack as something other
    than a string: no violation, and no crash of the pack either."""
    unknown = {"unknown": True}
    typ = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    assert rules.managed_policies(typ, "a", {"role": "r", "policyArn": unknown}) == []
    role = {"managedPolicyArns": [unknown]}
    assert rules.managed_policies("aws:iam/role:Role", "r", role) == []


# ---- every check of every rule, each broken alone -------------------------------------
#
# Each case takes a resource that passes every rule (from the real synth), breaks ONE
# thing, and expects exactly the one violation that check reports: removing any check
# from a rule, or making one fire on what it should allow, fails a case.

API_POLICY = ("dev", "aws:iam/rolePolicy:RolePolicy", lambda r: "-api-" in r["name"])
NOTIFIER_POLICY = (
    "dev",
    "aws:iam/rolePolicy:RolePolicy",
    lambda r: "-notifier-" in r["name"],
)
LOGGING_ROLE_ATTACHMENT = (
    "dev",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    lambda r: True,
)
COMPUTE_ROLE = ("dev", "aws:iam/role:Role", lambda r: "-api-" in r["name"])
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
FUNCTION = ("dev", "aws:lambda/function:Function", lambda r: True)
PROD_TABLE = ("prod", "aws:dynamodb/table:Table", lambda r: True)
DEV_TABLE = ("dev", "aws:dynamodb/table:Table", lambda r: True)
QUEUE = ("dev", "aws:sqs/queue:Queue", lambda r: True)
TOPIC = ("dev", "aws:sns/topic:Topic", lambda r: True)
LOG_GROUP = ("dev", "aws:cloudwatch/logGroup:LogGroup", lambda r: True)
STAGE = ("dev", "aws:apigateway/stage:Stage", lambda r: True)
ALARM = ("dev", "aws:cloudwatch/metricAlarm:MetricAlarm", lambda r: True)


def method(operation):
    return (
        "dev",
        "aws:apigateway/method:Method",
        lambda r: r["inputs"]["operationName"] == operation,
    )


def statement(sid, key, value):
    """Set one field of the statement ``sid`` of a policy document."""

    def mutate(resource):
        def change(statements):
            next(s for s in statements if s["Sid"] == sid)[key] = value

        with_policy(resource, change)

    return mutate


def add_statement(**fields):
    def mutate(resource):
        with_policy(resource, lambda statements: statements.append({"Sid": "Extra", **fields}))

    return mutate


SQS = "arn:aws:sqs:us-east-1:0:q"


def append_statement(**fields):
    """Add a statement exactly as given (no Sid unless given)."""

    def mutate(resource):
        with_policy(resource, lambda statements: statements.append(dict(fields)))

    return mutate


def replace_statements(value):
    """The document's Statement replaced by ``value`` (an object, or None: no key)."""

    def mutate(resource):
        document = json.loads(resource["inputs"]["policy"])
        document.pop("Statement")
        if value is not None:
            document["Statement"] = value
        resource["inputs"]["policy"] = json.dumps(document)

    return mutate


def set_input(key, value):
    def mutate(resource):
        resource["inputs"][key] = value

    return mutate


def drop_input(key):
    def mutate(resource):
        resource["inputs"].pop(key)

    return mutate


def drop_tag(tag):
    def mutate(resource):
        del resource["inputs"]["tags"][tag]

    return mutate


def as_managed_policy(mutate):
    def both(resource):
        resource["type"] = "aws:iam/policy:Policy"
        mutate(resource)

    return both


TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
LOGS = f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT_ID}"
CHECKS = {
    # iam-no-wildcards
    "any action": (
        API_POLICY,
        statement("TableItems", "Action", ["*"]),
        [("iam-no-wildcards", "statement TableItems allows action *")],
    ),
    "every action of a service": (
        API_POLICY,
        statement("TableItems", "Action", ["dynamodb:GetItem", "dynamodb:*"]),
        [("iam-no-wildcards", "statement TableItems allows action dynamodb:*")],
    ),
    "a wildcard action as a single string": (
        API_POLICY,
        statement("TableItems", "Action", "dynamodb:*"),
        [("iam-no-wildcards", "statement TableItems allows action dynamodb:*")],
    ),
    "any resource": (
        API_POLICY,
        statement("TableItems", "Resource", ["*"]),
        [("iam-no-wildcards", f"statement TableItems allows {TABLE_ACTIONS} on resource *")],
    ),
    "any resource as a single string": (
        API_POLICY,
        statement("TableItems", "Resource", "*"),
        [("iam-no-wildcards", f"statement TableItems allows {TABLE_ACTIONS} on resource *")],
    ),
    "any resource for an action that has resource-level permissions, beside X-Ray's": (
        API_POLICY,
        statement("XRay", "Action", ["xray:PutTraceSegments", "sqs:SendMessage"]),
        [
            (
                "iam-no-wildcards",
                "statement XRay allows ['xray:PutTraceSegments', 'sqs:SendMessage'] on resource *",
            )
        ],
    ),
    "a wildcard in a managed policy": (
        API_POLICY,
        as_managed_policy(statement("TableItems", "Action", ["*"])),
        [("iam-no-wildcards", "statement TableItems allows action *")],
    ),
    "OK: ListStreams on any resource (it has no resource-level permissions)": (
        NOTIFIER_POLICY,
        statement("ListStreams", "Resource", ["*"]),
        [],
    ),
    "any resource for ListStreams beside an action that has resource-level permissions": (
        NOTIFIER_POLICY,
        statement("ListStreams", "Action", ["dynamodb:ListStreams", "dynamodb:GetRecords"]),
        [
            (
                "iam-no-wildcards",
                "statement ListStreams allows ['dynamodb:ListStreams', 'dynamodb:GetRecords']"
                " on resource *",
            )
        ],
    ),
    # iam-managed-policies
    "an AWS managed policy attached beside the API Gateway logging exception": (
        LOGGING_ROLE_ATTACHMENT,
        set_input("policyArn", ADMIN),
        [
            (
                "iam-managed-policies",
                f"AWS managed policy {ADMIN} is not one of the allowed exceptions",
            )
        ],
    ),
    "an AWS managed policy listed on a role": (
        COMPUTE_ROLE,
        set_input("managedPolicyArns", [ADMIN]),
        [
            (
                "iam-managed-policies",
                f"AWS managed policy {ADMIN} is not one of the allowed exceptions",
            )
        ],
    ),
    "OK: any resource for metrics, which have no resource-level permissions": (
        API_POLICY,
        statement("XRay", "Action", ["cloudwatch:PutMetricData", "xray:GetSamplingRules"]),
        [],
    ),
    "OK: a Deny statement may use wildcards": (
        API_POLICY,
        add_statement(Effect="Deny", Action=["*"], Resource=["*"]),
        [],
    ),
    "a wildcard in a statement without a Sid": (
        API_POLICY,
        append_statement(Effect="Allow", Action=["*"], Resource=[SQS]),
        [("iam-no-wildcards", "statement ? allows action *")],
    ),
    "an Allow by default (no Effect)": (
        API_POLICY,
        append_statement(Sid="NoEffect", Action=["*"], Resource=[SQS]),
        [("iam-no-wildcards", "statement NoEffect allows action *")],
    ),
    "a document whose one statement is an object, not a list": (
        API_POLICY,
        replace_statements({"Sid": "One", "Effect": "Allow", "Action": "*", "Resource": SQS}),
        [("iam-no-wildcards", "statement One allows action *")],
    ),
    "OK: a document without statements": (API_POLICY, replace_statements(None), []),
    "OK: any resource for exactly the actions that have no resource-level permissions": (
        API_POLICY,
        statement("XRay", "Action", sorted(rules.RESOURCE_WILDCARD_ALLOWED)),
        [],
    ),
    "Scan on any resource, in a statement without a Sid": (
        API_POLICY,
        append_statement(Effect="Allow", Action=["dynamodb:Scan"], Resource=["*"]),
        [
            ("iam-no-wildcards", "statement ? allows ['dynamodb:Scan'] on resource *"),
            ("iam-no-dynamodb-scan", "statement ? allows dynamodb:Scan"),
        ],
    ),
    # iam-no-dynamodb-scan
    "Scan": (
        API_POLICY,
        statement("TableItems", "Action", [*TABLE_ACTIONS, "dynamodb:Scan"]),
        [("iam-no-dynamodb-scan", "statement TableItems allows dynamodb:Scan")],
    ),
    "Scan as a single string": (
        API_POLICY,
        statement("TableItems", "Action", "dynamodb:Scan"),
        [("iam-no-dynamodb-scan", "statement TableItems allows dynamodb:Scan")],
    ),
    "Scan in a managed policy": (
        API_POLICY,
        as_managed_policy(statement("TableItems", "Action", ["dynamodb:Scan"])),
        [("iam-no-dynamodb-scan", "statement TableItems allows dynamodb:Scan")],
    ),
    # iam-logs-named-groups
    "logs on every log group": (
        API_POLICY,
        statement("OwnLogGroup", "Resource", [f"{LOGS}:log-group:*"]),
        [
            (
                "iam-logs-named-groups",
                f"logs permissions on {LOGS}:log-group:*, not one named log group",
            )
        ],
    ),
    "logs on something that is not a log group": (
        API_POLICY,
        statement("OwnLogGroup", "Resource", [f"{LOGS}:destination:d"]),
        [
            (
                "iam-logs-named-groups",
                f"logs permissions on {LOGS}:destination:d, not one named log group",
            )
        ],
    ),
    "logs on a named group of every region and account": (
        API_POLICY,
        statement("OwnLogGroup", "Resource", ["arn:aws:logs:*:*:log-group:/aws/lambda/x:*"]),
        [
            (
                "iam-logs-named-groups",
                "logs permissions on arn:aws:logs:*:*:log-group:/aws/lambda/x:*, "
                "not one named log group",
            )
        ],
    ),
    "logs on one named group of another account is still one named group": (
        API_POLICY,
        statement("OwnLogGroup", "Resource", ["arn:aws:logs:us-east-1:1:log-group:/aws/x:*"]),
        [],
    ),
    "logs on every group, in a managed policy": (
        API_POLICY,
        as_managed_policy(statement("OwnLogGroup", "Resource", [f"{LOGS}:log-group:*"])),
        [
            (
                "iam-logs-named-groups",
                f"logs permissions on {LOGS}:log-group:*, not one named log group",
            )
        ],
    ),
    # lambda-runtime-arch-tracing
    "an unsupported runtime": (
        FUNCTION,
        set_input("runtime", "python3.11"),
        [
            (
                "lambda-runtime-arch-tracing",
                "runtime python3.11 is not a supported Python (3.12+)",
            )
        ],
    ),
    "x86": (
        FUNCTION,
        set_input("architectures", ["x86_64"]),
        [("lambda-runtime-arch-tracing", "architectures ['x86_64'], not arm64")],
    ),
    "tracing passed through": (
        FUNCTION,
        set_input("tracingConfig", {"mode": "PassThrough"}),
        [("lambda-runtime-arch-tracing", "X-Ray tracing is not Active")],
    ),
    "no tracing config": (
        FUNCTION,
        drop_input("tracingConfig"),
        [("lambda-runtime-arch-tracing", "X-Ray tracing is not Active")],
    ),
    "a Lambda DLQ": (
        FUNCTION,
        set_input("deadLetterConfig", {"targetArn": "arn:aws:sqs:us-east-1:0:q"}),
        [
            (
                "lambda-runtime-arch-tracing",
                "a Lambda DLQ only receives asynchronous invocations; these functions are "
                "invoked synchronously or by a stream: use the mapping's on-failure destination",
            )
        ],
    ),
    # dynamodb-pitr-sse-protection
    "no point-in-time recovery": (
        PROD_TABLE,
        set_input("pointInTimeRecovery", {"enabled": False}),
        [("dynamodb-pitr-sse-protection", "point-in-time recovery is off")],
    ),
    "point-in-time recovery not configured": (
        PROD_TABLE,
        drop_input("pointInTimeRecovery"),
        [("dynamodb-pitr-sse-protection", "point-in-time recovery is off")],
    ),
    "no server-side encryption": (
        PROD_TABLE,
        set_input("serverSideEncryption", {"enabled": False}),
        [("dynamodb-pitr-sse-protection", "server-side encryption with a KMS key is off")],
    ),
    "a prod table without deletion protection": (
        PROD_TABLE,
        set_input("deletionProtectionEnabled", False),
        [("dynamodb-pitr-sse-protection", "prod table without deletion protection")],
    ),
    "OK: a dev table without deletion protection": (
        DEV_TABLE,
        set_input("deletionProtectionEnabled", False),
        [],
    ),
    # encrypted-queues-and-topics
    "an unencrypted queue": (
        QUEUE,
        drop_input("sqsManagedSseEnabled"),
        [("encrypted-queues-and-topics", "queue is not encrypted at rest")],
    ),
    "OK: a queue under a KMS key": (
        QUEUE,
        lambda r: r["inputs"].update(sqsManagedSseEnabled=False, kmsMasterKeyId="alias/k"),
        [],
    ),
    "an unencrypted topic": (
        TOPIC,
        drop_input("kmsMasterKeyId"),
        [("encrypted-queues-and-topics", "topic is not encrypted at rest")],
    ),
    # log-group-retention
    "a log group kept forever": (
        LOG_GROUP,
        drop_input("retentionInDays"),
        [("log-group-retention", "log group keeps logs forever (no retentionInDays)")],
    ),
    # apigateway-iam-auth
    "a method without IAM auth": (
        method("post_track"),
        set_input("authorization", "NONE"),
        [
            (
                "apigateway-iam-auth",
                "method POST (post_track) has authorization NONE, not AWS_IAM",
            )
        ],
    ),
    "a method with another authorizer": (
        method("get_status"),
        set_input("authorization", "CUSTOM"),
        [
            (
                "apigateway-iam-auth",
                "method GET (get_status) has authorization CUSTOM, not AWS_IAM",
            )
        ],
    ),
    # apigateway-stage-logs-tracing
    "a stage without access logs": (
        STAGE,
        drop_input("accessLogSettings"),
        [("apigateway-stage-logs-tracing", "stage without access logs")],
    ),
    "a stage with access logs to nowhere": (
        STAGE,
        lambda r: r["inputs"]["accessLogSettings"].pop("destinationArn"),
        [("apigateway-stage-logs-tracing", "stage without access logs")],
    ),
    "a stage with access logs of no format": (
        STAGE,
        lambda r: r["inputs"]["accessLogSettings"].pop("format"),
        [("apigateway-stage-logs-tracing", "stage without access logs")],
    ),
    "a stage without tracing": (
        STAGE,
        set_input("xrayTracingEnabled", False),
        [("apigateway-stage-logs-tracing", "stage without X-Ray tracing")],
    ),
    # alarm-actions-dimensions
    "an alarm without actions": (
        ALARM,
        set_input("alarmActions", []),
        [("alarm-actions-dimensions", "alarm without an action: nobody hears it")],
    ),
    "an alarm without dimensions": (
        ALARM,
        drop_input("dimensions"),
        [
            (
                "alarm-actions-dimensions",
                "alarm without dimensions watches a metric nobody emits",
            )
        ],
    ),
    "OK: an alarm on metric queries": (
        ALARM,
        lambda r: r["inputs"].update(dimensions={}, metricQueries=[{"id": "m1"}]),
        [],
    ),
    # required-tags
    "no Environment tag": (
        QUEUE,
        drop_tag("Environment"),
        [("required-tags", "missing tag Environment")],
    ),
    "no Layer tag": (LOG_GROUP, drop_tag("Layer"), [("required-tags", "missing tag Layer")]),
    "an empty Layer tag": (
        FUNCTION,
        lambda r: r["inputs"]["tags"].update(Layer=""),
        [("required-tags", "missing tag Layer")],
    ),
}


def test_every_rule_has_a_check_broken_alone():
    broken = {expected[0][0] for _, _, expected in CHECKS.values() if expected}
    assert broken == {rule.name for rule in rules.RULES}


@pytest.mark.parametrize("case", list(CHECKS))
def test_each_check_of_each_rule_alone(case, dev, prod):
    (env, typ, predicate), mutate, expected = CHECKS[case]
    resource = unwrap(find({"dev": dev, "prod": prod}[env], typ, predicate))
    assert rules.violations(resource["type"], resource["name"], resource["inputs"]) == []
    mutate(resource)

    assert rules.violations(resource["type"], resource["name"], resource["inputs"]) == expected


# ---- the pack program: the rules, wrapped as CrossGuard policies ----------------------


@pytest.fixture
def pack(monkeypatch):
    """``policy/__main__.py`` run as the policy runtime runs it, its PolicyPack recorded."""
    import runpy

    import pulumi_policy

    made = []

    class RecordingPack:
        def __init__(self, **kwargs):
            made.append(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordingPack)
    monkeypatch.syspath_prepend(str(REPO_ROOT / "policy"))
    monkeypatch.delitem(sys.modules, "rules", raising=False)
    runpy.run_path(str(REPO_ROOT / "policy" / "__main__.py"), run_name="__main__")
    sys.modules.pop("rules", None)
    (kwargs,) = made
    return kwargs


def test_pack_is_mandatory_with_one_policy_per_rule(pack):
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

    assert pack["name"] == "tracking-security"
    assert pack["enforcement_level"] is EnforcementLevel.MANDATORY
    resource_policies = pack["policies"][: len(rules.RULES)]
    assert all(isinstance(p, ResourceValidationPolicy) for p in resource_policies)
    assert [(p.name, p.description) for p in pack["policies"]] == [
        (rule.name, rule.description) for rule in (*rules.RULES, *rules.STACK_RULES)
    ]
    assert all(p.enforcement_level in (None, EnforcementLevel.MANDATORY) for p in pack["policies"])


@pytest.mark.parametrize("rule", [rule.name for rule in rules.RULES])
def test_each_policy_of_the_pack_reports_what_its_rule_finds(pack, rule, dev, prod):
    from types import SimpleNamespace

    resource = unwrap(_broken(dev, prod)[rule])
    expected = [
        message
        for name, message in rules.violations(
            resource["type"], resource["name"], resource["inputs"]
        )
        if name == rule
    ]
    policies = {p.name: p for p in pack["policies"]}
    reported = []
    args = SimpleNamespace(
        resource_type=resource["type"], name=resource["name"], props=resource["inputs"]
    )

    policies[rule].validate(args, lambda message, urn=None: reported.append(message))

    assert expected and reported == expected
    # ...and only its own rule: a valid resource of the same kind reports nothing.
    valid = unwrap(find(dev, resource["type"]))
    clean = SimpleNamespace(resource_type=valid["type"], name=valid["name"], props=valid["inputs"])
    quiet = []
    policies[rule].validate(clean, lambda message, urn=None: quiet.append(message))
    assert quiet == []


def test_listed_treats_a_missing_field_as_empty():
    assert rules._listed(None) == []
    assert rules._listed("a") == ["a"]
    assert rules._listed(["a", "b"]) == ["a", "b"]


def test_rules_see_the_engines_proxied_props_as_plain_data():
    # The engine's analyzer hands props as pulumi_policy proxies, not lists and dicts:
    # a rule comparing `architectures` with a list failed every function under the engine.
    from pulumi_policy.proxy import unknown_checking_proxy

    plain_props = rules.plain_props

    proxied = unknown_checking_proxy({"architectures": ["arm64"], "tags": {"Layer": "compute"}})
    assert plain_props(proxied) == {"architectures": ["arm64"], "tags": {"Layer": "compute"}}
    assert isinstance(plain_props(proxied)["architectures"], list)


# ---- stack rules: alarm topics that reach someone (issue 23, item 1) -------------------


def as_stack(synthesized, layer) -> list[tuple[str, str, dict]]:
    return [(r["type"], r["name"], unwrap(r["inputs"])) for r in synthesized.layer(layer).resources]


def test_every_stack_of_every_env_passes_every_stack_rule(each_env):
    from tracking_stacks.registry import Layer

    env, synthesized = each_env
    for layer in Layer:
        assert rules.stack_violations(as_stack(synthesized, layer)) == [], (env, layer)
    if env in rules.SUBSCRIBED_ENVS:  # the rule had something to check
        monitoring = as_stack(synthesized, Layer.MONITORING)
        assert [t for t, _, _ in monitoring if t == rules.SUBSCRIPTION]


def test_a_prod_alarm_topic_without_subscriptions_is_reported(prod):
    from tracking_stacks.registry import Layer

    planted = [r for r in as_stack(prod, Layer.MONITORING) if r[0] != rules.SUBSCRIPTION]
    assert rules.stack_violations(planted) == [
        (
            "alarm-topic-subscribed",
            "alarm topic tracking-alarms has no subscription: its alarms notify nobody",
        )
    ]


def test_a_subscription_to_another_topic_does_not_count(prod):
    from tracking_stacks.registry import Layer

    resources = []
    for typ, name, props in as_stack(prod, Layer.MONITORING):
        if typ == rules.SUBSCRIPTION:
            props = {**props, "topic": props["topic"].rsplit(":", 1)[0] + ":someone-elses"}
        resources.append((typ, name, props))
    assert [r for r, _ in rules.stack_violations(resources)] == ["alarm-topic-subscribed"]


def test_dev_may_have_an_unsubscribed_alarm_topic(dev):
    from tracking_stacks.registry import Layer

    assert rules.stack_violations(as_stack(dev, Layer.MONITORING)) == []


def test_the_packs_stack_policy_reports_what_its_rule_finds(pack, prod):
    from types import SimpleNamespace

    from pulumi_policy import StackValidationPolicy

    from tracking_stacks.registry import Layer

    (policy,) = [p for p in pack["policies"] if p.name == "alarm-topic-subscribed"]
    assert isinstance(policy, StackValidationPolicy)

    def run(resources):
        reported = []
        args = SimpleNamespace(
            resources=[
                SimpleNamespace(resource_type=t, name=n, props=props) for t, n, props in resources
            ]
        )
        policy.validate(args, lambda message, urn=None: reported.append(message))
        return reported

    whole = as_stack(prod, Layer.MONITORING)
    assert run(whole) == []
    assert run([r for r in whole if r[0] != rules.SUBSCRIPTION]) == [
        "alarm topic tracking-alarms has no subscription: its alarms notify nobody"
    ]
