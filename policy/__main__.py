"""The tracking policy pack: `pulumi preview --policy-pack policy` (the deploy tasks pass it)."""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy
from rules import RULES, plain_props


def _validator(rule):
    def validate(args, report_violation):
        for message in rule.check(args.resource_type, args.name, plain_props(args.props)):
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
    ],
)
