"""Acknowledging cdk-nag findings narrowly: on one construct, per finding, with a reason.

cdk-nag 3 runs its packs as CDK validation plugins; a finding that is not acknowledged fails the
synth. Every acknowledgement here names one rule of one pack, and for rules that report
findings (such as wildcard permissions) the finding itself, on the construct it concerns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

AWS_SOLUTIONS = "AwsSolutions"
SERVERLESS = "Serverless"
NIST_800_53_R5 = "NIST.800.53.R5"
HIPAA = "HIPAA.Security"
PACKS = (AWS_SOLUTIONS, SERVERLESS, NIST_800_53_R5, HIPAA)

# Rules the official template breaks and this stack meets by construction: no finding, so no
# acknowledgement (tests/test_audit.py checks every configuration). The logging rules hold
# unless the deployer chooses ApiGatewayAccountRole=none.
LOGGING_RULES = frozenset(
    {
        "AwsSolutions-APIG1",
        "AwsSolutions-APIG6",
        "Serverless-APIGWAccessLogging",
        "NIST.800.53.R5-APIGWExecutionLoggingEnabled",
        "HIPAA.Security-APIGWExecutionLoggingEnabled",
    }
)
FIXED_BY_CONSTRUCTION = {
    "AwsSolutions-APIG1": "access logging to a log group of the stack, one JSON object per request",
    "AwsSolutions-APIG6": "execution logging at ERROR for every method, without request bodies",
    "AwsSolutions-IAM4": "customer-managed policies only, no AWS managed policy (unless the deployer attaches one)",
    "AwsSolutions-L1": "the newest Python runtime for every helper function",
    "AwsSolutions-SNS2": "the build notification topic is encrypted with a KMS key of the stack",
    "AwsSolutions-SNS3": "the build notification topic requires TLS",
    "AwsSolutions-SQS4": "the dead-letter queues require TLS",
    "Serverless-APIGWAccessLogging": "access logging",
    "Serverless-LambdaTracing": "X-Ray tracing on every function",
    "Serverless-SNSRedrivePolicy": "undeliverable build notifications go to a dead-letter queue",
    "NIST.800.53.R5-APIGWExecutionLoggingEnabled": "execution logging",
    "HIPAA.Security-APIGWExecutionLoggingEnabled": "execution logging",
}


def acknowledge(construct: IConstruct, reason: str, *rules: str) -> None:
    """Acknowledge ``rules`` (``Pack-Rule`` or ``Pack-Rule[finding]``) on ``construct``."""
    _acknowledge_each(construct, [(rule, reason) for rule in rules])


def _check_reason(reason: str) -> None:
    if len(reason.split()) < 8 or not reason.rstrip().endswith("."):
        raise ValueError(f"an acknowledgement needs a reason of at least one real sentence: {reason!r}")


def _acknowledge_each(construct: IConstruct, rules_and_reasons: list[tuple[str, str]]) -> None:
    for _, reason in rules_and_reasons:
        _check_reason(reason)
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"{_pack_of(rule)}::{rule}", reason=reason) for rule, reason in rules_and_reasons)
    )


# CDK's own template validation (feature flag @aws-cdk/core:validateAgainstDefaultRules).
TEMPLATE_VALIDATION = "CloudFormation-Validate"


def acknowledge_template_check(construct: IConstruct, reason: str, *rules: str) -> None:
    """Acknowledge findings of CDK's own template validation (rules such as ``F3031``) on ``construct``."""
    _check_reason(reason)
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"{TEMPLATE_VALIDATION}::{rule}", reason=reason) for rule in rules)
    )


def _pack_of(rule: str) -> str:
    for pack in PACKS:
        if rule.startswith(f"{pack}-"):
            return pack
    raise ValueError(f"{rule}: not a rule of {', '.join(PACKS)}")


def nag_text(stack: Stack, value: Any) -> str:
    """A value as cdk-nag writes it in a finding: ``Ref`` as ``<Name>``, ``GetAtt`` as ``<Name.Attr>``."""
    return _render(stack.resolve(value))


