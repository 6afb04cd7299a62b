"""The tracking policy pack: `pulumi preview --policy-pack policy` (the deploy tasks pass it)."""

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from rules import RULES, STACK_RULES, plain_props


def _validator(rule):
    def validate(args, report_violation):
        for message in rule.check(args.resource_type, args.name, plain_props(args.props)):
            report_violation(message, None)

    return validate


def _stack_validator(rule):
    def validate(args, report_violation):
        resources = [(r.resource_type, r.name, r.props) for r in args.resources]
        for message in rule.check(resources):
            report_violation(message, None)

    return validate


PolicyPack(
    name="tracking-security",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name=rule.name, description=rule.description, validate=_validator(rule)
        )
        for rule in RULES
    ]
    + [
        StackValidationPolicy(
            name=rule.name, description=rule.description, validate=_stack_validator(rule)
        )
        for rule in STACK_RULES
    ],
)