def _render(resolved: Any) -> str:
    if isinstance(resolved, str):
        return resolved
    if "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if "Fn::GetAtt" in resolved:
        return "<{}.{}>".format(*resolved["Fn::GetAtt"])
    if "Fn::Join" in resolved:
        separator, parts = resolved["Fn::Join"]
        return str(separator).join(_render(part) for part in parts)
    # Other functions appear as their compact JSON.
    return json.dumps(resolved, separators=(",", ":"))


def acknowledge_wildcards(
    construct: IConstruct,
    statements: Iterable[iam.PolicyStatement | Mapping[str, Any]],
    reasons: Mapping[str, str],
) -> None:
    """Acknowledge each wildcard (AwsSolutions-IAM5) of ``statements`` with its statement's reason.

    ``statements`` are policy statements or their JSON. ``reasons`` maps a statement id to why
    that statement needs its wildcards; a wildcard
    statement without a reason is an error, so no wildcard goes unexplained.
    """
    # One resolution for all statements: each jsii call costs about a millisecond.
    as_json = [s if isinstance(s, Mapping) else s.to_statement_json() for s in statements]
    resolved = Stack.of(construct).resolve(as_json)
    _acknowledge_wildcard_findings(construct, [(statement, reasons.get(statement.get("Sid"))) for statement in resolved])


def _acknowledge_wildcard_findings(construct: IConstruct, explained: list[tuple[dict[str, Any], str | None]]) -> None:
    """Acknowledge the wildcards of each resolved statement with its reason (None: it has no reason)."""
    # A finding that several statements share is acknowledged once, with each statement's reason.
    acknowledged: dict[str, list[str]] = {}
    for statement, reason in explained:
        findings = [f"Action::{action}" for action in _as_list(statement["Action"]) if "*" in action]
        resources = [_render(resource) for resource in _as_list(statement["Resource"])]
        findings += [f"Resource::{text}" for text in resources if "*" in text]
        if not findings:
            continue
        if reason is None:
            raise KeyError(f"statement {statement.get('Sid')} has wildcards ({', '.join(findings)}) but no reason")
        for finding in findings:
            why = acknowledged.setdefault(f"AwsSolutions-IAM5[{finding}]", [])
            # Sentence by sentence, so that a sentence several reasons end with is said once.
            why += [sentence for sentence in re.split(r"(?<=\.)\s+", reason.strip()) if sentence not in why]
    if acknowledged:
        _acknowledge_each(construct, [(rule, " ".join(why)) for rule, why in acknowledged.items()])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class ExplainedStatement:
    """A policy statement and, beside it, why it needs its wildcards (``None`` when it has none).

    The reason acknowledges the statement's wildcard findings (AwsSolutions-IAM5), so each
    wildcard is explained where it is granted, as the function's permissions are
    (:class:`constructs_lib.parallelcluster_api.function_permissions.Permission`).
    """

    statement: iam.PolicyStatement
    why: str | None = None


def policy_statement(
    *,
    actions: Sequence[str],
    resources: Sequence[str],
    sid: str | None = None,
    conditions: Mapping[str, Any] | None = None,
    why: str | None = None,
) -> ExplainedStatement:
    """An Allow statement (``iam.PolicyStatement``'s props) with the reason for its wildcards."""
    statement = iam.PolicyStatement(
        sid=sid, actions=list(actions), resources=list(resources), conditions=dict(conditions) if conditions else None
    )
    return ExplainedStatement(statement, why)


def acknowledge_explained(construct: IConstruct, statements: Sequence[ExplainedStatement]) -> None:
    """Acknowledge each wildcard (AwsSolutions-IAM5) of ``statements`` with its statement's reason.

    A wildcard statement without a reason is an error, so no wildcard goes unexplained.
    """
    resolved = Stack.of(construct).resolve([explained.statement.to_statement_json() for explained in statements])
    _acknowledge_wildcard_findings(construct, [(json_, explained.why) for json_, explained in zip(resolved, statements, strict=True)])
